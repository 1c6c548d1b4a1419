"""`setup` seeds its brand-new table before turning the declared stream on: the table ends as
declared, the seed leaves no stream records, and every message written afterwards reaches
the stream handler. `seed` into an existing table keeps writing through the stream."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from commands import sentences
from ddb.core import errors
from ddb.engines.state import EngineState
from ddb.engines.stream_history import ClosedStreams, closed_streams
from ddb.schema import declaration as schema
from ddb.schema import plan as schema_plan
from ddb.seed import seeding
from ddb.stream import reader as stream_reader

from .support import FIXTURES, NOW, TABLE, delete_all_tables, dynamodb_local_or_skip, local_client

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
    done = invoke("setup")
    assert done.code == 0, done
    assert (
        done.err.splitlines()[-1] == f"table {TABLE!r}: stream NEW_IMAGE turned on after the seed (no stream record of the seed)"
    )

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


# ------------------------------------------------------------------ DynamoDB Local's stream history


def test_closed_streams_counts_the_records_a_dropped_table_left_on_dynamodb_local(dynamodb_local_server):
    client = local_client(dynamodb_local_server)
    streams = local_client(dynamodb_local_server, "dynamodbstreams")
    delete_all_tables(dynamodb_local_server)
    before = closed_streams(streams)
    schema.load(client, "stream-history")
    for n in range(30):
        client.put_item(TableName="stream-history", Item={"pk": {"S": f"MSG#{n}"}, "sk": {"S": "1"}})
    assert closed_streams(streams) == before  # its stream is still on

    schema.drop(client, "stream-history")
    after = closed_streams(streams)
    assert (after.streams - before.streams, after.records - before.records) == (1, 30)


def test_local_status_tells_of_dynamodb_locals_closed_stream_records_and_how_to_clear_them():
    in_memory = EngineState(41, "dynamodb-local", "3.3.1", "127.0.0.1", 8000, running=True, answering=True)
    on_disk = EngineState(41, "dynamodb-local", "3.3.1", "127.0.0.1", 8000, running=True, answering=True, db_path="/t")
    endpoint = "http://127.0.0.1:8000"
    head = "DynamoDB Local 3.3.1 running (pid 41) at http://127.0.0.1:8000, answering; "
    kept = "it keeps 27,000 stream records of 3 dropped table(s) or stream(s) turned off, and writes into a table that has had a stream slow down with them: "

    assert sentences.engine_status(in_memory, endpoint, ClosedStreams(3, 27_000)) == (
        head + "in memory; " + kept + "`invoke local.stop` then `local.start` clears them, and every table"
    )
    assert sentences.engine_status(on_disk, endpoint, ClosedStreams(3, 27_000)) == (
        head + "tables kept in /t; " + kept + "they stay in /t across restarts"
    )
    assert sentences.engine_status(in_memory, endpoint, ClosedStreams(2, 0)) == head + "in memory"


def test_local_status_counts_the_records_a_dropped_table_left_on_a_started_dynamodb_local(invoke_alone_process):
    invoke = invoke_alone_process
    dynamodb_local_or_skip()
    assert invoke("local.start", "--engine", "dynamodb-local").code == 0
    try:
        assert invoke("setup").code == 0
        fresh = json.loads(invoke("local.status", "--json").out)
        sent = invoke("patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--handle", "mira", "--message", "kept")
        assert sent.code == 0, sent
        streams = local_client(invoke.endpoint, "dynamodbstreams")
        written = len(stream_reader.read_stream(local_client(invoke.endpoint), streams, TABLE).records)
        assert invoke("setup").code == 0  # drops the table, its stream and records stay in the engine
        status = json.loads(invoke("local.status", "--json").out)
        human = invoke("local.status").err.strip()
    finally:
        assert invoke("local.stop").code == 0
    assert fresh["closed_stream_records"] == 0 and written >= 1
    assert status["closed_stream_records"] == written
    assert f"it keeps {written:,} stream records of 1 dropped table(s)" in human
    assert human.endswith("`invoke local.stop` then `local.start` clears them, and every table")


class UpdateAnswerLost:
    """Wraps a client: update_table turns the stream on, then fails as its retry would, the first answer lost."""

    def __init__(self, client):
        self.client, self.meta = client, client.meta

    def update_table(self, **request):
        self.client.update_table(**request)
        raise ClientError(
            {
                "Error": {"Code": "ValidationException", "Message": "Table already has an enabled stream"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "UpdateTable",
        )

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_enable_stream_whose_update_was_retried_after_a_lost_answer_returns_the_table_with_its_stream(client):
    schema.load(client, TABLE, stream=False)

    described = schema.enable_stream(UpdateAnswerLost(client), TABLE)

    assert (described["TableStatus"], described["StreamSpecification"]) == ("ACTIVE", NEW_IMAGE)


def test_enable_stream_on_a_missing_table_is_table_missing(client):
    with pytest.raises(errors.TableMissing):
        schema.enable_stream(client, TABLE)


def test_a_seed_into_a_stream_enabled_table_on_dynamodb_local_keeps_its_writers_and_the_stream(dynamodb_local):
    schema.load(dynamodb_local, TABLE)

    result = seeding.seed_fixtures(dynamodb_local, TABLE, FIXTURES, now=NOW, writers=6)

    assert (result.written.writers, result.written.put) == (6, 112)
    assert dynamodb_local.describe_table(TableName=TABLE)["Table"]["StreamSpecification"] == NEW_IMAGE


def test_a_seed_keeps_its_writers_into_a_table_without_a_stream_or_off_dynamodb_local(dynamodb_local, client, table):
    schema.load(dynamodb_local, TABLE, stream=False)

    assert seeding.seed_fixtures(dynamodb_local, TABLE, FIXTURES, now=NOW, writers=6).written.writers == 6
    assert seeding.seed_fixtures(client, table, FIXTURES, now=NOW, writers=6).written.writers == 6  # moto, stream on
