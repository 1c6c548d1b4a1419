"""The two item types of the table, their keys, and their times.

Attribute names are the app's and must not change. Times are UTC ISO-8601 with
microseconds and `+00:00`, so string order is time order.
"""

from dataclasses import dataclass
from datetime import datetime, timezone

from . import validate

GROUP_PREFIX = "GRP#"
MESSAGE_PREFIX = "MSG#"


@dataclass(frozen=True)
class User:
    """One entry of the user directory; a bad uuid, handle or display name is refused here.

    Raises InvalidInput (`handle: 'Mira Smith!\\n' is not a handle …`), so no write
    pattern is ever handed a user that breaks the contract.
    """

    uuid: str
    handle: str
    display_name: str

    def __post_init__(self):
        validate.user(self)


def iso_time(moment: datetime) -> str:
    """The table's time format: `2026-11-25T16:20:00.000000+00:00`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware time")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def utc_now() -> datetime:
    """The current time in UTC (one place, so tests can reason about it)."""
    return datetime.now(timezone.utc)


def group_pk(owner_uuid: str) -> str:
    """Partition key of a user's group items."""
    return GROUP_PREFIX + owner_uuid


def message_pk(message_group_uuid: str) -> str:
    """Partition key of a conversation's messages."""
    return MESSAGE_PREFIX + message_group_uuid


def group_item(owner: User, other: User, message_group_uuid: str, last_message: str, last_at: str) -> dict:
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


def message_item(message_group_uuid: str, message_uuid: str, sender: User, text: str, created_at: str) -> dict:
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


def key_of(item: dict) -> dict:
    """The primary key of a plain item."""
    return {"pk": item["pk"], "sk": item["sk"]}


def to_typed(item: dict) -> dict:
    """Plain Python values to DynamoDB's typed JSON ({"S": ...})."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in item.items()}


def from_typed(item: dict) -> dict:
    """DynamoDB's typed JSON to plain Python; whole numbers become int, others float."""
    from decimal import Decimal

    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()

    def plain(value):
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
