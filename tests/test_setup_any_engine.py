"""`setup` on an engine that takes a stream only at creation: it still ends with the declared stream.

The fast way (create without the stream, seed, turn the stream on) is kept where the engine
allows it; where UpdateTable's StreamSpecification is refused (or ignored), the table is
dropped, created with its stream and seeded again, and the summary says which way it went.
"""

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from ddb.schema import declaration as schema
from ddb.schema import plan as schema_plan
from ddb.seed import setup as table_setup
from ddb.stream import reader as stream_reader

from .faultproxy import FaultProxy
from .support import FIXTURES, NOW, TABLE, all_items, local_client

NEW_IMAGE = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
REFUSAL = "StreamSpecification cannot be changed after the table is created"


class StreamOnlyAtCreation:
    """Wraps a client as an engine that takes a stream in CreateTable only: UpdateTable's StreamSpecification is refused."""

    def __init__(self, client, answer="refuse"):
        self.client, self.meta, self.answer = client, client.meta, answer
        self.refused = 0

    def update_table(self, **request):
        if "StreamSpecification" not in request:
            return self.client.update_table(**request)
        self.refused += 1
        if self.answer == "ignore":  # answers as if done, and keeps the table as it was
            return {"TableDescription": self.client.describe_table(TableName=request["TableName"])["Table"]}
        raise ClientError(
            {"Error": {"Code": "ValidationException", "Message": REFUSAL}, "ResponseMetadata": {"HTTPStatusCode": 400}},
            "UpdateTable",
        )

    def __getattr__(self, name):
        return getattr(self.client, name)


def _live(client) -> dict:
    return client.describe_table(TableName=TABLE)["Table"]


def test_setup_turns_the_stream_on_after_the_seed_where_the_engine_allows_it(client):
    result = table_setup.setup(client, TABLE, FIXTURES, now=NOW)

    assert (result.stream, result.refusal) == (table_setup.AFTER_SEED, "")
    assert _live(client)["StreamSpecification"] == NEW_IMAGE
    records = stream_reader.read_stream(client, boto3.client("dynamodbstreams", region_name="us-east-1"), TABLE).records
    assert records == [] and result.seeded.written.put == 112


@pytest.mark.parametrize("answer", ["refuse", "ignore"])
def test_setup_on_an_engine_that_will_not_turn_a_stream_on_later_creates_the_table_with_it_and_seeds_again(client, answer):
    engine = StreamOnlyAtCreation(client, answer)
    heard: list[object] = []

    result = table_setup.setup(engine, TABLE, FIXTURES, now=NOW, on_refused=heard.append, on_created=heard.append)

    assert engine.refused == 1 and result.stream == table_setup.AT_CREATION
    assert [type(h).__name__ for h in heard] == ["LoadResult", "StreamRefused", "LoadResult"]
    expected = REFUSAL if answer == "refuse" else "it answered, yet the stream stayed off"
    assert (
        result.refusal
        == f"table {TABLE!r}: the engine did not turn its stream on ({'ValidationException: ' * (answer == 'refuse')}{expected})"
    )
    live = _live(client)
    assert (live["TableStatus"], live["StreamSpecification"]) == ("ACTIVE", NEW_IMAGE)
    assert result.created.description["StreamSpecification"] == NEW_IMAGE
    assert (result.dropped, result.seeded.written.put, len(all_items(client))) == (False, 112, 112)
    assert schema_plan.plan(client, TABLE, schema.table_spec(TABLE)).steps == []


def test_enable_stream_on_an_engine_that_refuses_it_is_stream_refused_naming_the_answer(client):
    schema.load(client, TABLE, stream=False)

    with pytest.raises(schema.StreamRefused, match=f"did not turn its stream on \\(ValidationException: {REFUSAL}\\)$"):
        schema.enable_stream(StreamOnlyAtCreation(client), TABLE)


@pytest.mark.each_engine  # each engine's own CreateTable with a stream, seeded through a proxy that refuses it later
def test_setup_task_on_an_engine_that_refuses_a_stream_later_ends_with_the_stream_and_says_so(invoke, engine):
    with FaultProxy(engine, refuse_stream_updates=True) as proxy:
        done = invoke("setup", endpoint=proxy.endpoint)

    assert done.code == 0, done
    assert proxy.injected["stream refused"] == 1 and proxy.seen["CreateTable"] == 2
    lines = done.err.splitlines()
    assert (
        f"table {TABLE!r}: the engine did not turn its stream on (ValidationException: {REFUSAL}): "
        "dropping the table, creating it with its stream and seeding again"
    ) in lines
    assert lines[-2].startswith("seeded 4 conversations, 100 messages, 8 group items, 4 group claims: 112 put")
    assert lines[-1] == (
        f"table {TABLE!r}: stream NEW_IMAGE created with the table, as this engine takes it only at creation: "
        "seeded twice, and the stream holds the seed's records"
    )
    live = local_client(engine).describe_table(TableName=TABLE)["Table"]
    assert (live["TableStatus"], live["StreamSpecification"]) == ("ACTIVE", NEW_IMAGE)
    assert len(all_items(local_client(engine))) == 112
    planned = invoke("schema-plan")
    assert planned.code == 0 and f"table {TABLE!r}: up to date with the declaration" in planned.err, planned
    drained = invoke("stream.process", "--json")
    assert drained.code == 0 and json.loads(drained.out)["records"] > 0, drained  # the second seed wrote through it
