"""The app's access patterns on the table.

A: `list_messages`, one conversation's newest messages, returned oldest first like a chat.
B: `list_conversations`, a user's conversations, most recent first.
Both page with an opaque cursor and report the capacity they consumed: what the engine
said, and the project's own estimate by DynamoDB's rules (local engines do not report
real figures).
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Generic

from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient, PlainItem, TypedItem
from ddb.core.errors import BadCursor, Hint, InvalidInput, NotFound
from ddb.core.text import shown
from ddb.data import model, validate
from ddb.data.capacity import consumed, read_units
from ddb.data.items import Capacity, ConversationRow, MessageRow, PageJson, Row, from_typed, group_pk, message_pk

DEFAULT_LIMIT = model.pattern("A").page_size or 20  # A and B declare the same page size
MAX_LIMIT = 1000
MAX_SORT_KEY_BYTES = 1024  # DynamoDB's limit for a sort key value


@dataclass
class Page(Generic[Row]):
    """One page of a pattern: its items, the cursor of the next page (None at the end).

    `Page[ConversationRow]` from pattern B, `Page[MessageRow]` from pattern A (`ddb.data.items`).
    """

    items: list[Row]
    next_cursor: str | None
    consumed_capacity: Capacity = field(default_factory=Capacity)

    def as_json(self) -> PageJson[Row]:
        return {"items": self.items, "next_cursor": self.next_cursor, "consumed_capacity": self.consumed_capacity}


class _FirstPage:
    """The cursor of a first page: the default of `list_conversations` and `list_messages`."""

    def __repr__(self) -> str:
        return "FIRST_PAGE"


FIRST_PAGE = _FirstPage()
Cursor = str | None | _FirstPage


def _end(capacity: Capacity | None = None) -> Page[Row]:
    """The page after the last: no items, no next cursor, nothing read."""
    return Page([], None, capacity or {"reported": 0.0, "estimated": 0.0})


def encode_cursor(pk: str, sk: str) -> str:
    """An opaque cursor pointing after the item (pk, sk)."""
    raw = json.dumps({"pk": pk, "sk": sk}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: object, pk: str) -> TypedItem:
    """The ExclusiveStartKey a cursor stands for; BadCursor unless it was made for `pk`."""
    if not isinstance(cursor, str):
        raise BadCursor(f"malformed cursor {shown(cursor)}: pass the next_cursor value of a previous page unchanged")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
        ok = (
            isinstance(key, dict)
            and set(key) == {"pk", "sk"}
            and all(isinstance(v, str) for v in key.values())
            and 0 < len(key["sk"].encode("utf-8")) <= MAX_SORT_KEY_BYTES
        )
    except (binascii.Error, ValueError, UnicodeDecodeError):
        ok = False
    if not ok:
        raise BadCursor(f"malformed cursor {cursor[:40]!r}: pass the next_cursor value of a previous page unchanged")
    if key["pk"] != pk:
        raise BadCursor(f"cursor {cursor[:40]!r} belongs to another query: start again without --cursor")
    return {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}}


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {limit!r}")


def _newest_first(
    client: DynamoDBClient, table: str, query: model.Query, pk: str, limit: int, cursor: str | _FirstPage
) -> tuple[list[PlainItem], str | None, Capacity]:
    """Up to `limit` items of partition `pk`, by the declared `query`, the next cursor, and capacity."""
    _check_limit(limit)
    request = {**query.request(table, {":pk": pk}), "ReturnConsumedCapacity": "TOTAL"}
    if cursor is not FIRST_PAGE and cursor != "":
        request["ExclusiveStartKey"] = decode_cursor(cursor, pk)  # anything but our cursor is refused
    found: list[PlainItem] = []
    reported, estimated = 0.0, 0.0
    with translated(client, table):
        while len(found) <= limit:
            # One more than asked for tells whether a next page exists without an empty last page.
            request["Limit"] = limit + 1 - len(found)
            response = client.query(**request)
            page = [from_typed(i) for i in response.get("Items", [])]
            reported += consumed(response)
            estimated += read_units(response.get("Items", []), typed=True)
            found += page
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    more = len(found) > limit
    found = found[:limit]
    next_cursor = encode_cursor(found[-1]["pk"], found[-1]["sk"]) if more else None
    return found, next_cursor, {"reported": reported, "estimated": estimated}


def list_conversations(
    client: DynamoDBClient, table: str, user_uuid: str, limit: int = DEFAULT_LIMIT, cursor: Cursor = FIRST_PAGE
) -> Page[ConversationRow]:
    """Pattern B: the user's conversations, most recent first.

    Items: message_group_uuid, user_uuid, user_handle, user_display_name (the other
    participant), message (the last one) and last_message_at. Page on with
    `cursor=page.next_cursor`; after the last page that is None, which gives the end: an
    empty page, with no request sent.
    """
    if cursor is None:
        return _end()
    found, next_cursor, capacity = _newest_first(client, table, model.pattern("B").queries[0], group_pk(user_uuid), limit, cursor)
    items: list[ConversationRow] = [
        {
            "message_group_uuid": i["message_group_uuid"],
            "user_uuid": i["user_uuid"],
            "user_handle": i["user_handle"],
            "user_display_name": i["user_display_name"],
            "message": i["message"],
            "last_message_at": i["sk"],
        }
        for i in found
    ]
    return Page(items, next_cursor, capacity)


def list_messages(
    client: DynamoDBClient, table: str, message_group_uuid: str, limit: int = DEFAULT_LIMIT, cursor: Cursor = FIRST_PAGE
) -> Page[MessageRow]:
    """Pattern A: the newest `limit` messages of a conversation, returned oldest first.

    The cursor of the result leads to the next older messages; None (the next_cursor of
    the last page) gives the end: an empty page, with no request sent. Raises NotFound when the
    conversation has no messages at all; InvalidInput, before any request, when
    `message_group_uuid` is not a lower-case canonical UUID.
    """
    validate.uuid(message_group_uuid, "message_group_uuid")
    if cursor is None:
        return _end()
    found, next_cursor, capacity = _newest_first(
        client, table, model.pattern("A").queries[0], message_pk(message_group_uuid), limit, cursor
    )
    if not found and (cursor is FIRST_PAGE or cursor == ""):
        raise NotFound(f"no conversation {message_group_uuid} in table {table!r}", hint=Hint.LIST_CONVERSATIONS)
    items: list[MessageRow] = [
        {
            "message_uuid": i["message_uuid"],
            "user_uuid": i["user_uuid"],
            "user_handle": i["user_handle"],
            "user_display_name": i["user_display_name"],
            "message": i["message"],
            "created_at": i["sk"],
        }
        for i in reversed(found)
    ]
    return Page(items, next_cursor, capacity)
