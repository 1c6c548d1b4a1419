"""The whole table as JSON Lines of plain items, one text a page, read straight from each answer's body.

botocore reads a Scan answer by walking its output shape for every attribute value, which
costs a client more CPU than the rest of a scan to JSON put together (about 0.35 s of
0.4 s for 10,300 items). `json_lines` takes each page's items out of the body with one
`json.loads`, on botocore's `before-parse` hook, and lets botocore parse the rest of the
answer (its LastEvaluatedKey, counts) as always; errors are not touched. Each item then
becomes plain values as `ddb.bulk.scan.scan_items` gives them (`plain_item`: the values of
`ddb.data.items.from_typed`, strings without it), and each page one text of JSON lines
(`json.dumps(item, ensure_ascii=False)` each), so a caller writes once a page. Memory
holds one page, as `scan_items` does. Binary values, which `from_typed` cannot give as
JSON, come out as their base64 text.
"""

import base64
import json
from collections.abc import Generator
from contextlib import closing
from typing import TYPE_CHECKING, Any

from ddb.bulk.scan import PARALLEL_PAGE_ITEMS, pages, scan_items
from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient

if TYPE_CHECKING:
    from decimal import Decimal

_HOOK = "before-parse.dynamodb.Scan"
_HOOK_ID = "ddb-scan-items-from-body"
_encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps(value, ensure_ascii=False), without a new encoder each call


def _items_from_body(response_dict: dict, customized_response_dict: dict, **_: object) -> None:
    """botocore's before-parse hook: a good answer's items, as DynamoDB JSON, taken out of the body before botocore parses it."""
    if response_dict.get("status_code") != 200 or not isinstance(response_dict.get("body"), bytes):
        return
    try:
        document = json.loads(response_dict["body"])
    except ValueError:
        return  # botocore's parser reports it
    if not isinstance(document, dict) or not isinstance(document.get("Items"), list):
        return
    customized_response_dict["Items"] = document.pop("Items")
    response_dict["body"] = json.dumps(document).encode()


def _decimal(text: str) -> "Decimal":
    """A number as boto3's TypeDeserializer reads it (DynamoDB's 38 digits; more raise, as they do there)."""
    from boto3.dynamodb.types import DYNAMODB_CONTEXT

    return DYNAMODB_CONTEXT.create_decimal(text)


def _number(value: "Decimal") -> int | float:
    """A number as `from_typed` gives it: whole ones as int, others as float."""
    return int(value) if value == value.to_integral_value() else float(value)


def _binary(value: str | bytes) -> str:
    """A binary value as base64 text, from the body's base64 (normalized) or botocore's bytes."""
    return base64.b64encode(value if isinstance(value, bytes | bytearray) else base64.b64decode(value)).decode()


def plain_value(typed: dict) -> Any:
    """One DynamoDB JSON value as plain JSON-able Python (as `from_typed`: sets sorted, numbers int or float)."""
    if not typed:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind = next(iter(typed))
    value = typed[kind]
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return _number(_decimal(value))
    if kind == "M":
        return {name: plain_value(v) for name, v in value.items()}
    if kind == "L":
        return [plain_value(v) for v in value]
    if kind == "NULL":
        return None
    if kind == "SS":
        return sorted(set(value))
    if kind == "NS":  # a set first, as from_typed's: 1 and 1.0 are one number
        return sorted(_number(n) for n in {_decimal(v) for v in value})
    if kind == "B":
        return _binary(value)
    if kind == "BS":
        return sorted({_binary(v) for v in value})
    raise TypeError(f"Dynamodb type {kind} is not supported")


def plain_item(typed: dict) -> dict:
    """A typed item as plain values; strings (nearly every attribute here) directly."""
    try:
        return {name: value["S"] for name, value in typed.items()}
    except (KeyError, TypeError):
        return {name: plain_value(value) for name, value in typed.items()}


def page_text(page: list[dict]) -> str:
    """A page of typed items as JSON Lines: one plain item a line, each line ending in a line feed."""
    return "".join([_encode(plain_item(typed)) + "\n" for typed in page])


def json_lines(client: DynamoDBClient, table: str, limit: int | None = None, segments: int = 1) -> Generator[str, None, None]:
    """Every item of the table (at most `limit`) as JSON Lines, one text a page, pages fetched lazily.

    The same items, in the same order and as the same JSON, as `json.dumps(item, ensure_ascii=False)`
    of each item `scan_items` yields with the same arguments. A parallel scan (`segments` > 1) reads
    its pages through `scan_items`, a text every PARALLEL_PAGE_ITEMS items.
    """
    if limit is not None and limit <= 0:
        return
    if segments > 1:
        yield from _parallel(client, table, limit, segments)
        return
    events = getattr(getattr(client, "meta", None), "events", None)
    if events is not None:
        events.register(_HOOK, _items_from_body, unique_id=_HOOK_ID)
    request: dict[str, Any] = {"TableName": table, **({"Limit": limit} if limit else {})}
    left = limit
    try:
        with translated(client, table):
            found = pages(client, request)
            try:
                for page in found:
                    if left is not None:
                        page, left = page[:left], left - min(left, len(page))
                    if page:
                        yield page_text(page)
                    if left == 0:
                        return
            finally:
                found.close()
    finally:
        if events is not None:
            events.unregister(_HOOK, unique_id=_HOOK_ID)


def _parallel(client: DynamoDBClient, table: str, limit: int | None, segments: int) -> Generator[str, None, None]:
    """A parallel scan's items as JSON Lines, through `scan_items`: a text every PARALLEL_PAGE_ITEMS items."""
    lines: list[str] = []
    with closing(scan_items(client, table, limit=limit, segments=segments)) as items:
        for item in items:
            lines.append(_encode(item) + "\n")
            if len(lines) >= PARALLEL_PAGE_ITEMS:
                yield "".join(lines)
                lines = []
    if lines:
        yield "".join(lines)
