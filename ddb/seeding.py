"""Seeding: replace each fixture conversation in the table with exactly its fixture items.

`plan()` validates nothing itself (fixtures arrive validated) and reads only by key:
for each conversation, the keys of its message partition, its participants' group
items for it (strongly consistent) and any other group item the GSI knows for it.
What the fixtures do not produce is deleted; everything else in the table is untouched.
Each conversation's group uuid is claimed as pattern D claims it (`ddb.items.group_claim`),
so a seeded group cannot be taken over by another pair; the claim's key is fixed, so a
re-seed puts it again in place.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime

from . import batch, group_items
from .awserrors import translated
from .fixtures import Fixtures, conversation_items
from .items import group_claim, group_pk, message_pk
from .seed_lock import SeedLock

KEYS = "pk, sk"

@dataclass
class SeedPlan:
    """The writes a seed will make: every fixture item, and the stale keys to delete."""

    puts: list[dict] = field(default_factory=list)
    deletes: list[dict] = field(default_factory=list)
    conversations: int = 0
    messages: int = 0
    groups: int = 0
    claims: int = 0

@dataclass
class SeedResult:
    plan: SeedPlan
    written: batch.BatchResult
    seconds: float

    @property
    def items_per_second(self) -> float:
        return (self.written.put + self.written.deleted) / self.seconds if self.seconds else 0.0

def existing_keys(client, table: str, conversation, users) -> list[dict]:
    """Keys now in the table that belong to one conversation (messages and group items)."""
    group = conversation.message_group_uuid
    found = []
    for page in client.get_paginator("query").paginate(
        TableName=table, ConsistentRead=True, ProjectionExpression="pk, sk",
        KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
    ):
        found += [{"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in page.get("Items", [])]
    for handle in conversation.between:
        found += group_items.of_owner(client, table, group_pk(users[handle].uuid), message_group_uuid=group, projection=KEYS)
    found += group_items.in_conversation(client, table, group, projection=KEYS).items
    unique = {(k["pk"], k["sk"]): {"pk": k["pk"], "sk": k["sk"]} for k in found}
    return list(unique.values())


def plan(client, table: str, fixtures: Fixtures, now: datetime) -> SeedPlan:
    """Work out every put and delete that makes the table hold exactly the fixtures."""
    result = SeedPlan()
    with translated(client, table):
        for conversation in fixtures.conversations:
            first, second = (fixtures.user(handle) for handle in conversation.between)
            wanted = [*conversation_items(fixtures, conversation, now),
                      group_claim(conversation.message_group_uuid, first.uuid, second.uuid)]
            wanted_keys = {(i["pk"], i["sk"]) for i in wanted}
            result.puts += wanted
            result.deletes += [k for k in existing_keys(client, table, conversation, fixtures.users)
                               if (k["pk"], k["sk"]) not in wanted_keys]
            result.conversations += 1
            result.messages += len(conversation.messages)
            result.groups += len(conversation.between)
            result.claims += 1
    return result

def run(client, table: str, seed_plan: SeedPlan, *, writers: int = 4, policy: batch.RetryPolicy = batch.RetryPolicy(),
        on_progress=None, lock: SeedLock | None = None) -> SeedResult:
    """Carry out a plan with batch writes; raises WriteIncomplete naming unwritten keys.

    Under a `lock` (see `exclusive`) the writes stop as soon as the lock is lost, and
    LockLost says how far they got. Ctrl-C stops them too: Interrupted, with the count.
    """
    started = time.perf_counter()
    if lock:
        lock.check()
    requests = [batch.delete_request(k) for k in seed_plan.deletes] + [batch.put_request(i) for i in seed_plan.puts]
    written = batch.write(client, table, requests, writers=writers, policy=policy, on_progress=on_progress,
                          stop=lock.stop if lock else None)
    if lock:
        lock.check(written.put + written.deleted, len(requests))
    return SeedResult(seed_plan, written, time.perf_counter() - started)
