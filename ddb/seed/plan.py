"""How a seed finds the items of its conversations already in the table, chosen by cost.

A conversation's items in the table are its message partition (`MSG#<group>`) and every
item whose `message_group_uuid` is the group (the GSI: its group items, its
participants' group items among them). Three ways to find them:

- `empty`: the table holds no app item (only the seed's lock and the migration history),
  so nothing can be stale: no reads at all;
- `queries`: per conversation, a consistent query of its message partition and of each
  participant's group items, and a GSI query: reads by key, four per conversation;
- `scan`: one consistent (parallel) scan of the keys of the whole table.

`choose` takes the cheaper of the last two, estimating each in items read: the scan
reads the table (its `ItemCount`), the queries read the conversations' own items plus a
fixed cost per request. A re-seed into a table that holds mostly the fixtures scans;
a few conversations in a big table query. (moto answers each GSI query by reading the
whole table, so there the scan is cheaper still.)
"""

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from ddb.app import group_items
from ddb.bulk.scan import pages
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import InvalidInput
from ddb.data.items import MESSAGE_PREFIX, User, group_pk, message_pk

EMPTY, QUERIES, SCAN = "empty", "queries", "scan"
WAYS = (EMPTY, QUERIES, SCAN)
# One request's latency costs about as much time as reading this many items in a scan page.
REQUEST_COST_ITEMS = 200
QUERIES_PER_CONVERSATION = 4
# Items of the seed's own bookkeeping, which a seed never plans: its lock, migration history and lock.
NOT_APP = ("LOCK#", "MIGRATION")
KEYS = "pk, sk"


class Keyed(Protocol):
    """What the plan needs of a conversation: its group and its two participants."""

    @property
    def message_group_uuid(self) -> str: ...
    @property
    def between(self) -> tuple[str, ...]: ...


def has_app_items(client: DynamoDBClient, table: str) -> bool:
    """Whether the table holds any item but the seed's lock and the migration history (reads a page or so)."""
    request: dict[str, Any] = {"TableName": table, "ProjectionExpression": "pk", "ConsistentRead": True, "Limit": 100}
    return any(not item["pk"]["S"].startswith(NOT_APP) for page in pages(client, request) for item in page)


def choose(client: DynamoDBClient, table: str, conversations: int, fixture_items: int) -> tuple[str, int]:
    """The cheapest way to find the conversations' items, and the table's item count as DescribeTable gives it."""
    if not has_app_items(client, table):
        return EMPTY, 0
    count = client.describe_table(TableName=table)["Table"].get("ItemCount", 0)
    if not count:  # not known yet (DynamoDB updates it about every six hours): the queries' cost is bounded
        return QUERIES, 0
    by_queries = min(count, fixture_items) + QUERIES_PER_CONVERSATION * conversations * REQUEST_COST_ITEMS
    return (SCAN if count <= by_queries else QUERIES), count


def existing_keys(client: DynamoDBClient, table: str, conversation: Keyed, users: dict[str, User]) -> list[dict]:
    """Keys now in the table that belong to one conversation (messages and group items), by key queries."""
    group = conversation.message_group_uuid
    found = []
    for page in client.get_paginator("query").paginate(
        TableName=table,
        ConsistentRead=True,
        ProjectionExpression=KEYS,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
    ):
        found += [{"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in page.get("Items", [])]
    for handle in conversation.between:
        found += group_items.of_owner(client, table, group_pk(users[handle].uuid), message_group_uuid=group, projection=KEYS)
    found += group_items.in_conversation(client, table, group, projection=KEYS).items
    unique = {(k["pk"], k["sk"]): {"pk": k["pk"], "sk": k["sk"]} for k in found}
    return list(unique.values())


def queried(
    client: DynamoDBClient, table: str, conversations: Iterable[Keyed], users: dict[str, User], threads: int = 4
) -> dict[str, set[tuple[str, str]]]:
    """Each conversation's keys in the table (by group uuid), found by key queries, a few conversations at a time."""
    chosen = list(conversations)
    with ThreadPoolExecutor(max_workers=threads) as pool:
        found = pool.map(lambda c: existing_keys(client, table, c, users), chosen)
        return {c.message_group_uuid: {(k["pk"], k["sk"]) for k in keys} for c, keys in zip(chosen, found, strict=True)}


def scanned(client: DynamoDBClient, table: str, groups: set[str], segments: int = 1) -> dict[str, set[tuple[str, str]]]:
    """Each conversation's keys in the table (by group uuid), found by one consistent scan of keys."""
    request = {
        "TableName": table,
        "ConsistentRead": True,
        "ProjectionExpression": "pk, sk, message_group_uuid",
    }

    def segment(number: int) -> dict[str, set[tuple[str, str]]]:
        mine: dict[str, set[tuple[str, str]]] = defaultdict(set)
        part = {**request, "Segment": number, "TotalSegments": segments} if segments > 1 else request
        for page in pages(client, part):
            for item in page:
                pk, sk = item["pk"]["S"], item["sk"]["S"]
                if pk.startswith(MESSAGE_PREFIX) and pk[len(MESSAGE_PREFIX) :] in groups:
                    mine[pk[len(MESSAGE_PREFIX) :]].add((pk, sk))
                group = item.get("message_group_uuid", {}).get("S")
                if group in groups:
                    mine[group].add((pk, sk))
        return mine

    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with ThreadPoolExecutor(max_workers=segments) as pool:
        for part in pool.map(segment, range(segments)):
            for group, keys in part.items():
                found[group] |= keys
    return found


def found_keys(client: DynamoDBClient, table: str, way: str, keyed: list, users: dict, table_items: int) -> dict:
    """The keys in the table of each conversation (by group uuid), found the way chosen."""
    if way == EMPTY:
        return {}
    if way == SCAN:
        segments = 4 if table_items > 100_000 else 1
        return scanned(client, table, {c.message_group_uuid for c in keyed}, segments)
    return queried(client, table, keyed, users)


def stale_keys(found: dict, conversation: Keyed, wanted: Iterable[dict], already: set) -> list[dict]:
    """The keys found for a conversation that it no longer wants (each key once, across conversations)."""
    keys = {(i["pk"], i["sk"]) for i in wanted}
    stale = []
    for key in sorted(found.get(conversation.message_group_uuid, ())):
        if key not in keys and key not in already:  # a key two conversations find is deleted once
            already.add(key)
            stale.append({"pk": key[0], "sk": key[1]})
    return stale


def finding_keys(client: DynamoDBClient, table: str, way: str, keyed: list, users: dict, table_items: int) -> "Future[dict]":
    """`found_keys` on a thread of its own: the writes can go out meanwhile."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-plan")
    try:
        return pool.submit(found_keys, client, table, way, keyed, users, table_items)
    finally:
        pool.shutdown(wait=False)


def pick(client: DynamoDBClient, table: str, way: str, conversations: int, items: int) -> tuple[str, int]:
    """The way asked for ("auto": the cheapest, see `choose`) and the table's item count it rested on."""
    if way == "auto":
        return choose(client, table, conversations, items)
    if way not in WAYS:
        raise InvalidInput(f"way must be auto or one of {', '.join(WAYS)}, not {way!r}")
    return way, 0
