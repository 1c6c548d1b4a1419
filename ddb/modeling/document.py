"""docs/data-model.md, generated from the declarations (`ddb.data.model`, `ddb.schema.declaration`) and the fixtures.

`render(fixture_set)` is the whole document as text; it depends on nothing but its
inputs (the sample items are stamped at `model.SAMPLE_NOW`), so the committed file can be
compared with a fresh rendering (`check`).
"""

import json
from pathlib import Path

from ddb.core.errors import DdbError
from ddb.data import items, model
from ddb.modeling import cost
from ddb.schema import declaration as schema
from ddb.seed import stamping
from ddb.seed.fixtures import Fixtures

DOC_PATH = Path("docs") / "data-model.md"
_KEY_ATTRIBUTES = {"pk", "sk"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _sample(item: dict, width: int = 200) -> str:
    shown = {k: (v if not isinstance(v, str) or len(v) <= 40 else v[:37] + "...") for k, v in item.items()}
    text = json.dumps(shown, ensure_ascii=False, separators=(", ", ": "))
    return "`" + _cell(text if len(text) <= width else text[: width - 3] + "...").replace("`", "'") + "`"


def samples(fixture_set: Fixtures) -> dict[str, dict]:
    """One sample item per item type: the fixtures' first of each, and a pair claim for their first conversation."""
    found: dict[str, dict] = {}
    for item in stamping.sample_items(fixture_set):
        found.setdefault(model.type_of(item), item)
    first = fixture_set.conversations[0]
    one, two = (fixture_set.user(h) for h in first.between)
    found.setdefault("pair claim", dict(items.pair_claim(one.uuid, two.uuid, first.message_group_uuid)))
    return found


def _table_section(table: str) -> list[str]:
    spec = schema.table_spec(table)
    gsi = spec["GlobalSecondaryIndexes"][0]
    keys = ", ".join(f"`{k['AttributeName']}` ({k['KeyType']})" for k in spec["KeySchema"])
    gsi_keys = ", ".join(f"`{k['AttributeName']}` ({k['KeyType']})" for k in gsi["KeySchema"])
    throughput = spec["ProvisionedThroughput"]
    return [
        "## The table",
        "",
        "| | |",
        "|---|---|",
        f"| table | `{table}` (configurable: `ddb.table`) |",
        f"| key | {keys}, all strings |",
        f"| GSI | `{gsi['IndexName']}`: {gsi_keys}, projection {gsi['Projection']['ProjectionType']}; sparse: only items with `message_group_uuid` |",
        f"| billing | {spec['BillingMode']}, {throughput['ReadCapacityUnits']} RCU / {throughput['WriteCapacityUnits']} WCU on the table and the GSI (on demand selectable) |",
        f"| stream | {spec['StreamSpecification']['StreamViewType']} (pattern E reads it) |",
        "",
    ]


def _entity_section(fixture_set: Fixtures) -> list[str]:
    sample = samples(fixture_set)
    lines = [
        "## Item types (the entity chart)",
        "",
        "| item type | pk | sk | other attributes | in the GSI | written by | sample item (from the fixtures) |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in model.ITEM_TYPES:
        attributes = ", ".join(f"`{name}` {kind_}" for name, kind_ in kind.attributes.items())
        shown = _sample(sample[kind.name]) if kind.name in sample else "(not in the fixtures)"
        scope = "" if kind.app else " (outside the app's key space)"
        lines.append(
            f"| {kind.name}{scope} | `{_cell(kind.pk)}` | `{_cell(kind.sk)}` | {attributes} | {'yes' if kind.in_index else 'no'} | {kind.written_by} | {shown} |"
        )
    return [*lines, ""]


def _request_text(declared: model.Query) -> tuple[str, str, str, str]:
    where = f"GSI `{declared.index}`" if declared.index else "table"
    condition = f"`{declared.key_condition}`" + (f", filter `{declared.filter}`" if declared.filter else "")
    order = "descending (newest first)" if declared.newest_first else "ascending"
    return where, condition, order, "strong" if declared.consistent else "eventual"


def _pattern_section(fixture_set: Fixtures) -> list[str]:
    data = cost.Data.of(stamping.sample_items(fixture_set))
    lines = [
        "## Access patterns",
        "",
        "Units per request are DynamoDB's, computed from the fixture items (`ddb/modeling/cost.py`): the mean over",
        "every run the fixtures offer (min-max in brackets). RCU: read units, WCU: write units, each",
        "on the table + the GSI.",
        "",
        "| | task | what | requests, in order | index | key condition | order | page | consistency | RCU / request | WCU / request |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for declared in model.PATTERNS:
        runs = cost.runs(declared.letter, data, declared.page_size or 20)
        reads = [sum(r.read_units for r in run) for run in runs] or [0.0]
        writes = [sum(r.write_units for r in run) for run in runs] or [0]
        sent = [q for q in declared.queries]
        requests = ", ".join(
            ["Query" for _ in sent] + [w.operation + (f" per {w.per}" if w.per != "request" else "") for w in declared.writes]
        )
        where, condition, order, consistency = _request_text(sent[0])
        puts = "; ".join(
            f"{w.operation}: put {', '.join(w.puts)}" + (f", delete {', '.join(w.deletes)}" if w.deletes else "")
            for w in declared.writes
        )
        what = declared.summary + (f" ({puts})" if puts else "")

        def spread(values: list) -> str:
            mean = sum(values) / len(values)
            return f"{mean:g} [{min(values):g}-{max(values):g}]" if min(values) != max(values) else f"{mean:g}"

        lines.append(
            f"| {declared.letter} | `{declared.task}` | {_cell(what)} | {requests} | {where} | {condition} | {order} | "
            f"{declared.page_size or '-'} | {consistency} | {spread(reads)} | {spread(writes)} |"
        )
    lines.append("")
    lines += [f"- {p.letter}: {note}" for p in model.PATTERNS for note in p.notes]
    return [*lines, ""]


def _diagram() -> list[str]:
    ids = {kind.name: kind.name.replace(" ", "_") for kind in model.ITEM_TYPES}
    lines = ["## How the patterns reach the items", "", "```mermaid", "flowchart LR"]
    for kind in model.ITEM_TYPES:
        lines.append(f'  {ids[kind.name]}["{kind.name}<br/>{kind.pk.replace("<", "&lt;").replace(">", "&gt;")}"]')
    lines.append('  GSI{{"GSI message-group-sk-index"}}')
    lines.append("  GSI -. projects .-> group")
    for declared in model.PATTERNS:
        node = f"P{declared.letter}"
        lines.append(f'  {node}(["{declared.letter}: {declared.name}"])')
        for query in declared.queries:
            target = "GSI" if query.index else ids[query.reads]
            lines.append(f"  {node} -->|Query| {target}")
        for write in declared.writes:
            for name in dict.fromkeys([*write.deletes, *write.puts]):
                lines.append(f"  {node} ==>|{write.operation}| {ids[name]}")
    return [*lines, "```", ""]


def render(fixture_set: Fixtures, table: str = "cruddur-messages") -> str:
    """The whole of docs/data-model.md."""
    lines = [
        "# The data model of cruddur-messages",
        "",
        "Generated by `invoke model.doc` from `ddb/data/model.py` (item types, access patterns), `ddb/schema/declaration.py`",
        "(the table) and the fixtures (sample items, capacity). Do not edit: change the declarations and",
        "run `invoke model.doc`; `invoke model.doc --check` (run by the tests) fails while this file is stale.",
        "",
        *_table_section(table),
        *_entity_section(fixture_set),
        *_diagram(),
        *_pattern_section(fixture_set),
        "## What a month costs",
        "",
        "`invoke model.cost --traffic FILE` prices the patterns' units per request at given request rates",
        "(`docs/traffic.example.yaml`), with H = 730 hours a month and the prices in `invoke.yaml`:",
        "",
        "- on demand = H x 3600 x sum(rate x RCU) / 10^6 x read price + H x 3600 x sum(rate x WCU) / 10^6 x write price + storage",
        "- provisioned = H x (ceil(peak x sum(rate x RCU)), table and GSI each) x RCU-hour price + H x (the same for WCU) x WCU-hour price + storage",
        "- storage = (item sizes + 100 bytes per item, and again per GSI entry) in GB x GB-month price",
        "- hot partition: the peak load on one partition key (`hot_share` of each pattern's requests) against 3,000 RCU and 1,000 WCU per second",
        "",
    ]
    return "\n".join(lines)


def check(path: Path, text: str, shown: str | Path = DOC_PATH) -> None:
    """DdbError (one line naming the file as `shown`) unless `path` holds exactly `text`."""
    try:
        current = path.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != text:
        state = "is missing" if current is None else "is stale"
        raise DdbError(f"{shown} {state}: the declarations in ddb/data/model.py changed; regenerate it with `invoke model.doc`")
