"""Pattern E at scale: `stream.process` drains the stream in one run, a cap is a flag with its own exit code,
and a batch's records of one conversation cost one move per group item, not one per record."""

import json
from datetime import timedelta

import pytest

from ddb.app.message_count import ATTRIBUTE
from ddb.data import items
from ddb.seed import synthetic
from ddb.seed.fixtures import load
from ddb.stream import handler as stream
from ddb.stream import reader as stream_reader

from .support import NOW, ROOT, TABLE, all_items, seed_table

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"


def _groups(client, group=MIRA_JUNE):
    return sorted((i for i in all_items(client) if i.get("message_group_uuid") == group), key=lambda i: i["pk"])


def _insert(item, seq):
    return {"eventName": "INSERT", "dynamodb": {"NewImage": items.to_typed(item), "SequenceNumber": str(seq)}}


def _messages(seeded, count):
    june = seeded.users["june"]
    return [
        items.message_item(
            MIRA_JUNE, f"00000000-0000-4000-8000-{n:012d}", june, f"note {n}", items.iso_time(NOW + timedelta(minutes=n))
        )
        for n in range(1, count + 1)
    ]


def _counting(client):
    """Count the requests the client sends, by operation."""
    sent: dict[str, int] = {}

    def count(params, model, **kwargs):
        sent[model.name] = sent.get(model.name, 0) + 1

    client.meta.events.register("before-call.dynamodb.*", count)
    return sent


def test_a_batch_of_one_conversations_records_moves_each_group_item_once_to_the_newest(client, seeded):
    written = _messages(seeded, 40)
    for message in written:
        client.put_item(TableName=TABLE, Item=items.to_typed(message))
    shuffled = written[20:] + written[:20] + written[30:35]  # out of order, with duplicates
    records = [_insert(m, n) for n, m in enumerate(shuffled, 1)]
    sent = _counting(client)
    result = stream.handle_records(client, TABLE, records)
    assert (result.records, result.messages, result.moved, result.failed) == (45, 45, 2, [])
    assert result.already_current == 2 * 44  # each superseded record finds both group items past it
    assert sent == {"Query": 1, "TransactWriteItems": 2}, sent  # one look through the GSI, one move per participant
    assert [(g["sk"], g["message"]) for g in _groups(client)] == [(written[-1]["sk"], "note 40")] * 2


def test_message_count_stays_exact_when_a_batch_is_applied_at_once(client, seeded):
    from ddb.migrate import migrations

    migrations.run(client, TABLE, ROOT / "migrations", "up")
    before = {g["pk"]: g[ATTRIBUTE] for g in _groups(client)}
    written = _messages(seeded, 12)
    for message in written:
        client.put_item(TableName=TABLE, Item=items.to_typed(message))
    records = [_insert(m, n) for n, m in enumerate(reversed(written + written[:3]), 1)]
    stream.handle_records(client, TABLE, records[:7])
    stream.handle_records(client, TABLE, records)  # the rest, and the first seven again
    assert {g["pk"]: g[ATTRIBUTE] for g in _groups(client)} == {pk: n + 12 for pk, n in before.items()}


@pytest.fixture
def many_records(engine_client, tmp_path, monkeypatch):
    """1,000 messages (and their group items and claims) in a table with its stream: over twice the batch size, set to 400.

    The batch size is the point, not its value: 10,000 records took minutes on moto.
    """
    monkeypatch.setattr(stream_reader, "BATCH_RECORDS", 400)
    data = synthetic.generate(tmp_path / "fixtures", messages=1_000, conversations=20, users=10).directory
    seed_table(engine_client, data)
    return engine_client, load(data)


def test_stream_process_applies_every_pending_record_in_one_run_and_says_so(invoke, many_records):
    client, loaded = many_records
    # 1,000 messages + 40 group items + 20 claims; a put the SDK retried under load after its answer was lost can
    # leave one more record on moto, so the exact figure is the stream's own
    in_stream = len(stream_reader.read_stream(client, _streams(client), TABLE).records)
    assert in_stream >= 1060
    run = invoke("stream.process")
    assert run.code == 0, run
    summary = run.err.strip().splitlines()[-1]
    assert summary.startswith(f"applied {in_stream} records: 1000 new messages, ") and summary.endswith("; the stream is drained")
    newest = {c.message_group_uuid: max(m["sk"] for m in items_) for c, items_ in _stamped_messages(client, loaded)}
    groups = [i for i in all_items(client) if i["pk"].startswith("GRP#")]
    assert len(groups) == 40 and all(g["sk"] == newest[g["message_group_uuid"]] for g in groups)
    again = invoke("stream.process", "--json")
    assert again.code == 0 and (json.loads(again.out)["records"], json.loads(again.out)["remaining"]) == (0, 0), again


def _stamped_messages(client, loaded):
    """Each conversation and its message items as stored."""
    stored = [i for i in all_items(client) if i["pk"].startswith("MSG#")]
    for conversation in loaded.conversations:
        yield conversation, [i for i in stored if i["pk"] == f"MSG#{conversation.message_group_uuid}"]


def test_a_capped_run_says_how_many_remain_and_exits_3_and_the_next_run_finishes(invoke, engine_client):
    seed_table(engine_client)  # the repository's fixtures: their messages, group items and claims, each a record
    total = json.loads(invoke("stream.process", "--json", "--max-records", "100000").out)["records"]
    assert total > 20
    assert invoke("stream.process", "--from-start", "--max-records", str(total)).code == 0  # nothing past the cap

    capped = invoke("stream.process", "--from-start", "--max-records", "15")
    assert capped.code == 3, capped
    assert capped.err.strip().splitlines()[-1].startswith("applied 15 records: ")
    assert capped.err.strip().endswith(
        f"; stopped at --max-records 15: {total - 15:,} more records pending, run stream.process again"
    )
    rest = invoke("stream.process", "--json")
    assert rest.code == 0 and json.loads(rest.out)["records"] == total - 15, rest
    assert invoke("stream.process", "--max-records", "0").code == 1  # a cap is a whole number of at least 1


def test_drain_moves_the_checkpoint_batch_by_batch(engine_client, tmp_path):

    seed_table(engine_client)
    streams = _streams(engine_client)
    drained = stream_reader.drain(
        engine_client, streams, TABLE, tmp_path / "checkpoint.json", tmp_path / "dead.jsonl", batch_records=7
    )
    assert drained.batches > 3 and not drained.capped and drained.remaining == 0
    assert drained.result.records == stream_reader.read_stream(engine_client, streams, TABLE).records.__len__()
    assert stream_reader.pending_count(engine_client, streams, TABLE, tmp_path / "checkpoint.json") == 0


def _streams(client):
    import boto3

    return boto3.client(
        "dynamodbstreams",
        endpoint_url=client.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
