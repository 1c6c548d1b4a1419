"""The write patterns the app uses.

C: `create_message`, a message into an existing conversation by one of its participants.
D: `create_conversation`, the two group items and the first message, all or nothing;
   when the two users already share a conversation, the message goes there instead.

No write overwrites another item: every put is conditional on the key being free, and a
message that meets a taken sort key (same microsecond) moves one microsecond on.
Group items are moved to the new last message by the stream handler (ddb.stream).
"""

import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import capacity, retry, validate
from .awserrors import translated
from .errors import ConditionFailed, InvalidInput, NotFound
from .items import User, from_typed, group_item, group_pk, iso_time, message_item, to_typed, utc_now
from .schema import GSI_NAME

MAX_SORT_KEY_TRIES = 100


@dataclass
class Written:
    """What a write pattern stored: the message item, its group, and the capacity used."""

    message_group_uuid: str
    message: dict
    created_conversation: bool = False
    consumed_capacity: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "message_group_uuid": self.message_group_uuid,
            "created_conversation": self.created_conversation,
            "message": {**{k: v for k, v in self.message.items() if k not in ("pk", "sk")}, "created_at": self.message["sk"]},
            "consumed_capacity": self.consumed_capacity,
        }


def _reported(response) -> float:
    used = response.get("ConsumedCapacity") or []
    if isinstance(used, dict):
        used = [used]
    return sum(u.get("CapacityUnits", 0) or 0 for u in used)


def group_items(client, table: str, message_group_uuid: str) -> tuple[list[dict], float, float]:
    """The conversation's group items (via the GSI), and the read capacity reported/estimated."""
    response = client.query(
        TableName=table, IndexName=GSI_NAME, KeyConditionExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":g": {"S": message_group_uuid}}, ReturnConsumedCapacity="TOTAL",
    )
    found = [from_typed(i) for i in response.get("Items", [])]
    return found, _reported(response), capacity.read_units(found)


def current_group_item(client, table: str, owner_pk: str, message_group_uuid: str) -> dict | None:
    """The owner's group item for a conversation, read strongly consistent from the table.

    If (wrongly) there are several, the newest.
    """
    found = []
    for page in client.get_paginator("query").paginate(
        TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
        FilterExpression="message_group_uuid = :g",
        ExpressionAttributeValues={":pk": {"S": owner_pk}, ":g": {"S": message_group_uuid}},
    ):
        found += [from_typed(i) for i in page.get("Items", [])]
    return max(found, key=lambda i: i["sk"], default=None)


def _put_message(client, table: str, item: dict) -> tuple[dict, float]:
    """Put a message item at a free sort key, stepping a microsecond at a time if taken."""
    from botocore.exceptions import ClientError

    moment = datetime.fromisoformat(item["sk"])
    for _ in range(MAX_SORT_KEY_TRIES):
        try:
            response = retry.call(lambda: client.put_item(
                TableName=table, Item=to_typed(item), ConditionExpression="attribute_not_exists(pk)",
                ReturnConsumedCapacity="TOTAL",
            ))
            return item, _reported(response)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        if _stored(client, table, item):
            return item, 0.0  # an earlier attempt landed but its answer was lost
        moment += timedelta(microseconds=1)
        item = {**item, "sk": iso_time(moment)}
    raise ConditionFailed(f"no free sort key for the message near {item['sk']} after {MAX_SORT_KEY_TRIES} tries")


def _stored(client, table: str, message: dict) -> bool:
    """True when `message` itself (same key and message_uuid) is already in the table."""
    response = client.get_item(TableName=table, Key=to_typed({"pk": message["pk"], "sk": message["sk"]}), ConsistentRead=True)
    return response.get("Item", {}).get("message_uuid", {}).get("S") == message["message_uuid"]


def create_message(client, table: str, message_group_uuid: str, sender: User, text: str,
                   now: datetime | None = None, message_uuid: str | None = None) -> Written:
    """Pattern C: write a message from `sender` into an existing conversation.

    Raises NotFound when the conversation does not exist or `sender` is not in it, and
    InvalidInput, before any request, for a text, uuid or sender the contract refuses.
    """
    validate.uuid(message_group_uuid, "message_group_uuid")
    validate.user(sender, "sender")
    validate.text(text)
    if message_uuid is not None:
        validate.uuid(message_uuid, "message_uuid")
    with translated(client, table):
        groups, read_reported, read_estimated = group_items(client, table, message_group_uuid)
        if not any(g["pk"] == group_pk(sender.uuid) for g in groups):
            if current_group_item(client, table, group_pk(sender.uuid), message_group_uuid) is None:
                if not groups:
                    raise NotFound(f"no conversation {message_group_uuid} in table {table!r}")
                raise NotFound(f"@{sender.handle} is not a participant of conversation {message_group_uuid}")
        item = message_item(message_group_uuid, message_uuid or str(uuidlib.uuid4()), sender, text, iso_time(now or utc_now()))
        item, write_reported = _put_message(client, table, item)
    estimated = read_estimated + capacity.put_units(item)
    return Written(message_group_uuid, item, False, {"reported": read_reported + write_reported, "estimated": estimated})


def find_conversation(client, table: str, user: User, other: User) -> str | None:
    """The uuid of the conversation `user` has with `other`, if there is one."""
    with translated(client, table):
        for page in client.get_paginator("query").paginate(
            TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk",
            FilterExpression="user_uuid = :other", ProjectionExpression="message_group_uuid",
            ExpressionAttributeValues={":pk": {"S": group_pk(user.uuid)}, ":other": {"S": other.uuid}},
        ):
            for raw in page.get("Items", []):
                return raw["message_group_uuid"]["S"]
    return None


def create_conversation(client, table: str, sender: User, other: User, text: str,
                        now: datetime | None = None, message_group_uuid: str | None = None) -> Written:
    """Pattern D: start a conversation with its first message, all or nothing.

    If the two users already share a conversation, the message goes into it (pattern C)
    and `created_conversation` is False. Raises InvalidInput, before any request, for a
    text, uuid or user the contract refuses.
    """
    validate.user(sender, "sender")
    validate.user(other, "other")
    validate.text(text)
    if message_group_uuid is not None:
        validate.uuid(message_group_uuid, "message_group_uuid")
    if sender.uuid == other.uuid:  # both canonical (validated above), so an upper-cased copy cannot slip by
        raise InvalidInput(f"@{sender.handle} cannot start a conversation with themself")
    existing = find_conversation(client, table, sender, other)
    if existing:
        return create_message(client, table, existing, sender, text, now)
    group = message_group_uuid or str(uuidlib.uuid4())
    created_at = iso_time(now or utc_now())
    message = message_item(group, str(uuidlib.uuid4()), sender, text, created_at)
    groups = [group_item(sender, other, group, text, created_at), group_item(other, sender, group, text, created_at)]
    from botocore.exceptions import ClientError

    with translated(client, table):
        request = {
            "TransactItems": [
                {"Put": {"TableName": table, "Item": to_typed(item), "ConditionExpression": "attribute_not_exists(pk)"}}
                for item in [*groups, message]
            ],
            "ReturnConsumedCapacity": "TOTAL",
            "ClientRequestToken": str(uuidlib.uuid4()),  # the same token on every retry: idempotent
        }
        try:
            response = retry.call(lambda: client.transact_write_items(**request))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            if not _stored(client, table, message):
                raise ConditionFailed(
                    f"conversation not created: an item with one of its keys already exists ({created_at}); nothing was written, try again"
                ) from None
            response = {}  # an earlier attempt landed but its answer was lost
    estimated = capacity.transaction_units(puts=[*groups, message])
    return Written(group, message, True, {"reported": _reported(response), "estimated": estimated})
