"""The write patterns the app uses.

C: `create_message`, a message into an existing conversation by one of its participants.
D: `create_conversation`, the two group items and the first message, all or nothing;
   when the two users already share a conversation, the message goes there instead.

No write overwrites another item: every put is conditional on the key being free, and a
message that meets a taken sort key (same microsecond) moves one microsecond on.
Group items are moved to the new last message by the stream handler (ddb.stream).

A conversation belongs to its two participants. Pattern D writes, in the same
transaction, a claim on its group uuid and a claim on the pair of users (`ddb.data.items`),
each conditional on being new: a group uuid cannot be taken over by another pair, and two
calls racing for one pair end with one conversation, the loser's message in it.
"""

import time
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ddb.app import claims, group_items
from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient, Request
from ddb.core.errors import ConditionFailed, InvalidInput, NotFound
from ddb.data import capacity, model, validate
from ddb.data.items import (
    Capacity,
    GroupItem,
    MessageItem,
    SentMessageJson,
    User,
    group_claim,
    group_item,
    group_pk,
    iso_time,
    message_item,
    pair_claim,
    to_typed,
    utc_now,
)

MAX_SORT_KEY_TRIES = 100
MAX_START_TRIES = 5  # rounds of pattern D against concurrent starts (conflicts, stale claims)


@dataclass
class SentMessage:
    """What a write pattern stored: the message item, its group, and the capacity used."""

    message_group_uuid: str
    message: MessageItem
    created_conversation: bool = False
    consumed_capacity: Capacity = field(default_factory=Capacity)

    def as_json(self) -> SentMessageJson:
        stored = self.message
        return {
            "message_group_uuid": self.message_group_uuid,
            "created_conversation": self.created_conversation,
            "message": {  # as pattern A lists it (a MessageRow), in the stored item's order
                "message_uuid": stored["message_uuid"],
                "message": stored["message"],
                "user_uuid": stored["user_uuid"],
                "user_display_name": stored["user_display_name"],
                "user_handle": stored["user_handle"],
                "created_at": stored["sk"],
            },
            "consumed_capacity": self.consumed_capacity,
        }


def _put_message(client: DynamoDBClient, table: str, item: MessageItem) -> tuple[MessageItem, float]:
    """Put a message item at a free sort key, stepping a microsecond at a time if taken."""
    from botocore.exceptions import ClientError

    moment = datetime.fromisoformat(item["sk"])
    for _ in range(MAX_SORT_KEY_TRIES):
        try:
            response = client.put_item(
                TableName=table,
                Item=to_typed(item),
                ConditionExpression=model.pattern("C").writes[0].condition,
                ReturnConsumedCapacity="TOTAL",
            )
            return item, capacity.consumed(response)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        if _stored(client, table, item):
            return item, 0.0  # an earlier attempt landed but its answer was lost
        moment += timedelta(microseconds=1)
        item = {**item, "sk": iso_time(moment)}
    raise ConditionFailed(f"no free sort key for the message near {item['sk']} after {MAX_SORT_KEY_TRIES} tries")


def _stored(client: DynamoDBClient, table: str, message: MessageItem) -> bool:
    """True when `message` itself (same key and message_uuid) is already in the table."""
    response = client.get_item(TableName=table, Key=to_typed({"pk": message["pk"], "sk": message["sk"]}), ConsistentRead=True)
    return bool(response.get("Item", {}).get("message_uuid", {}).get("S") == message["message_uuid"])


def create_message(
    client: DynamoDBClient,
    table: str,
    message_group_uuid: str,
    sender: User,
    text: str,
    now: datetime | None = None,
    message_uuid: str | None = None,
) -> SentMessage:
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
        found = group_items.in_conversation(client, table, message_group_uuid)
        groups, read_reported, read_estimated = found.items, found.reported, found.estimated
        if (
            not any(g["pk"] == group_pk(sender.uuid) for g in groups)
            and group_items.current_group_item(client, table, group_pk(sender.uuid), message_group_uuid) is None
        ):
            if not groups:
                raise NotFound(f"no conversation {message_group_uuid} in table {table!r}")
            raise NotFound(f"@{sender.handle} is not a participant of conversation {message_group_uuid}")
        item = message_item(message_group_uuid, message_uuid or str(uuidlib.uuid4()), sender, text, iso_time(now or utc_now()))
        item, write_reported = _put_message(client, table, item)
    estimated = read_estimated + capacity.put_units(item)
    return SentMessage(message_group_uuid, item, False, {"reported": read_reported + write_reported, "estimated": estimated})


def find_conversation(client: DynamoDBClient, table: str, user: User, other: User) -> str | None:
    """The uuid of the conversation `user` has with `other`, if there is one."""
    with translated(client, table):
        found = group_items.of_owner(
            client, table, group_pk(user.uuid), other_user_uuid=other.uuid, projection="message_group_uuid"
        )
        return next((item["message_group_uuid"] for item in found), None)


def create_conversation(
    client: DynamoDBClient,
    table: str,
    sender: User,
    other: User,
    text: str,
    now: datetime | None = None,
    message_group_uuid: str | None = None,
) -> SentMessage:
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
        if message_group_uuid is not None and claims.group_in_use(client, table, group):
            raise _group_taken(group)
        stale = None
        for attempt in range(MAX_START_TRIES):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            started, stopped_by = _start(client, table, sender, other, text, group, now, stale)
            if started:
                return started
            if stopped_by in ("pair", None):
                winner = claims.pair_claimed(client, table, sender, other)
                if winner is not None and claims.claimed_by(client, table, winner, sender, other):
                    return _send_to_winner(client, table, winner, sender, text, now)
                if winner is not None:
                    stale = winner  # the pair's claim names a conversation that is no longer theirs
                    continue
            if stopped_by == "group" or (stopped_by is None and claims.group_claimed(client, table, group)):
                raise _group_taken(group)
            if stopped_by == "other" or stopped_by is None:
                raise ConditionFailed(
                    f"conversation not created: an item with one of its keys already exists ({group}); nothing was written, try again"
                )
    raise ConditionFailed(
        f"conversation not created: concurrent writes kept it from landing {MAX_START_TRIES} times; nothing was written, try again"
    )


def _group_taken(group: str) -> InvalidInput:
    return InvalidInput(
        f"message group uuid {group} is already used by another conversation: leave it out to get a new one; nothing was written"
    )


def _send_to_winner(client: DynamoDBClient, table: str, group: str, sender: User, text: str, now: datetime | None) -> SentMessage:
    """Pattern C into the conversation another call has just started for the same pair."""
    for attempt in range(3):
        try:
            return create_message(client, table, group, sender, text, now)
        except NotFound:
            if attempt == 2:
                raise
            time.sleep(0.1 * 2**attempt)  # its group items may not be readable yet
    raise AssertionError("unreachable")


def _start(
    client: DynamoDBClient, table: str, sender: User, other: User, text: str, group: str, now: datetime | None, stale: str | None
) -> tuple[SentMessage | None, str | None]:
    """One transaction: two group items, the first message and both claims.

    Returns (SentMessage, None) when it landed, else (None, what stopped it): "pair", "group",
    "conflict" (another transaction in flight), "other" (some other key is taken), or None
    when the engine did not say. `stale` is a group uuid the pair's claim may still name.
    """
    from botocore.exceptions import ClientError

    created_at = iso_time(now or utc_now())
    message = message_item(group, str(uuidlib.uuid4()), sender, text, created_at)
    # A new conversation holds one message: its group items are counted from the start (see ddb.app.message_count).
    groups: list[GroupItem] = [
        {**group_item(sender, other, group, text, created_at), "message_count": 1},
        {**group_item(other, sender, group, text, created_at), "message_count": 1},
    ]
    claim_items = [group_claim(group, sender.uuid, other.uuid), pair_claim(sender.uuid, other.uuid, group)]
    written = model.pattern("D").writes[0]
    puts = [
        {"Put": {"TableName": table, "Item": to_typed(item), "ConditionExpression": written.condition}}
        for item in [*groups, message, *claim_items]
    ]
    assert [model.type_of(item) for item in [*groups, message, *claim_items]] == list(written.puts), "pattern D as declared"
    if stale is not None:
        puts[-1]["Put"].update(
            ConditionExpression="attribute_not_exists(pk) OR group_uuid = :stale",
            ExpressionAttributeValues={":stale": {"S": stale}},
        )
    request: Request = {
        "TransactItems": puts,
        "ReturnConsumedCapacity": "TOTAL",
        "ClientRequestToken": str(uuidlib.uuid4()),  # the same token on every retry: idempotent
    }
    try:
        response = client.transact_write_items(**request)
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        if not _stored(client, table, message):
            return None, claims.cancelled_by(exc.response.get("CancellationReasons"))
        response = {}  # an earlier attempt landed but its answer was lost
    estimated = capacity.transaction_units(puts=[*groups, message, *claim_items])
    return SentMessage(group, message, True, {"reported": capacity.consumed(response), "estimated": estimated}), None
