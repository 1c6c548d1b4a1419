"""`setup` seeds its brand-new table before turning the declared stream on: the table ends as
declared, the seed leaves no stream records, and every message written afterwards reaches
the stream handler. `seed` into an existing table keeps writing through the stream."""

import json

import boto3
import pytest

from ddb import errors, schema, schema_plan, seeding, stream_reader

from .support import FIXTURES, NOW, TABLE, local_client

MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
NEW_IMAGE = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}


def _stream_records(client) -> list[dict]:
    return stream_reader.read_stream(client, boto3.client("dynamodbstreams", region_name="us-east-1"), TABLE).records


def test_setup_ends_with_the_declared_stream_holding_no_record_of_the_seed(client):
    result = seeding.setup(client, TABLE, FIXTURES, now=NOW)

    live = client.describe_table(TableName=TABLE)["Table"]
    assert live["StreamSpecification"] == NEW_IMAGE and live["LatestStreamArn"]
    assert live["TableStatus"] == "ACTIVE"
    assert result.created.description["StreamSpecification"] == NEW_IMAGE
    assert result.seeded.written.put == 112
    assert _stream_records(client) == []


def test_setup_leaves_nothing_for_schema_plan_to_do(client):
    seeding.setup(client, TABLE, FIXTURES, now=NOW)

    assert schema_plan.plan(client, TABLE, schema.table_spec(TABLE)).steps == []
    assert schema.load(client, TABLE).action == "up to date"


def test_seed_into_a_table_that_has_its_stream_still_writes_stream_records(client, table):
    seeding.seed_fixtures(client, table, FIXTURES, now=NOW)

    keys = {r["dynamodb"]["Keys"]["pk"]["S"][:4] for r in _stream_records(client)}
    assert {"MSG#", "GRP#"} <= keys


def test_setup_whose_seed_fails_still_turns_the_stream_on_and_reports_the_seed_error(client):
    def refuse(plan):
        raise errors.Refused("stopped after planning")

    with pytest.raises(errors.Refused, match="stopped after planning"):
        seeding.setup(client, TABLE, FIXTURES, now=NOW, on_planned=refuse)

    assert client.describe_table(TableName=TABLE)["Table"]["StreamSpecification"] == NEW_IMAGE


def test_load_without_stream_creates_a_new_table_with_none_and_enable_stream_turns_the_declared_one_on(client):
    created = schema.load(client, TABLE, stream=False)
    assert created.action == "created"
    assert not (created.description.get("StreamSpecification") or {}).get("StreamEnabled")

    described = schema.enable_stream(client, TABLE)
    assert described["StreamSpecification"] == NEW_IMAGE
    assert schema.enable_stream(client, TABLE)["LatestStreamArn"] == described["LatestStreamArn"]  # twice: the same stream


def test_load_without_stream_finds_an_existing_declared_table_up_to_date_and_keeps_its_stream(client, table):
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]

    assert schema.load(client, table, stream=False).action == "up to date"
    assert client.describe_table(TableName=table)["Table"]["LatestStreamArn"] == arn


def test_enable_stream_refuses_a_stream_of_another_view_type(client):
    spec = {k: v for k, v in schema.table_spec(TABLE).items() if k != "StreamSpecification"}
    client.create_table(**spec, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})

    with pytest.raises(errors.SchemaDrift, match="stream view type is KEYS_ONLY, declared NEW_IMAGE"):
        schema.enable_stream(client, TABLE)


@pytest.mark.each_engine  # each engine's own UpdateTable of a stream, and its stream records
def test_setup_task_then_a_new_message_reaches_the_stream_handler_and_schema_plan_finds_nothing_to_do(invoke, engine):
    assert invoke("setup").code == 0

    live = local_client(engine).describe_table(TableName=TABLE)["Table"]
    assert (live["TableStatus"], live["StreamSpecification"]) == ("ACTIVE", NEW_IMAGE)
    planned = invoke("schema-plan")
    assert planned.code == 0 and f"table {TABLE!r}: up to date with the declaration" in planned.err, planned
    nothing = invoke("stream.process", "--json")
    assert nothing.code == 0 and json.loads(nothing.out)["records"] == 0, nothing  # the seed left no record

    sent = invoke("patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--handle", "mira", "--message", "after setup")
    assert sent.code == 0, sent
    applied = invoke("stream.process", "--json")
    assert applied.code == 0 and json.loads(applied.out)["moved"] == 2, applied
    for handle in ("mira", "tomas"):
        top = json.loads(invoke("patterns.list-conversations", "--handle", handle, "--json").out)["items"][0]
        assert (top["message_group_uuid"], top["message"]) == (MIRA_TOMAS, "after setup")
