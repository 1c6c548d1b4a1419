"""The restored table's stream (`ddb.backup.stream_later`), the export's default segments and AWS's job poller, piece by piece.

The end-to-end restores (`test_restore_stream.py`) would still end with a stream if a piece
here went wrong, by the slower way round (the table made again with its stream), so each
piece is held to its own answer.
"""

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from ddb.backup import aws_job, segments, stream_later
from ddb.core.errors import DdbError, TableMissing
from ddb.schema import declaration as schema

from .support import TABLE

KEYS_ONLY = {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}


def test_the_stream_wanted_is_the_saved_descriptions_or_the_declarations():
    declared = schema.table_spec("any")["StreamSpecification"]
    assert stream_later.wanted(None) == declared == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert stream_later.wanted({"StreamSpecification": KEYS_ONLY}) == KEYS_ONLY
    assert stream_later.wanted({"StreamSpecification": {"StreamEnabled": True}}) == declared
    assert stream_later.wanted({"StreamSpecification": {"StreamEnabled": False}}) is None
    assert stream_later.wanted({}) is None


def test_turn_on_gives_the_table_the_stream_asked_for(client):
    schema.load(client, TABLE, stream=False)

    stream_later.turn_on(client, TABLE, KEYS_ONLY)

    assert client.describe_table(TableName=TABLE)["Table"]["StreamSpecification"] == KEYS_ONLY


class _Answers:
    """A client whose UpdateTable answers with `code`, and whose table keeps `live` as its stream."""

    def __init__(self, client, code: str | None, live: dict):
        self._client, self._code, self._live = client, code, live

    def update_table(self, **request):
        if self._code:
            raise ClientError({"Error": {"Code": self._code, "Message": "the table is busy"}}, "UpdateTable")
        return {}

    def describe_table(self, **request):
        table = self._client.describe_table(**request)
        table["Table"]["StreamSpecification"] = self._live
        return table

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_busy_answer_is_waited_through_and_a_stream_left_off_is_refused_naming_the_answer(client):
    schema.load(client, TABLE, stream=False)

    with pytest.raises(schema.StreamRefused) as refused:
        stream_later.turn_on(_Answers(client, "ResourceInUseException", {}), TABLE, KEYS_ONLY)
    assert str(refused.value) == (
        f"table {TABLE!r}: the engine did not turn its stream on (ResourceInUseException: the table is busy)"
    )

    with pytest.raises(schema.StreamRefused, match=r"\(it answered, yet the stream stayed off\)$"):
        stream_later.turn_on(_Answers(client, None, {}), TABLE, KEYS_ONLY)


def test_a_stream_of_another_view_type_is_refused_and_an_unknown_answer_is_raised(client):
    schema.load(client, TABLE, stream=False)
    other = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}

    with pytest.raises(schema.StreamRefused):
        stream_later.turn_on(_Answers(client, None, other), TABLE, KEYS_ONLY)
    stream_later.turn_on(_Answers(client, "ValidationException", KEYS_ONLY), TABLE, KEYS_ONLY)  # already on: fine
    with pytest.raises(DdbError):
        stream_later.turn_on(_Answers(client, "AccessDeniedException", KEYS_ONLY), TABLE, KEYS_ONLY)


def test_turn_on_for_a_missing_table_names_it(client):
    with pytest.raises(TableMissing, match=TABLE):
        stream_later.turn_on(client, TABLE, KEYS_ONLY)


class _Endpoint:
    def __init__(self, url):
        self.meta = type("Meta", (), {"endpoint_url": url})()


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("https://dynamodb.us-east-1.amazonaws.com", segments.AWS),
        ("https://dynamodb.cn-north-1.amazonaws.com.cn", segments.AWS),
        ("https://dynamodb.example.com", segments.MOTO_OR_OTHER),
        (None, segments.MOTO_OR_OTHER),
        ("http://127.0.0.1:8000", segments.MOTO_OR_OTHER),
    ],
)
def test_the_engine_is_known_by_its_endpoint_off_dynamodb_local(url, engine):
    assert segments.engine_of(_Endpoint(url), {"TableArn": "arn:aws:dynamodb:us-east-1:1:table/t"}) == engine
    assert segments.engine_of(_Endpoint(url), {}) == engine


def test_a_table_without_its_size_is_one_segment():
    aws = _Endpoint("https://dynamodb.us-east-1.amazonaws.com")
    assert segments.default_segments(aws, {}) == 1
    assert segments.default_segments(aws, {"TableSizeBytes": 3 * segments.AWS_SEGMENT_BYTES}) == 3


def test_the_poller_raises_the_callers_error_with_the_last_status_once_the_time_is_up(monkeypatch):
    clock = iter([100.0, 100.0, 105.0, 110.0, 199.0])
    monkeypatch.setattr(aws_job.time, "monotonic", lambda: next(clock))
    waits: list[float] = []

    class Late(DdbError):
        pass

    with pytest.raises(Late, match=r"^still CANCELLING$"):
        aws_job.wait_for_job(
            lambda: {"Status": "CANCELLING"},
            "Status",
            timed_out=lambda status: Late(f"still {status}"),
            on_progress=None,
            poll=1,
            max_poll=3,
            timeout=10,
            sleep=waits.append,
        )
    assert waits == [1, 2]  # described 0, 5 and 10 s in: the third look, at the timeout, is the last


def test_the_poller_returns_the_last_description_and_the_seconds_waited(monkeypatch):
    clock = iter([100.0, 100.0, 104.0])
    monkeypatch.setattr(aws_job.time, "monotonic", lambda: next(clock))
    answers: Iterator[dict] = iter([{"S": "IN_PROGRESS"}, {"S": "COMPLETED", "n": 7}])

    described, seconds = aws_job.wait_for_job(
        lambda: next(answers), "S", timed_out=DdbError, on_progress=None, poll=2, max_poll=2, timeout=60, sleep=lambda s: None
    )

    assert (described, seconds) == ({"S": "COMPLETED", "n": 7}, 4.0)


def test_a_refusal_quotes_at_most_200_characters_of_the_engines_message_and_none_when_it_gave_none(client):
    schema.load(client, TABLE, stream=False)

    class Said(_Answers):
        said: dict = {}  # noqa: RUF012 -- set per instance below

        def update_table(self, **request):
            raise ClientError({"Error": {"Code": "ResourceInUseException", **self.said}}, "UpdateTable")

    quiet, long = Said(client, None, {}), Said(client, None, {})
    quiet.said, long.said = {}, {"Message": "busy " * 100}

    with pytest.raises(schema.StreamRefused, match=r"\(ResourceInUseException: \)$"):
        stream_later.turn_on(quiet, TABLE, KEYS_ONLY)
    with pytest.raises(schema.StreamRefused) as refused:
        stream_later.turn_on(long, TABLE, KEYS_ONLY)
    assert str(refused.value).endswith(f"(ResourceInUseException: {('busy ' * 100)[:200]})")
