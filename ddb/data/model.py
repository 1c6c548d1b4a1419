"""The data model, declared once: the item types of the table and the access patterns A-E.

The patterns' code builds its queries from these declarations (`Query.request`), so the
generated documentation (`ddb.modeling.document`), the NoSQL Workbench model (`ddb.modeling.workbench`)
and the price (`ddb.modeling.cost`) describe the requests the code sends, not a drawing of them.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ddb.data import items
from ddb.schema.declaration import GSI_NAME

# The fixed moment the sample items are stamped at, so the generated files never change by themselves.
SAMPLE_NOW = datetime(2026, 11, 25, 16, 20, tzinfo=UTC)


@dataclass(frozen=True)
class ItemType:
    """One kind of item in the table: its key shapes and its other attributes (name -> DynamoDB type)."""

    name: str
    pk: str
    sk: str
    attributes: dict[str, str]
    written_by: str
    app: bool = True  # in the app's key space (False: the toolkit's own items)

    @property
    def in_index(self) -> bool:
        """True when the item carries the GSI's key (`message_group_uuid`)."""
        return "message_group_uuid" in self.attributes


ITEM_TYPES = (
    ItemType(
        "group",
        "GRP#<owner user uuid>",
        "<last message time>",
        {
            "message_group_uuid": "S",
            "message": "S",
            "user_uuid": "S",
            "user_display_name": "S",
            "user_handle": "S",
            "message_count": "N",
        },
        "seed, pattern D; moved by pattern E (message_count: migration 1)",
    ),
    ItemType(
        "message",
        "MSG#<message_group_uuid>",
        "<created time>",
        {"message_uuid": "S", "message": "S", "user_uuid": "S", "user_display_name": "S", "user_handle": "S"},
        "seed, patterns C and D",
    ),
    ItemType("group claim", "CLAIM#GROUP#<message_group_uuid>", "claim", {"user_uuids": "L"}, "seed, pattern D", app=False),
    ItemType(
        "pair claim", "CLAIM#PAIR#<lower user uuid>#<higher user uuid>", "claim", {"group_uuid": "S"}, "pattern D", app=False
    ),
    ItemType(
        "lock",
        "LOCK#seed or LOCK#migrate",
        "seed or migrate",
        {"owner": "S", "host": "S", "pid": "N", "acquired_at": "S", "expires_at": "N"},
        "seed, migrate.* (a lease, deleted at the end)",
        app=False,
    ),
    ItemType(
        "migration",
        "MIGRATION",
        "<version, 4 digits>",
        {
            "version": "N",
            "description": "S",
            "state": "S",
            "started_at": "S",
            "migrated": "N",
            "applied_at": "S",
            "checkpoint": "M",
        },
        "migrate.up / migrate.down",
        app=False,
    ),
)


def item_type(name: str) -> ItemType:
    """The declared item type called `name`."""
    return next(t for t in ITEM_TYPES if t.name == name)


@dataclass(frozen=True)
class Query:
    """One Query as a pattern sends it: where, which key condition, in which order, how consistent."""

    reads: str  # the item type it returns
    key_condition: str
    index: str | None = None
    newest_first: bool = False
    consistent: bool = False
    filter: str | None = None

    def request(self, table: str, values: dict[str, str]) -> dict[str, Any]:
        """The Query request for `table` with the placeholders' string values (":pk" -> "GRP#...")."""
        request: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": self.key_condition,
            "ExpressionAttributeValues": {name: {"S": value} for name, value in values.items()},
        }
        if self.index:
            request["IndexName"] = self.index
        if self.newest_first:
            request["ScanIndexForward"] = False
        if self.consistent:
            request["ConsistentRead"] = True
        if self.filter:
            request["FilterExpression"] = self.filter
        return request


@dataclass(frozen=True)
class Write:
    """One write request of a pattern: the item types it puts and deletes, and the condition on each."""

    operation: str  # "PutItem" or "TransactWriteItems"
    puts: tuple[str, ...]
    deletes: tuple[str, ...] = ()
    condition: str = "attribute_not_exists(pk)"
    per: str = "request"  # how often it is sent: once per request, or once "per group item"


@dataclass(frozen=True)
class AccessPattern:
    """An access pattern: the task that runs it and the requests it sends, in order."""

    letter: str
    name: str  # as the traffic file names it
    task: str
    summary: str
    queries: tuple[Query, ...] = ()
    writes: tuple[Write, ...] = ()
    page_size: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


MESSAGES_NEWEST_FIRST = Query("message", "pk = :pk", newest_first=True)
GROUPS_NEWEST_FIRST = Query("group", "pk = :pk", newest_first=True)
GROUPS_OF_CONVERSATION = Query("group", "message_group_uuid = :g", index=GSI_NAME)
GROUPS_OF_OWNER = Query("group", "pk = :pk", consistent=True)
GROUPS_WITH_OTHER = Query("group", "pk = :pk", consistent=True, filter="user_uuid = :other")

PATTERNS = (
    AccessPattern(
        "A",
        "get-conversation",
        "patterns.get-conversation",
        "the newest messages of a conversation, shown oldest first",
        (MESSAGES_NEWEST_FIRST,),
        page_size=20,
        notes=("reads one item more than the page, to know whether a next page exists",),
    ),
    AccessPattern(
        "B",
        "list-conversations",
        "patterns.list-conversations",
        "a user's conversations, most recent first",
        (GROUPS_NEWEST_FIRST,),
        page_size=20,
        notes=("reads one item more than the page, to know whether a next page exists",),
    ),
    AccessPattern(
        "C",
        "create-message",
        "patterns.create-message",
        "send a message into an existing conversation",
        (GROUPS_OF_CONVERSATION,),
        (Write("PutItem", ("message",)),),
        notes=("the sender must own one of the group items the GSI returns",),
    ),
    AccessPattern(
        "D",
        "create-conversation",
        "patterns.create-conversation",
        "start a conversation: two group items, the first message and two claims, all or nothing",
        (GROUPS_WITH_OTHER,),
        (Write("TransactWriteItems", ("group", "group", "message", "group claim", "pair claim")),),
        notes=("the query finds a conversation the two already share; then the message goes there (pattern C)",),
    ),
    AccessPattern(
        "E",
        "stream",
        "stream.process",
        "keep both group items at the conversation's last message, from the table's stream (locally; on AWS the Lambda)",
        (GROUPS_OF_CONVERSATION,),
        (Write("TransactWriteItems", ("group",), ("group",), "attribute_exists(pk) / attribute_not_exists(pk)", "group item"),),
        notes=("stream reads by Lambda are free; a group item already at or past the message is not written",),
    ),
)


def pattern(letter: str) -> AccessPattern:
    """The declared access pattern with this letter ("A" to "E")."""
    return next(p for p in PATTERNS if p.letter == letter)


def type_of(item: Mapping[str, Any]) -> str:
    """The declared item type of a plain item, by its partition key."""
    pk = str(item.get("pk", ""))
    for prefix, name in (
        (items.GROUP_PREFIX, "group"),
        (items.MESSAGE_PREFIX, "message"),
        (items.GROUP_CLAIM_PREFIX, "group claim"),
        (items.PAIR_CLAIM_PREFIX, "pair claim"),
        ("LOCK#", "lock"),
    ):
        if pk.startswith(prefix):
            return name
    return "migration" if pk == "MIGRATION" else "other"
