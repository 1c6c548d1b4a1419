"""The data model declared once (ddb/data/model.py): the patterns run what it declares, and model.* generates from it."""

import dataclasses
import json
import re

import pytest

from ddb.app import messaging, patterns
from ddb.data import model
from ddb.data.items import to_typed
from ddb.modeling import pricing
from ddb.modeling.document import DOC_PATH
from ddb.seed import seeding, stamping

from .support import ROOT, TABLE, seed_table


def _requests(client) -> list[dict]:
    seen: list[dict] = []
    client.meta.events.register("provide-client-params.dynamodb.Query", lambda params, **_: seen.append(dict(params)))
    return seen


def _declared(query: model.Query, request: dict) -> bool:
    wanted = query.request(TABLE, {})
    keys = ("KeyConditionExpression", "IndexName", "ScanIndexForward", "ConsistentRead", "FilterExpression")
    return {k: wanted.get(k) for k in keys} == {k: request.get(k) for k in keys}


def test_patterns_send_exactly_the_queries_their_declarations_describe(client, seeded):
    seen = _requests(client)
    mira, lena = seeded.users["mira"], seeded.users["lena"]
    group = seeded.conversations[0].message_group_uuid
    patterns.list_messages(client, TABLE, group)
    patterns.list_conversations(client, TABLE, mira.uuid)
    messaging.create_message(client, TABLE, group, seeded.user(seeded.conversations[0].between[0]), "hello")
    messaging.create_conversation(client, TABLE, mira, lena, "hi lena")
    a, b, c, d = seen[:4]
    assert _declared(model.pattern("A").queries[0], a)
    assert _declared(model.pattern("B").queries[0], b)
    assert _declared(model.pattern("C").queries[0], c)
    assert _declared(model.pattern("D").queries[0], d)
    assert (a["ScanIndexForward"], c["IndexName"], d["ConsistentRead"]) == (False, "message-group-sk-index", True)


def test_a_changed_declaration_changes_the_query_the_pattern_sends(client, seeded, monkeypatch):
    oldest_first = dataclasses.replace(
        model.PATTERNS[0], queries=(dataclasses.replace(model.MESSAGES_NEWEST_FIRST, newest_first=False),)
    )
    monkeypatch.setattr(model, "PATTERNS", (oldest_first, *model.PATTERNS[1:]))
    conversation = seeded.conversations[0]
    page = patterns.list_messages(client, TABLE, conversation.message_group_uuid, limit=2)
    assert [i["message"] for i in page.items] == [m.text for m in conversation.messages[:2]][::-1]


def test_the_committed_data_model_is_current(invoke_alone):
    run = invoke_alone("model.doc", "--check")
    assert (run.code, run.err) == (0, "docs/data-model.md is up to date\n"), run


def test_doc_check_fails_in_one_line_when_a_patterns_declaration_changes_without_a_new_doc(invoke_alone, monkeypatch):
    bigger_pages = dataclasses.replace(model.PATTERNS[0], page_size=50)
    monkeypatch.setattr(model, "PATTERNS", (bigger_pages, *model.PATTERNS[1:]))
    before = (ROOT / DOC_PATH).read_text()
    run = invoke_alone("model.doc", "--check")
    assert run.code == 1, run
    assert run.err == (
        "error: docs/data-model.md is stale: the declarations in ddb/data/model.py changed; regenerate it with `invoke model.doc`\n"
    )
    assert (ROOT / DOC_PATH).read_text() == before


def test_the_doc_holds_the_entity_chart_the_pattern_table_and_a_mermaid_diagram():
    text = (ROOT / DOC_PATH).read_text()
    for kind in model.ITEM_TYPES:
        assert f"| {kind.name}" in text
    for declared in model.PATTERNS:
        assert re.search(rf"^\| {declared.letter} \| `{re.escape(declared.task)}` \|", text, re.M), declared.letter
    assert "```mermaid\nflowchart LR\n" in text
    assert '"sk": "2026-11-25T' in text  # sample items stamped at the fixed moment


def test_the_workbench_model_has_its_fields_and_exactly_the_fixture_items(invoke_alone, client, table, repo_fixtures, tmp_path):
    out = tmp_path / "model.json"
    run = invoke_alone("model.workbench", "--out", str(out))
    assert run.code == 0, run
    written = json.loads(out.read_text())
    assert written["ModelName"] == TABLE
    assert written["ModelMetadata"]["Version"] == "3.0"
    (data_model,) = written["DataModel"]
    assert {"TableName", "KeyAttributes", "NonKeyAttributes", "GlobalSecondaryIndexes", "TableFacets", "TableData"} <= set(
        data_model
    )
    assert data_model["KeyAttributes"] == {
        "PartitionKey": {"AttributeName": "pk", "AttributeType": "S"},
        "SortKey": {"AttributeName": "sk", "AttributeType": "S"},
    }
    assert data_model["GlobalSecondaryIndexes"][0]["IndexName"] == "message-group-sk-index"
    assert [f["FacetName"] for f in data_model["TableFacets"]] == [
        "Group",
        "Message",
        "GroupClaim",
        "PairClaim",
        "Lock",
        "Migration",
    ]
    assert data_model["TableFacets"][0]["KeyAttributeAlias"] == {
        "PartitionKeyAlias": "GRP#<owner user uuid>",
        "SortKeyAlias": "<last message time>",
    }
    assert (data_model["BillingMode"], data_model["ProvisionedCapacitySettings"]["ProvisionedThroughput"]) == (
        "PROVISIONED",
        {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    seed = seeding.plan(client, table, repo_fixtures, model.SAMPLE_NOW)
    assert data_model["TableData"] == [to_typed(i) for i in seed.puts]
    assert run.err == f"wrote {out}: {len(seed.puts)} items, 6 facets\n"


def test_a_month_follows_from_the_units_per_request_by_the_documented_formula():
    prices = pricing.Prices(0.125, 0.625, 0.00013, 0.00065, 0.25, "2026-11-26", "us-east-1")
    costs = [
        pricing.PatternCost("A", "get-conversation", 200, 1, 0.625, 0.0, 0.0, 0.0),
        pricing.PatternCost("C", "create-message", 20, 1, 0.0, 0.5, 1.0, 0.0),
    ]
    month = pricing.monthly(costs, pricing.Traffic({"A": 200, "C": 20}, peak_factor=3), prices, stored_gb=2.0)
    seconds = 730 * 3600
    reads, writes = (200 * 0.625 + 20 * 0.5) * seconds, 20 * 1.0 * seconds
    assert month["on_demand"] == pytest.approx(reads / 1e6 * 0.125 + writes / 1e6 * 0.625 + 2.0 * 0.25)
    # provisioned for the peak: table 3 x 125 = 375 RCU, GSI 3 x 10 = 30 RCU, table 60 WCU, GSI at least 1
    assert month["provisioned_capacity"] == {"table_rcu": 375, "index_rcu": 30, "table_wcu": 60, "index_wcu": 1}
    assert month["provisioned"] == pytest.approx(730 * (405 * 0.00013 + 61 * 0.00065) + 0.5)
    assert month["cheaper"] == ("provisioned" if month["provisioned"] < month["on_demand"] else "on demand")


def test_a_partition_past_1000_wcu_at_the_peak_is_reported_hot(repo_fixtures):
    traffic = pricing.Traffic({"C": 5000, "E": 5000}, peak_factor=2, hot_share=0.5)
    prices = pricing.Prices(0.125, 0.625, 0.00013, 0.00065, 0.25, "2026-11-26", "us-east-1")
    answer = pricing.price(stamping.sample_items(repo_fixtures), traffic, prices)
    hot = {p["partition"]: p["wcu"] for p in answer["partitions"] if p["hot"]}
    assert hot == {"GRP#": 5000 * 2 * 0.5 * 8, "GSI": 5000 * 2 * 0.5 * 4, "MSG#": 5000 * 2 * 0.5 * 1}


def test_model_cost_prices_the_example_traffic_as_json_and_draws_its_chart(invoke_alone, tmp_path):
    chart = tmp_path / "cost.svg"
    run = invoke_alone("model.cost", "--traffic", "docs/traffic.example.yaml", "--from-fixtures", "--json", "--chart", str(chart))
    assert run.code == 0, run
    answer = json.loads(run.out)
    assert [(p["letter"], p["rate"], p["read_units"], p["write_units"]) for p in answer["patterns"]] == [
        ("A", 200, 0.625, 0.0),
        ("B", 50, 0.5, 0.0),
        ("C", 20, 0.5, 1.0),
        ("D", 1, 1.0, 12.0),
        ("E", 20, 0.5, 12.0),
    ]
    assert answer["month"]["cheaper"] in ("on demand", "provisioned")
    assert answer["prices"]["taken"] == "2026-11-26"
    svg = chart.read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 2


@pytest.mark.parametrize(
    "content, line",
    [
        (
            "patterns: {get-conversations: 5}\n",
            "patterns.get-conversations: unknown pattern: the patterns are get-conversation, list-conversations, create-message, create-conversation, stream",
        ),
        ("patterns: {create-message: -1}\n", "patterns.create-message: -1 is out of range: from 0 to 1e+12"),
        ("patterns: [1, 2\n", "line 2 column 1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("rates: {}\n", "expected a mapping with `patterns: {<pattern>: <requests per second>, ...}`"),
    ],
)
def test_a_bad_traffic_file_is_one_line_naming_it_and_the_place(invoke_alone, tmp_path, content, line):
    path = tmp_path / "traffic.yaml"
    path.write_text(content)
    run = invoke_alone("model.cost", "--traffic", str(path), "--from-fixtures")
    assert (run.code, run.out, run.err) == (1, "", f"error: {path}: {line}\n")


def test_model_cost_measures_the_tables_own_items_by_default(invoke, engine_client):
    seed_table(engine_client)
    run = invoke("model.cost", "--traffic", "docs/traffic.example.yaml", "--json")
    assert run.code == 0, run
    units = [(p["letter"], p["runs"], p["read_units"], p["write_units"]) for p in json.loads(run.out)["patterns"]]
    assert units == [("A", 4, 0.625, 0.0), ("B", 5, 0.5, 0.0), ("C", 4, 0.5, 1.0), ("D", 4, 1.0, 12.0), ("E", 4, 0.5, 12.0)]
    text = invoke("model.cost", "--traffic", "docs/traffic.example.yaml")
    assert text.code == 0, text
    assert "cheaper: " in text.out and text.out.startswith("prices: us-east-1, taken 2026-11-26:")
