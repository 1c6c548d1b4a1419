"""Risky schema steps (a capacity cut, a billing switch) and what cannot change in place (key types).

A capacity cut or a billing switch is shown before → after and carried out only with
--allow-destructive; a key attribute of another type is one line of what cannot change
in place, schema-plan --check fails on it, as schema-load refuses the table. The
refusals send no request, so they run on moto alone.
"""

import re
import shlex

import pytest

from ddb.core.errors import Refused, SchemaDrift
from ddb.schema import declaration as schema
from ddb.schema.apply import apply
from ddb.schema.plan import plan, steps_for

from .faultproxy import FaultProxy
from .support import TABLE

GSI = schema.GSI_NAME
NEW_IMAGE = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
CUT = [
    f"1. [RISKY] lower capacity of table {TABLE}: 4000/2000 → 5/5 RCU/WCU",
    f"2. [RISKY] lower capacity of GSI {GSI}: 3000/1000 → 5/5 RCU/WCU",
]
CUT_REFUSED = (
    f"error: 2 risky step(s) need --allow-destructive: lower capacity of table {TABLE}: 4000/2000 → 5/5 RCU/WCU; "
    f"lower capacity of GSI {GSI}: 3000/1000 → 5/5 RCU/WCU; nothing was changed"
)


def create_busy_table(client):
    """The declared table, scaled up by hand for a busy day: 4,000/2,000 RCU/WCU, its GSI 3,000/1,000."""
    spec = schema.table_spec(TABLE)
    spec["ProvisionedThroughput"] = {"ReadCapacityUnits": 4000, "WriteCapacityUnits": 2000}
    spec["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"] = {"ReadCapacityUnits": 3000, "WriteCapacityUnits": 1000}
    client.create_table(**spec)
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def create_table_with_key_types(client, pk="N", sk="B", group="N"):
    """The declared table's keys and GSI, with other attribute types than the declared S."""
    spec = schema.table_spec(TABLE)
    types = {"pk": pk, "sk": sk, "message_group_uuid": group}
    spec["AttributeDefinitions"] = [{"AttributeName": name, "AttributeType": kind} for name, kind in types.items()]
    client.create_table(**spec)


def capacity(client) -> tuple:
    live = client.describe_table(TableName=TABLE)["Table"]
    units = [live["ProvisionedThroughput"], live["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]]
    return tuple((u["ReadCapacityUnits"], u["WriteCapacityUnits"]) for u in units)


def billing(client) -> str:
    return client.describe_table(TableName=TABLE)["Table"].get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")


# ------------------------------------------------------------------ the library


def test_a_capacity_cut_of_table_and_gsi_is_risky_shown_before_and_after_and_refused_without_allowing(client, sent):
    create_busy_table(client)
    spec = schema.table_spec(TABLE)
    found = plan(client, TABLE, spec)
    assert [(s.kind, s.label, s.summary) for s in found.steps] == [
        ("throughput", "RISKY", f"lower capacity of table {TABLE}: 4000/2000 → 5/5 RCU/WCU"),
        ("index-throughput", "RISKY", f"lower capacity of GSI {GSI}: 3000/1000 → 5/5 RCU/WCU"),
    ]
    assert [s["risky"] for s in found.as_json()["steps"]] == [True, True]
    sent.clear()
    with pytest.raises(Refused, match=r"^2 risky step\(s\) need --allow-destructive: lower capacity of table "):
        apply(client, TABLE, found.steps, spec, sleep=lambda _: None)
    assert "UpdateTable" not in sent
    assert capacity(client) == ((4000, 2000), (3000, 1000))
    assert apply(client, TABLE, found.steps, spec, allow_destructive=True, sleep=lambda _: None).remaining == []
    assert capacity(client) == ((5, 5), (5, 5))


def test_raising_capacity_is_a_safe_step(client):
    spec = schema.table_spec(TABLE, capacity=1)
    client.create_table(**spec)
    found = plan(client, TABLE, schema.table_spec(TABLE))
    assert [(s.label, s.summary) for s in found.steps] == [
        ("safe", f"raise capacity of table {TABLE}: 1/1 → 5/5 RCU/WCU"),
        ("safe", f"raise capacity of GSI {GSI}: 1/1 → 5/5 RCU/WCU"),
    ]
    assert apply(client, TABLE, found.steps, schema.table_spec(TABLE), sleep=lambda _: None).remaining == []


def test_switching_billing_either_way_is_risky_and_refused_without_allowing(client, sent):
    create_busy_table(client)
    on_demand = schema.table_spec(TABLE, schema.ON_DEMAND)
    (step,) = plan(client, TABLE, on_demand).steps
    assert (step.label, step.summary) == (
        "RISKY",
        f"switch billing of table {TABLE}: PROVISIONED 4000/2000 RCU/WCU → PAY_PER_REQUEST",
    )
    sent.clear()
    with pytest.raises(Refused, match=r"^1 risky step\(s\) need --allow-destructive: switch billing of table "):
        apply(client, TABLE, [step], on_demand, sleep=lambda _: None)
    assert "UpdateTable" not in sent and billing(client) == "PROVISIONED"
    assert apply(client, TABLE, [step], on_demand, allow_destructive=True, sleep=lambda _: None).remaining == []
    (back,) = plan(client, TABLE, schema.table_spec(TABLE)).steps
    assert (back.label, back.summary.split(": ")[1]) == ("RISKY", f"PAY_PER_REQUEST → PROVISIONED 5/5 RCU/WCU (GSI {GSI} 5/5)")


def test_key_attributes_of_other_types_are_one_line_each_of_what_cannot_change_in_place(client):
    create_table_with_key_types(client)
    spec = schema.table_spec(TABLE)
    found = plan(client, TABLE, spec)
    assert found.steps == []
    assert found.blocked == [
        "the table's key pk has type N (number), declared S (string): its type cannot change in place",
        "the table's key sk has type B (binary), declared S (string): its type cannot change in place",
        f"the key of GSI {GSI} message_group_uuid has type N (number), declared S (string): its type cannot change in place",
    ]
    assert found.as_json()["blocked"] == found.blocked
    with pytest.raises(SchemaDrift, match="the table's key pk has type N"):
        steps_for(client.describe_table(TableName=TABLE)["Table"], spec)
    with pytest.raises(SchemaDrift, match="attribute pk has type N, declared S"):  # schema-load refuses it alike
        schema.load(client, TABLE)


def test_a_gsi_key_of_another_type_alone_cannot_change_in_place(client):
    create_table_with_key_types(client, pk="S", sk="S", group="N")
    assert plan(client, TABLE, schema.table_spec(TABLE)).blocked == [
        f"the key of GSI {GSI} message_group_uuid has type N (number), declared S (string): its type cannot change in place"
    ]


def test_schema_load_drift_names_schema_plan_and_schema_apply_with_the_declarations_flag(client):
    create_busy_table(client)
    with pytest.raises(SchemaDrift) as provisioned:
        schema.load(client, TABLE)
    assert str(provisioned.value) == (
        f"table {TABLE!r} differs from the declaration: table ReadCapacityUnits is 4000, declared 5; "
        "table WriteCapacityUnits is 2000, declared 5; "
        "`invoke schema-plan` shows what changes in place, `invoke schema-apply` changes it"
    )
    with pytest.raises(SchemaDrift) as on_demand:
        schema.load(client, TABLE, schema.ON_DEMAND)
    assert str(on_demand.value).endswith(
        "`invoke schema-plan --on-demand` shows what changes in place, `invoke schema-apply --on-demand` changes it"
    )
    assert "by hand" not in str(on_demand.value)


# ------------------------------------------------------------------ the command line


def test_schema_apply_refuses_a_capacity_cut_in_one_line_before_any_update_table_also_on_prod_with_yes(
    invoke, engine, engine_client
):
    create_busy_table(engine_client)
    planned = invoke("schema-plan")
    assert (planned.code, planned.out.splitlines()) == (0, CUT), planned
    assert planned.err.splitlines()[-1] == (
        f"table {TABLE!r}: 2 step(s) to match the declaration, 2 risky (schema-apply needs --allow-destructive); "
        "apply them with `invoke schema-apply --allow-destructive`"
    )
    with FaultProxy(engine) as proxy:
        refused = invoke("schema-apply", endpoint=proxy.endpoint)
        on_prod = invoke("schema-apply", "--prod", "--yes", env={"AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint})
    assert (refused.code, refused.err.splitlines()[-1]) == (1, CUT_REFUSED), refused
    assert (on_prod.code, on_prod.err.splitlines()[-1]) == (1, CUT_REFUSED), on_prod
    assert proxy.seen["DescribeTable"] and not proxy.seen["UpdateTable"]
    assert capacity(engine_client) == ((4000, 2000), (3000, 1000))

    allowed = invoke("schema-apply", "--allow-destructive")
    assert allowed.code == 0, allowed
    assert capacity(engine_client) == ((5, 5), (5, 5))


def test_schema_apply_refuses_a_billing_switch_either_way_without_allowing(invoke, engine_client):
    create_busy_table(engine_client)
    to_on_demand = invoke("schema-apply", "--on-demand")
    assert (to_on_demand.code, to_on_demand.err.splitlines()[-1]) == (
        1,
        f"error: 1 risky step(s) need --allow-destructive: switch billing of table {TABLE}: "
        "PROVISIONED 4000/2000 RCU/WCU → PAY_PER_REQUEST; nothing was changed",
    ), to_on_demand
    assert billing(engine_client) == "PROVISIONED"
    assert invoke("schema-apply", "--on-demand", "--allow-destructive").code == 0
    assert billing(engine_client) == "PAY_PER_REQUEST"
    to_provisioned = invoke("schema-apply")
    assert to_provisioned.code == 1, to_provisioned
    assert re.fullmatch(
        rf"error: 1 risky step\(s\) need --allow-destructive: switch billing of table {TABLE}: "
        r"PAY_PER_REQUEST → PROVISIONED 5/5 RCU/WCU.*; nothing was changed",
        to_provisioned.err.splitlines()[-1],
    ), to_provisioned
    assert billing(engine_client) == "PAY_PER_REQUEST"


def test_the_hint_after_schema_plan_on_demand_is_a_command_that_makes_the_table_on_demand(invoke, engine_client):
    assert invoke("schema-load").code == 0
    planned = invoke("schema-plan", "--on-demand")
    hint = planned.err.splitlines()[-1]
    assert hint.endswith("apply them with `invoke schema-apply --on-demand --allow-destructive`"), planned
    command = shlex.split(hint.rsplit("`", 2)[1])
    assert command[0] == "invoke"
    assert invoke(*command[1:]).code == 0
    assert billing(engine_client) == "PAY_PER_REQUEST"
    assert invoke("schema-plan", "--on-demand", "--check").code == 0


def test_schema_plan_check_fails_on_key_types_it_cannot_change_as_schema_load_refuses_the_table(invoke, engine_client):
    create_table_with_key_types(engine_client)
    checked = invoke("schema-plan", "--check")
    assert checked.code == 1, checked
    assert checked.out.splitlines() == [
        "cannot change in place: the table's key pk has type N (number), declared S (string): its type cannot change in place",
        "cannot change in place: the table's key sk has type B (binary), declared S (string): its type cannot change in place",
        f"cannot change in place: the key of GSI {GSI} message_group_uuid has type N (number), declared S (string): "
        "its type cannot change in place",
    ]
    assert checked.err.splitlines()[-1] == (
        f"error: table {TABLE!r}: 3 difference(s) cannot change in place, so no schema-apply makes it the declaration: "
        "export the items, drop the table, schema-load it and import them (their values converted)"
    )
    assert invoke("schema-plan").code == 1
    assert invoke("schema-apply", "--allow-destructive").code == 1
    loaded = invoke("schema-load")
    assert loaded.code == 1 and "attribute pk has type N, declared S" in loaded.err, loaded


def test_schema_load_drift_line_names_schema_plan_which_shows_the_step(invoke, engine_client):
    create_busy_table(engine_client)
    loaded = invoke("schema-load")
    assert loaded.code == 1
    assert loaded.err.splitlines()[-1].endswith(
        "`invoke schema-plan` shows what changes in place, `invoke schema-apply` changes it"
    ), loaded
    assert invoke("schema-plan").out.splitlines() == CUT


def test_the_hint_after_schema_plan_carries_the_target_it_was_given(invoke, engine, engine_client):
    create_busy_table(engine_client)
    planned = invoke("schema-plan", "--endpoint-url", engine, endpoint="http://127.0.0.1:9")  # the flag, not the config
    hint = planned.err.splitlines()[-1]
    assert hint.endswith(f"apply them with `invoke schema-apply --endpoint-url {engine} --allow-destructive`"), planned
    command = shlex.split(hint.rsplit("`", 2)[1])
    assert invoke(*command[1:], endpoint="http://127.0.0.1:9").code == 0
    assert capacity(engine_client) == ((5, 5), (5, 5))
