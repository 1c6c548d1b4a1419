"""Import's pipeline, in-process on moto: files read ahead of the writes, the read-back from a few threads, Ctrl-C between groups."""

import threading
import time

import pytest

from ddb.backup import exporting, importing, read_ahead, readback
from ddb.backup import source as import_source
from ddb.backup.layout import ExportFormatError
from ddb.core.errors import DdbError, Interrupted
from ddb.core.retry import RetryPolicy

from .support import TABLE, all_items, typed_items

COPY = "cruddur-copy"


@pytest.fixture
def source(client, seeded, tmp_path):
    """The seeded table's export (112 items), validated."""
    exporting.export_table(client, TABLE, tmp_path)
    found = import_source.open_source(tmp_path)
    import_source.validate(found)
    return found


def _reads_to(read: list[int], count: int) -> int:
    """The reading thread's count once it reaches `count` (5 s at most) and a while after, when it should not move."""
    deadline = time.monotonic() + 5
    while read[0] < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    return read[0]


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "import-read-ahead"]


def test_read_ahead_decodes_the_next_lists_while_the_caller_holds_one_and_no_more(source, monkeypatch):
    read = [0]
    original = import_source.typed_items

    def counted(src):
        for typed in original(src):
            read[0] += 1
            yield typed

    monkeypatch.setattr(read_ahead, "typed_items", counted)
    lists = read_ahead.read_ahead(source, 10, depth=1)
    first = next(lists)
    assert len(first) == 10
    # the caller holds list 1; list 2 waits in the hand-over; list 3 is read and waits for room
    assert _reads_to(read, 30) == 30
    rest = list(lists)
    assert [len(group) for group in rest] == [10] * 10 + [2]
    assert [readback.key_of(t) for t in first + [typed for group in rest for typed in group]] == [
        readback.key_of(t) for t in original(source)
    ]
    again = read_ahead.read_ahead(source, 10)
    next(again)
    again.close()
    assert _reader_threads() == []


def test_an_error_of_the_reading_thread_is_raised_to_the_caller_after_the_lists_before_it(source, monkeypatch):
    original = import_source.typed_items

    def breaks(src):
        for number, typed in enumerate(original(src), 1):
            if number == 16:
                raise ExportFormatError("data/x.json.gz: not readable (gone)")
            yield typed

    monkeypatch.setattr(read_ahead, "typed_items", breaks)
    handed: list[list[dict]] = []
    with pytest.raises(ExportFormatError, match=r"^data/x.json.gz: not readable \(gone\)$"):
        for group in read_ahead.read_ahead(source, 10):
            handed.append(group)
    assert [len(group) for group in handed] == [10]


def test_the_read_back_keeps_readers_calls_in_flight_asks_whole_keys_only_of_short_batches_and_names_what_is_missing(
    client, source, monkeypatch
):
    monkeypatch.setattr(readback, "GET_BATCH", 10)
    gone = [i for i in all_items(client) if i["pk"].startswith("MSG#")][:7]
    for item in gone:
        client.delete_item(TableName=TABLE, Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}})
    in_flight, most, lock = [0], [0], threading.Lock()
    asked: list[str] = []

    started = [0]

    def call_begins(**_):
        with lock:
            in_flight[0] += 1
            started[0] += 1
            first = started[0] <= 3
            most[0] = max(most[0], in_flight[0])
        deadline = time.monotonic() + 2
        while first and most[0] < 3 and time.monotonic() < deadline:  # the first calls wait for the other readers
            time.sleep(0.005)

    def call_ends(**_):
        with lock:
            in_flight[0] -= 1

    client.meta.events.register(
        "provide-client-params.dynamodb.BatchGetItem",
        lambda params, **_: asked.append(params["RequestItems"][TABLE]["ProjectionExpression"]),
    )
    client.meta.events.register("before-call.dynamodb.BatchGetItem", call_begins)
    client.meta.events.register("after-call.dynamodb.BatchGetItem", call_ends)
    checked: list[int] = []
    with pytest.raises(DdbError) as refused:
        readback.count_stored(client, TABLE, source, readers=3, on_progress=checked.append)
    exported = [readback.key_of(t) for t in import_source.typed_items(source)]
    missing = [key for key in exported if key in {(i["pk"], i["sk"]) for i in gone}]
    shown = ", ".join(f"{pk}/{sk}" for pk, sk in missing[:5])
    assert str(refused.value) == (
        f"7 item(s) of the export are not in table '{TABLE}' after the import: {shown} and 2 more; run the import again"
    )
    assert most[0] == 3 and sum(checked) == 112
    batches = [exported[i : i + 10] for i in range(0, 112, 10)]
    short = sum(any(key in missing for key in batch) for batch in batches)
    assert sorted(asked) == ["pk, sk"] * short + ["sk"] * len(batches) and 0 < short < len(batches)


def test_ctrl_c_while_the_reader_is_between_two_groups_says_exactly_how_many_items_are_stored(client, source, monkeypatch):
    def one_group_then_ctrl_c(src, size, keep=None, depth=1):
        yield list(import_source.typed_items(src))[:60]
        raise KeyboardInterrupt

    monkeypatch.setattr(importing, "read_ahead", one_group_then_ctrl_c)
    with pytest.raises(Interrupted) as stopped:
        importing.run(client, COPY, source, importing.plan(client, COPY, source))
    stored = len(typed_items(client, COPY))
    assert str(stopped.value) == (
        f"interrupted: {stored} of 112 items written; run the command again to finish (what is already there is skipped)"
    )
    assert (stopped.value.done, stopped.value.total) == (stored, 112) and stored <= 60


def test_groups_smaller_than_the_export_restore_every_item_once(client, source, monkeypatch):
    monkeypatch.setattr(importing, "WRITE_GROUP", 25)
    result = importing.run(client, COPY, source, importing.plan(client, COPY, source), writers=3)
    assert (result.written.put, result.stored) == (112, 112)
    assert typed_items(client, COPY) == typed_items(client, TABLE)
    assert result.write_seconds > 0 and result.read_back_seconds > 0


def test_one_reader_keeps_one_batch_get_in_flight_and_settles_each_batch_once_two_more_are_read(client, source, monkeypatch):
    monkeypatch.setattr(readback, "GET_BATCH", 10)
    in_flight, most, lock = [0], [0], threading.Lock()

    def call_begins(**_):
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.02)  # long enough for a second reader, if there were one, to start its call

    def call_ends(**_):
        with lock:
            in_flight[0] -= 1

    client.meta.events.register("before-call.dynamodb.BatchGetItem", call_begins)
    client.meta.events.register("after-call.dynamodb.BatchGetItem", call_ends)
    handed = [0]
    original = readback.read_ahead

    def counted(src, size, depth=1):
        for chunk in original(src, size, depth=depth):
            handed[0] += 1
            yield chunk

    monkeypatch.setattr(readback, "read_ahead", counted)
    read_when_settled: list[int] = []
    sizes: list[int] = []

    def settle(exported, stored):
        read_when_settled.append(handed[0])
        sizes.append(len(stored))

    readback.each_stored(client, TABLE, source, settle, policy=RetryPolicy(), readers=1)
    assert most[0] == 1
    assert read_when_settled == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 12]
    assert sizes == [10] * 11 + [2]
