"""schema-plan and schema-apply in the library: the steps from a live table to the declaration, applied in place."""

from datetime import timedelta

import boto3
import pytest

from ddb.app import messaging, patterns
from ddb.bulk import batch
from ddb.core.errors import Refused, SchemaDrift
from ddb.schema import declaration as schema
from ddb.schema.apply import Waiting, apply, wait_settled
from ddb.schema.plan import Extras, plan, steps_for
from ddb.seed.stamping import stamped
from ddb.stream import handler as stream
from ddb.stream import reader as stream_reader

from .support import NOW, TABLE, all_items

KEYS = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTES = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"


def create_old_table(client, table=TABLE):
    """The table as the first schema-load made it: pk/sk, no GSI, no stream, 5/5 provisioned."""
    client.create_table(
        TableName=table,
        KeySchema=KEYS,
        AttributeDefinitions=ATTRIBUTES,
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def write_fixture_items(client, fixtures, table=TABLE) -> int:
    """Every item a seed writes (messages, group items, claims), written as they are, to any pk/sk table."""
    wanted = [item for _, items in stamped(fixtures, fixtures.conversations, NOW) for item in items]
    result = batch.write(client, table, [batch.put_request(item) for item in wanted])
    assert result.put == len(wanted)
    return len(wanted)


def no_wait(_seconds):
    pass


def test_an_old_table_is_planned_as_a_new_gsi_then_the_stream(client):
    create_old_table(client)
    found = plan(client, TABLE, schema.table_spec(TABLE))
    assert [(s.kind, s.destructive) for s in found.steps] == [("create-index", False), ("stream-on", False)]
    assert found.steps[0].summary == (
        "create GSI message-group-sk-index (message_group_uuid, sk; ALL) and backfill it from the table's items"
    )
    assert found.steps[0].request["GlobalSecondaryIndexUpdates"][0]["Create"]["ProvisionedThroughput"] == {
        "ReadCapacityUnits": 5,
        "WriteCapacityUnits": 5,
    }
    assert found.steps[1].summary == "turn the stream on with view type NEW_IMAGE"
    assert found.skipped == []


def test_schema_apply_brings_an_old_table_to_the_declaration_keeping_every_item_and_every_pattern(client, repo_fixtures):
    create_old_table(client)
    written = write_fixture_items(client, repo_fixtures)
    before = all_items(client)
    spec = schema.table_spec(TABLE)
    steps = plan(client, TABLE, spec).steps
    result = apply(client, TABLE, steps, spec, sleep=no_wait)
    assert (len(result.applied), result.remaining) == (2, [])
    assert all_items(client) == before and len(before) == written
    assert schema.load(client, TABLE).action == "up to date"
    assert plan(client, TABLE, spec).steps == []
    # Every pattern works on the changed table: B and A read, C writes, E follows the new stream, D starts one.
    mira, tomas = repo_fixtures.user("mira"), repo_fixtures.user("tomas")
    assert patterns.list_conversations(client, TABLE, mira.uuid).items
    assert patterns.list_messages(client, TABLE, MIRA_TOMAS).items
    messaging.create_message(client, TABLE, MIRA_TOMAS, tomas, "after the change", now=NOW + timedelta(days=1))
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    records = stream_reader.read_stream(client, streams, TABLE).records
    assert (stream.handle_records(client, TABLE, records).moved, len(records)) == (2, 1)
    for user in (mira, tomas):
        top = patterns.list_conversations(client, TABLE, user.uuid).items[0]
        assert (top["message_group_uuid"], top["message"]) == (MIRA_TOMAS, "after the change")
    started = messaging.create_conversation(
        client, TABLE, tomas, repo_fixtures.user("lena"), "hello", now=NOW + timedelta(days=2)
    )
    assert started.created_conversation
    assert patterns.list_conversations(client, TABLE, tomas.uuid).items[0]["message"] == "hello"


def _drifted(client, view="KEYS_ONLY"):
    """A table with an undeclared GSI, on-demand billing and a stream of another view type."""
    extra = {
        "IndexName": "by-user",
        "KeySchema": [{"AttributeName": "user_uuid", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    client.create_table(
        TableName=TABLE,
        KeySchema=KEYS,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[*ATTRIBUTES, {"AttributeName": "user_uuid", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[extra],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )


def test_a_drifted_table_gets_each_step_in_the_order_dynamodb_accepts_marked_safe_risky_or_destructive(client):
    _drifted(client)
    found = plan(client, TABLE, schema.table_spec(TABLE))
    assert [(s.kind, s.label, s.summary) for s in found.steps] == [
        ("delete-index", "DESTRUCTIVE", "delete GSI by-user (user_uuid; KEYS_ONLY): not declared"),
        ("billing", "RISKY", f"switch billing of table {TABLE}: PAY_PER_REQUEST → PROVISIONED 5/5 RCU/WCU"),
        (
            "create-index",
            "safe",
            "create GSI message-group-sk-index (message_group_uuid, sk; ALL) and backfill it from the table's items",
        ),
        (
            "stream-off",
            "DESTRUCTIVE",
            "turn the stream off: KEYS_ONLY → off; its records and its ARN are gone, consumers must be pointed at the new one",
        ),
        ("stream-on", "safe", "turn the stream on with view type NEW_IMAGE"),
    ]
    assert found.as_json()["steps"][1]["request"] == {
        "TableName": TABLE,
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    }


def test_destructive_steps_are_refused_without_the_flag_before_any_request(client, sent):
    # (moto does not turn a stream on again once it was off, as DynamoDB does: no view type change here)
    _drifted(client, view="NEW_IMAGE")
    spec = schema.table_spec(TABLE)
    steps = plan(client, TABLE, spec).steps
    sent.clear()
    with pytest.raises(
        Refused,
        match=r"^2 risky step\(s\) need --allow-destructive: delete GSI by-user \(user_uuid; KEYS_ONLY\): not declared; "
        rf"switch billing of table {TABLE}: PAY_PER_REQUEST → PROVISIONED 5/5 RCU/WCU; nothing was changed$",
    ):
        apply(client, TABLE, steps, spec, sleep=no_wait)
    assert "UpdateTable" not in sent
    result = apply(client, TABLE, steps, spec, allow_destructive=True, sleep=no_wait)
    assert (len(result.applied), result.remaining) == (3, [])
    assert schema.load(client, TABLE).action == "up to date"


def test_an_interrupted_apply_continues_with_only_the_remaining_steps(client):
    create_old_table(client)
    spec = schema.table_spec(TABLE)

    def stop_at_the_second(number, step):
        if number == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply(client, TABLE, plan(client, TABLE, spec).steps, spec, on_step=stop_at_the_second, sleep=no_wait)
    assert [s.kind for s in plan(client, TABLE, spec).steps] == ["stream-on"]
    assert apply(client, TABLE, plan(client, TABLE, spec).steps, spec, sleep=no_wait).remaining == []


def test_throughput_and_settings_beyond_create_table_are_planned_only_when_declared(client):
    schema.load(client, TABLE)
    client.update_table(TableName=TABLE, ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 5})
    spec = schema.table_spec(TABLE)
    assert [s.summary for s in plan(client, TABLE, spec).steps] == [f"lower capacity of table {TABLE}: 7/5 → 5/5 RCU/WCU"]
    extras = Extras(deletion_protection=True, ttl_attribute="expires_at", point_in_time_recovery=True, tags={"team": "chat"})
    found = plan(client, TABLE, spec, extras)
    assert [(s.kind, s.label) for s in found.steps] == [
        ("throughput", "RISKY"),
        ("deletion-protection", "safe"),
        ("ttl-on", "safe"),
        ("pitr", "safe"),
        ("tag", "safe"),
    ]
    assert apply(client, TABLE, found.steps, spec, extras=extras, allow_destructive=True, sleep=no_wait).remaining == []
    off = Extras(deletion_protection=False, ttl_attribute="", point_in_time_recovery=False, tags={})
    assert [(s.kind, s.label, s.summary) for s in plan(client, TABLE, spec, off).steps] == [
        ("deletion-protection", "DESTRUCTIVE", "turn deletion protection off: on → off"),
        ("ttl-off", "DESTRUCTIVE", "turn TTL off: on 'expires_at' → off (DynamoDB allows it on again only after an hour)"),
        ("pitr", "DESTRUCTIVE", "turn point-in-time recovery off: on → off"),
        ("untag", "DESTRUCTIVE", "remove the tags team"),
    ]


def test_a_different_key_schema_cannot_change_in_place(client):
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[ATTRIBUTES[0]],
        BillingMode="PAY_PER_REQUEST",
    )
    found = plan(client, TABLE, schema.table_spec(TABLE))
    assert (found.steps, found.blocked) == (
        [],
        ["key schema is [('pk', 'HASH')], declared [('pk', 'HASH'), ('sk', 'RANGE')]: keys cannot change in place"],
    )
    with pytest.raises(SchemaDrift, match="keys cannot change in place"):
        steps_for(client.describe_table(TableName=TABLE)["Table"], schema.table_spec(TABLE))


def test_a_new_gsi_is_waited_for_with_a_progress_line_until_its_backfill_ends():
    live = schema.table_spec(TABLE)
    states = [("CREATING", True), ("CREATING", True), ("ACTIVE", False)]

    class Engine:
        def describe_table(self, TableName):
            status, backfilling = states.pop(0)
            gsi = {**live["GlobalSecondaryIndexes"][0], "IndexStatus": status, "Backfilling": backfilling}
            return {"Table": {"TableStatus": "ACTIVE", "GlobalSecondaryIndexes": [gsi]}}

    heard: list[Waiting] = []
    steps = steps_for({**live, "GlobalSecondaryIndexes": []}, live)
    wait_settled(Engine(), TABLE, steps[0], on_wait=heard.append, report_every=0, sleep=no_wait)
    assert states == [] and len(heard) == 2
    assert heard[0].line() == (
        "waiting for create GSI message-group-sk-index (message_group_uuid, sk; ALL) and backfill it "
        "from the table's items: table ACTIVE; message-group-sk-index CREATING backfilling (0 s)"
    )
