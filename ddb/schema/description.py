"""A table's description saved beside an export, and the table made again from it.

An export keeps DescribeTable's answer (`{"Table": …}`, as dynamodump's schema.json does),
so a restore can create the same table: its keys, attribute types, indexes (GSIs and
LSIs with their projections), billing mode and provisioned capacity, and stream.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError

_WAIT = {"Delay": 1, "MaxAttempts": 300}
# The only attributes an index of this table may be keyed on, with their types: an item of
# the contract carries no other key attribute, so any other would fail its writes part-way.
KEY_ATTRIBUTES = {"pk": "S", "sk": "S", "message_group_uuid": "S"}
MAX_UNITS = 40_000  # DynamoDB's default quota of read or write units on one table
_PROJECTIONS = ("ALL", "KEYS_ONLY", "INCLUDE")
_BILLING = ("PROVISIONED", "PAY_PER_REQUEST")
_VIEWS = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")


class DescriptionError(DdbError):
    """A saved table description a table cannot be made from: one line naming the file and the field."""


@dataclass(frozen=True)
class Capacity:
    """The billing mode and provisioned units a description asks for (units None when on demand)."""

    billing: str
    table: tuple[int, int] | None  # (read, write)
    indexes: tuple[tuple[str, int, int], ...] = ()

    def __str__(self) -> str:
        if self.table is None:
            return "on demand (PAY_PER_REQUEST)"
        parts = [f"provisioned {self.table[0]}/{self.table[1]} RCU/WCU"]
        parts += [f"index {name} {read}/{write}" for name, read, write in self.indexes]
        return ", ".join(parts)

    def above(self, units: int) -> bool:
        """True when any read or write units, table or index, are above `units`."""
        numbers = [*(self.table or ()), *(n for _, read, write in self.indexes for n in (read, write))]
        return any(n > units for n in numbers)


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


def _units(node: dict) -> tuple[int, int]:
    got = node.get("ProvisionedThroughput") or {}
    return max(1, int(got.get("ReadCapacityUnits") or 1)), max(1, int(got.get("WriteCapacityUnits") or 1))


def _billing(description: dict) -> str:
    summary = description.get("BillingModeSummary") or {}
    return summary.get("BillingMode") or description.get("BillingMode") or "PROVISIONED"


def capacity(description: dict) -> Capacity:
    """What a table made from `description` would be billed as (a checked description)."""
    if _billing(description) != "PROVISIONED":
        return Capacity(_billing(description), None)
    indexes = tuple((i["IndexName"], *_units(i)) for i in description.get("GlobalSecondaryIndexes") or [])
    return Capacity("PROVISIONED", _units(description), indexes)


def _key_schema_problem(keys: object) -> str | None:
    if not isinstance(keys, list) or not 1 <= len(keys) <= 2:
        return "expected a list of one or two keys"
    for key in keys:
        if not isinstance(key, dict) or key.get("KeyType") not in ("HASH", "RANGE"):
            return "each key needs AttributeName and KeyType HASH or RANGE"
        if key.get("AttributeName") not in KEY_ATTRIBUTES:
            return f"keys on {str(key.get('AttributeName'))[:40]!r}, which no item of this table carries as a key"
    return None


def _problem(description: dict) -> str | None:
    """The first field of a saved description a table of this project cannot be made from, as `<field>: <why>`."""
    keys = description.get("KeySchema")
    expected = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    if [
        {"AttributeName": k.get("AttributeName"), "KeyType": k.get("KeyType")} for k in keys or [] if isinstance(k, dict)
    ] != expected:
        return "KeySchema: expected pk (HASH) and sk (RANGE), the keys of this table's items"
    definitions = description.get("AttributeDefinitions")
    if not isinstance(definitions, list) or not all(isinstance(d, dict) for d in definitions):
        return "AttributeDefinitions: expected a list of {AttributeName, AttributeType}"
    for definition in definitions:
        name, kind = definition.get("AttributeName"), definition.get("AttributeType")
        if not isinstance(name, str) or KEY_ATTRIBUTES.get(name) != kind:
            return f"AttributeDefinitions: {str(name)[:40]!r} as {str(kind)[:8]!r}: this table's keys are pk, sk and message_group_uuid, all S"
    if _billing(description) not in _BILLING:
        return f"BillingModeSummary: {str(_billing(description))[:40]!r} is not PROVISIONED or PAY_PER_REQUEST"
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        indexes = description.get(kind) or []
        if not isinstance(indexes, list):
            return f"{kind}: expected a list"
        for index in indexes:
            if not isinstance(index, dict) or not isinstance(index.get("IndexName"), str):
                return f"{kind}: each index needs an IndexName"
            problem = _key_schema_problem(index.get("KeySchema"))
            projection = index.get("Projection")
            if problem is None and (not isinstance(projection, dict) or projection.get("ProjectionType") not in _PROJECTIONS):
                problem = f"Projection: expected {{ProjectionType: {' | '.join(_PROJECTIONS)}}}"
            if problem is None and not all(isinstance(a, str) for a in (projection or {}).get("NonKeyAttributes") or []):
                problem = "Projection: NonKeyAttributes must be names"
            if problem:
                return f"{kind}[{index.get('IndexName', '?')!s:.40}]: {problem}"
    for node in [description, *(description.get("GlobalSecondaryIndexes") or [])]:
        got = node.get("ProvisionedThroughput") or {}
        if not isinstance(got, dict):
            return "ProvisionedThroughput: expected an object"
        for units in (got.get("ReadCapacityUnits"), got.get("WriteCapacityUnits")):
            if units is not None and (type(units) is not int or not 0 <= units <= MAX_UNITS):
                return f"ProvisionedThroughput: {str(units)[:20]!r} is not a number of units from 1 to {MAX_UNITS}"
    view = (description.get("StreamSpecification") or {}).get("StreamViewType", "NEW_IMAGE")
    if view not in _VIEWS:
        return f"StreamSpecification: StreamViewType {str(view)[:40]!r} is not one of {', '.join(_VIEWS)}"
    return None


def check(description: dict, where: str) -> None:
    """Refuse, in one line naming `where` and the field, a saved description no table of this project can be made from."""
    try:
        problem = _problem(description)
    except (AttributeError, TypeError, ValueError) as exc:  # a field of the wrong JSON type somewhere
        problem = f"not a DescribeTable answer ({type(exc).__name__})"
    if problem:
        raise DescriptionError(f"{where}: {problem}")


def _throughput(node: dict) -> dict:
    read, write = _units(node)
    return {"ReadCapacityUnits": read, "WriteCapacityUnits": write}


def create_request(description: dict, table: str) -> dict:
    """The CreateTable request that makes a table like `description`, named `table`."""
    billing = _billing(description)
    request: dict[str, Any] = {
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
            projection = {"ProjectionType": index["Projection"]["ProjectionType"]}
            if index["Projection"].get("NonKeyAttributes"):
                projection["NonKeyAttributes"] = list(index["Projection"]["NonKeyAttributes"])
            keys = [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in index["KeySchema"]]
            made = {"IndexName": index["IndexName"], "KeySchema": keys, "Projection": projection}
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
            if error_code(exc) != "ResourceInUseException":  # a retried create that had landed
                raise
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig=_WAIT)
