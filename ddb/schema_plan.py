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

from .clients import DynamoDBClient
from .errors import SchemaDrift
from .schema import ON_DEMAND, PROVISIONED, describe
from .schema_extras import DECLARED_EXTRAS, Extras, extra_steps, read_extras
from .schema_step import Step

# The client methods a step may call (iam/tasks-policy.json allows each).
OPERATIONS = ("update_table", "update_time_to_live", "update_continuous_backups", "tag_resource", "untag_resource")


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
    steps += extra_steps(table, live, live_extras or {}, extras)
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


def plan(client: DynamoDBClient, table: str, spec: dict, extras: Extras = DECLARED_EXTRAS) -> Plan:
    """Read the live table (and the declared extras) and plan the steps; TableMissing if it is not there."""
    from .errors import Hint, TableMissing

    live = describe(client, table)
    if live is None:
        raise TableMissing(f"table {table!r} does not exist: there is nothing to change", hint=Hint.CREATE_TABLE)
    read, skipped = read_extras(client, table, extras)
    return Plan(table, steps_for(live, spec, read, extras), skipped)


__all__ = ["DECLARED_EXTRAS", "ON_DEMAND", "PROVISIONED", "Extras", "Plan", "Step", "plan", "read_extras", "steps_for"]
