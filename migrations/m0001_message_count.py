"""Migration 1: `message_count` on every group item, the number of messages in its conversation.

up: a scan of the group items that have no `message_count` yet, a page at a time; for
each, the conversation's messages up to the group item's time are counted and written
with `attribute_not_exists(message_count)`, so no item is ever counted twice, whatever
run got there first. After each page the scan's position is recorded; a run that
crashed resumes there. A group item that pattern E moved meanwhile is found again by
its owner and conversation and counted at its new place. From then on pattern E keeps
the count (`ddb.app.message_count`).

down: the same scan over the group items that have one, removing it.
"""

from ddb.app import group_items
from ddb.app.message_count import ATTRIBUTE, count_messages
from ddb.core.awserrors import error_code
from ddb.core.errors import ConditionFailed
from ddb.data.items import GROUP_PREFIX, from_typed, to_typed

VERSION = 1
DESCRIPTION = "message_count on group items: the number of messages in the conversation"
PAGE_SIZE = 100  # items read per scan page, and so per checkpoint
MAX_TRIES = 10


def _group_items(client, table: str, progress, condition: str):
    """Pages of group items (pk, sk, message_group_uuid) meeting `condition`, from the checkpoint on; yields (items, next key)."""
    request = {
        "TableName": table,
        "Limit": PAGE_SIZE,
        "ProjectionExpression": "pk, sk, message_group_uuid",
        "FilterExpression": f"begins_with(pk, :grp) AND {condition}",
        "ExpressionAttributeNames": {"#c": ATTRIBUTE},
        "ExpressionAttributeValues": {":grp": {"S": GROUP_PREFIX}},
    }
    if progress.resume:
        request["ExclusiveStartKey"] = progress.resume
    while True:
        page = client.scan(**request)
        yield [from_typed(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _count_one(client, table: str, item: dict) -> int:
    """Write the count on one group item (1), or find it already counted or gone (0)."""
    from botocore.exceptions import ClientError

    for _ in range(MAX_TRIES):
        count = count_messages(client, table, item["message_group_uuid"], through=item["sk"])
        try:
            client.update_item(
                TableName=table,
                Key=to_typed({"pk": item["pk"], "sk": item["sk"]}),
                UpdateExpression="SET #c = :n",
                ExpressionAttributeNames={"#c": ATTRIBUTE},
                ExpressionAttributeValues={":n": {"N": str(count)}},
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#c)",
            )
            return 1
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        # Counted by an earlier run, or moved by pattern E since the scan read it: look at it now.
        current = group_items.current_group_item(client, table, item["pk"], item["message_group_uuid"])
        if current is None or ATTRIBUTE in current:
            return 0
        item = current
    raise ConditionFailed(f"group item {item['pk']} of {item['message_group_uuid']} kept moving while it was counted")


def up(client, table: str, progress) -> None:
    for items, next_key in _group_items(client, table, progress, "attribute_not_exists(#c)"):
        progress.checkpoint(next_key, sum(_count_one(client, table, item) for item in items))


def _remove_one(client, table: str, item: dict) -> int:
    from botocore.exceptions import ClientError

    try:
        client.update_item(
            TableName=table,
            Key=to_typed({"pk": item["pk"], "sk": item["sk"]}),
            UpdateExpression="REMOVE #c",
            ExpressionAttributeNames={"#c": ATTRIBUTE},
            ConditionExpression="attribute_exists(#c)",
        )
        return 1
    except ClientError as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            raise
        return 0  # moved meanwhile: the scan meets it again at its new (later) key


def down(client, table: str, progress) -> None:
    for items, next_key in _group_items(client, table, progress, "attribute_exists(#c)"):
        progress.checkpoint(next_key, sum(_remove_one(client, table, item) for item in items))


def preview(client, table: str) -> str:
    """How many group items up would count (a read-only scan of keys)."""
    request = {
        "TableName": table,
        "Select": "COUNT",
        "FilterExpression": "begins_with(pk, :grp) AND attribute_not_exists(#c)",
        "ExpressionAttributeNames": {"#c": ATTRIBUTE},
        "ExpressionAttributeValues": {":grp": {"S": GROUP_PREFIX}},
    }
    found = sum(page.get("Count", 0) for page in client.get_paginator("scan").paginate(**request))
    return f"{found} group item(s) without {ATTRIBUTE} would be counted"
