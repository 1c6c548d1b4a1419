"""Planning a change of the live table: the steps that make it equal to the declaration.

`plan(client, table, spec)` reads the live table and returns the `Step`s, in an order
DynamoDB accepts, each one request that changes one thing (DynamoDB takes one GSI
create or delete per UpdateTable, and no second change while the table or an index is
still changing, so `ddb.schema.apply` waits between steps). `steps_for(live, spec)` is the
same plan from a description already read, with no request sent.

The order: undeclared (or differently keyed) GSIs are deleted first, then the billing
mode and the provisioned throughput of the table and of the GSIs that stay, then each
missing GSI is created (and backfilled), then the stream, then the settings the
declaration names beyond CreateTable (`Extras`: deletion protection, TTL, point-in-time
recovery, tags). A step is *destructive* when it throws something away that a re-run
cannot bring back by itself: deleting a GSI (its consumers fail until it is rebuilt),
turning the stream off (its records and its ARN are gone; a view type change is an off
then an on), turning TTL, point-in-time recovery or deletion protection off, removing a
tag. A step is *risky* when it lowers the provisioned capacity of the table or of a GSI,
or switches the billing mode (either way): the app is throttled or billed otherwise, and
DynamoDB lets few decreases and one billing switch a day undo it. Both kinds show the
setting before → after and are carried out only when allowed (`Step.guarded`).

What cannot change in place is not a step but a line of `Plan.blocked`: another key
schema, or a key attribute (of the table or of a GSI) with another type than declared
(pk N where S is declared), which `schema.load` refuses too. `steps_for` raises
`SchemaDrift` for them.
"""

from dataclasses import dataclass, field

from ddb.core.clients import DynamoDBClient
from ddb.core.errors import SchemaDrift
from ddb.schema.declaration import ON_DEMAND, PROVISIONED, describe
from ddb.schema.extras import DECLARED_EXTRAS, Extras, extra_steps, read_extras
from ddb.schema.step import Step

# The client methods a step may call (iam/tasks-policy.json allows each).
OPERATIONS = ("update_table", "update_time_to_live", "update_continuous_backups", "tag_resource", "untag_resource")


@dataclass
class Plan:
    """The steps, and what could not be compared on this engine (one line each)."""

    table: str
    steps: list[Step] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)  # what cannot change in place, one line each (then no step)

    @property
    def guarded(self) -> list[Step]:
        """The steps that need an explicit allowance: destructive or risky."""
        return [s for s in self.steps if s.guarded]

    def as_json(self) -> dict:
        return {
            "table": self.table,
            "steps": [s.as_json() for s in self.steps],
            "skipped": self.skipped,
            "blocked": self.blocked,
        }


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


_TYPES = {"S": "string", "N": "number", "B": "binary"}


def _typed(kind: str | None) -> str:
    return f"{kind} ({_TYPES[kind]})" if kind in _TYPES else str(kind)


def unchangeable(live: dict, spec: dict) -> list[str]:
    """What keeps the live table from becoming `spec` in place, one line each (empty: nothing).

    Another key schema, or a declared key attribute (of the table or of a GSI) that the live
    table defines with another type: an attribute's type is the items' own, no UpdateTable changes it.
    """
    if _keys(live.get("KeySchema", [])) != _keys(spec["KeySchema"]):
        return [
            f"key schema is {_keys(live.get('KeySchema', []))}, declared {_keys(spec['KeySchema'])}: keys cannot change in place"
        ]
    live_types = {a["AttributeName"]: a["AttributeType"] for a in live.get("AttributeDefinitions", [])}
    table_keys = {name for name, _ in _keys(live.get("KeySchema", []))}
    lines = []
    for attribute in spec["AttributeDefinitions"]:
        name, want = attribute["AttributeName"], attribute["AttributeType"]
        got = live_types.get(name)
        if got is None or got == want:
            continue
        users = [g["IndexName"] for g in live.get("GlobalSecondaryIndexes", []) if name in dict(_keys(g["KeySchema"]))]
        where = "the table's key" if name in table_keys else f"the key of GSI {', '.join(users)}" if users else "the attribute"
        lines.append(f"{where} {name} has type {_typed(got)}, declared {_typed(want)}: its type cannot change in place")
    return lines


def steps_for(live: dict, spec: dict, live_extras: dict | None = None, extras: Extras = DECLARED_EXTRAS) -> list[Step]:
    """The steps that make the described table `live` the declared `spec` (no request sent).

    `live_extras` holds what `read_extras` read: "ttl", "pitr", "tags" (each absent
    when it was not read). Raises SchemaDrift for what cannot change in place (`unchangeable`).
    """
    table = spec["TableName"]
    blocked = unchangeable(live, spec)
    if blocked:
        raise SchemaDrift(f"table {table!r}: " + "; ".join(blocked) + " (export, drop, schema-load, import)")
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
        steps.append(_billing_step(table, live, spec, staying, declared))
    elif want_billing == PROVISIONED:
        changes = [_capacity_step(table, _throughput(live.get("ProvisionedThroughput")), spec["ProvisionedThroughput"])]
        for name, gsi in staying.items():
            got = _throughput(gsi.get("ProvisionedThroughput"))
            changes.append(_capacity_step(table, got, declared[name]["ProvisionedThroughput"], name))
        steps += [step for step in changes if step]
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


def _capacity_step(table: str, got: dict, want: dict, index: str | None = None) -> Step | None:
    """The throughput step of the table (index None) or of one GSI; None when it already has `want`.

    Risky when it lowers either unit: the app is throttled at once and DynamoDB allows few decreases a day.
    """
    want = _throughput(want)
    if got == want:
        return None
    lowers = any(got[unit] is None or want[unit] < got[unit] for unit in want)
    what = f"table {table}" if index is None else f"GSI {index}"
    summary = f"{'lower' if lowers else 'raise'} capacity of {what}: {_units(got)} → {_units(want)} RCU/WCU"
    if index is None:
        return Step(
            "throughput", summary, False, "update_table", {"TableName": table, "ProvisionedThroughput": want}, risky=lowers
        )
    update = {"Update": {"IndexName": index, "ProvisionedThroughput": want}}
    request = {"TableName": table, "GlobalSecondaryIndexUpdates": [update]}
    return Step("index-throughput", summary, False, "update_table", request, risky=lowers)


def _billing_step(table: str, live: dict, spec: dict, staying: dict, declared: dict) -> Step:
    """The switch of billing mode (either way), always risky: it changes what the table costs and admits, once a day."""
    billing, want_billing = live.get("BillingModeSummary", {}).get("BillingMode", PROVISIONED), spec["BillingMode"]
    request = {"TableName": table, "BillingMode": want_billing}
    before = f"{billing} {_units(_throughput(live.get('ProvisionedThroughput')))} RCU/WCU" if billing == PROVISIONED else billing
    after = want_billing
    if want_billing == PROVISIONED:
        request["ProvisionedThroughput"] = spec["ProvisionedThroughput"]
        after = f"{want_billing} {_units(_throughput(spec['ProvisionedThroughput']))} RCU/WCU"
        # Only the indexes whose throughput differs: on-demand ones read 0/0 on DynamoDB (so all of them
        # there), while DynamoDB Local keeps the old units and refuses an update that changes nothing.
        updates = [
            {"Update": {"IndexName": name, "ProvisionedThroughput": declared[name]["ProvisionedThroughput"]}}
            for name, gsi in staying.items()
            if _throughput(gsi.get("ProvisionedThroughput")) != _throughput(declared[name]["ProvisionedThroughput"])
        ]
        if updates:
            request["GlobalSecondaryIndexUpdates"] = updates
            indexes = (
                f"GSI {u['Update']['IndexName']} {_units(_throughput(u['Update']['ProvisionedThroughput']))}" for u in updates
            )
            after += f" ({', '.join(indexes)})"
    return Step("billing", f"switch billing of table {table}: {before} → {after}", False, "update_table", request, risky=True)


def _stream_steps(table: str, live: dict, want: dict) -> list[Step]:
    on, view = bool(live.get("StreamEnabled")), live.get("StreamViewType")
    want_on, want_view = bool(want.get("StreamEnabled")), want.get("StreamViewType")
    off = Step(
        "stream-off",
        f"turn the stream off: {view} → off; its records and its ARN are gone, consumers must be pointed at the new one",
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
    from ddb.core.errors import Hint, TableMissing

    live = describe(client, table)
    if live is None:
        raise TableMissing(f"table {table!r} does not exist: there is nothing to change", hint=Hint.CREATE_TABLE)
    blocked = unchangeable(live, spec)
    if blocked:
        return Plan(table, [], [], blocked)
    read, skipped = read_extras(client, table, extras)
    return Plan(table, steps_for(live, spec, read, extras), skipped)


__all__ = [
    "DECLARED_EXTRAS",
    "ON_DEMAND",
    "PROVISIONED",
    "Extras",
    "Plan",
    "Step",
    "plan",
    "read_extras",
    "steps_for",
    "unchangeable",
]
