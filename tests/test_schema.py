"""The table declaration, as created: keys, GSI, stream, billing, and schema-load's checks."""

import pytest

from ddb.core.errors import Hint, SchemaDrift, TableMissing
from ddb.schema import declaration as schema

from .support import TABLE


def test_table_has_pk_hash_and_sk_range(client, table):
    live = client.describe_table(TableName=TABLE)["Table"]
    assert live["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in live["AttributeDefinitions"]}
    assert types == {"pk": "S", "sk": "S", "message_group_uuid": "S"}


def test_gsi_is_message_group_uuid_and_sk_projecting_all(client, table):
    (gsi,) = client.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "message-group-sk-index"
    assert gsi["KeySchema"] == [
        {"AttributeName": "message_group_uuid", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 5


def test_stream_is_enabled_with_new_image(client, table):
    live = client.describe_table(TableName=TABLE)["Table"]
    assert live["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert live["LatestStreamArn"]


def test_billing_is_provisioned_5_by_5(client, table):
    live = client.describe_table(TableName=TABLE)["Table"]
    assert live["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert live["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert live.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"


def test_on_demand_billing_is_selectable(client):
    result = schema.load(client, "messages-on-demand", schema.ON_DEMAND)
    assert result.action == "created"
    assert result.description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in schema.table_spec("x", schema.ON_DEMAND)


def test_load_creates_an_active_table_then_reports_up_to_date(client):
    first = schema.load(client, TABLE)
    assert (first.action, first.description["TableStatus"]) == ("created", "ACTIVE")
    second = schema.load(client, TABLE)
    assert second.action == "up to date"
    assert client.list_tables()["TableNames"] == [TABLE]


def test_load_refuses_a_table_that_differs_and_names_the_difference(client):
    spec = schema.table_spec(TABLE)
    del spec["StreamSpecification"]
    spec["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 5}
    client.create_table(**spec)
    with pytest.raises(SchemaDrift) as caught:
        schema.load(client, TABLE)
    message = str(caught.value)
    assert "stream is disabled, declared NEW_IMAGE" in message
    assert "table ReadCapacityUnits is 1, declared 5" in message


def test_differences_is_empty_for_the_declared_table(client, table):
    assert schema.differences(client.describe_table(TableName=TABLE)["Table"], schema.table_spec(TABLE)) == []


def test_drop_deletes_and_a_missing_table_is_a_no_op(client, table):
    assert schema.drop(client, TABLE) is True
    assert client.list_tables()["TableNames"] == []
    assert schema.drop(client, TABLE) is False


def test_list_tables_follows_pagination(client):
    for n in range(105):
        client.create_table(
            TableName=f"t-{n:03}",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert len(schema.list_tables(client)) == 105


def test_describe_of_a_missing_table_is_none_and_queries_raise_table_missing(client):
    from ddb.app import patterns

    assert schema.describe(client, TABLE) is None
    with pytest.raises(TableMissing, match=r"^table 'cruddur-messages' does not exist in us-east-1 at [^ ]+$") as missing:
        patterns.list_conversations(client, TABLE, "c8d570ce-751b-4d03-85a6-4c0f876ca3ca")
    assert missing.value.hint == Hint.CREATE_TABLE  # the command line words it: `invoke schema-load`
