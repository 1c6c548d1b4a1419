"""The two item types of the table, their keys, and their times.

Attribute names are the app's and must not change. Times are UTC ISO-8601 with
microseconds and `+00:00`, so string order is time order.

Beside them live two claim items outside the app's key space (`CLAIM#…`), which make
a conversation belong to its two participants: one per group uuid, one per pair of users.

Each shape is a TypedDict: the stored items (`GroupItem`, `MessageItem`, the claims), the
rows the read patterns return (`ConversationRow`, `MessageRow`) and the JSON of a page or
a sent message (`PageJson`, `SentMessageJson`). Items in DynamoDB JSON, as boto3 takes and
gives them, are `TypedItem` (`ddb.core.clients`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, NotRequired, TypedDict, TypeVar

from ddb.core.clients import PlainItem, TypedItem
from ddb.data import validate

GROUP_PREFIX = "GRP#"
MESSAGE_PREFIX = "MSG#"
GROUP_CLAIM_PREFIX = "CLAIM#GROUP#"
PAIR_CLAIM_PREFIX = "CLAIM#PAIR#"
CLAIM_SK = "claim"


@dataclass(frozen=True)
class User:
    """One entry of the user directory; a bad uuid, handle or display name is refused here.

    Raises InvalidInput (`handle: 'Mira Smith!\\n' is not a handle …`), so no write
    pattern is ever handed a user that breaks the contract.
    """

    uuid: str
    handle: str
    display_name: str

    def __post_init__(self) -> None:
        validate.user(self)


class ItemKey(TypedDict):
    """The primary key of an item, in plain values."""

    pk: str
    sk: str


class GroupItem(TypedDict):
    """What one participant sees of a conversation (`GRP#<owner uuid>`, sorted by the last message's time).

    `user_*` name the other participant; `message` is the last message. `message_count`
    is there once migration 1 has counted the conversation (`ddb.app.message_count`).
    """

    pk: str
    sk: str
    message_group_uuid: str
    message: str
    user_uuid: str
    user_display_name: str
    user_handle: str
    message_count: NotRequired[int]


class MessageItem(TypedDict):
    """One message of a conversation (`MSG#<group uuid>`, sorted by its time); `user_*` name its sender."""

    pk: str
    sk: str
    message_uuid: str
    message: str
    user_uuid: str
    user_display_name: str
    user_handle: str


class GroupClaim(TypedDict):
    """The claim on a group uuid: the two users whose conversation it is, sorted."""

    pk: str
    sk: str
    user_uuids: list[str]


class PairClaim(TypedDict):
    """The claim on a pair of users: the uuid of their one conversation."""

    pk: str
    sk: str
    group_uuid: str


class ConversationRow(TypedDict):
    """One conversation of pattern B's page: the other participant, the last message and its time."""

    message_group_uuid: str
    user_uuid: str
    user_handle: str
    user_display_name: str
    message: str
    last_message_at: str


class MessageRow(TypedDict):
    """One message of pattern A's page (and what a write pattern reports it stored)."""

    message_uuid: str
    user_uuid: str
    user_handle: str
    user_display_name: str
    message: str
    created_at: str


class Capacity(TypedDict, total=False):
    """Capacity units a pattern used: as the engine reported them, and estimated by DynamoDB's rules.

    A pattern's page or sent message carries both; one built by hand may carry neither.
    """

    reported: float
    estimated: float


Row = TypeVar("Row", bound=Mapping[str, Any])  # a page's row: ConversationRow (pattern B) or MessageRow (pattern A)


class PageJson(TypedDict, Generic[Row]):
    """`Page.as_json()` of a read pattern (`ddb.app.patterns`): its rows, the next page's cursor, the capacity."""

    items: list[Row]
    next_cursor: str | None
    consumed_capacity: Capacity


class SentMessageJson(TypedDict):
    """`SentMessage.as_json()` of a write pattern (`ddb.app.messaging`): the message as pattern A lists it."""

    message_group_uuid: str
    created_conversation: bool
    message: MessageRow
    consumed_capacity: Capacity


def iso_time(moment: datetime) -> str:
    """The table's time format: `2026-11-25T16:20:00.000000+00:00`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware time")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utc_now() -> datetime:
    """The current time in UTC (one place, so tests can reason about it)."""
    return datetime.now(UTC)


def group_pk(owner_uuid: str) -> str:
    """Partition key of a user's group items."""
    return GROUP_PREFIX + owner_uuid


def message_pk(message_group_uuid: str) -> str:
    """Partition key of a conversation's messages."""
    return MESSAGE_PREFIX + message_group_uuid


def group_claim_key(message_group_uuid: str) -> ItemKey:
    """The key of the claim on a group uuid."""
    return {"pk": GROUP_CLAIM_PREFIX + message_group_uuid, "sk": CLAIM_SK}


def group_claim(message_group_uuid: str, first_uuid: str, second_uuid: str) -> GroupClaim:
    """The item that reserves a group uuid for the conversation of two users.

    It carries no `message_group_uuid`, so the GSI never lists it as a participant.
    """
    return {**group_claim_key(message_group_uuid), "user_uuids": sorted([first_uuid, second_uuid])}


def pair_claim_key(first_uuid: str, second_uuid: str) -> ItemKey:
    """The key of the claim on the one conversation two users share (in either order)."""
    low, high = sorted([first_uuid, second_uuid])
    return {"pk": f"{PAIR_CLAIM_PREFIX}{low}#{high}", "sk": CLAIM_SK}


def pair_claim(first_uuid: str, second_uuid: str, message_group_uuid: str) -> PairClaim:
    """The item naming the conversation of two users; its `group_uuid` is that conversation."""
    return {**pair_claim_key(first_uuid, second_uuid), "group_uuid": message_group_uuid}


def group_item(owner: User, other: User, message_group_uuid: str, last_message: str, last_at: str) -> GroupItem:
    """The group item `owner` sees for a conversation with `other`."""
    return {
        "pk": group_pk(owner.uuid),
        "sk": last_at,
        "message_group_uuid": message_group_uuid,
        "message": last_message,
        "user_uuid": other.uuid,
        "user_display_name": other.display_name,
        "user_handle": other.handle,
    }


def message_item(message_group_uuid: str, message_uuid: str, sender: User, text: str, created_at: str) -> MessageItem:
    """A message item; it carries no message_group_uuid, so the GSI stays sparse."""
    return {
        "pk": message_pk(message_group_uuid),
        "sk": created_at,
        "message_uuid": message_uuid,
        "message": text,
        "user_uuid": sender.uuid,
        "user_display_name": sender.display_name,
        "user_handle": sender.handle,
    }


def key_of(item: Mapping[str, Any]) -> ItemKey:
    """The primary key of a plain item."""
    return {"pk": item["pk"], "sk": item["sk"]}


def to_typed(item: Mapping[str, Any]) -> TypedItem:
    """Plain Python values to DynamoDB's typed JSON ({"S": ...})."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}


def from_typed(item: Mapping[str, Any]) -> PlainItem:
    """DynamoDB's typed JSON to plain Python; whole numbers become int, others float."""
    from decimal import Decimal

    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, (set, frozenset)):
            return sorted(plain(v) for v in value)
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, bytes):
            import base64

            return base64.b64encode(value).decode()
        return value

    return {name: plain(deserializer.deserialize(value)) for name, value in item.items()}
