"""schema-plan, schema-apply and migrate.* as processes: their lines, their exit codes, on the engines."""

import json

import pytest

from ddb.seed.fixtures import load

from .support import FIXTURES, TABLE, all_items
from .test_schema_plan import create_old_table, write_fixture_items

MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
STEPS = [
    "1. [safe] create GSI message-group-sk-index (message_group_uuid, sk; ALL) and backfill it from the table's items",
    "2. [safe] turn the stream on with view type NEW_IMAGE",
]


@pytest.mark.each_engine  # UpdateTable, GSI backfill and streams are the engine's
def test_schema_apply_brings_an_old_table_holding_the_fixtures_to_the_declaration(invoke, engine_client):
    create_old_table(engine_client)
    write_fixture_items(engine_client, load(FIXTURES))
    before = all_items(engine_client)

    planned = invoke("schema-plan")
    assert (planned.code, planned.out.splitlines()) == (0, STEPS), planned
    assert planned.err.endswith("2 step(s) to match the declaration; apply them with `invoke schema-apply`\n")
    assert invoke("schema-plan", "--check").code == 2
    as_json = json.loads(invoke("schema-plan", "--json").out)
    assert [f"{n}. [safe] {s['summary']}" for n, s in enumerate(as_json["steps"], 1)] == STEPS

    applied = invoke("schema-apply")
    assert applied.code == 0, applied
    lines = applied.err.splitlines()
    assert lines[:2] == STEPS and lines[2].startswith("step 1/2: create GSI message-group-sk-index")
    assert lines[-1].startswith(f"table {TABLE!r}: 2 step(s) applied in ") and lines[-1].endswith(
        "up to date with the declaration"
    )
    assert all_items(engine_client) == before

    assert invoke("schema-load").err.startswith(f"table {TABLE!r}: up to date (ACTIVE)")
    again = invoke("schema-plan", "--check")
    assert (again.code, again.out) == (0, ""), again
    assert again.err.startswith(f"table {TABLE!r}: up to date with the declaration, no step")
    sent = invoke(
        "patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--handle", "tomas", "--message", "after the change"
    )
    assert sent.code == 0, sent
    assert invoke("stream.process").code == 0
    inbox = json.loads(invoke("patterns.list-conversations", "--json").out)
    assert inbox["items"][0]["message"] == "after the change"


def test_schema_apply_refuses_destructive_steps_without_the_flag(invoke, engine_client):
    assert invoke("schema-load").code == 0
    engine_client.update_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "user_uuid", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-user",
                    "KeySchema": [{"AttributeName": "user_uuid", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                }
            }
        ],
    )
    refused = invoke("schema-apply")
    assert (refused.code, refused.err.splitlines()[-1]) == (
        1,
        "error: 1 risky step(s) need --allow-destructive: delete GSI by-user (user_uuid; KEYS_ONLY): not declared; "
        "nothing was changed",
    ), refused
    assert [g["IndexName"] for g in engine_client.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]] == [
        "message-group-sk-index",
        "by-user",
    ]
    allowed = invoke("schema-apply", "--allow-destructive")
    assert allowed.code == 0, allowed
    assert invoke("schema-plan").err.startswith(f"table {TABLE!r}: up to date with the declaration, no step")


def test_migrate_up_status_and_down_from_the_command_line(invoke, engine_client):
    assert invoke("setup").code == 0
    before = all_items(engine_client)
    dry = invoke("migrate.up", "--dry-run")
    assert (dry.code, dry.err) == (
        0,
        "dry run: would migrate up 0001 m0001_message_count: 8 group item(s) without message_count would be counted\n",
    )
    assert all_items(engine_client) == before
    pending = invoke("migrate.status")
    assert pending.out == "0001 pending: message_count on group items: the number of messages in the conversation\n"
    up = invoke("migrate.up")
    assert up.code == 0, up
    assert up.err.splitlines()[-1] == "migration 0001 applied: 8 item(s) changed by this run"
    status = json.loads(invoke("migrate.status", "--json").out)
    assert [(s["version"], s["state"], s["migrated"]) for s in status] == [(1, "applied", 8)]
    assert invoke("migrate.up").err == "nothing to migrate up: every migration is applied\n"
    bad = invoke("migrate.down", "--to", "x")
    assert (bad.code, bad.err) == (1, "error: --to must be a whole number of at least 0, not 'x'\n")
    down = invoke("migrate.down", "--to", "0")
    assert down.err.splitlines()[-1] == "migration 0001 undone: 8 item(s) changed by this run"
    assert all_items(engine_client) == before


def test_schema_apply_and_migrate_up_on_prod_refuse_without_a_terminal_or_yes(invoke, engine, engine_client):
    create_old_table(engine_client)
    prod = {"AWS_ENDPOINT_URL_DYNAMODB": engine}
    before = engine_client.describe_table(TableName=TABLE)["Table"]
    refused = invoke("schema-apply", "--prod", env=prod)
    assert refused.code == 1
    assert refused.err.splitlines()[-1].startswith("error: refusing to apply 2 schema step(s) to the table on prod table")
    assert refused.err.splitlines()[-1].endswith(": no terminal to confirm on; pass --yes to confirm")
    assert engine_client.describe_table(TableName=TABLE)["Table"] == before
    assert invoke("schema-apply", "--prod", "--yes", env=prod).code == 0
    write_fixture_items(engine_client, load(FIXTURES))
    refused = invoke("migrate.up", "--prod", env=prod)
    assert refused.code == 1 and "error: refusing to migrate up: 0001 m0001_message_count on prod table" in refused.err
    assert not [i for i in all_items(engine_client) if i["pk"].startswith(("MIGRATION", "LOCK#")) or "message_count" in i]
