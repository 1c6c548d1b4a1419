"""Finding a user in the table itself: for handles and uuids outside any fixture file (a synthetic set, production).

The table has no user directory, but every group item names the *other* participant of
its conversation by uuid, handle and display name. So:

- `by_uuid`: the user's own partition (`GRP#<uuid>`, one item) gives a conversation; its
  group items through the GSI give the other participant's item, which names this user.
  Two small queries.
- `by_handle`: a Scan of the group items for `user_handle = :h`, page by page, stopping
  at the first match. Its cost grows with the table (the whole table when nobody has the
  handle): on a large table, pass the uuid instead.

A user who is in no conversation is not in the table at all: NotFound, in one line.
"""

from ddb.app import group_items
from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import NotFound
from ddb.data import validate
from ddb.data.items import GROUP_PREFIX, User, from_typed, group_pk


def by_uuid(client: DynamoDBClient, table: str, user_uuid: str) -> User:
    """The user with this uuid, as the table's group items name them; NotFound when in no conversation."""
    validate.uuid(user_uuid, "user_uuid")
    with translated(client, table):
        own = next(group_items.of_owner(client, table, group_pk(user_uuid), projection="message_group_uuid"), None)
        if own is not None:
            for item in group_items.in_conversation(client, table, own["message_group_uuid"]).items:
                if item["user_uuid"] == user_uuid:
                    return User(user_uuid, item["user_handle"], item["user_display_name"])
    raise NotFound(f"no user {user_uuid} in table {table!r}: they are in no conversation")


def by_handle(client: DynamoDBClient, table: str, handle: str) -> User:
    """The user with this handle, found by a Scan of the group items; NotFound when no conversation names them."""
    validate.check("handle", validate.handle_problem(handle))
    request = {
        "TableName": table,
        "FilterExpression": "begins_with(pk, :grp) AND user_handle = :h",
        "ProjectionExpression": "user_uuid, user_handle, user_display_name",
        "ExpressionAttributeValues": {":grp": {"S": GROUP_PREFIX}, ":h": {"S": handle}},
    }
    with translated(client, table):
        while True:
            page = client.scan(**request)
            for item in page.get("Items", []):
                found = from_typed(item)
                return User(found["user_uuid"], found["user_handle"], found["user_display_name"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    raise NotFound(f"no user with handle {handle!r} in table {table!r}: no conversation names them")
