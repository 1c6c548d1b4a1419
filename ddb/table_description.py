"""A table's description saved beside an export, and the table made again from it.

An export keeps DescribeTable's answer (`{"Table": …}`, as dynamodump's schema.json does),
so a restore can create the same table: its keys, attribute types, indexes (GSIs and
LSIs with their projections), billing mode and provisioned capacity, and stream.
"""

import json
from datetime import datetime

from .awserrors import translated
from .clients import DynamoDBClient

_WAIT = {"Delay": 1, "MaxAttempts": 300}


def as_json(description: dict) -> dict:
    """DescribeTable's `Table` with its times as ISO strings, ready for json.dumps."""

    def plain(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return json.loads(json.dumps(plain(description), default=str))


def _throughput(node: dict) -> dict:
    got = node.get("ProvisionedThroughput") or {}
    return {
        "ReadCapacityUnits": max(1, int(got.get("ReadCapacityUnits") or 1)),
        "WriteCapacityUnits": max(1, int(got.get("WriteCapacityUnits") or 1)),
    }


def create_request(description: dict, table: str) -> dict:
    """The CreateTable request that makes a table like `description`, named `table`."""
    billing = (description.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
    request = {
        "TableName": table,
        "AttributeDefinitions": [
            {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
            for a in description.get("AttributeDefinitions", [])
        ],
        "KeySchema": [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in description["KeySchema"]],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(description)
    for kind, field in (("GlobalSecondaryIndexes", True), ("LocalSecondaryIndexes", False)):
        indexes = []
        for index in description.get(kind) or []:
            made = {"IndexName": index["IndexName"], "KeySchema": index["KeySchema"], "Projection": index["Projection"]}
            if field and billing == "PROVISIONED":
                made["ProvisionedThroughput"] = _throughput(index)
            indexes.append(made)
        if indexes:
            request[kind] = indexes
    stream = description.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream.get("StreamViewType", "NEW_IMAGE")}
    return request


def create(client: DynamoDBClient, table: str, description: dict) -> None:
    """Create `table` like `description` and wait until it is ACTIVE."""
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            client.create_table(**create_request(description, table))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":  # a retried create that had landed
                raise
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig=_WAIT)
