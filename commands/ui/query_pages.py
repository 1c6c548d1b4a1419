"""Queries by key: the table or the GSI, a partition key value and a sort-key condition (=, <, <=, >, >=,
begins_with, BETWEEN), either order, paginated.

The Query is built here on the boto3 client (the library's patterns send only the
declared queries), with expression attribute names and values, so nothing typed in the
form becomes part of an expression. The page shows the request as sent, the items, and
the capacity: reported by the engine, and estimated from the items read.
"""

import json

from ddb.core.awserrors import translated
from ddb.core.errors import InvalidInput
from ddb.data import capacity as units
from ddb.data.items import from_typed
from ddb.schema.declaration import GSI_NAME

from . import cursors
from .context import UiContext
from .html import capacity, field, join, link, select, table, tag, text_input
from .item_pages import value_text
from .web import Page, Request

CONDITIONS = {
    "": "any sort key",
    "=": "sk = a",
    "<": "sk < a",
    "<=": "sk <= a",
    ">": "sk > a",
    ">=": "sk >= a",
    "begins_with": "begins_with(sk, a)",
    "between": "sk BETWEEN a AND b",
}
INDEXES = {"table": ("pk", "the table (pk, sk)"), GSI_NAME: ("message_group_uuid", f"GSI {GSI_NAME} (message_group_uuid, sk)")}
MAX_LIMIT = 1000
MAX_SORT_KEY_BYTES = 1024


def _key_condition(op: str, low: str, high: str) -> tuple[str, dict]:
    """The KeyConditionExpression and its values for the sort-key condition `op`."""
    values = {":pk": None}
    if not op:
        return "#pk = :pk", values
    if op not in CONDITIONS:
        raise InvalidInput(f"no sort-key condition {op!r}: choose one of {', '.join(filter(None, CONDITIONS))}")
    for name, value in (("a", low), ("b", high)) if op == "between" else (("a", low),):
        if not value:
            raise InvalidInput(f"the sort-key condition {CONDITIONS[op]} needs a value for {name}")
        if len(value.encode()) > MAX_SORT_KEY_BYTES:
            raise InvalidInput(f"the sort-key value {name} is longer than DynamoDB's {MAX_SORT_KEY_BYTES} bytes")
    if op == "between":
        if low > high:
            raise InvalidInput("BETWEEN needs a <= b: DynamoDB refuses a range that ends before it starts")
        return "#pk = :pk AND #sk BETWEEN :a AND :b", {**values, ":a": low, ":b": high}
    if op == "begins_with":
        return "#pk = :pk AND begins_with(#sk, :a)", {**values, ":a": low}
    return f"#pk = :pk AND #sk {op} :a", {**values, ":a": low}


def build(table_name: str, form: dict[str, str]) -> tuple[dict, set[str]]:
    """The Query request the form asks for, and the attribute names of its cursor."""
    index = form.get("index") or "table"
    if index not in INDEXES:
        raise InvalidInput(f"no index {index!r}: the table or {GSI_NAME}")
    partition = form.get("pk", "")
    if not partition:
        raise InvalidInput(f"give the partition key value ({INDEXES[index][0]})")
    condition, values = _key_condition(form.get("op", ""), form.get("a", ""), form.get("b", ""))
    values[":pk"] = partition
    request: dict = {
        "TableName": table_name,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": {"#pk": INDEXES[index][0], **({"#sk": "sk"} if "#sk" in condition else {})},
        "ExpressionAttributeValues": {name: {"S": value} for name, value in values.items()},
        "ScanIndexForward": form.get("order") != "desc",
        "ReturnConsumedCapacity": "TOTAL",
    }
    from ..flags import whole_number

    request["Limit"] = whole_number("limit", form.get("limit") or None, 25, high=MAX_LIMIT)
    names = {"pk", "sk"}
    if index != "table":
        request["IndexName"] = index
        names.add(INDEXES[index][0])
    elif form.get("consistent"):
        request["ConsistentRead"] = True
    return request, names


def _form(values: dict[str, str]) -> object:
    return tag(
        "form",
        field("on", select("index", [(k, v[1]) for k, v in INDEXES.items()], values.get("index", "table"))),
        field("partition key", text_input("pk", values.get("pk"), size=50)),
        field("sort key", select("op", list(CONDITIONS.items()), values.get("op", ""))),
        field("a", text_input("a", values.get("a"), size=34)),
        field("b", text_input("b", values.get("b"), size=34)),
        field("order", select("order", [("asc", "ascending"), ("desc", "descending")], values.get("order", "asc"))),
        field("limit", text_input("limit", values.get("limit", "25"), size=4)),
        field(
            "strongly consistent (table only)",
            tag("input", type="checkbox", name="consistent", value="1", checked=bool(values.get("consistent"))),
        ),
        tag("button", "query", type="submit"),
        method="get",
        action="/query",
        id="query-form",
    )


def query(ctx: UiContext, request: Request) -> Page:
    """The form; with a partition key value, the Query's page of items and its capacity."""
    values = {name: request.get(name) for name in ("index", "pk", "op", "a", "b", "order", "limit", "consistent")}
    if not values["pk"]:
        hint = tag("p", "e.g. pk MSG#<conversation uuid> with sk BETWEEN two times, or the GSI by message_group_uuid")
        return Page("Query", join([_form(values), hint]))
    sent, names = build(ctx.table, values)
    if request.get("cursor"):
        sent["ExclusiveStartKey"] = cursors.decode(request.get("cursor"), names)
    with translated(ctx.client, ctx.table):
        response = ctx.client.query(**sent)
    typed = response.get("Items", [])
    found = [from_typed(i) for i in typed]
    columns = list(dict.fromkeys(["pk", "sk", *(name for item in found for name in item)]))
    used = {
        "reported": units.consumed(response),
        "estimated": units.read_units(typed, consistent=bool(sent.get("ConsistentRead")), typed=True),
    }
    after = response.get("LastEvaluatedKey")
    more = link("next page →", "/query", **values, cursor=cursors.encode(after)) if after else ""
    shown = {k: v for k, v in sent.items() if k != "ExclusiveStartKey"}
    body = join(
        [
            _form(values),
            tag("h2", "The request"),
            tag("pre", json.dumps(shown, indent=1, ensure_ascii=False)),
            tag("h2", f"{len(found)} item(s)"),
            table(columns, [[value_text(item.get(c, "")) for c in columns] for item in found], id="results"),
            tag("p", more) if more else tag("p", "end of the results"),
            capacity(used),
        ]
    )
    return Page("Query", body)
