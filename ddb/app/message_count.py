"""`message_count` on group items: how many messages their conversation holds.

Migration 1 (`migrations/m0001_message_count.py`) writes it on every group item: the
messages of the conversation up to the group item's time. From then on pattern E
(`ddb.stream`) keeps it: when a group item moves from one time to a later one, the
messages in between are counted and added. Counting the interval, not adding one per
record, keeps duplicate and out-of-order records harmless: a record the group is already
past adds nothing, and an older message written before a newer one was applied is in the
newer one's interval. A group item without the attribute is left without it.
"""

from ddb.core.clients import DynamoDBClient
from ddb.data.items import message_pk

ATTRIBUTE = "message_count"


def count_messages(
    client: DynamoDBClient, table: str, message_group_uuid: str, after: str | None = None, through: str | None = None
) -> int:
    """How many messages the conversation holds with a time after `after` (if given) and up to `through` (strongly consistent)."""
    conditions, values = ["pk = :pk"], {":pk": {"S": message_pk(message_group_uuid)}}
    if after is not None and through is not None:
        # A key condition takes one comparison of the sort key: BETWEEN includes `after`, dropped below.
        conditions.append("sk BETWEEN :after AND :through")
        values.update({":after": {"S": after}, ":through": {"S": through}})
    elif through is not None:
        conditions.append("sk <= :through")
        values[":through"] = {"S": through}
    elif after is not None:
        conditions.append("sk > :after")
        values[":after"] = {"S": after}
    request = {
        "TableName": table,
        "ConsistentRead": True,
        "ProjectionExpression": "sk",
        "KeyConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
    }
    count = 0
    for page in client.get_paginator("query").paginate(**request):
        count += sum(1 for item in page.get("Items", []) if item["sk"]["S"] != after)
    return count
