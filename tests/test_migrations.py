"""Versioned migrations: history in the table, the migrate lock, resumable backfills, and migration 1 (message_count)."""

import threading
from datetime import timedelta

import boto3
import pytest

from ddb.app import messaging, patterns
from ddb.core.errors import InvalidInput
from ddb.data import contract
from ddb.data.items import GROUP_PREFIX, iso_time, message_item
from ddb.migrate import files as migration_files
from ddb.migrate import migrations
from ddb.stream import handler as stream

from .support import INBOX_FIELDS, NOW, ROOT, TABLE, all_items

FOLDER = ROOT / "migrations"
MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"


class Crash(Exception):
    """A run killed part-way."""


def group_items(client):
    return [i for i in all_items(client) if i["pk"].startswith(GROUP_PREFIX)]


def messages_in(seeded, group_uuid):
    return next(len(c.messages) for c in seeded.conversations if c.message_group_uuid == group_uuid)


def assert_counted_exactly(client, seeded):
    groups = group_items(client)
    assert len(groups) == 8
    assert all(g["message_count"] == messages_in(seeded, g["message_group_uuid"]) for g in groups), groups


def app_items(client):
    return [i for i in all_items(client) if not i["pk"].startswith(("MIGRATION", "LOCK#"))]


def small_pages(tmp_path, size=2):
    """The migrations folder with migration 1 reading `size` items per scan page (so per checkpoint)."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    text = (FOLDER / "m0001_message_count.py").read_text()
    assert "PAGE_SIZE = 100" in text
    (folder / "m0001_message_count.py").write_text(text.replace("PAGE_SIZE = 100", f"PAGE_SIZE = {size}"))
    return folder


def test_up_counts_every_conversation_and_down_to_0_leaves_the_items_as_they_were(client, seeded):
    before = all_items(client)
    result = migrations.run(client, TABLE, FOLDER, "up")
    assert ([m.version for m in result.migrations], result.migrated) == ([1], {1: 8})
    assert_counted_exactly(client, seeded)
    assert all(contract.item_problems(item) == [] for item in all_items(client))
    [state] = migrations.status(client, TABLE, FOLDER)
    assert (state.version, state.state, state.migrated, state.file_missing) == (1, "applied", 8, False)
    assert state.applied_at is not None and state.applied_at.startswith("20")
    assert migrations.run(client, TABLE, FOLDER, "up").migrations == []  # nothing left to apply
    assert patterns.list_conversations(client, TABLE, seeded.user("mira").uuid).items[0].keys() == INBOX_FIELDS
    down = migrations.run(client, TABLE, FOLDER, "down", to=0)
    assert down.migrated == {1: 8}
    assert all_items(client) == before
    assert [s.state for s in migrations.status(client, TABLE, FOLDER)] == ["pending"]


def test_a_dry_run_says_what_would_run_and_writes_nothing(client, seeded, sent):
    result = migrations.run(client, TABLE, FOLDER, "up", dry_run=True)
    assert [m.version for m in result.migrations] == [1]
    assert result.previews == {1: "8 group item(s) without message_count would be counted"}
    migrations.run(client, TABLE, FOLDER, "up")
    sent.clear()
    assert [m.version for m in migrations.run(client, TABLE, FOLDER, "down", dry_run=True).migrations] == [1]
    assert [m.version for m in migrations.run(client, TABLE, FOLDER, "up", dry_run=True).migrations] == []
    assert set(sent) <= {"Query", "Scan", "GetItem"}


def test_a_backfill_killed_half_way_resumes_at_its_checkpoint_and_counts_every_item_once(client, seeded, tmp_path):
    folder = small_pages(tmp_path)
    updates = []

    def kill_after_three_updates(model, **_):
        if model.name == "UpdateItem":
            updates.append(1)
            if len(updates) == 4:
                raise Crash  # killed between the third write and the next checkpoint

    handler = client.meta.events.register("before-call.dynamodb", kill_after_three_updates)
    with pytest.raises(Crash):
        migrations.run(client, TABLE, folder, "up")
    client.meta.events.unregister("before-call.dynamodb", handler)
    [state] = migrations.status(client, TABLE, folder)
    assert (state.state, state.migrated) == ("applying", 2)  # the first page's checkpoint
    assert sum("message_count" in g for g in group_items(client)) == 3
    heard = []
    result = migrations.run(client, TABLE, folder, "up", on_start=lambda m, resume: heard.append(resume is not None))
    assert heard == [True] and result.migrated == {1: 5}  # one of the 6 left was counted before the crash
    assert_counted_exactly(client, seeded)
    assert migrations.status(client, TABLE, folder)[0].migrated == 7
    assert not [i for i in all_items(client) if i["pk"].startswith("LOCK#")]


def test_two_runs_at_once_apply_each_migration_once(client, seeded, tmp_path):
    folder = small_pages(tmp_path)
    results, errors = [], []
    start = threading.Barrier(2)

    def run():
        own = boto3.client("dynamodb", region_name="us-east-1")
        start.wait()
        try:
            results.append(migrations.run(own, TABLE, folder, "up", lease_seconds=5))
        except Exception as exc:  # noqa: BLE001 - collected from the racing threads: the test asserts there are none
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(r.migrated.get(1, -1) for r in results) == [-1, 8]  # one run counted all 8, the other found it applied
    assert_counted_exactly(client, seeded)


def test_down_alone_undoes_only_the_latest_and_to_names_a_known_version(client, seeded, tmp_path):
    folder = small_pages(tmp_path)
    (folder / "m0002_nothing.py").write_text(
        'VERSION = 2\nDESCRIPTION = "changes nothing"\n'
        "def up(client, table, progress):\n    pass\n"
        "def down(client, table, progress):\n    pass\n"
    )
    assert [m.version for m in migrations.run(client, TABLE, folder, "up", to=1).migrations] == [1]
    assert [s.state for s in migrations.status(client, TABLE, folder)] == ["applied", "pending"]
    migrations.run(client, TABLE, folder, "up")
    assert [m.version for m in migrations.run(client, TABLE, folder, "down").migrations] == [2]
    assert [s.state for s in migrations.status(client, TABLE, folder)] == ["applied", "pending"]
    with pytest.raises(InvalidInput, match=r"^--to 5: no such migration \(known: 1, 2\)$"):
        migrations.run(client, TABLE, folder, "up", to=5)


@pytest.mark.parametrize(
    "name, text, problem",
    [
        (
            "m0002_x.py",
            'VERSION = 3\nDESCRIPTION = "x"\ndef up(c, t, p): pass\ndef down(c, t, p): pass\n',
            "VERSION must be 2, the number in the file name, not 3",
        ),
        (
            "m0002_x.py",
            'VERSION = 2\nDESCRIPTION = "x"\ndef up(c, t, p): pass\n',
            "needs a function down(client, table, progress)",
        ),
        ("m2_x.py", "", "not a migration name: use m<4 digits>_<lower-case name>.py, e.g. m0002_add_x.py"),
        (
            "m0002_x.py",
            "import nothing_of_that_name\n",
            "fails to load: ModuleNotFoundError: No module named 'nothing_of_that_name'",
        ),
    ],
)
def test_a_bad_migration_file_is_one_line_naming_it_and_nothing_runs(client, seeded, tmp_path, sent, name, text, problem):
    folder = small_pages(tmp_path)
    (folder / name).write_text(text)
    sent.clear()
    with pytest.raises(InvalidInput) as raised:
        migrations.run(client, TABLE, folder, "up")
    assert str(raised.value) == f"{folder / name}: {problem}"
    assert sent == []


def test_the_stream_keeps_message_count_exact_with_duplicate_and_out_of_order_records(client, seeded):
    migrations.run(client, TABLE, FOLDER, "up")
    june, mira = seeded.user("june"), seeded.user("mira")
    counted = messages_in(seeded, MIRA_JUNE)

    def write(sender, text, hours):
        item = message_item(
            MIRA_JUNE, f"5b7c3a52-46f4-4a5e-9b0e-8f3f3b1c2d1{hours}", sender, text, iso_time(NOW + timedelta(hours=hours))
        )
        client.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in item.items()})
        return {
            "eventName": "INSERT",
            "dynamodb": {"NewImage": {k: {"S": v} for k, v in item.items()}, "SequenceNumber": str(hours)},
        }

    older, newer = write(june, "first", 1), write(mira, "second", 2)
    result = stream.handle_records(client, TABLE, [newer, newer, older])  # the newer first, twice, then the older
    assert (result.moved, result.already_current) == (2, 4)
    groups = [g for g in group_items(client) if g["message_group_uuid"] == MIRA_JUNE]
    assert [(g["message"], g["message_count"]) for g in groups] == [("second", counted + 2)] * 2


def test_a_new_conversation_starts_counted_and_its_next_message_adds_one(client, seeded):
    tomas, lena = seeded.user("tomas"), seeded.user("lena")
    started = messaging.create_conversation(client, TABLE, tomas, lena, "hi", now=NOW)
    reply = messaging.create_message(client, TABLE, started.message_group_uuid, lena, "hello", now=NOW + timedelta(minutes=1))
    record = {"eventName": "INSERT", "dynamodb": {"NewImage": {k: {"S": v} for k, v in reply.message.items()}}}
    stream.handle_records(client, TABLE, [record])
    groups = [g for g in group_items(client) if g["message_group_uuid"] == started.message_group_uuid]
    assert [(g["message"], g["message_count"]) for g in groups] == [("hello", 2)] * 2
    assert all(contract.item_problems(g) == [] for g in groups)


def _migration_1():
    (first,) = migration_files.load(FOLDER)
    return first.module


def test_removing_the_count_of_a_group_item_moved_meanwhile_creates_nothing_and_counts_0(client, seeded):
    migrations.run(client, TABLE, FOLDER, "up")
    before = all_items(client)
    counted = group_items(client)[0]
    module = _migration_1()
    gone = {"pk": counted["pk"], "sk": "2020-01-01T00:00:00.000000+00:00"}  # its key before pattern E moved it
    assert module._remove_one(client, TABLE, gone) == 0
    assert all_items(client) == before
    assert module._remove_one(client, TABLE, counted) == 1
    assert module._remove_one(client, TABLE, counted) == 0
    assert (
        len(all_items(client)) == len(before)
        and "message_count"
        not in client.get_item(TableName=TABLE, Key={"pk": {"S": counted["pk"]}, "sk": {"S": counted["sk"]}})["Item"]
    )


def test_the_preview_asks_the_scan_for_a_count_only(client, seeded):
    asked: list[dict] = []
    client.meta.events.register("provide-client-params.dynamodb.Scan", lambda params, **_: asked.append(dict(params)))
    assert _migration_1().preview(client, TABLE) == "8 group item(s) without message_count would be counted"
    assert [request["Select"] for request in asked] == ["COUNT"]


def test_a_down_killed_half_way_resumes_at_its_checkpoint_and_removes_every_count(client, seeded, tmp_path):
    folder = small_pages(tmp_path)
    before = all_items(client)
    migrations.run(client, TABLE, folder, "up")
    updates = []

    def kill_after_three_updates(model, **_):
        if model.name == "UpdateItem":
            updates.append(1)
            if len(updates) == 4:
                raise Crash

    handler = client.meta.events.register("before-call.dynamodb", kill_after_three_updates)
    with pytest.raises(Crash):
        migrations.run(client, TABLE, folder, "down")
    client.meta.events.unregister("before-call.dynamodb", handler)
    assert migrations.status(client, TABLE, folder)[0].state == "reverting"
    heard = []
    migrations.run(client, TABLE, folder, "down", on_start=lambda m, resume: heard.append(resume is not None))
    assert heard == [True]
    assert app_items(client) == [i for i in before if not i["pk"].startswith(("MIGRATION", "LOCK#"))]


def test_status_lists_every_pending_migration_and_one_whose_file_is_gone_by_its_history(client, seeded, tmp_path):
    folder = small_pages(tmp_path)
    for version in (2, 3):
        (folder / f"m000{version}_nothing.py").write_text(
            f'VERSION = {version}\nDESCRIPTION = "changes nothing ({version})"\n'
            "def up(client, table, progress):\n    pass\n"
            "def down(client, table, progress):\n    pass\n"
        )
    assert [(s.version, s.description, s.state) for s in migrations.status(client, TABLE, folder)] == [
        (1, "message_count on group items: the number of messages in the conversation", "pending"),
        (2, "changes nothing (2)", "pending"),
        (3, "changes nothing (3)", "pending"),
    ]
    migrations.run(client, TABLE, folder, "up")
    (folder / "m0002_nothing.py").write_text((folder / "m0002_nothing.py").read_text().replace("(2)", "(2, edited)"))
    (folder / "m0003_nothing.py").unlink()
    assert [(s.version, s.description, s.state, s.file_missing) for s in migrations.status(client, TABLE, folder)] == [
        (1, "message_count on group items: the number of messages in the conversation", "applied", False),
        (2, "changes nothing (2, edited)", "applied", False),
        (3, "changes nothing (3)", "applied", True),
    ]
