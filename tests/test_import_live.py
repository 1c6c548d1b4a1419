"""Restoring into a live table, and every state the tools make restoring exactly, in-process on moto."""

import copy
from datetime import timedelta

import pytest

from ddb.app import messaging
from ddb.backup import importing
from ddb.backup import source as import_source
from ddb.backup.live import LiveConflict
from ddb.bulk import lease as seed_lock
from ddb.migrate import migrations
from ddb.stream.handler import StreamResult, apply_message

from .support import NOW, ROOT, TABLE, all_items, typed_items, write_export

COPY = "cruddur-copy"
FOLDER = ROOT / "migrations"
MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
JUNE = "a3d22a69-1e07-4922-aa0f-9a7468447548"
MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
WRITES = {"BatchWriteItem", "PutItem", "CreateTable", "UpdateItem", "DeleteItem", "TransactWriteItems"}


def _import(client, folder, table=TABLE, **plan):
    source = import_source.open_source(folder)
    import_source.validate(source)
    found = importing.plan(client, table, source, **plan)
    return source, found, importing.run(client, table, source, found)


def _send(client, seeded, text: str, minutes: int = 1) -> None:
    """Pattern C then pattern E: mira writes to tomas, and both group items move to the message."""
    sent = messaging.create_message(client, TABLE, MIRA_TOMAS, seeded.user("mira"), text, now=NOW + timedelta(minutes=minutes))
    apply_message(client, TABLE, sent.message, StreamResult())


def _group_items_of(client, group: str) -> list[tuple[str, str]]:
    return sorted((i["pk"], i["sk"]) for i in all_items(client) if i.get("message_group_uuid") == group)


def test_an_older_backup_into_a_live_table_keeps_the_newer_group_items_and_restores_what_was_lost(client, seeded, tmp_path):
    backup = write_export(tmp_path, typed_items(client))
    _send(client, seeded, "Newer than the backup")
    after = _group_items_of(client, MIRA_TOMAS)
    lost = next(i for i in all_items(client) if i["pk"] == f"MSG#{MIRA_TOMAS}")
    client.delete_item(TableName=TABLE, Key={"pk": {"S": lost["pk"]}, "sk": {"S": lost["sk"]}})
    _, found, result = _import(client, backup)
    assert (found.stale, found.superseded, result.written.put) == (2, [], 1)
    assert _group_items_of(client, MIRA_TOMAS) == after  # one each, at the newer time
    assert lost in all_items(client)


def test_a_newer_backup_into_an_older_table_replaces_its_group_items_and_leaves_one_per_user(client, seeded, tmp_path):
    before = typed_items(client)
    _send(client, seeded, "Only in the backup")
    newer = _group_items_of(client, MIRA_TOMAS)
    backup = write_export(tmp_path, typed_items(client))
    for item in typed_items(client):
        client.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    for item in before:
        client.put_item(TableName=TABLE, Item=item)
    _, found, result = _import(client, backup)
    assert len(found.superseded) == 2 and result.deleted == 2 and found.stale == 0
    assert _group_items_of(client, MIRA_TOMAS) == newer


def test_an_export_that_adds_a_third_person_to_a_live_conversation_is_refused_and_writes_nothing(client, seeded, tmp_path, sent):
    items = typed_items(client)
    intruder = copy.deepcopy(next(i for i in items if i["pk"]["S"] == f"GRP#{MIRA}"))
    intruder.update(pk={"S": f"GRP#{JUNE}"}, message_group_uuid={"S": MIRA_TOMAS}, user_uuid={"S": MIRA})
    before = typed_items(client)
    sent.clear()
    with pytest.raises(LiveConflict) as refused:
        _import(client, write_export(tmp_path, [intruder]))
    assert str(refused.value).startswith(f"conversation {MIRA_TOMAS}: the table's ")
    assert "a third participant of conversation" in str(refused.value)
    assert not WRITES & set(sent) and typed_items(client) == before


def test_a_migrated_table_restores_exactly_into_a_new_table_history_included(client, seeded, tmp_path):
    migrations.run(client, TABLE, FOLDER, "up")
    items = typed_items(client)
    source, _, result = _import(client, write_export(tmp_path, items), COPY)
    assert result.stored == len(items) and source.history_changes == []
    assert typed_items(client, COPY) == items
    assert [s.state for s in migrations.status(client, COPY, FOLDER)] == ["applied"]


def test_an_export_taken_while_a_migration_ran_restores_as_applying_and_migrate_up_finishes_it(client, seeded, tmp_path):
    migrations.run(client, TABLE, FOLDER, "up")
    items = typed_items(client)
    uncounted = next(i for i in items if i["pk"]["S"].startswith("GRP#"))
    del uncounted["message_count"]
    history = next(i for i in items if i["pk"]["S"] == "MIGRATION")
    history["checkpoint"] = {"S": '{"pk": {"S": "GRP#x"}}'}
    source, _, _ = _import(client, write_export(tmp_path, items), COPY)
    [change] = source.history_changes
    assert (change.version, change.state) == (1, "applying")
    assert change.reason == "1 group item(s) of the export lack message_count (the export ran while the migration did)"
    [restored] = [i for i in all_items(client, COPY) if i["pk"] == "MIGRATION"]
    assert restored["state"] == "applying" and "checkpoint" not in restored and "applied_at" not in restored
    migrations.run(client, COPY, FOLDER, "up")
    assert [s.state for s in migrations.status(client, COPY, FOLDER)] == ["applied"]
    assert all("message_count" in i for i in all_items(client, COPY) if i["pk"].startswith("GRP#"))


def test_an_export_taken_during_a_seed_restores_without_the_lock(client, seeded, tmp_path):
    with seed_lock.exclusive(client, TABLE):
        items = typed_items(client)
    assert any(i["pk"]["S"] == "LOCK#seed" for i in items)
    source, _, result = _import(client, write_export(tmp_path, items), COPY)
    assert source.locks == 1 and result.stored == len(items) - 1
    assert not [i for i in all_items(client, COPY) if i["pk"].startswith("LOCK#")]


def test_replace_with_a_backup_from_before_a_migration_is_refused_and_keeps_the_count_and_the_history(
    client, seeded, tmp_path, sent
):
    backup = write_export(tmp_path, typed_items(client))
    migrations.run(client, TABLE, FOLDER, "up")
    before = typed_items(client)
    sent.clear()
    with pytest.raises(LiveConflict) as refused:
        _import(client, backup, replace=True)
    assert str(refused.value).startswith(
        "the export's migration history (none) is not that of table 'cruddur-messages' (0001 applied): "
    )
    assert typed_items(client) == before and not WRITES & set(sent)


def test_replace_never_drops_an_attribute_the_table_holds_and_the_export_lacks(client, seeded, tmp_path, sent):
    backup = write_export(tmp_path, typed_items(client))
    group, other = [i for i in typed_items(client) if i["pk"]["S"].startswith("GRP#")][:2]
    for item, added in ((group, "message_count"), (other, "a_note")):
        client.update_item(
            TableName=TABLE,
            Key={"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression=f"SET {added} = :n",
            ExpressionAttributeValues={":n": {"N": "3"}},
        )
    before = typed_items(client)
    sent.clear()
    source = import_source.open_source(backup)
    import_source.validate(source)
    with pytest.raises(importing.DdbError, match="which the export's lack"):  # a dry run (the plan alone) says so too
        importing.plan(client, TABLE, source, replace=True)
    with pytest.raises(importing.DdbError) as refused:
        _import(client, backup, replace=True)
    keys = ", ".join(f"{i['pk']['S']}/{i['sk']['S']}" for i in (group, other))
    assert str(refused.value) == (
        f"2 item(s) of table 'cruddur-messages' hold a_note, message_count, which the export's lack ({keys}): "
        "restoring them would remove what was added since (a migration?); nothing was written; import into a new table (--table)"
    )
    assert typed_items(client) == before and not WRITES & set(sent)
