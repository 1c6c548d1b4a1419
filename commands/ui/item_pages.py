"""Items by type: every item type the model declares (`ddb.data.model.ITEM_TYPES`) with its attributes,
and a paginated, filterable list of the table's items of one type.

The list is a Scan, a page of requests at a time (at most `MAX_REQUESTS` per page view,
so a large table costs a bounded read per click), each item typed by its key
(`model.type_of`) and kept when its attribute contains the filter text. The capacity is
the Scan's: every item read counts, kept or not.
"""

import json

from ddb.core.awserrors import translated
from ddb.data import capacity as units
from ddb.data import model
from ddb.data.items import from_typed

from . import cursors
from .context import UiContext
from .html import capacity, field, join, link, select, table, tag, text_input
from .web import Page, Request

PAGE_SIZE = 25
SCAN_LIMIT = 200  # items a Scan request reads
MAX_REQUESTS = 10  # Scan requests per page view
KEY = {"pk", "sk"}


def value_text(value: object) -> str:
    """An attribute's value as text: strings as they are, numbers plainly, lists and maps as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def item_types(ctx: UiContext, request: Request) -> Page:
    """The declared item types, their keys and attributes, each linked to its list."""
    rows = [
        [
            link(kind.name, "/items", type=kind.name),
            tag("code", kind.pk),
            tag("code", kind.sk),
            join((join([tag("code", name), f" {kind_}"]) for name, kind_ in kind.attributes.items()), ", "),
            "yes" if kind.in_index else "no",
            "the app's" if kind.app else "the toolkit's",
            kind.written_by,
        ]
        for kind in model.ITEM_TYPES
    ]
    body = join(
        [
            tag("p", "Every item type of the model's declarations (ddb/data/model.py). Choose one to list its items."),
            table(["item type", "pk", "sk", "other attributes", "in the GSI", "key space", "written by"], rows, id="item-types"),
        ]
    )
    return Page("Item types", body)


def _matches(item: dict, attribute: str, text: str) -> bool:
    return not text or text.lower() in value_text(item.get(attribute, "")).lower()


def items(ctx: UiContext, request: Request) -> Page:
    """One type's items, filtered by `attribute` containing `contains`, a page at a time."""
    name = request.get("type")
    if not name:
        return item_types(ctx, request)
    kind = next((k for k in model.ITEM_TYPES if k.name == name), None)
    if kind is None:
        from ddb.core.errors import InvalidInput

        raise InvalidInput(f"no item type {name!r}: the model declares {', '.join(k.name for k in model.ITEM_TYPES)}")
    attributes = ["pk", "sk", *kind.attributes]
    attribute = request.get("attribute", "pk")
    if attribute not in attributes:
        attribute = "pk"
    text = request.get("contains")
    found, cursor, read = _scan(ctx, kind.name, attribute, text, request.get("cursor"))
    rows = [[value_text(item.get(a, "")) for a in attributes] for item in found]
    form = tag(
        "form",
        tag("input", type="hidden", name="type", value=kind.name),
        field("where", select("attribute", [(a, a) for a in attributes], attribute)),
        field("contains", text_input("contains", text)),
        tag("button", "filter", type="submit"),
        method="get",
        action="/items",
    )
    more = link("next page →", "/items", type=kind.name, attribute=attribute, contains=text, cursor=cursor)
    body = join(
        [
            tag("p", f"pk {kind.pk}, sk {kind.sk}; written by {kind.written_by}"),
            form,
            table(attributes, rows, id="items") if rows else tag("p", "no items on this page"),
            tag("p", more) if cursor else tag("p", "end of the table"),
            tag("p", f"{read['scanned']} items read by {read['requests']} Scan request(s)", class_="capacity"),
            capacity(read),
        ]
    )
    return Page(f"Items: {kind.name}", body)


def _scan(ctx: UiContext, name: str, attribute: str, text: str, cursor: str) -> tuple[list[dict], str | None, dict]:
    """Up to PAGE_SIZE items of type `name` that match; the cursor after them; what was read."""
    request = {"TableName": ctx.table, "Limit": SCAN_LIMIT, "ReturnConsumedCapacity": "TOTAL"}
    if cursor:
        request["ExclusiveStartKey"] = cursors.decode(cursor, KEY)
    found: list[dict] = []
    read = {"reported": 0.0, "estimated": 0.0, "scanned": 0, "requests": 0}
    next_cursor = None
    with translated(ctx.client, ctx.table):
        while read["requests"] < MAX_REQUESTS:
            response = ctx.client.scan(**request)
            read["requests"] += 1
            page = response.get("Items", [])
            read["scanned"] += len(page)
            read["reported"] += units.consumed(response)
            read["estimated"] += units.read_units(page, typed=True) if page else 0.5
            for typed in page:
                item = from_typed(typed)
                if model.type_of(item) == name and _matches(item, attribute, text):
                    found.append(item)
                    if len(found) == PAGE_SIZE:
                        last = {"pk": typed["pk"], "sk": typed["sk"]}
                        more = typed is not page[-1] or "LastEvaluatedKey" in response
                        return found, cursors.encode(last) if more else None, read
            next_cursor = response.get("LastEvaluatedKey")
            if not next_cursor:
                break
            request["ExclusiveStartKey"] = next_cursor
    return found, cursors.encode(next_cursor) if next_cursor else None, read
