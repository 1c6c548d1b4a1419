"""Finding group items: the one place that queries them (pattern C, pattern E, seed).

A conversation's group items are found two ways:
- `in_conversation`: through the GSI (`message_group_uuid` + `sk`), every participant's
  at once; eventually consistent (a GSI cannot be read otherwise), so it may lag a write;
- `of_owner`: in one user's partition (`GRP#<uuid>`), strongly consistent, optionally
  only those of one conversation or only those with one other participant.
`projection` names the attributes to read (e.g. "pk, sk" for keys only); all by default.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field

from ddb.core.clients import DynamoDBClient, PlainItem, Request, Response
from ddb.data import capacity, model
from ddb.data.items import from_typed


@dataclass
class GroupItems:
    """Group items found, and the read capacity reported by the engine and estimated by DynamoDB's rules."""

    items: list[PlainItem] = field(default_factory=list)  # group items, or the attributes `projection` named
    reported: float = 0.0
    estimated: float = 0.0


def _pages(client: DynamoDBClient, request: Request, limit: int | None = None) -> Iterator[Response]:
    """Every response of a query, page by page (stopping once `limit` items came)."""
    request = dict(request)
    seen = 0
    while True:
        response = client.query(**request)
        yield response
        seen += len(response.get("Items", []))
        if "LastEvaluatedKey" not in response or (limit is not None and seen >= limit):
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def in_conversation(
    client: DynamoDBClient, table: str, message_group_uuid: str, *, projection: str | None = None, limit: int | None = None
) -> GroupItems:
    """The conversation's group items, through the GSI (may lag a write), with the capacity read."""
    request = {**model.GROUPS_OF_CONVERSATION.request(table, {":g": message_group_uuid}), "ReturnConsumedCapacity": "TOTAL"}
    if projection:
        request["ProjectionExpression"] = projection
    if limit is not None:
        request["Limit"] = limit
    found = GroupItems()
    for response in _pages(client, request, limit):
        page = [from_typed(i) for i in response.get("Items", [])]
        found.items += page
        found.reported += capacity.consumed(response)
        found.estimated += capacity.read_units(page)
    return found


def of_owner(
    client: DynamoDBClient,
    table: str,
    owner_pk: str,
    *,
    message_group_uuid: str | None = None,
    other_user_uuid: str | None = None,
    projection: str | None = None,
) -> Iterator[PlainItem]:
    """The owner's group items (strongly consistent), lazily: of one conversation, or with one other user, if given."""
    request = model.GROUPS_OF_OWNER.request(table, {":pk": owner_pk})
    filters = []
    if message_group_uuid is not None:
        filters.append("message_group_uuid = :g")
        request["ExpressionAttributeValues"][":g"] = {"S": message_group_uuid}
    if other_user_uuid is not None:
        filters.append(model.GROUPS_WITH_OTHER.filter or "")
        request["ExpressionAttributeValues"][":other"] = {"S": other_user_uuid}
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
    if projection:
        request["ProjectionExpression"] = projection
    for response in _pages(client, request):
        yield from (from_typed(i) for i in response.get("Items", []))


def current_group_item(client: DynamoDBClient, table: str, owner_pk: str, message_group_uuid: str) -> PlainItem | None:
    """The owner's group item for a conversation, read strongly consistent; if (wrongly) there are several, the newest."""
    return max(of_owner(client, table, owner_pk, message_group_uuid=message_group_uuid), key=lambda i: i["sk"], default=None)
