"""Who a conversation belongs to: the claims pattern D writes, read back.

Pattern D (`ddb.app.messaging.create_conversation`) writes, in its transaction, a claim on the
group uuid (naming the two users) and a claim on the pair of users (naming the group),
each conditional on being new (`ddb.data.items.group_claim`, `ddb.data.items.pair_claim`). These
functions read them, and tell from a cancelled transaction which claim stopped it.
"""

from typing import Any

from ddb.app import group_items
from ddb.core.clients import DynamoDBClient, PlainItem
from ddb.data.items import ItemKey, User, from_typed, group_claim_key, message_pk, pair_claim_key, to_typed


def group_in_use(client: DynamoDBClient, table: str, group: str) -> bool:
    """True when the table holds a claim, a message or a group item for this group uuid.

    The claim alone decides races (in the transaction); the other two find conversations
    written before claims existed.
    """
    if group_claimed(client, table, group):
        return True
    messages = client.query(
        TableName=table,
        ConsistentRead=True,
        KeyConditionExpression="pk = :pk",
        Limit=1,
        ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
        ProjectionExpression="pk",
    )
    groups = group_items.in_conversation(client, table, group, projection="pk", limit=1).items
    return bool(messages.get("Items") or groups)


def _read_claim(client: DynamoDBClient, table: str, key: ItemKey) -> PlainItem | None:
    item = client.get_item(TableName=table, Key=to_typed(key), ConsistentRead=True).get("Item")
    return from_typed(item) if item else None


def group_claimed(client: DynamoDBClient, table: str, group: str) -> bool:
    return _read_claim(client, table, group_claim_key(group)) is not None


def pair_claimed(client: DynamoDBClient, table: str, sender: User, other: User) -> str | None:
    """The group uuid the pair's claim names, if there is one."""
    claim = _read_claim(client, table, pair_claim_key(sender.uuid, other.uuid))
    return claim.get("group_uuid") if claim else None


def claimed_by(client: DynamoDBClient, table: str, group: str, sender: User, other: User) -> bool:
    """True when the group's claim names exactly these two users."""
    claim = _read_claim(client, table, group_claim_key(group))
    return claim is not None and claim.get("user_uuids") == sorted([sender.uuid, other.uuid])


def cancelled_by(reasons: list[dict[str, Any]] | None) -> str | None:
    """Which part of pattern D's transaction (`messaging._start`) stopped it, from the engine's CancellationReasons."""
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
