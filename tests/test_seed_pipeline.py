"""The streamed seed: two passes over the files, a plan chosen by cost, writes fed lazily."""

import json
import os
import shutil
import threading
from datetime import timedelta

import pytest

from commands import sentences
from ddb.bulk import batch
from ddb.core.errors import FixtureError
from ddb.core.tally import BatchResult
from ddb.data import items
from ddb.seed import fixture_stream, seeding, synthetic
from ddb.seed import plan as seed_plan

from .support import FIXTURES, NOW, TABLE, all_keys


def _app_keys(client) -> set:
    return {key for key in all_keys(client) if not key[0].startswith("LOCK#")}


def test_a_bad_file_late_in_the_set_is_one_line_and_nothing_is_written(client, table, sent, tmp_path):
    made = synthetic.generate(tmp_path / "fx", messages=600, conversations=30, users=10)
    last = sorted((made.directory / "conversations").glob("*.json"))[-1]
    document = json.loads(last.read_text())
    document["messages"][2]["minutes_ago"] = -1
    last.write_text(json.dumps(document))
    with pytest.raises(FixtureError) as refused:
        seeding.seed_fixtures(client, table, made.directory)
    assert str(refused.value) == f"{last}: messages[2].minutes_ago: -1 is less than the minimum of 0"
    assert not {"BatchWriteItem", "PutItem", "DeleteItem"} & set(sent)
    assert _app_keys(client) == set()


def test_a_file_changed_between_the_validation_and_the_write_pass_is_one_line(client, table, tmp_path):
    copy = tmp_path / "fx"
    shutil.copytree(FIXTURES, copy)
    checked = fixture_stream.check(copy)
    first = checked.files[0].path
    first.write_text(first.read_text().replace('"minutes_ago": ', '"minutes_ago":  ', 1))
    with pytest.raises(FixtureError) as refused:
        seeding.seed_fixtures(client, table, checked, now=NOW)
    assert str(refused.value) == f"{first}: changed since it was validated: seed again to validate it anew"
    assert _app_keys(client) == set()


def test_a_seed_into_an_empty_table_sends_no_plan_query_and_one_small_scan(client, table, sent):
    result = seeding.seed_fixtures(client, table, FIXTURES, now=NOW)
    assert result.plan.way == seed_plan.EMPTY
    assert "Query" not in sent and sent.count("Scan") == 1
    assert result.written.put == 112 and result.written.deleted == 0


def test_a_table_with_only_the_lock_and_migration_history_counts_as_empty(client, table):
    for key in ({"pk": "MIGRATION", "sk": "0001"}, {"pk": "LOCK#migrate", "sk": "migrate"}):
        client.put_item(TableName=table, Item=items.to_typed(key))
    assert not seed_plan.has_app_items(client, table)
    client.put_item(TableName=table, Item=items.to_typed({"pk": "MSG#x", "sk": "y"}))
    assert seed_plan.has_app_items(client, table)


def _stale_items(seeded) -> list[dict]:
    mira, june, tomas = (seeded.user(h) for h in ("mira", "june", "tomas"))
    mira_june = next(c.message_group_uuid for c in seeded.conversations if set(c.between) == {"mira", "june"})
    old = "2020-01-01T00:00:00.000000+00:00"
    return [
        {"pk": items.message_pk(mira_june), "sk": old, "message": "a message no fixture has"},
        {"pk": items.group_pk(mira.uuid), "sk": old, "message_group_uuid": mira_june, "message": "old"},
        {"pk": items.group_pk(tomas.uuid), "sk": old, "message_group_uuid": mira_june, "message": "not his"},
        {"pk": items.group_pk(june.uuid), "sk": old, "message_group_uuid": "9" * 8 + "-9999-4999-8999-" + "9" * 12},
    ]


def test_the_scan_plan_and_the_query_plan_delete_the_same_stale_keys(client, seeded):
    for item in _stale_items(seeded):
        client.put_item(TableName=TABLE, Item=items.to_typed(item))
    later = NOW + timedelta(hours=1)
    by_way = {way: seeding.plan(client, TABLE, seeded, later, way) for way in (seed_plan.QUERIES, seed_plan.SCAN)}
    checked = fixture_stream.check(FIXTURES)
    streamed = {way: seeding.streamed_plan(client, TABLE, checked, later, way) for way in (seed_plan.QUERIES, seed_plan.SCAN)}
    deletes = {
        f"{kind} {way}": sorted((k["pk"], k["sk"]) for k in plan.deletes)
        for kind, plans in (("whole", by_way), ("streamed", streamed))
        for way, plan in plans.items()
    }
    assert len({tuple(found) for found in deletes.values()}) == 1, deletes
    found = set(deletes["whole scan"])
    stale = {(i["pk"], i["sk"]) for i in _stale_items(seeded)}
    assert len(found) == 108 + 3 and found & stale == stale - {
        (items.group_pk(seeded.user("june").uuid), "2020-01-01T00:00:00.000000+00:00")
    }
    assert {p.way for p in streamed.values()} == {seed_plan.QUERIES, seed_plan.SCAN}


def test_a_reseed_of_a_table_that_holds_mostly_the_fixtures_plans_by_one_scan(client, seeded, sent):
    result = seeding.seed_fixtures(client, TABLE, FIXTURES, now=NOW + timedelta(minutes=5))
    assert result.plan.way == seed_plan.SCAN and result.plan.table_items == 113  # and the lock
    assert "Query" not in sent
    assert result.written.deleted == 108


def test_the_seed_summary_names_the_way_the_plan_took():
    plan = seeding.SeedPlan(conversations=3, messages=100, groups=6, claims=3)
    written = BatchResult(put=112)
    lines = []
    for way, items_seen in ((seed_plan.EMPTY, 0), (seed_plan.SCAN, 112), (seed_plan.QUERIES, 90_000)):
        plan.way, plan.table_items = way, items_seen
        lines.append(sentences.seeded(seeding.SeedResult(plan, written, 1.0)).split("; ")[-1])
    assert lines == [
        "planned with no reads: the table held no app items",
        "planned by one scan of the table's keys (112 items)",
        "planned by key queries (12 queries, cheaper than a scan of 90000 items)",
    ]


def test_the_write_pass_reads_a_file_only_once_nearly_everything_before_it_is_written(client, table, tmp_path, monkeypatch):
    made = synthetic.generate(tmp_path / "fx", messages=1200, conversations=40, users=12)
    written, lock = [0], threading.Lock()
    unwritten_at_read: list[int] = []
    built = [0]
    read = fixture_stream.read

    def counting_read(checked_file, users):
        with lock:
            unwritten_at_read.append(built[0] - written[0])
        built[0] += checked_file.message_count + 3
        return read(checked_file, users)

    def progress(done):
        with lock:
            written[0] += done

    monkeypatch.setattr(fixture_stream, "read", counting_read)
    result = seeding.seed_fixtures(client, table, made.directory, writers=4, on_progress=progress, now=NOW)
    assert result.written.put == 1200 + 3 * 40
    assert len(unwritten_at_read) == 40
    # At most two chunks per writer in flight, one taken and waiting, one being filled.
    assert max(unwritten_at_read) <= (2 * 4 + 2) * batch.BATCH_SIZE, unwritten_at_read


def test_a_seed_asks_for_the_consumed_capacity_only_when_told(client, table):
    asked: list = []
    client.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem", lambda params, **_: asked.append(params.get("ReturnConsumedCapacity"))
    )
    quiet = seeding.seed_fixtures(client, table, FIXTURES, capacity=False)
    without = set(asked)
    asked.clear()
    told = seeding.seed_fixtures(client, table, FIXTURES)
    assert without == {"NONE"} and set(asked) == {"TOTAL"}
    assert not quiet.written.capacity_reported and "WCU/s reported" not in sentences.seeded(quiet)
    assert told.written.capacity_reported and "WCU/s reported" in sentences.seeded(told)


def _child_pid(aside) -> int:
    """The pid of the process the aside checks in (there is one on Linux)."""
    assert aside._child is not None  # on Linux the check runs in a child process
    return aside._child[0]


def _gone(pid: int):
    """The child was reaped: it is no child of ours any more."""
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_the_check_aside_gives_what_the_check_gives_and_leaves_no_child():
    aside = fixture_stream.CheckAside(FIXTURES)
    pid = _child_pid(aside)
    assert pid != os.getpid()
    assert aside.result() == fixture_stream.check(FIXTURES)
    _gone(pid)


def test_a_bad_file_checked_aside_raises_the_same_line_in_the_parent(tmp_path):
    made = synthetic.generate(tmp_path / "fx", messages=60, conversations=3, users=4)
    last = sorted((made.directory / "conversations").glob("*.json"))[-1]
    document = json.loads(last.read_text())
    document["messages"][1]["from"] = "nobody"
    last.write_text(json.dumps(document))
    with pytest.raises(FixtureError) as direct:
        fixture_stream.check(made.directory)
    aside = fixture_stream.CheckAside(made.directory)
    pid = _child_pid(aside)
    with pytest.raises(FixtureError) as refused:
        aside.result()
    assert str(refused.value) == str(direct.value)
    assert str(refused.value).startswith(f"{last}: messages[1].from: 'nobody' is not one of the conversation's users")
    _gone(pid)


def test_an_unexpected_failure_in_the_child_is_raised_again_by_the_parent(monkeypatch):
    calls = []

    def broken(directory):
        calls.append(os.getpid())
        raise RuntimeError(f"broken check of {directory}")

    monkeypatch.setattr(fixture_stream, "check", broken)
    aside = fixture_stream.CheckAside(FIXTURES)
    pid = _child_pid(aside)
    with pytest.raises(RuntimeError, match="broken check of"):
        aside.result()
    assert calls == [os.getpid()]  # the parent's own run; the child's was in another process
    _gone(pid)


def test_a_check_aside_whose_result_is_never_asked_for_leaves_no_child(tmp_path):
    made = synthetic.generate(tmp_path / "fx", messages=20000, conversations=20, users=10)
    aside = fixture_stream.CheckAside(made.directory)
    pid = _child_pid(aside)
    del aside  # as when the task fails between starting the check and asking for it
    _gone(pid)
