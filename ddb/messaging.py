"""The write patterns the app uses.

C: `create_message`, a message into an existing conversation by one of its participants.
D: `create_conversation`, the two group items and the first message, all or nothing;
   when the two users already share a conversation, the message goes there instead.

No write overwrites another item: every put is conditional on the key being free, and a
message that meets a taken sort key (same microsecond) moves one microsecond on.
Group items are moved to the new last message by the stream handler (ddb.stream).

A conversation belongs to its two participants. Pattern D writes, in the same
transaction, a claim on its group uuid and a claim on the pair of users (`ddb.items`),
each conditional on being new: a group uuid cannot be taken over by another pair, and two
calls racing for one pair end with one conversation, the loser's message in it.
"""

import time
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import capacity, validate
from .awserrors import translated
from .errors import ConditionFailed, InvalidInput, NotFound
from .items import (
    User,
    from_typed,
    group_claim,
    group_claim_key,
    group_item,
    group_pk,
    iso_time,
    message_item,
    message_pk,
    pair_claim,
    pair_claim_key,
    to_typed,
    utc_now,
)
from .schema import GSI_NAME

MAX_SORT_KEY_TRIES = 100
MAX_START_TRIES = 5  # rounds of pattern D against concurrent starts (conflicts, stale claims)


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
            response = client.put_item(
                TableName=table, Item=to_typed(item), ConditionExpression="attribute_not_exists(pk)",
                ReturnConsumedCapacity="TOTAL",
            )
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
    and `created_conversation` is False; that holds as well when another call starts their
    conversation at the same moment. A `message_group_uuid` that another conversation
    already uses is refused (InvalidInput) with nothing written. Raises InvalidInput,
    before any request, for a text, uuid or user the contract refuses.
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
    with translated(client, table):
        if message_group_uuid is not None and _group_in_use(client, table, group):
            raise _group_taken(group)
        stale = None
        for attempt in range(MAX_START_TRIES):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            started, stopped_by = _start(client, table, sender, other, text, group, now, stale)
            if started:
                return started
            if stopped_by in ("pair", None):
                winner = _pair_claimed(client, table, sender, other)
                if winner is not None and _claimed_by(client, table, winner, sender, other):
                    return _send_to_winner(client, table, winner, sender, text, now)
                if winner is not None:
                    stale = winner  # the pair's claim names a conversation that is no longer theirs
                    continue
            if stopped_by == "group" or (stopped_by is None and _group_claimed(client, table, group)):
                raise _group_taken(group)
            if stopped_by == "other" or stopped_by is None:
                raise ConditionFailed(
                    f"conversation not created: an item with one of its keys already exists ({group}); nothing was written, try again"
                )
    raise ConditionFailed(
        f"conversation not created: concurrent writes kept it from landing {MAX_START_TRIES} times; nothing was written, try again"
    )


def _group_taken(group: str) -> InvalidInput:
    return InvalidInput(f"message group uuid {group} is already used by another conversation: leave it out to get a new one; nothing was written")


def _group_in_use(client, table: str, group: str) -> bool:
    """True when the table holds a claim, a message or a group item for this group uuid.

    The claim alone decides races (in the transaction); the other two find conversations
    written before claims existed.
    """
    if _group_claimed(client, table, group):
        return True
    messages = client.query(TableName=table, ConsistentRead=True, KeyConditionExpression="pk = :pk", Limit=1,
                            ExpressionAttributeValues={":pk": {"S": message_pk(group)}}, ProjectionExpression="pk")
    groups = client.query(TableName=table, IndexName=GSI_NAME, KeyConditionExpression="message_group_uuid = :g", Limit=1,
                          ExpressionAttributeValues={":g": {"S": group}}, ProjectionExpression="pk")
    return bool(messages.get("Items") or groups.get("Items"))


def _read_claim(client, table: str, key: dict) -> dict | None:
    item = client.get_item(TableName=table, Key=to_typed(key), ConsistentRead=True).get("Item")
    return from_typed(item) if item else None


def _group_claimed(client, table: str, group: str) -> bool:
    return _read_claim(client, table, group_claim_key(group)) is not None


def _pair_claimed(client, table: str, sender: User, other: User) -> str | None:
    """The group uuid the pair's claim names, if there is one."""
    claim = _read_claim(client, table, pair_claim_key(sender.uuid, other.uuid))
    return claim.get("group_uuid") if claim else None


def _claimed_by(client, table: str, group: str, sender: User, other: User) -> bool:
    """True when the group's claim names exactly these two users."""
    claim = _read_claim(client, table, group_claim_key(group))
    return claim is not None and claim.get("user_uuids") == sorted([sender.uuid, other.uuid])


def _send_to_winner(client, table: str, group: str, sender: User, text: str, now: datetime | None) -> Written:
    """Pattern C into the conversation another call has just started for the same pair."""
    for attempt in range(3):
        try:
            return create_message(client, table, group, sender, text, now)
        except NotFound:
            if attempt == 2:
                raise
            time.sleep(0.1 * 2**attempt)  # its group items may not be readable yet
    raise AssertionError("unreachable")


def _start(client, table: str, sender: User, other: User, text: str, group: str, now: datetime | None,
           stale: str | None) -> tuple[Written | None, str | None]:
    """One transaction: two group items, the first message and both claims.

    Returns (Written, None) when it landed, else (None, what stopped it): "pair", "group",
    "conflict" (another transaction in flight), "other" (some other key is taken), or None
    when the engine did not say. `stale` is a group uuid the pair's claim may still name.
    """
    from botocore.exceptions import ClientError

    created_at = iso_time(now or utc_now())
    message = message_item(group, str(uuidlib.uuid4()), sender, text, created_at)
    groups = [group_item(sender, other, group, text, created_at), group_item(other, sender, group, text, created_at)]
    claims = [group_claim(group, sender.uuid, other.uuid), pair_claim(sender.uuid, other.uuid, group)]
    puts = [{"Put": {"TableName": table, "Item": to_typed(item), "ConditionExpression": "attribute_not_exists(pk)"}}
            for item in [*groups, message, *claims]]
    if stale is not None:
        puts[-1]["Put"].update(ConditionExpression="attribute_not_exists(pk) OR group_uuid = :stale",
                               ExpressionAttributeValues={":stale": {"S": stale}})
    request = {
        "TransactItems": puts,
        "ReturnConsumedCapacity": "TOTAL",
        "ClientRequestToken": str(uuidlib.uuid4()),  # the same token on every retry: idempotent
    }
    try:
        response = client.transact_write_items(**request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        if not _stored(client, table, message):
            return None, _cancelled_by(exc.response.get("CancellationReasons"))
        response = {}  # an earlier attempt landed but its answer was lost
    estimated = capacity.transaction_units(puts=[*groups, message, *claims])
    return Written(group, message, True, {"reported": _reported(response), "estimated": estimated}), None


def _cancelled_by(reasons) -> str | None:
    """Which part of `_start`'s transaction stopped it, from the engine's CancellationReasons."""
    if not reasons or len(reasons) != 5:
        return None
    codes = [reason.get("Code") or "None" for reason in reasons]
    if codes[4] == "ConditionalCheckFailed":
        return "pair"
    if codes[3] == "ConditionalCheckFailed":
        return "group"
    if "ConditionalCheckFailed" in codes:
        return "other"
    if "TransactionConflict" in codes:
        return "conflict"
    return None
