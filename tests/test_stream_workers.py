"""Pattern E with several workers: a batch's conversations applied at once keep every guarantee of one at a time.

Each conversation is applied whole by one worker, so a participant's group item is only
ever moved by one thread of a batch: at the end there is one group item per participant, at
the conversation's last message. A conversation that keeps failing is still bisected down
to its record and dead-lettered alone, and a batch that stops at a failure still dealt with
every record before it. moto's in-process backend is not thread-safe, so the tests that run
there let the workers overlap but hand moto one request at a time; the test marked
`each_engine` sends DynamoDB Local concurrent requests.
"""

import threading
import time
from datetime import timedelta

import pytest

from ddb.core.errors import ConditionFailed
from ddb.data import items
from ddb.seed import synthetic
from ddb.seed.fixtures import load
from ddb.stream import batches, follower
from ddb.stream import handler as stream

from .support import NOW, all_items, seed_table

CONVERSATIONS = 24


@pytest.fixture
def conversations(tmp_path):
    """A synthetic set of CONVERSATIONS conversations (their users, uuids), not yet seeded."""
    data = synthetic.generate(tmp_path / "fixtures", messages=CONVERSATIONS, conversations=CONVERSATIONS, users=10)
    return data.directory, load(data.directory)


def _burst(loaded, per_conversation=3):
    """New messages, a day after NOW, interleaved over every conversation: each conversation's newest is not its last record.

    Records in batch order: conversation by conversation in turn, newest first within a turn,
    and each conversation's oldest new message again at the end (a duplicate).
    """
    written, records = [], []
    for turn in range(per_conversation):
        for n, conversation in enumerate(loaded.conversations):
            minutes = (per_conversation - turn) * 100 + n  # later turns are older: out of order
            sender = loaded.users[conversation.between[turn % 2]]
            uuid = f"00000000-0000-4000-8000-{turn:04d}{n:08d}"
            when = items.iso_time(NOW + timedelta(days=1, minutes=minutes))
            written.append(items.message_item(conversation.message_group_uuid, uuid, sender, f"turn {turn} of {n}", when))
    written += written[-len(loaded.conversations) :]
    for seq, message in enumerate(written, 1):
        records.append({"eventName": "INSERT", "dynamodb": {"NewImage": items.to_typed(message), "SequenceNumber": str(seq)}})
    return written, records


def _newest(written):
    newest: dict[str, dict] = {}
    for message in written:
        group = message["pk"][len("MSG#") :]
        if group not in newest or message["sk"] > newest[group]["sk"]:
            newest[group] = message
    return newest


def _group_items(client):
    return [i for i in all_items(client) if i["pk"].startswith("GRP#")]


def _assert_one_group_item_per_participant_at(client, newest):
    groups = _group_items(client)
    assert len(groups) == 2 * CONVERSATIONS
    assert len({(g["pk"], g["message_group_uuid"]) for g in groups}) == len(groups)  # never two for one participant
    assert {(g["message_group_uuid"], g["sk"], g["message"]) for g in groups} == {
        (group, m["sk"], m["message"]) for group, m in newest.items()
    }


def _overlapping(monkeypatch, fail=lambda message: False):
    """Wrap apply_message: workers overlap (a short sleep), moto gets one request at a time; the threads that applied."""
    apply_message, lock, threads = stream.apply_message, threading.Lock(), set()

    def wrapped(client, table, message, result):
        threads.add(threading.get_ident())
        time.sleep(0.005)
        if fail(message):
            raise ConditionFailed("the group item would not move")
        with lock:
            return apply_message(client, table, message, result)

    monkeypatch.setattr(stream, "apply_message", wrapped)
    return threads


@pytest.mark.each_engine
def test_many_conversations_applied_by_several_workers_end_with_one_group_item_per_participant_at_the_last_message(
    engine_client, conversations
):
    directory, loaded = conversations
    seed_table(engine_client, directory)
    written, records = _burst(loaded)
    applied = batches.apply_batch(engine_client, "cruddur-messages", records, workers=4, retry_seconds=0.01)
    assert applied.through == len(records) and not applied.dead
    assert applied.result.messages == len(records)
    _assert_one_group_item_per_participant_at(engine_client, _newest(written))
    again = batches.apply_batch(engine_client, "cruddur-messages", list(reversed(records)), workers=4)  # duplicates, reversed
    assert again.result.moved == 0 and not again.dead
    _assert_one_group_item_per_participant_at(engine_client, _newest(written))


def test_workers_apply_conversations_at_once_and_add_up_the_same_counts_as_one(client, conversations, monkeypatch):
    directory, loaded = conversations
    seed_table(client, directory)
    written, records = _burst(loaded)
    threads = _overlapping(monkeypatch)
    result = stream.handle_records(client, "cruddur-messages", records, workers=4)
    assert len(threads) > 1
    assert (result.records, result.messages, result.moved, result.failed) == (len(records), len(records), 2 * CONVERSATIONS, [])
    assert result.already_current == 2 * (len(records) - CONVERSATIONS)  # every record but each conversation's newest
    _assert_one_group_item_per_participant_at(client, _newest(written))


def test_a_failing_conversation_among_several_workers_is_bisected_and_its_record_dead_lettered_alone(
    client, conversations, monkeypatch
):
    directory, loaded = conversations
    seed_table(client, directory)
    written, records = _burst(loaded)
    poison = _newest(written)[loaded.conversations[5].message_group_uuid]
    threads = _overlapping(monkeypatch, fail=lambda message: message["sk"] == poison["sk"])
    applied = batches.apply_batch(client, "cruddur-messages", records, max_tries=3, retry_seconds=0.0, workers=4)
    assert len(threads) > 1
    [dead] = applied.dead
    assert records[dead.index]["dynamodb"]["NewImage"] == items.to_typed(poison)
    assert dead.reason.startswith("failed 3 tries, the last: ") and "would not move" in dead.reason
    assert applied.through == len(records)
    newest = _newest([m for m in written if m != poison])  # its conversation moves to the newest message but the poison
    _assert_one_group_item_per_participant_at(client, newest)


def test_a_batch_that_stops_at_a_failure_with_several_workers_dealt_with_every_record_before_it(
    client, conversations, monkeypatch
):
    directory, loaded = conversations
    seed_table(client, directory)
    written, records = _burst(loaded)
    stuck = loaded.conversations[7].message_group_uuid
    _overlapping(monkeypatch, fail=lambda message: message["pk"] == f"MSG#{stuck}")
    result = stream.handle_records(client, "cruddur-messages", records, stop_on_retryable=True, workers=4)
    first_stuck = next(i for i, m in enumerate(written) if m["pk"] == f"MSG#{stuck}")
    assert result.stopped_at == first_stuck == result.handled and [f.index for f in result.retryable] == [first_stuck]
    current = {g["message_group_uuid"]: g["sk"] for g in _group_items(client)}
    for message in written[:first_stuck]:
        assert current[message["pk"][len("MSG#") :]] >= message["sk"]  # applied, or already past it


def test_workers_are_checked_and_default_to_one():
    assert follower.FollowSettings().workers == follower.WORKERS
    with pytest.raises(Exception, match="workers must be from 1 to 10, not 0"):
        follower.FollowSettings(workers=0)
    with pytest.raises(Exception, match="batch_size must be from 1 to 10000, not 10001"):
        follower.FollowSettings(batch_size=10_001)


class OneShard:
    """A streams client of one open shard holding `records`; it notes the Limit of every GetRecords."""

    def __init__(self, records):
        self.records, self.limits = list(records), []

    def describe_stream(self, StreamArn, **_):
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-0", "SequenceNumberRange": {"StartingSequenceNumber": "1"}}]}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        numbers = [r["dynamodb"]["SequenceNumber"] for r in self.records]
        at = numbers.index(SequenceNumber) + 1 if SequenceNumber else 0
        return {"ShardIterator": str(at)}

    def get_records(self, ShardIterator, Limit):
        at = int(ShardIterator)
        self.limits.append(Limit)
        page = self.records[at : at + Limit]
        return {"Records": page, "NextShardIterator": str(at + len(page))}


def test_a_shard_with_a_backlog_is_read_page_after_page_into_one_batch_of_up_to_batch_size(client, seeded, tmp_path, monkeypatch):
    monkeypatch.setattr(follower, "PAGE", 3)
    june, group = seeded.users["june"], "248665fc-a3a4-41bd-b3b4-81b49c46262b"
    written = [
        items.message_item(
            group, f"00000000-0000-4000-8000-{n:012d}", june, f"note {n}", items.iso_time(NOW + timedelta(days=1, minutes=n))
        )
        for n in range(1, 9)
    ]
    shard = OneShard(
        {"eventName": "INSERT", "dynamodb": {"NewImage": items.to_typed(m), "SequenceNumber": str(n)}}
        for n, m in enumerate(written, 1)
    )
    stop, sizes = threading.Event(), []
    settings = follower.FollowSettings(batch_size=7, workers=2, poll_seconds=0.05, refresh_seconds=0.5)

    def on_batch(shard_id, records, applied):
        sizes.append(len(records))
        if sum(sizes) >= len(written):
            stop.set()

    thread = threading.Thread(
        target=follower.follow,
        args=(client, shard, "cruddur-messages", tmp_path / "checkpoint.json", tmp_path / "dead.jsonl", stop, settings),
        kwargs={"on_batch": on_batch},
        daemon=True,
    )
    thread.start()
    thread.join(20)
    assert not thread.is_alive() and sizes == [7, 1]  # pages of 3, 3 and 1 make the first batch; a short page ends the next
    assert shard.limits[:4] == [3, 3, 1, 3]
    assert {(g["sk"], g["message"]) for g in _group_items(client) if g["message_group_uuid"] == group} == {
        (written[-1]["sk"], "note 8")
    }
