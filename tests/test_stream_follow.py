"""Pattern E followed continuously (`ddb.stream.follower`, `invoke stream.follow`): the app writes, the inboxes move.

As Lambda's event source mapping: batches of a set size, a failing batch bisected until the
failing record is alone, a record that can never apply dead-lettered, the checkpoint kept
per shard (a restart goes on after it), shards followed as they split, a stop that keeps
the checkpoint of what was applied.
"""

import contextlib
import json
import threading
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest

from ddb.app import messaging, patterns
from ddb.core.errors import ConditionFailed
from ddb.data import items
from ddb.stream import batches, follower
from ddb.stream import handler as stream
from ddb.stream.checkpoint import load_checkpoint
from ddb.stream.shards import LATEST, Lineage, in_lineage_order

from .support import NOW, TABLE, all_items, seed_table

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"
QUICK = follower.FollowSettings(poll_seconds=0.05, refresh_seconds=0.5, wait_seconds=0.1, retry_seconds=0.01)


def _streams(client):
    """A streams client beside `client` (the same endpoint; inside moto's mock when it has none)."""
    endpoint = client.meta.endpoint_url
    if "amazonaws.com" in endpoint:
        return boto3.client("dynamodbstreams", region_name="us-east-1")
    return boto3.client(
        "dynamodbstreams",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _wait_for(condition, timeout=10.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come within {timeout:.0f}s")
        time.sleep(0.02)


class Following:
    """A `follow` run in a thread: the batches it applied, in order; `.followed` once stopped."""

    def __init__(self, client, streams, tmp_path, settings=QUICK):
        self.client, self.streams, self.settings = client, streams, settings
        self.checkpoint, self.dead_letters = tmp_path / "checkpoint.json", tmp_path / "dead-letters.jsonl"
        self.stop = threading.Event()
        self.batches: list[tuple[str, list, batches.Applied]] = []
        self.outcome: follower.Followed | None = None
        self.error: Exception | None = None

    def run(self):
        try:
            self.outcome = follower.follow(
                self.client,
                self.streams,
                TABLE,
                self.checkpoint,
                self.dead_letters,
                self.stop,
                self.settings,
                on_batch=lambda shard, records, applied: self.batches.append((shard, list(records), applied)),
            )
        except Exception as exc:  # noqa: BLE001 - raised in the test's thread by `stopped`
            self.error = exc

    @property
    def followed(self) -> follower.Followed:
        """What the run did (once stopped)."""
        assert self.outcome is not None, "the follower has not returned"
        return self.outcome

    @property
    def records(self) -> list:
        return [record for _, records, applied in self.batches for record in records[: applied.through]]

    @contextlib.contextmanager
    def running(self):
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            thread.join(30)
        assert not thread.is_alive(), "the follower did not stop"
        if self.error:
            raise self.error

    def wait_until_drained(self, count, timeout=20.0):
        _wait_for(lambda: len(self.records) >= count or self.error, timeout, f"{count} records applied")


def _stream_length(client):
    from ddb.stream import reader

    return len(reader.read_stream(client, _streams(client), TABLE).records)


def _inbox_top(client, user):
    rows = patterns.list_conversations(client, TABLE, user.uuid).items
    return next(row for row in rows if row["message_group_uuid"] == MIRA_JUNE)


def _message(seeded, text, minutes, sender="june"):
    when = items.iso_time(NOW + timedelta(days=1, minutes=minutes))
    return items.message_item(MIRA_JUNE, f"00000000-0000-4000-8000-{minutes:012d}", seeded.users[sender], text, when)


def _texts(records) -> list[str]:
    """The texts of the new messages among stream records."""
    inserted = [r["dynamodb"]["NewImage"] for r in records if r["eventName"] == "INSERT"]
    return [image["message"]["S"] for image in inserted if image["pk"]["S"].startswith("MSG#")]


def _groups(client):
    return sorted((i for i in all_items(client) if i.get("message_group_uuid") == MIRA_JUNE), key=lambda i: i["pk"])


@pytest.mark.each_engine
def test_a_message_the_app_writes_moves_both_inboxes_while_the_follower_runs(engine_client, repo_fixtures, tmp_path):
    seed_table(engine_client)
    users = repo_fixtures.users
    following = Following(engine_client, _streams(engine_client), tmp_path, follower.FollowSettings())
    with following.running():
        following.wait_until_drained(_stream_length(engine_client))  # the seed's records first
        sent = messaging.create_message(
            engine_client, TABLE, MIRA_JUNE, users["june"], "moved by the follower", now=NOW + timedelta(days=1)
        )
        # How soon is measured in bench/stream_follow.py; here only that it happens, unattended, within 10 s.
        _wait_for(
            lambda: all(_inbox_top(engine_client, users[h])["message"] == "moved by the follower" for h in ("mira", "june")),
            what="both inboxes moving",
        )
    for handle in ("mira", "june"):
        top = patterns.list_conversations(engine_client, TABLE, users[handle].uuid).items[0]
        assert (top["message_group_uuid"], top["last_message_at"]) == (MIRA_JUNE, sent.message["sk"])
    assert following.followed.dead_lettered == 0 and not following.dead_letters.exists()


def test_bisection_dead_letters_only_the_record_that_keeps_failing(client, seeded, monkeypatch):
    written = [_message(seeded, f"note {n}", n) for n in range(1, 8)] + [_message(seeded, "poison", 8)]
    written.insert(3, written.pop())  # the poison in the middle, and the newest of its conversation
    apply_message = stream.apply_message

    def failing(client, table, message, result):
        if message["message"] == "poison":
            raise ConditionFailed("the group item would not move")
        return apply_message(client, table, message, result)

    monkeypatch.setattr(stream, "apply_message", failing)
    records = [
        {"eventName": "INSERT", "dynamodb": {"NewImage": items.to_typed(m), "SequenceNumber": str(n)}}
        for n, m in enumerate(written, 1)
    ]
    applied = batches.apply_batch(client, TABLE, records, max_tries=3, retry_seconds=0.0)
    assert applied.through == 8 and applied.calls > 3  # bisected: the whole, halves, quarters, … then the lone retries
    assert [(f.index, f.sequence_number) for f in applied.dead] == [(3, "4")]
    assert applied.dead[0].reason.startswith("failed 3 tries, the last: ") and "would not move" in applied.dead[0].reason
    newest = max((m for m in written if m["message"] != "poison"), key=lambda m: m["sk"])
    assert [(g["sk"], g["message"]) for g in _groups(client)] == [(newest["sk"], newest["message"])] * 2


def test_the_follower_dead_letters_malformed_and_failing_records_to_a_json_lines_file(client, seeded, tmp_path, monkeypatch):
    apply_message = stream.apply_message
    monkeypatch.setattr(
        stream,
        "apply_message",
        lambda c, t, message, r: (
            (_ for _ in ()).throw(ConditionFailed("stuck")) if message["message"] == "poison" else apply_message(c, t, message, r)
        ),
    )
    start = _stream_length(client)
    client.put_item(TableName=TABLE, Item=items.to_typed(_message(seeded, "first", 1)))
    client.put_item(TableName=TABLE, Item=items.to_typed(_message(seeded, "poison", 9)))  # the newest: it fails its batch
    client.put_item(TableName=TABLE, Item=items.to_typed({**_message(seeded, "x", 3), "message": " "}))  # blank: malformed
    client.put_item(TableName=TABLE, Item=items.to_typed(_message(seeded, "last", 4, sender="mira")))
    following = Following(client, _streams(client), tmp_path)
    with following.running():
        following.wait_until_drained(start + 4)
    lines = [json.loads(line) for line in following.dead_letters.read_text().splitlines()]
    assert [line["record"]["dynamodb"]["NewImage"]["message"]["S"] for line in lines] == ["poison", " "]
    assert (
        "failed 3 tries" in lines[0]["reason"] and "stuck" in lines[0]["reason"] and lines[1]["reason"] == "the message is blank"
    )
    assert following.followed.dead_lettered == 2
    assert [g["message"] for g in _groups(client)] == ["last", "last"]


def test_a_restart_goes_on_after_the_checkpoint_and_skips_nothing(client, seeded, tmp_path):
    streams = _streams(client)
    total = _stream_length(client)
    first = Following(client, streams, tmp_path)
    with first.running():
        first.wait_until_drained(total)
    kept = load_checkpoint(first.checkpoint, first.followed.arn or "")
    assert kept == first.followed.checkpoint and len(kept) == 1
    later = [_message(seeded, f"after the restart {n}", n) for n in range(1, 4)]
    for message in later:
        client.put_item(TableName=TABLE, Item=items.to_typed(message))
    second = Following(client, streams, tmp_path)
    with second.running():
        second.wait_until_drained(3)
        time.sleep(0.2)  # a few more rounds: nothing else comes
    # The only messages it saw are the new ones (the rest it saw are its own group moves, and the first run's).
    assert _texts(second.records) == [m["message"] for m in later]
    assert [g["message"] for g in _groups(client)] == ["after the restart 3"] * 2


def test_from_latest_without_a_checkpoint_applies_only_what_comes_next(client, seeded, tmp_path):
    settings = follower.FollowSettings(start=LATEST, poll_seconds=0.05, refresh_seconds=0.5)
    streams, polled = _streams(client), threading.Event()
    streams.meta.events.register("after-call.dynamodbstreams.GetRecords", lambda **_: polled.set())
    following = Following(client, streams, tmp_path, settings)
    with following.running():
        _wait_for(polled.is_set, what="a first GetRecords")  # the shard's LATEST iterator is taken by then
        client.put_item(TableName=TABLE, Item=items.to_typed(_message(seeded, "only this", 1)))
        following.wait_until_drained(1)
    assert _texts(following.records) == ["only this"]


def test_a_stop_during_a_bisection_keeps_the_checkpoint_of_what_was_applied(client, seeded, tmp_path, monkeypatch):
    streams = _streams(client)
    total = _stream_length(client)
    drained = Following(client, streams, tmp_path)
    with drained.running():
        drained.wait_until_drained(total)
    written = [_message(seeded, f"note {n}", n) for n in range(1, 8)] + [_message(seeded, "poison", 9)]  # the newest
    for message in written:
        client.put_item(TableName=TABLE, Item=items.to_typed(message))
    following = Following(client, streams, tmp_path)
    apply_message, failures = stream.apply_message, []

    def failing(client, table, message, result):
        if message["message"] == "poison":
            failures.append(message)
            if len(failures) == 3:  # the whole batch, its second half, then that half's halves: stop now
                following.stop.set()
            raise ConditionFailed("stuck")
        return apply_message(client, table, message, result)

    monkeypatch.setattr(stream, "apply_message", failing)
    with following.running():
        _wait_for(following.stop.is_set)
    [(_, records, applied)] = following.batches
    assert 0 < applied.through < len(records) - 1 and not applied.dead  # stopped before the poison, nothing dead-lettered
    kept = load_checkpoint(following.checkpoint, following.followed.arn or "")
    assert list(kept.values()) == [records[applied.through - 1]["dynamodb"]["SequenceNumber"]]
    monkeypatch.setattr(stream, "apply_message", apply_message)
    resumed = Following(client, streams, tmp_path)
    with resumed.running():
        resumed.wait_until_drained(len(records) - applied.through)
    rest = records[applied.through :]
    assert resumed.records[: len(rest)] == rest  # from the first record not applied, none skipped
    assert [g["message"] for g in _groups(client)] == ["poison", "poison"]


class SplittingStreams:
    """A streams client whose shards split: `split()` closes the last open shard and opens two children.

    `add` puts a record on the last open shard. DescribeStream lists children before their parents.
    """

    def __init__(self, first_records):
        self.shards: dict[str, dict[str, Any]] = {"shard-0": {"parent": None, "records": list(first_records), "closed": False}}
        self.iterators: dict[str, tuple[str, int]] = {}
        self.lock = threading.Lock()

    def add(self, record):
        with self.lock:
            open_shards = [s for s, shard in self.shards.items() if not shard["closed"]]
            self.shards[open_shards[-1]]["records"].append(record)

    def split(self):
        with self.lock:
            parent = [s for s, shard in self.shards.items() if not shard["closed"]][-1]
            self.shards[parent]["closed"] = True
            for n in (1, 2):
                self.shards[f"{parent}.{n}"] = {"parent": parent, "records": [], "closed": False}

    def describe_stream(self, StreamArn, **_):
        with self.lock:
            listed = []
            for shard_id, shard in reversed(self.shards.items()):  # children listed before parents
                numbers = {"StartingSequenceNumber": "0"} | ({"EndingSequenceNumber": "9"} if shard["closed"] else {})
                listed.append(
                    {"ShardId": shard_id, "SequenceNumberRange": numbers}
                    | ({"ParentShardId": shard["parent"]} if shard["parent"] else {})
                )
            return {"StreamDescription": {"Shards": listed}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber=None):
        records = self.shards[ShardId]["records"]
        at = 0 if ShardIteratorType == "TRIM_HORIZON" else len(records)
        if SequenceNumber:
            at = [r["dynamodb"]["SequenceNumber"] for r in records].index(SequenceNumber) + 1
        return {"ShardIterator": self._iterator(ShardId, at)}

    def _iterator(self, shard_id, at):
        key = f"{shard_id}@{at}"
        self.iterators[key] = (shard_id, at)
        return key

    def get_records(self, ShardIterator, Limit):
        with self.lock:
            shard_id, at = self.iterators[ShardIterator]
            shard = self.shards[shard_id]
            page = shard["records"][at : at + Limit]
            end = at + len(page)
            done = shard["closed"] and end >= len(shard["records"])
            return {"Records": page} | ({} if done else {"NextShardIterator": self._iterator(shard_id, end)})


def test_shards_are_followed_as_they_split_children_after_their_parent(client, seeded, tmp_path):
    written = [_message(seeded, f"note {n}", n) for n in range(1, 8)]
    for message in written:
        client.put_item(TableName=TABLE, Item=items.to_typed(message))
    records: list[dict[str, Any]] = [
        {"eventName": "INSERT", "dynamodb": {"NewImage": items.to_typed(m), "SequenceNumber": f"{n:04d}"}}
        for n, m in enumerate(written, 1)
    ]
    fake = SplittingStreams(records[:3])
    settings = follower.FollowSettings(batch_size=2, poll_seconds=0.02, refresh_seconds=0.1)
    following = Following(client, fake, tmp_path, settings)
    with following.running():
        following.wait_until_drained(3)
        fake.split()
        fake.add(records[3])
        fake.split()  # a split of the child (shard-0.2) too: its children come after it
        fake.shards["shard-0.1"]["records"].append(records[4])
        fake.add(records[5])
        fake.add(records[6])
        following.wait_until_drained(7)
    order = [shard for shard, _, _ in following.batches]
    assert order[:2] == ["shard-0", "shard-0"]  # batches of 2: the parent's 3 records, to its end
    assert set(order[2:]) == {"shard-0.1", "shard-0.2", "shard-0.2.2"}
    assert order.index("shard-0.2.2") > order.index("shard-0.2")
    assert sorted(r["dynamodb"]["SequenceNumber"] for r in following.records) == [
        r["dynamodb"]["SequenceNumber"] for r in records
    ]
    assert following.followed.shards_finished == 2
    assert [g["message"] for g in _groups(client)] == ["note 7", "note 7"]


def test_lineage_puts_parents_first_and_holds_children_until_the_parent_ends():
    listed = [{"ShardId": "c", "ParentShardId": "p"}, {"ShardId": "p"}, {"ShardId": "o", "ParentShardId": "trimmed"}]
    assert [s["ShardId"] for s in in_lineage_order(listed)] == ["p", "c", "o"]
    lineage = Lineage()
    lineage.update(listed, {})
    assert lineage.ready() == ["p", "o"]  # an orphan whose parent is gone is read at once
    lineage.finish("p")
    assert lineage.ready() == ["c", "o"]
