"""Pattern E: the stream handler keeps both group items at the conversation's last message."""

import threading
from datetime import timedelta

import boto3

from ddb import items, messaging, patterns, stream

from .conftest import NOW, TABLE, all_items

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"


def _record(item, event="INSERT", seq="1"):
    record = {"eventName": event, "dynamodb": {"Keys": items.to_typed(items.key_of(item)), "SequenceNumber": seq}}
    if event != "REMOVE":
        record["dynamodb"]["NewImage"] = items.to_typed(item)
    return record


def _message(seeded, sender, text, when):
    return items.message_item(MIRA_JUNE, "5b7c3a52-46f4-4a5e-9b0e-8f3f3b1c2d10", seeded.users[sender], text, items.iso_time(when))


def _groups(client):
    return sorted((i for i in all_items(client) if i.get("message_group_uuid") == MIRA_JUNE), key=lambda i: i["pk"])


def test_a_new_message_moves_both_group_items(client, seeded):
    message = _message(seeded, "june", "later!", NOW + timedelta(hours=1))
    result = stream.handle_records(client, TABLE, [_record(message)])
    assert (result.messages, result.moved, result.failed) == (1, 2, [])
    groups = _groups(client)
    assert len(groups) == 2
    assert all(g["sk"] == message["sk"] and g["message"] == "later!" for g in groups)
    assert {g["user_handle"] for g in groups} == {"mira", "june"}  # other participants are kept


def test_duplicate_records_give_the_same_result(client, seeded):
    message = _message(seeded, "june", "twice", NOW + timedelta(hours=1))
    stream.handle_records(client, TABLE, [_record(message)])
    once = all_items(client)
    result = stream.handle_records(client, TABLE, [_record(message), _record(message)])
    assert (result.moved, result.already_current) == (0, 4)
    assert all_items(client) == once


def test_out_of_order_records_never_move_a_group_backwards(client, seeded):
    newer = _message(seeded, "june", "newer", NOW + timedelta(hours=2))
    older = _message(seeded, "mira", "older", NOW + timedelta(hours=1))
    stream.handle_records(client, TABLE, [_record(newer), _record(older)])
    assert [(g["sk"], g["message"]) for g in _groups(client)] == [(newer["sk"], "newer")] * 2


def test_only_new_messages_act_in_a_mixed_batch(client, seeded):
    message = _message(seeded, "mira", "the real one", NOW + timedelta(hours=3))
    group_item = _groups(client)[0]
    moved_group = {**group_item, "sk": items.iso_time(NOW + timedelta(hours=9)), "message": "not a message"}
    batch = [
        _record(moved_group, "INSERT", "1"),          # a GRP insert (what a move itself produces)
        _record(group_item, "MODIFY", "2"),           # a change
        _record(message, "REMOVE", "3"),              # a delete
        _record(message, "MODIFY", "4"),              # an edit of a message
        _record(message, "INSERT", "5"),              # the only one that acts
    ]
    result = stream.handle_records(client, TABLE, batch)
    assert (result.records, result.messages, result.ignored, result.moved) == (5, 1, 4, 2)
    assert [g["message"] for g in _groups(client)] == ["the real one"] * 2


def _atomic_requests(worker, lock):
    """Make each request of `worker` atomic against the others, as DynamoDB's are.

    moto applies a transaction without isolation from other threads (it restores a
    snapshot on failure), so the race is run at request granularity: handlers still
    interleave between their reads and their conditional writes.
    """
    make_api_call = worker._make_api_call

    def locked(*args, **kwargs):
        with lock:
            return make_api_call(*args, **kwargs)

    worker._make_api_call = locked
    return worker


def test_two_handlers_racing_on_one_group_leave_one_item_per_participant(client, seeded):
    messages = [_message(seeded, "june", f"race {n}", NOW + timedelta(minutes=n)) for n in range(1, 9)]
    barrier = threading.Barrier(2)
    lock = threading.Lock()
    errors = []

    def run(batch):
        worker = _atomic_requests(boto3.client("dynamodb", region_name="us-east-1"), lock)
        barrier.wait()
        try:
            stream.handle_records(worker, TABLE, [_record(m) for m in batch])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(messages[0::2],)), threading.Thread(target=run, args=(messages[1::2][::-1],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    groups = _groups(client)
    assert len(groups) == 2
    assert [(g["sk"], g["message"]) for g in groups] == [(messages[-1]["sk"], "race 8")] * 2


def test_a_stale_view_is_corrected_by_a_consistent_reread(client, seeded):
    """The GSI may lag; a move from a key that is already gone re-reads and still lands."""
    current = _groups(client)[0]
    first = _message(seeded, "june", "first", NOW + timedelta(hours=1))
    assert stream.move_group_item(client, TABLE, current, first) == "moved"
    second = _message(seeded, "june", "second", NOW + timedelta(hours=2))
    assert stream.move_group_item(client, TABLE, current, second) == "moved"  # `current` is stale here
    mine = [g for g in _groups(client) if g["pk"] == current["pk"]]
    assert [(g["sk"], g["message"]) for g in mine] == [(second["sk"], "second")]


def test_create_message_then_the_tables_own_stream_puts_it_on_top(client, seeded):
    mira, june = seeded.users["mira"], seeded.users["june"]
    messaging.create_message(client, TABLE, MIRA_JUNE, june, "from the stream", now=NOW + timedelta(days=1))
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    batch = stream.read_stream(client, streams, TABLE)
    result = stream.handle_records(client, TABLE, batch.records)
    assert result.failed == [] and result.moved == 2
    for user in (mira, june):
        top = patterns.list_conversations(client, TABLE, user.uuid).items[0]
        assert (top["message_group_uuid"], top["message"]) == (MIRA_JUNE, "from the stream")
    assert len(_groups(client)) == 2


def test_lambda_handler_reports_no_failures(client, seeded, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setattr(stream, "_CLIENTS", {"dynamodb": client})
    message = _message(seeded, "mira", "via lambda", NOW + timedelta(hours=5))
    assert stream.lambda_handler({"Records": [_record(message)]}) == {"batchItemFailures": []}
    assert [g["message"] for g in _groups(client)] == ["via lambda"] * 2
