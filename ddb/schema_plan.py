"""Planning a change of the live table: the steps that make it equal to the declaration.

`plan(client, table, spec)` reads the live table and returns the `Step`s, in an order
DynamoDB accepts, each one request that changes one thing (DynamoDB takes one GSI
create or delete per UpdateTable, and no second change while the table or an index is
still changing, so `ddb.schema_apply` waits between steps). `steps_for(live, spec)` is the
same plan from a description already read, with no request sent.

The order: undeclared (or differently keyed) GSIs are deleted first, then the billing
mode and the provisioned throughput of the table and of the GSIs that stay, then each
missing GSI is created (and backfilled), then the stream, then the settings the
declaration names beyond CreateTable (`Extras`: deletion protection, TTL, point-in-time
recovery, tags). A step is *destructive* when it throws something away that a re-run
cannot bring back by itself: deleting a GSI (its consumers fail until it is rebuilt),
turning the stream off (its records and its ARN are gone; a view type change is an off
then an on), turning TTL, point-in-time recovery or deletion protection off, removing a
tag. The key schema of a table cannot change in place: that is `SchemaDrift`.
"""

from dataclasses import dataclass, field

from .awserrors import error_code, translated
from .clients import DynamoDBClient
from .errors import SchemaDrift
from .schema import ON_DEMAND, PROVISIONED, describe

# What an engine says when it does not implement an operation (DynamoDB Local, older moto).
_UNSUPPORTED = {
    "UnknownOperationException",
    "UnrecognizedClientException",
    "NotImplementedException",
    "UnsupportedOperationException",
    "InvalidAction",
}


@dataclass(frozen=True)
class Extras:
    """Settings of the table that CreateTable's request does not carry; None: not declared, not compared.

    The project declares none of them (`DECLARED_EXTRAS`): a table whose point-in-time
    recovery or deletion protection was switched on by hand (or by `deploy.stack`'s
    template) keeps them. `ttl_attribute` "" declares TTL off.
    """

    deletion_protection: bool | None = None
    ttl_attribute: str | None = None
    point_in_time_recovery: bool | None = None
    tags: dict[str, str] | None = None


DECLARED_EXTRAS = Extras()

# The client methods a step may call (iam/tasks-policy.json allows each).
OPERATIONS = ("update_table", "update_time_to_live", "update_continuous_backups", "tag_resource", "untag_resource")


@dataclass(frozen=True)
class Step:
    """One change of the live table: what it does, whether it is destructive, and its request."""

    kind: str  # delete-index, billing, throughput, index-throughput, create-index, stream-off, stream-on, ...
    summary: str
    destructive: bool
    operation: str  # the client method: update_table, update_time_to_live, ...
    request: dict
    index: str | None = None  # the GSI a create-index step waits for

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "destructive": self.destructive,
            "operation": self.operation,
            "request": self.request,
        }


@dataclass
class Plan:
    """The steps, and what could not be compared on this engine (one line each)."""

    table: str
    steps: list[Step] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def destructive(self) -> list[Step]:
        return [s for s in self.steps if s.destructive]

    def as_json(self) -> dict:
        return {"table": self.table, "steps": [s.as_json() for s in self.steps], "skipped": self.skipped}


def _keys(schema: list) -> list[tuple[str, str]]:
    return [(k["AttributeName"], k["KeyType"]) for k in schema]


def _throughput(value: dict | None) -> dict:
    value = value or {}
    return {"ReadCapacityUnits": value.get("ReadCapacityUnits"), "WriteCapacityUnits": value.get("WriteCapacityUnits")}


def _units(throughput: dict) -> str:
    return f"{throughput['ReadCapacityUnits']}/{throughput['WriteCapacityUnits']}"


def _index_shape(gsi: dict) -> tuple:
    projection = gsi.get("Projection", {})
    return (_keys(gsi["KeySchema"]), projection.get("ProjectionType"), sorted(projection.get("NonKeyAttributes", [])))


def _describe_index(gsi: dict) -> str:
    keys = ", ".join(name for name, _ in _keys(gsi["KeySchema"]))
    return f"GSI {gsi['IndexName']} ({keys}; {gsi.get('Projection', {}).get('ProjectionType')})"


def steps_for(live: dict, spec: dict, live_extras: dict | None = None, extras: Extras = DECLARED_EXTRAS) -> list[Step]:
    """The steps that make the described table `live` the declared `spec` (no request sent).

    `live_extras` holds what `read_extras` read: "ttl", "pitr", "tags" (each absent
    when it was not read). Raises SchemaDrift for what cannot change in place.
    """
    table = spec["TableName"]
    if _keys(live.get("KeySchema", [])) != _keys(spec["KeySchema"]):
        raise SchemaDrift(
            f"table {table!r} has the key schema {_keys(live.get('KeySchema', []))}, declared "
            f"{_keys(spec['KeySchema'])}: keys cannot change in place (export, drop, schema-load, import)"
        )
    steps: list[Step] = []
    declared = {g["IndexName"]: g for g in spec.get("GlobalSecondaryIndexes", [])}
    staying = {}
    for gsi in live.get("GlobalSecondaryIndexes", []):
        name = gsi["IndexName"]
        want = declared.get(name)
        if want is not None and _index_shape(gsi) == _index_shape(want):
            staying[name] = gsi
            continue
        why = "not declared" if want is None else "declared with other keys or projection: it is deleted, then created again"
        steps.append(
            Step(
                "delete-index",
                f"delete {_describe_index(gsi)}: {why}",
                True,
                "update_table",
                {"TableName": table, "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": name}}]},
                name,
            )
        )
    billing = live.get("BillingModeSummary", {}).get("BillingMode", PROVISIONED)
    want_billing = spec["BillingMode"]
    if billing != want_billing:
        request = {"TableName": table, "BillingMode": want_billing}
        if want_billing == PROVISIONED:
            request["ProvisionedThroughput"] = spec["ProvisionedThroughput"]
            # Only the indexes whose throughput differs: on-demand ones read 0/0 on DynamoDB (so all of them
            # there), while DynamoDB Local keeps the old units and refuses an update that changes nothing.
            updates = [
                {"Update": {"IndexName": name, "ProvisionedThroughput": declared[name]["ProvisionedThroughput"]}}
                for name, gsi in staying.items()
                if _throughput(gsi.get("ProvisionedThroughput")) != _throughput(declared[name]["ProvisionedThroughput"])
            ]
            if updates:
                request["GlobalSecondaryIndexUpdates"] = updates
        steps.append(Step("billing", f"switch billing from {billing} to {want_billing}", False, "update_table", request))
    elif want_billing == PROVISIONED:
        want, got = _throughput(spec["ProvisionedThroughput"]), _throughput(live.get("ProvisionedThroughput"))
        if want != got:
            steps.append(
                Step(
                    "throughput",
                    f"set the table's throughput from {_units(got)} to {_units(want)} (read/write units)",
                    False,
                    "update_table",
                    {"TableName": table, "ProvisionedThroughput": spec["ProvisionedThroughput"]},
                )
            )
        for name, gsi in staying.items():
            want, got = _throughput(declared[name]["ProvisionedThroughput"]), _throughput(gsi.get("ProvisionedThroughput"))
            if want != got:
                steps.append(
                    Step(
                        "index-throughput",
                        f"set GSI {name}'s throughput from {_units(got)} to {_units(want)}",
                        False,
                        "update_table",
                        {
                            "TableName": table,
                            "GlobalSecondaryIndexUpdates": [
                                {"Update": {"IndexName": name, "ProvisionedThroughput": declared[name]["ProvisionedThroughput"]}}
                            ],
                        },
                    )
                )
    for name, gsi in declared.items():
        if name in staying:
            continue
        create = {k: v for k, v in gsi.items() if k != "ProvisionedThroughput" or want_billing == PROVISIONED}
        steps.append(
            Step(
                "create-index",
                f"create {_describe_index(gsi)} and backfill it from the table's items",
                False,
                "update_table",
                {
                    "TableName": table,
                    "AttributeDefinitions": spec["AttributeDefinitions"],
                    "GlobalSecondaryIndexUpdates": [{"Create": create}],
                },
                name,
            )
        )
    steps += _stream_steps(table, live.get("StreamSpecification") or {}, spec.get("StreamSpecification") or {})
    steps += _extra_steps(table, live, live_extras or {}, extras)
    return steps


def _stream_steps(table: str, live: dict, want: dict) -> list[Step]:
    on, view = bool(live.get("StreamEnabled")), live.get("StreamViewType")
    want_on, want_view = bool(want.get("StreamEnabled")), want.get("StreamViewType")
    off = Step(
        "stream-off",
        f"turn the stream ({view}) off: its records and its ARN are gone, consumers must be pointed at the new one",
        True,
        "update_table",
        {"TableName": table, "StreamSpecification": {"StreamEnabled": False}},
    )
    enable = Step(
        "stream-on",
        f"turn the stream on with view type {want_view}",
        False,
        "update_table",
        {"TableName": table, "StreamSpecification": {"StreamEnabled": True, "StreamViewType": want_view}},
    )
    if on and not want_on:
        return [off]
    if want_on and not on:
        return [enable]
    if on and view != want_view:
        return [off, enable]
    return []


def _extra_steps(table: str, live: dict, read: dict, extras: Extras) -> list[Step]:
    steps = []
    if extras.deletion_protection is not None and bool(live.get("DeletionProtectionEnabled")) != extras.deletion_protection:
        want = extras.deletion_protection
        steps.append(
            Step(
                "deletion-protection",
                f"turn deletion protection {'on' if want else 'off'}",
                not want,
                "update_table",
                {"TableName": table, "DeletionProtectionEnabled": want},
            )
        )
    if extras.ttl_attribute is not None and "ttl" in read:
        steps += _ttl_steps(table, read["ttl"], extras.ttl_attribute)
    if extras.point_in_time_recovery is not None and "pitr" in read and read["pitr"] != extras.point_in_time_recovery:
        want = extras.point_in_time_recovery
        steps.append(
            Step(
                "pitr",
                f"turn point-in-time recovery {'on' if want else 'off'}",
                not want,
                "update_continuous_backups",
                {"TableName": table, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": want}},
            )
        )
    if extras.tags is not None and "tags" in read:
        arn = live.get("TableArn", "")
        changed = {k: v for k, v in extras.tags.items() if read["tags"].get(k) != v}
        gone = sorted(set(read["tags"]) - set(extras.tags))
        if changed:
            steps.append(
                Step(
                    "tag",
                    "tag the table: " + ", ".join(f"{k}={v}" for k, v in sorted(changed.items())),
                    False,
                    "tag_resource",
                    {"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(changed.items())]},
                )
            )
        if gone:
            steps.append(
                Step("untag", "remove the tags " + ", ".join(gone), True, "untag_resource", {"ResourceArn": arn, "TagKeys": gone})
            )
    return steps


def _ttl_steps(table: str, live_ttl: dict, want: str) -> list[Step]:
    status, attribute = live_ttl.get("TimeToLiveStatus", "DISABLED"), live_ttl.get("AttributeName", "")
    on = status in ("ENABLED", "ENABLING")

    def ttl(enabled: bool, name: str) -> dict:
        return {"TableName": table, "TimeToLiveSpecification": {"Enabled": enabled, "AttributeName": name}}

    off = Step(
        "ttl-off",
        f"turn TTL on {attribute!r} off (DynamoDB allows it on again only after an hour)",
        True,
        "update_time_to_live",
        ttl(False, attribute),
    )
    enable = Step("ttl-on", f"turn TTL on, on the attribute {want!r}", False, "update_time_to_live", ttl(True, want))
    if on and not want:
        return [off]
    if want and not on:
        return [enable]
    if on and attribute != want:
        return [off, enable]
    return []


def read_extras(client: DynamoDBClient, table: str, extras: Extras = DECLARED_EXTRAS) -> tuple[dict, list[str]]:
    """Read the settings `extras` declares (and only those): ({"ttl"|"pitr"|"tags": ...}, lines on what the engine lacks)."""
    from botocore.exceptions import ClientError

    read: dict = {}
    skipped: list[str] = []
    wanted = {
        "ttl": extras.ttl_attribute is not None,
        "pitr": extras.point_in_time_recovery is not None,
        "tags": extras.tags is not None,
    }
    calls = {
        "ttl": ("time to live", lambda: client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]),
        "pitr": (
            "point-in-time recovery",
            lambda: (
                client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
                .get("PointInTimeRecoveryDescription", {})
                .get("PointInTimeRecoveryStatus")
                == "ENABLED"
            ),
        ),
        "tags": ("tags", lambda: _tags(client, table)),
    }
    with translated(client, table):
        for name, (label, call) in calls.items():
            if not wanted[name]:
                continue
            try:
                read[name] = call()
            except ClientError as exc:
                if error_code(exc) not in _UNSUPPORTED:
                    raise
                skipped.append(f"{label}: this engine does not support it ({error_code(exc)}), not compared")
    return read, skipped


def _tags(client: DynamoDBClient, table: str) -> dict:
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    tags, token = {}, None
    while True:
        page = client.list_tags_of_resource(ResourceArn=arn, **({"NextToken": token} if token else {}))
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        token = page.get("NextToken")
        if not token:
            return tags


def plan(client: DynamoDBClient, table: str, spec: dict, extras: Extras = DECLARED_EXTRAS) -> Plan:
    """Read the live table (and the declared extras) and plan the steps; TableMissing if it is not there."""
    from .errors import Hint, TableMissing

    live = describe(client, table)
    if live is None:
        raise TableMissing(f"table {table!r} does not exist: there is nothing to change", hint=Hint.CREATE_TABLE)
    read, skipped = read_extras(client, table, extras)
    return Plan(table, steps_for(live, spec, read, extras), skipped)


__all__ = ["DECLARED_EXTRAS", "ON_DEMAND", "PROVISIONED", "Extras", "Plan", "Step", "plan", "read_extras", "steps_for"]
