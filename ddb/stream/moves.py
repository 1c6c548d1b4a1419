"""Moving a conversation's group items to a new message: the writes of pattern E.

`move_group_item` moves one participant's group item: it deletes the old key and puts
the new one in one transaction, conditional on the old item still being there, so a group
never moves backwards (a message older than the group's time is a no-op, which also makes
duplicate and out-of-order records harmless), and two writers racing on one group cannot
leave two group items for one participant (the loser's condition fails, it re-reads,
strongly consistent, and tries again). `apply_message` moves every group item of the
message's conversation. Different conversations touch different group items, so they can
be applied at once (`ddb.stream.handler.handle_records` with several workers).
"""

from collections.abc import Mapping
from typing import Any, Protocol

from ddb.app import group_items
from ddb.app.message_count import ATTRIBUTE, count_messages
from ddb.core.awserrors import error_code
from ddb.core.clients import DynamoDBClient, PlainItem
from ddb.core.errors import ConditionFailed
from ddb.data import capacity
from ddb.data.items import MESSAGE_PREFIX, to_typed
from ddb.stream.records import InsertedMessage

__all__ = ["MAX_MOVE_TRIES", "MoveCounts", "apply_message", "move_group_item"]

MAX_MOVE_TRIES = 10


class MoveCounts(Protocol):
    """What moves are counted in (a `ddb.stream.handler.StreamResult`)."""

    moved: int
    already_current: int
    vanished: int
    estimated_wcu: float


def move_group_item(client: DynamoDBClient, table: str, current: Mapping[str, Any] | None, message: InsertedMessage) -> str:
    """Move one group item to `message`'s time and text, atomically.

    Returns "moved", "current" (the group is already at or past the message) or
    "vanished" (the group item is gone: nothing to move, and a deleted conversation is
    not brought back).
    """
    from botocore.exceptions import ClientError

    if current is None:
        return "vanished"
    owner, group = current["pk"], current["message_group_uuid"]
    for _ in range(MAX_MOVE_TRIES):
        if current is None:
            return "vanished"
        if current["sk"] >= message["sk"]:
            return "current"
        moved = {**current, "sk": message["sk"], "message": message["message"]}
        if ATTRIBUTE in current:  # counted (migration 1): add the messages between the old time and the new
            moved[ATTRIBUTE] = current[ATTRIBUTE] + count_messages(
                client, table, group, after=current["sk"], through=message["sk"]
            )
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": table,
                            "Key": to_typed({"pk": current["pk"], "sk": current["sk"]}),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": table, "Item": to_typed(moved), "ConditionExpression": "attribute_not_exists(pk)"}},
                ]
            )
            return "moved"
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
        # Someone moved it first (or our view was stale): look again and retry.
        current = group_items.current_group_item(client, table, owner, group)
    raise ConditionFailed(f"could not move group item {owner} of {group} after {MAX_MOVE_TRIES} tries")


def apply_message(client: DynamoDBClient, table: str, message: InsertedMessage, result: MoveCounts) -> int:
    """Move both group items of the message's conversation to it; how many group items were found."""
    group = message["pk"][len(MESSAGE_PREFIX) :]
    found = group_items.in_conversation(client, table, group).items  # via the GSI: may lag; a move re-reads on conflict
    newest: dict[str, PlainItem] = {}
    for item in found:
        if item["pk"] not in newest or item["sk"] > newest[item["pk"]]["sk"]:
            newest[item["pk"]] = item
    for current in newest.values():
        outcome = move_group_item(client, table, current, message)
        if outcome == "moved":
            result.moved += 1
            result.estimated_wcu += capacity.transaction_units(puts=[current], deletes=[current])
        elif outcome == "vanished":
            result.vanished += 1
        else:
            result.already_current += 1
    return len(newest)
