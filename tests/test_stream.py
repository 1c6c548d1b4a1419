"""Pattern E: the stream handler keeps both group items at the conversation's last message."""

import json
import threading
from datetime import timedelta

import boto3
import pytest

from ddb.app import messaging, patterns
from ddb.data import items
from ddb.stream import handler as stream
from ddb.stream import reader as stream_reader

from .support import NOW, TABLE, all_items, atomic_requests, seed_table

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
        _record(moved_group, "INSERT", "1"),  # a GRP insert (what a move itself produces)
        _record(group_item, "MODIFY", "2"),  # a change
        _record(message, "REMOVE", "3"),  # a delete
        _record(message, "MODIFY", "4"),  # an edit of a message
        _record(message, "INSERT", "5"),  # the only one that acts
    ]
    result = stream.handle_records(client, TABLE, batch)
    assert (result.records, result.messages, result.ignored, result.moved) == (5, 1, 4, 2)
    assert [g["message"] for g in _groups(client)] == ["the real one"] * 2


def test_two_handlers_racing_on_one_group_leave_one_item_per_participant(client, seeded):
    messages = [_message(seeded, "june", f"race {n}", NOW + timedelta(minutes=n)) for n in range(1, 9)]
    barrier = threading.Barrier(2)
    lock = threading.Lock()
    errors = []

    def run(batch):
        worker = atomic_requests(boto3.client("dynamodb", region_name="us-east-1"), lock)
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
    batch = stream_reader.read_stream(client, streams, TABLE)
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


# ------------------------------------------------------------------ one bad record never stalls the stream

MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
DEAD_LETTER = "stream-dead-letter-local-cruddur-messages.jsonl"


def _insert(image, seq):
    return {"eventID": f"e{seq}", "eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": seq}}


def _tomas_message(seeded, text, when):
    return items.message_item(
        MIRA_TOMAS, "0e5b7c3a-46f4-4a5e-9b0e-8f3f3b1c2d10", seeded.users["tomas"], text, items.iso_time(when)
    )


def _groups_of(client, group):
    return [i for i in all_items(client) if i.get("message_group_uuid") == group]


def test_stream_applies_good_records_and_reports_each_malformed_one_by_sequence_number(client, seeded):
    first = _message(seeded, "june", "before the bad ones", NOW + timedelta(hours=1))
    last = _tomas_message(seeded, "after the bad ones", NOW + timedelta(hours=2))
    typed = items.to_typed(first)

    def without(name):
        return {k: v for k, v in typed.items() if k != name}

    malformed = [
        (_insert({**typed, "sk": {"N": "1764087600"}}, "101"), "101", "the new item's sk is a number, not a string"),
        (_insert(without("sk"), "102"), "102", "the new item has no sk"),
        (_insert(without("message"), "103"), "103", "the new item has no message"),
        (_insert({**typed, "pk": {"S": "MSG#"}}, "104"), "104", "the pk 'MSG#' names no conversation uuid (expected MSG#<uuid>)"),
        (_insert({**typed, "message": {"L": []}}, "105"), "105", "the new item's message is a list, not a string"),
        (
            _insert({**typed, "sk": {"S": "yesterday"}}, "106"),
            "106",
            "the sk 'yesterday' is not a time like 2026-11-25T16:20:00.000000+00:00",
        ),
        (_insert({**typed, "message": {"S": "  "}}, "107"), "107", "the message is blank"),
        (_insert({**typed, "pk": {"N": "5"}}, "108"), "108", "the new item's pk is a number, not a string"),
        (
            _insert({**typed, "message": "plain, not typed"}, "109"),
            "109",
            "the new item's message is not a DynamoDB attribute value, not a string",
        ),
        (
            {"eventID": "e110", "eventName": "INSERT", "dynamodb": {"Keys": typed, "SequenceNumber": "110"}},
            "110",
            "the INSERT record has no NewImage (the stream's view type must be NEW_IMAGE)",
        ),
        ({"eventID": "e111", "eventName": "INSERT"}, "e111", "the INSERT record has no dynamodb object"),
        ({"eventID": "e112", "dynamodb": {"NewImage": typed, "SequenceNumber": "112"}}, "112", "the record has no eventName"),
        ("not a record", "#13", "the record is not an object (it is str 'not a record')"),
        (None, "#14", "the record is not an object (it is NoneType 'None')"),
    ]
    batch = [_record(first, seq="100"), *[record for record, _, _ in malformed], _record(last, seq="199")]
    result = stream.handle_records(client, TABLE, batch)
    assert [(f.identifier, f.reason, f.retryable) for f in result.failed] == [(i, why, False) for _, i, why in malformed]
    assert [f.sequence_number for f in result.failed] == [i if i.isdigit() else None for _, i, _ in malformed]
    assert (result.records, result.messages, result.moved, result.stopped_at, result.handled) == (16, 2, 4, None, 16)
    assert {(g["sk"], g["message"]) for g in _groups_of(client, MIRA_JUNE)} == {(first["sk"], "before the bad ones")}
    assert {(g["sk"], g["message"]) for g in _groups_of(client, MIRA_TOMAS)} == {(last["sk"], "after the bad ones")}


def test_a_record_that_fails_now_is_retryable_and_can_end_the_batch_there(client, seeded):
    good = _message(seeded, "june", "no table yet", NOW + timedelta(hours=1))
    batch = [_record(good, seq="1"), _insert({}, "2"), _record(good, seq="3")]
    result = stream.handle_records(client, "no-such-table", batch)
    assert [(f.identifier, f.retryable) for f in result.failed] == [("1", True), ("2", False), ("3", True)]
    assert result.failed[0].reason.startswith("table 'no-such-table' does not exist in us-east-1")
    stopped = stream.handle_records(client, "no-such-table", batch, stop_on_retryable=True)
    assert [(f.identifier, f.retryable) for f in stopped.failed] == [("1", True)]
    assert (stopped.records, stopped.stopped_at, stopped.handled) == (1, 0, 0)


def test_a_message_the_engine_refuses_to_apply_is_malformed_not_retried(client, seeded):
    """DynamoDB refuses a moved group item over 400 KB (moto does not check): that can never apply."""
    from botocore.exceptions import ClientError

    def too_large(**kwargs):
        raise ClientError(
            {
                "Error": {"Code": "ValidationException", "Message": "Item size has exceeded the maximum allowed size"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "TransactWriteItems",
        )

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", too_large)
    message = _message(seeded, "june", "x" * 4000, NOW + timedelta(hours=1))
    result = stream.handle_records(client, TABLE, [_record(message, seq="7")], stop_on_retryable=True)
    assert [(f.identifier, f.reason, f.retryable) for f in result.failed] == [
        ("7", "DynamoDB refuses to apply it: Item size has exceeded the maximum allowed size", False)
    ]
    assert result.stopped_at is None


def test_stream_checkpoint_stays_before_a_record_that_failed_now_so_the_next_read_retries_it(client, seeded, tmp_path):
    from botocore.exceptions import EndpointConnectionError

    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    checkpoint = tmp_path / "checkpoint.json"
    first = stream_reader.read_stream(client, streams, TABLE, checkpoint)
    assert first.arn is not None
    stream_reader.save_checkpoint(checkpoint, first.arn, first.checkpoint)
    messaging.create_message(client, TABLE, MIRA_JUNE, seeded.users["june"], "lands", now=NOW + timedelta(hours=1))
    messaging.create_message(client, TABLE, MIRA_TOMAS, seeded.users["tomas"], "fails now", now=NOW + timedelta(hours=2))
    batch = stream_reader.read_stream(client, streams, TABLE, checkpoint)
    assert len(batch.records) == 2

    def unreachable_for_tomas(params, **kwargs):
        if params["ExpressionAttributeValues"][":g"]["S"] == MIRA_TOMAS:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    client.meta.events.register("before-parameter-build.dynamodb.Query", unreachable_for_tomas)
    result = stream.handle_records(client, TABLE, batch.records, stop_on_retryable=True)
    client.meta.events.unregister("before-parameter-build.dynamodb.Query", unreachable_for_tomas)
    assert [(f.index, f.retryable) for f in result.failed] == [(1, True)] and result.handled == 1
    assert batch.arn is not None
    stream_reader.save_checkpoint(checkpoint, batch.arn, batch.checkpoint_through(result.handled))
    again = stream_reader.read_stream(client, streams, TABLE, checkpoint)
    assert again.records[0]["dynamodb"]["SequenceNumber"] == batch.records[1]["dynamodb"]["SequenceNumber"]
    assert [message["message"] for r in again.records if (message := stream.parse_record(r))] == ["fails now"]
    assert stream.handle_records(client, TABLE, again.records).moved == 2
    assert {g["message"] for g in _groups_of(client, MIRA_TOMAS)} == {"fails now"}


def test_lambda_handler_names_each_failed_record_in_batch_item_failures_and_applies_the_rest(client, seeded, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setattr(stream, "_CLIENTS", {"dynamodb": client})
    good = _message(seeded, "june", "around the poison", NOW + timedelta(hours=1))
    poison = _insert({**items.to_typed(good), "pk": {"S": "MSG#"}}, "301")
    later = _tomas_message(seeded, "also applied", NOW + timedelta(hours=2))
    response = stream.lambda_handler({"Records": [_record(good, seq="300"), poison, _record(later, seq="302")]})
    assert response == {"batchItemFailures": [{"itemIdentifier": "301"}]}
    assert {g["message"] for g in _groups_of(client, MIRA_JUNE)} == {"around the poison"}
    assert {g["message"] for g in _groups_of(client, MIRA_TOMAS)} == {"also applied"}


def test_lambda_handler_retries_the_whole_batch_for_a_failed_record_it_cannot_name(client, seeded, monkeypatch):
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setattr(stream, "_CLIENTS", {"dynamodb": client})
    good = _message(seeded, "june", "named", NOW + timedelta(hours=1))
    nameless = {"eventName": "INSERT", "dynamodb": {"NewImage": {**items.to_typed(good), "sk": {"N": "1"}}}}
    response = stream.lambda_handler({"Records": [_record(good, seq="400"), _record(good, seq="401"), nameless]})
    assert response == {"batchItemFailures": [{"itemIdentifier": "400"}]}
    assert stream.lambda_handler({"Records": [nameless, "junk"]}) == {
        "batchItemFailures": [{"itemIdentifier": "#0"}, {"itemIdentifier": "#1"}]
    }


def test_lambda_handler_with_records_null_or_missing_has_nothing_to_do(client, monkeypatch):
    monkeypatch.setattr(stream, "_CLIENTS", {"dynamodb": client})
    for event in ({"Records": None}, {}, {"Records": "not a list"}, None):
        assert stream.lambda_handler(event) == {"batchItemFailures": []}
    assert stream.handle_records(client, TABLE, None).records == 0


def test_moving_a_group_item_that_is_gone_moves_nothing_and_brings_nothing_back(client, seeded):
    message = _message(seeded, "june", "too late", NOW + timedelta(hours=1))
    assert stream.move_group_item(client, TABLE, None, message) == "vanished"
    gone, kept = _groups(client)
    client.delete_item(TableName=TABLE, Key=items.to_typed(items.key_of(gone)))
    assert stream.move_group_item(client, TABLE, gone, message) == "vanished"  # its delete fails, the re-read finds nothing
    assert [(g["pk"], g["sk"]) for g in _groups(client)] == [(kept["pk"], kept["sk"])]


# ------------------------------------------------------------------ end to end, on moto server and DynamoDB Local


@pytest.mark.each_engine  # each engine's own stream: its records, sequence numbers and shard iterators
def test_stream_process_dead_letters_a_malformed_record_once_and_applies_the_rest(invoke, engine_client, tmp_path):
    seed_table(engine_client)
    when = items.iso_time(NOW)
    engine_client.put_item(TableName=TABLE, Item=items.to_typed({"pk": "MSG#", "sk": when, "message": "no conversation"}))
    engine_client.put_item(TableName=TABLE, Item=items.to_typed({"pk": f"MSG#{MIRA_TOMAS}", "sk": when, "user_handle": "mira"}))
    sent = invoke(
        "patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--handle", "mira", "--message", "after the poison"
    )
    assert sent.code == 0, sent

    run = invoke("stream.process")
    assert run.code == 0, run
    dead = tmp_path / "state" / DEAD_LETTER
    entries = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [e["reason"] for e in entries] == [
        "the pk 'MSG#' names no conversation uuid (expected MSG#<uuid>)",
        "the new item has no message",
    ]
    assert entries[0]["record"]["dynamodb"]["NewImage"]["pk"] == {"S": "MSG#"}
    assert all(e["sequence_number"] == e["record"]["dynamodb"]["SequenceNumber"] for e in entries)
    told = [line for line in run.err.splitlines() if "can never apply" in line]
    assert told == [f"record {e['sequence_number']} can never apply: {e['reason']}; saved to {dead} and passed" for e in entries]
    assert "2 malformed (dead-lettered)" in run.err and "Traceback" not in run.err
    for handle in ("mira", "tomas"):
        top = json.loads(invoke("patterns.list-conversations", "--handle", handle, "--json").out)["items"][0]
        assert (top["message_group_uuid"], top["message"]) == (MIRA_TOMAS, "after the poison")

    again = invoke("stream.process", "--json")
    assert again.code == 0, again
    assert "can never apply" not in again.err and json.loads(again.out)["failed"] == []
    assert len(dead.read_text().splitlines()) == 2
