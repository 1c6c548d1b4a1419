"""Seeding: replace each fixture conversation in the table with exactly its fixture items.

`plan()` validates nothing itself (fixtures arrive validated) and reads only by key:
for each conversation, the keys of its message partition, its participants' group
items for it (strongly consistent) and any other group item the GSI knows for it.
What the fixtures do not produce is deleted; everything else in the table is untouched.
"""

import time
import uuid as uuidlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from . import batch
from .awserrors import translated
from .errors import Busy
from .fixtures import Fixtures, conversation_items
from .items import group_pk, message_pk, to_typed
from .schema import GSI_NAME

@dataclass
class SeedPlan:
    """The writes a seed will make: every fixture item, and the stale keys to delete."""

    puts: list[dict] = field(default_factory=list)
    deletes: list[dict] = field(default_factory=list)
    conversations: int = 0
    messages: int = 0
    groups: int = 0

@dataclass
class SeedResult:
    plan: SeedPlan
    written: batch.BatchResult
    seconds: float

    @property
    def items_per_second(self) -> float:
        return (self.written.put + self.written.deleted) / self.seconds if self.seconds else 0.0

def _query_keys(client, **query) -> list[dict]:
    keys = []
    for page in client.get_paginator("query").paginate(**query):
        keys.extend({"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in page.get("Items", []))
    return keys

def existing_keys(client, table: str, conversation, users) -> list[dict]:
    """Keys now in the table that belong to one conversation (messages and group items)."""
    group = conversation.message_group_uuid
    found = _query_keys(
        client, TableName=table, ConsistentRead=True, ProjectionExpression="pk, sk",
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
    )
    for handle in conversation.between:
        found += _query_keys(
            client, TableName=table, ConsistentRead=True, ProjectionExpression="pk, sk",
            KeyConditionExpression="pk = :pk", FilterExpression="message_group_uuid = :g",
            ExpressionAttributeValues={":pk": {"S": group_pk(users[handle].uuid)}, ":g": {"S": group}},
        )
    found += _query_keys(
        client, TableName=table, IndexName=GSI_NAME, ProjectionExpression="pk, sk",
        KeyConditionExpression="message_group_uuid = :g", ExpressionAttributeValues={":g": {"S": group}},
    )
    unique = {(k["pk"], k["sk"]): k for k in found}
    return list(unique.values())

def plan(client, table: str, fixtures: Fixtures, now: datetime) -> SeedPlan:
    """Work out every put and delete that makes the table hold exactly the fixtures."""
    result = SeedPlan()
    with translated(client, table):
        for conversation in fixtures.conversations:
            wanted = conversation_items(fixtures, conversation, now)
            wanted_keys = {(i["pk"], i["sk"]) for i in wanted}
            result.puts += wanted
            result.deletes += [k for k in existing_keys(client, table, conversation, fixtures.users)
                               if (k["pk"], k["sk"]) not in wanted_keys]
            result.conversations += 1
            result.messages += len(conversation.messages)
            result.groups += len(conversation.between)
    return result

def run(client, table: str, seed_plan: SeedPlan, *, writers: int = 4, policy: batch.RetryPolicy = batch.RetryPolicy(),
        on_progress=None) -> SeedResult:
    """Carry out a plan with batch writes; raises WriteIncomplete naming unwritten keys."""
    started = time.perf_counter()
    requests = [batch.delete_request(k) for k in seed_plan.deletes] + [batch.put_request(i) for i in seed_plan.puts]
    written = batch.write(client, table, requests, writers=writers, policy=policy, on_progress=on_progress)
    return SeedResult(seed_plan, written, time.perf_counter() - started)


LOCK_KEY = {"pk": "LOCK#seed", "sk": "seed"}


@contextmanager
def exclusive(client, table: str, lease_seconds: int = 300, wait_seconds: float = 600, sleep=time.sleep):
    """Hold the table's seed lock: one seed at a time, across processes and machines.

    The lock is an item outside the app's key space (`LOCK#seed`), put conditionally with
    a lease so a crashed seed cannot block forever, and deleted on exit. A second seed
    waits for it; two seeds started at once thus end as one seed would.
    """
    from botocore.exceptions import ClientError

    owner = str(uuidlib.uuid4())
    deadline = time.monotonic() + wait_seconds
    with translated(client, table):
        while True:
            now = int(time.time())
            item = {**LOCK_KEY, "owner": owner, "expires_at": now + lease_seconds}
            try:
                client.put_item(
                    TableName=table, Item=to_typed(item),
                    ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                    ExpressionAttributeValues={":now": {"N": str(now)}},
                )
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
            held = client.get_item(TableName=table, Key=to_typed(LOCK_KEY), ConsistentRead=True).get("Item", {})
            if held.get("owner", {}).get("S") == owner:
                break  # our own put landed, its answer was lost
            if time.monotonic() > deadline:
                raise Busy(f"another seed holds the lock on table {table!r}; try again when it is done")
            sleep(0.2)
    try:
        yield
    finally:
        with translated(client, table):
            try:
                client.delete_item(
                    TableName=table, Key=to_typed(LOCK_KEY), ConditionExpression="#o = :me",
                    ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":me": {"S": owner}},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
