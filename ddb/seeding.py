"""Seeding: replace each fixture conversation in the table with exactly its fixture items.

`plan()` validates nothing itself (fixtures arrive validated) and reads only by key:
for each conversation, the keys of its message partition, its participants' group
items for it (strongly consistent) and any other group item the GSI knows for it.
What the fixtures do not produce is deleted; everything else in the table is untouched.
Each conversation's group uuid is claimed as pattern D claims it (`ddb.items.group_claim`),
so a seeded group cannot be taken over by another pair; the claim's key is fixed, so a
re-seed puts it again in place.

`seed_fixtures` and `setup` are the whole job, for the tasks, the app or a script: load
and validate every fixture file, let the caller confirm, take the seed lock, plan, write.
Nothing is written before every file is valid and `confirm` has returned; the caller
hears of the lock, the plan and the progress through callbacks and gets the result back.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import batch, group_items, pacing, schema
from .awserrors import translated
from .clients import DynamoDBClient
from .fixtures import Conversation, Fixtures, conversation_items
from .fixtures import load as load_fixtures
from .items import User, group_claim, group_pk, message_pk, utc_now
from .seed_lock import LockWait, SeedLock, exclusive

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
    provisioned_wcu: int | None = None  # the table's provisioned write capacity; None: on-demand (or unknown)

    @property
    def items_per_second(self) -> float:
        return (self.written.put + self.written.deleted) / self.seconds if self.seconds else 0.0

    @property
    def units_per_second(self) -> float:
        """Write units per second, by item size (what the table's capacity is spent on)."""
        return self.written.write_units / self.seconds if self.seconds else 0.0

    @property
    def share_of_provisioned(self) -> float | None:
        """The write rate as a share of the table's provisioned WCU; None for an on-demand table."""
        return self.units_per_second / self.provisioned_wcu if self.provisioned_wcu else None


def existing_keys(client: DynamoDBClient, table: str, conversation: Conversation, users: dict[str, User]) -> list[dict]:
    """Keys now in the table that belong to one conversation (messages and group items)."""
    group = conversation.message_group_uuid
    found = []
    for page in client.get_paginator("query").paginate(
        TableName=table,
        ConsistentRead=True,
        ProjectionExpression="pk, sk",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": message_pk(group)}},
    ):
        found += [{"pk": i["pk"]["S"], "sk": i["sk"]["S"]} for i in page.get("Items", [])]
    for handle in conversation.between:
        found += group_items.of_owner(client, table, group_pk(users[handle].uuid), message_group_uuid=group, projection=KEYS)
    found += group_items.in_conversation(client, table, group, projection=KEYS).items
    unique = {(k["pk"], k["sk"]): {"pk": k["pk"], "sk": k["sk"]} for k in found}
    return list(unique.values())


def plan(client: DynamoDBClient, table: str, fixtures: Fixtures, now: datetime) -> SeedPlan:
    """Work out every put and delete that makes the table hold exactly the fixtures."""
    result = SeedPlan()
    with translated(client, table):
        for conversation in fixtures.conversations:
            first, second = (fixtures.user(handle) for handle in conversation.between)
            wanted = [
                *conversation_items(fixtures, conversation, now),
                group_claim(conversation.message_group_uuid, first.uuid, second.uuid),
            ]
            wanted_keys = {(i["pk"], i["sk"]) for i in wanted}
            result.puts += wanted
            result.deletes += [
                k for k in existing_keys(client, table, conversation, fixtures.users) if (k["pk"], k["sk"]) not in wanted_keys
            ]
            result.conversations += 1
            result.messages += len(conversation.messages)
            result.groups += len(conversation.between)
            result.claims += 1
    return result


def run(
    client: DynamoDBClient,
    table: str,
    seed_plan: SeedPlan,
    *,
    writers: int = 4,
    policy: batch.RetryPolicy = batch.RetryPolicy(),
    on_progress: Callable[[int], None] | None = None,
    lock: SeedLock | None = None,
) -> SeedResult:
    """Carry out a plan with batch writes; raises WriteIncomplete naming unwritten keys.

    Under a `lock` (see `exclusive`) the writes stop as soon as the lock is lost, and
    LockLost says how far they got. Ctrl-C stops them too: Interrupted, with the count.
    """
    started = time.perf_counter()
    if lock:
        lock.check()
    requests = [batch.delete_request(k) for k in seed_plan.deletes] + [batch.put_request(i) for i in seed_plan.puts]
    written = batch.write(
        client, table, requests, writers=writers, policy=policy, on_progress=on_progress, stop=lock.stop if lock else None
    )
    if lock:
        lock.check(written.put + written.deleted, len(requests))
    seconds = time.perf_counter() - started
    return SeedResult(seed_plan, written, seconds, pacing.provisioned_write_units(client, table))


def _loaded(source: "Fixtures | str | Path") -> Fixtures:
    """Fixtures as given, or loaded (and so validated completely) from a fixture folder."""
    return source if isinstance(source, Fixtures) else load_fixtures(source)


def preview(client: DynamoDBClient, table: str, source: "Fixtures | str | Path", now: datetime | None = None) -> SeedPlan:
    """A dry run: validate the fixtures and plan the seed (reading keys only), writing nothing."""
    return plan(client, table, _loaded(source), now or utc_now())


def seed_fixtures(
    client: DynamoDBClient,
    table: str,
    source: "Fixtures | str | Path",
    *,
    writers: int = 4,
    policy: batch.RetryPolicy = batch.RetryPolicy(),
    lease_seconds: float = 15,
    confirm: Callable[[Fixtures], None] | None = None,
    on_wait: Callable[[LockWait], None] | None = None,
    on_planned: Callable[[SeedPlan], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> SeedResult:
    """Seed the table with a fixture folder (or fixtures already loaded): re-seeding replaces them.

    In order: every file is loaded and validated (FixtureError, nothing written);
    `confirm(fixtures)` may refuse by raising (e.g. `Refused`, nothing written); the seed
    lock is taken (`on_wait(LockWait)` while another seed holds it); the plan is made
    (`on_planned(plan)`, before the first write); the writes go out (`on_progress(n)` as
    items land). Raises WriteIncomplete, LockLost or Interrupted as `run` does.
    """
    loaded = _loaded(source)
    if confirm:
        confirm(loaded)
    with exclusive(client, table, lease_seconds=lease_seconds, on_wait=on_wait) as lock:
        seed_plan = plan(client, table, loaded, now or utc_now())
        if on_planned:
            on_planned(seed_plan)
        return run(client, table, seed_plan, writers=writers, policy=policy, on_progress=on_progress, lock=lock)


@dataclass
class SetupResult:
    dropped: bool  # False: there was no table to drop
    created: schema.LoadResult
    seeded: SeedResult


def setup(
    client: DynamoDBClient,
    table: str,
    source: "Fixtures | str | Path",
    *,
    billing: str = schema.PROVISIONED,
    confirm: Callable[[Fixtures], None] | None = None,
    on_dropped: Callable[[bool], None] | None = None,
    on_created: Callable[[schema.LoadResult], None] | None = None,
    **seed_options: Any,
) -> SetupResult:
    """Drop the table (if present), create it as declared and seed it.

    The fixtures are validated and `confirm(fixtures)` asked before the drop: a bad file
    or a refusal leaves the table as it was. `on_dropped(dropped)` and `on_created(result)`
    report the first two steps as they end; `seed_options` go to `seed_fixtures`.
    """
    loaded = _loaded(source)
    if confirm:
        confirm(loaded)
    dropped = schema.drop(client, table)
    if on_dropped:
        on_dropped(dropped)
    created = schema.load(client, table, billing)
    if on_created:
        on_created(created)
    return SetupResult(dropped, created, seed_fixtures(client, table, loaded, **seed_options))
