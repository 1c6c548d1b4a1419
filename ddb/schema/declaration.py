"""The table, declared once: its keys, GSI, billing and stream, and the operations on it.

`table_spec()` is the single declaration; schema-load, the tests and every export read
it. `load()` creates the table (or proves the live one matches), `drop()` deletes it.
A bulk load into a brand-new table may create it without its stream (`load(stream=False)`)
and turn the declared stream on once the data is in (`enable_stream()`): nobody reads the
stream of a table that did not exist, and DynamoDB Local slows down with every stream
record it has ever kept (see the README's "The local engines").
"""

from dataclasses import dataclass
from typing import Any

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient, Request
from ddb.core.errors import InvalidInput, SchemaDrift

GSI_NAME = "message-group-sk-index"
PROVISIONED = "PROVISIONED"
ON_DEMAND = "PAY_PER_REQUEST"
DEFAULT_CAPACITY = 5  # read and write units, on the table and the GSI alike
_WAIT = {"Delay": 1, "MaxAttempts": 300}

Description = dict[str, Any]  # a table as DescribeTable describes it (its answer's "Table")


def table_spec(table: str, billing: str = PROVISIONED, capacity: int = DEFAULT_CAPACITY) -> Request:
    """The CreateTable request for the messages table; the declaration itself."""
    if billing not in (PROVISIONED, ON_DEMAND):
        raise InvalidInput(f"billing must be {PROVISIONED} or {ON_DEMAND}, not {billing!r}")
    throughput = {"ReadCapacityUnits": capacity, "WriteCapacityUnits": capacity}
    gsi: dict[str, Any] = {
        "IndexName": GSI_NAME,
        "KeySchema": [
            {"AttributeName": "message_group_uuid", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    spec: Request = {
        "TableName": table,
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "message_group_uuid", "AttributeType": "S"},
        ],
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [gsi],
        "BillingMode": billing,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    }
    if billing == PROVISIONED:
        spec["ProvisionedThroughput"] = throughput
        gsi["ProvisionedThroughput"] = dict(throughput)
    return spec


@dataclass
class LoadResult:
    """What schema-load did: "created" or "up to date", and the live description."""

    table: str
    action: str
    description: Description


def list_tables(client: DynamoDBClient) -> list[str]:
    """Every table name at the endpoint, following pagination."""
    names: list[str] = []
    with translated(client):
        for page in client.get_paginator("list_tables").paginate():
            names.extend(page.get("TableNames", []))
    return names


def describe(client: DynamoDBClient, table: str) -> Description | None:
    """The live table description, or None when the table does not exist."""
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            found: Description = client.describe_table(TableName=table)["Table"]
            return found
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise


def differences(live: Description, spec: Request, stream: bool = True) -> list[str]:
    """Human-readable ways the live table differs from the declaration (empty if none).

    `stream=False` leaves the stream out of the comparison.
    """
    found: list[str] = []

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in schema]

    if keys(live.get("KeySchema", [])) != keys(spec["KeySchema"]):
        found.append(f"key schema is {keys(live.get('KeySchema', []))}, declared {keys(spec['KeySchema'])}")
    live_types = {a["AttributeName"]: a["AttributeType"] for a in live.get("AttributeDefinitions", [])}
    for attr in spec["AttributeDefinitions"]:
        if live_types.get(attr["AttributeName"]) != attr["AttributeType"]:
            found.append(
                f"attribute {attr['AttributeName']} has type {live_types.get(attr['AttributeName'])}, declared {attr['AttributeType']}"
            )
    live_gsis = {g["IndexName"]: g for g in live.get("GlobalSecondaryIndexes", [])}
    for gsi in spec["GlobalSecondaryIndexes"]:
        got = live_gsis.pop(gsi["IndexName"], None)
        if got is None:
            found.append(f"GSI {gsi['IndexName']} is missing")
            continue
        if keys(got["KeySchema"]) != keys(gsi["KeySchema"]):
            found.append(f"GSI {gsi['IndexName']} keys are {keys(got['KeySchema'])}, declared {keys(gsi['KeySchema'])}")
        if got.get("Projection", {}).get("ProjectionType") != gsi["Projection"]["ProjectionType"]:
            found.append(f"GSI {gsi['IndexName']} projection is {got.get('Projection', {}).get('ProjectionType')}, declared ALL")
    for extra in live_gsis:
        found.append(f"GSI {extra} is not declared")
    billing = live.get("BillingModeSummary", {}).get("BillingMode", PROVISIONED)
    if billing != spec["BillingMode"]:
        found.append(f"billing mode is {billing}, declared {spec['BillingMode']}")
    elif billing == PROVISIONED:
        want = spec["ProvisionedThroughput"]
        got = live.get("ProvisionedThroughput", {})
        for unit in ("ReadCapacityUnits", "WriteCapacityUnits"):
            if got.get(unit) != want[unit]:
                found.append(f"table {unit} is {got.get(unit)}, declared {want[unit]}")
    if stream:
        found += _stream_differences(live, spec)
    return found


def _stream_differences(live: Description, spec: Request) -> list[str]:
    stream = live.get("StreamSpecification") or {"StreamEnabled": False}
    want_stream = spec["StreamSpecification"]
    if not stream.get("StreamEnabled"):
        return [f"stream is disabled, declared {want_stream['StreamViewType']}"]
    if stream.get("StreamViewType") != want_stream["StreamViewType"]:
        return [f"stream view type is {stream.get('StreamViewType')}, declared {want_stream['StreamViewType']}"]
    return []


def load(client: DynamoDBClient, table: str, billing: str = PROVISIONED, *, stream: bool = True) -> LoadResult:
    """Create the table and wait until it is ACTIVE; if it exists, check it matches.

    Raises SchemaDrift (naming each difference) when the live table is not the declared one.
    `stream=False` creates the table without its stream, for a bulk load that turns it on
    with `enable_stream()` afterwards; a table already there is checked in full all the same.
    """
    from botocore.exceptions import ClientError

    spec = table_spec(table, billing)
    request = spec if stream else {k: v for k, v in spec.items() if k != "StreamSpecification"}
    live = describe(client, table)
    if live is not None:
        _check_declared(live, spec, table)
        if live.get("TableStatus") != "ACTIVE":
            _wait_active(client, table)
        return LoadResult(table, "up to date", _described(client, table))
    with translated(client, table):
        try:
            client.create_table(**request)
        except ClientError as exc:
            # The table is there now: a retried create whose first answer was lost, or another loader.
            if error_code(exc) != "ResourceInUseException":
                raise
            _check_declared(describe(client, table) or {}, spec, table, stream=stream)
    _wait_active(client, table)
    return LoadResult(table, "created", _described(client, table))


class StreamRefused(SchemaDrift):
    """The engine did not turn on the stream of an existing table (some engines take a stream only at creation)."""


def enable_stream(client: DynamoDBClient, table: str) -> Description:
    """Turn the declared stream on and wait until the table is ACTIVE again; its description.

    A stream already on as declared is left as it is (so a retried call whose first answer
    was lost is harmless); one on with another view type is SchemaDrift. A stream still off
    afterwards, refused (ValidationException: an engine that takes a stream only in
    CreateTable) or ignored, is StreamRefused, naming the engine's answer.
    """
    from botocore.exceptions import ClientError

    want = table_spec(table)
    answer = "it answered, yet the stream stayed off"
    if _stream_differences(describe(client, table) or {}, want):
        with translated(client, table):
            try:
                client.update_table(TableName=table, StreamSpecification=want["StreamSpecification"])
            except ClientError as exc:
                # Already on (ValidationException) or still updating (ResourceInUseException): checked below.
                if error_code(exc) not in ("ValidationException", "ResourceInUseException"):
                    raise
                message = exc.response.get("Error", {}).get("Message", "")
                answer = f"{error_code(exc)}: {message[:200]}"
    _wait_active(client, table)
    description = _described(client, table)
    drift = _stream_differences(description, want)
    if drift and not (description.get("StreamSpecification") or {}).get("StreamEnabled"):
        raise StreamRefused(f"table {table!r}: the engine did not turn its stream on ({answer})")
    if drift:
        raise SchemaDrift(f"table {table!r}: {drift[0]}{_remedy(want)}")
    return description


def _remedy(spec: Request) -> str:
    """Where a user of the command line finds the steps that fix a drift, for the same declaration."""
    flag = " --on-demand" if spec["BillingMode"] == ON_DEMAND else ""
    return f"; `invoke schema-plan{flag}` shows what changes in place, `invoke schema-apply{flag}` changes it"


def _check_declared(live: Description, spec: Request, table: str, stream: bool = True) -> None:
    drift = differences(live, spec, stream)
    if drift:
        raise SchemaDrift(f"table {table!r} differs from the declaration: " + "; ".join(drift) + _remedy(spec))


def _described(client: DynamoDBClient, table: str) -> Description:
    """The description of a table known to exist (TableMissing, should it be gone meanwhile)."""
    with translated(client, table):
        described: Description = client.describe_table(TableName=table)["Table"]
        return described


def _wait_active(client: DynamoDBClient, table: str) -> None:
    with translated(client, table):
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig=_WAIT)


def drop(client: DynamoDBClient, table: str) -> bool:
    """Delete the table and wait until it is gone. False when there was none."""
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            client.delete_table(TableName=table)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return False
            raise
        client.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig=_WAIT)
    return True
