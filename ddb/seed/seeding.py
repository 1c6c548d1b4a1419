"""Seeding: replace each fixture conversation in the table with exactly its fixture items.

The plan finds the keys each fixture conversation already has in the table (its message partition, and every
item the GSI lists for its group) the cheapest way: none on a table with no app item, key queries, or one scan
(`ddb.seed.plan`). What the fixtures do not produce is deleted (after the puts: a seed finds stale keys while
its puts go out); the rest of the table is untouched. Each conversation's group uuid is claimed as pattern D
claims it (`ddb.data.items.group_claim`); the claim's key is fixed, so a re-seed puts it again.

`seed_fixtures` and `setup` are the whole job, for the tasks, the app or a script: the validation pass reads
every fixture file one at a time (`ddb.seed.fixture_stream`), the caller confirms, the seed lock is taken, the
plan made, and the write pass reads each file again and builds its items as the writers come free, so memory
stays flat at any size. Nothing is written before every file is valid and `confirm` has returned; the caller
hears of the lock, the plan and the progress through callbacks and gets the result back.
"""

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any

from ddb.bulk import batch, pacing
from ddb.bulk.lease import LockWait, SeedLock, exclusive
from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import Interrupted
from ddb.core.retry import RetryPolicy
from ddb.core.tally import BatchResult
from ddb.data.items import utc_now
from ddb.schema import declaration as schema
from ddb.seed import plan as seed_plan
from ddb.seed.fixture_stream import CheckAside, CheckedFixtures, FixtureFile, check, conversations
from ddb.seed.fixtures import Fixtures
from ddb.seed.stamping import stamped

Source = Fixtures | CheckedFixtures | CheckAside | str | Path


@dataclass
class SeedPlan:
    """The writes a seed will make: every fixture item, and the stale keys to delete.

    `puts` holds the items when the fixtures were loaded whole; a streamed seed builds them in the
    write pass instead, from `put_items()`. `way` says how the stale keys were found (`ddb.seed.plan`:
    "empty", "queries" or "scan"), `table_items` the item count that choice rested on. A streamed seed
    into a table that holds items finds the stale keys (on a thread) while its puts are written: then
    `later_deletes()` yields them after the puts.
    """

    puts: list[dict] = field(default_factory=list)
    deletes: list[dict] = field(default_factory=list)
    conversations: int = 0
    messages: int = 0
    groups: int = 0
    claims: int = 0
    way: str = seed_plan.QUERIES
    table_items: int = 0
    put_items: Callable[[], Iterator[dict]] | None = None
    later_deletes: Callable[[], Iterator[dict]] | None = None

    @property
    def put_count(self) -> int:
        return len(self.puts) if self.put_items is None else self.messages + self.groups + self.claims


@dataclass
class SeedResult:
    plan: SeedPlan
    written: BatchResult
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


def plan(client: DynamoDBClient, table: str, fixtures: Fixtures, now: datetime, way: str = seed_plan.QUERIES) -> SeedPlan:
    """Work out every put and delete that makes the table hold exactly the fixtures (loaded whole)."""
    result = SeedPlan()
    with translated(client, table):
        result.way, result.table_items = seed_plan.pick(client, table, way, len(fixtures.conversations), 0)
        found = seed_plan.found_keys(client, table, result.way, list(fixtures.conversations), fixtures.users, result.table_items)
        already: set = set()
        for conversation, wanted in stamped(fixtures, fixtures.conversations, now):
            result.puts += wanted
            result.deletes += seed_plan.stale_keys(found, conversation, wanted, already)
            result.conversations += 1
            result.messages += len(conversation.messages)
            result.groups += len(conversation.between)
            result.claims += 1
    return result


def streamed_plan(
    client: DynamoDBClient, table: str, checked: CheckedFixtures, now: datetime, way: str = "auto", overlap: bool = False
) -> SeedPlan:
    """The plan of a streamed seed: stale keys found the cheapest way; the puts built later, file by file.

    With `overlap` the stale keys are found on a thread while the puts are written (`later_deletes`).
    """
    files: list[FixtureFile] = list(checked.files)
    result = SeedPlan(conversations=len(files), messages=checked.message_count, groups=2 * len(files), claims=len(files))
    with translated(client, table):
        result.way, result.table_items = seed_plan.pick(client, table, way, len(files), result.put_count)
        found: Future[dict] | dict = (
            seed_plan.finding_keys(client, table, result.way, files, checked.users, result.table_items)
            if result.way != seed_plan.EMPTY and overlap
            else seed_plan.found_keys(client, table, result.way, files, checked.users, result.table_items)
        )

    def stale() -> Iterator[dict]:
        already: set = set()
        with translated(client, table):
            keys = found.result() if isinstance(found, Future) else found
        for conversation, wanted in stamped(checked, conversations(checked), now) if keys else ():
            yield from seed_plan.stale_keys(keys, conversation, wanted, already)

    if isinstance(found, Future):
        result.later_deletes = stale
    else:
        result.deletes = list(stale())

    def put_items() -> Iterator[dict]:
        for _, wanted in stamped(checked, conversations(checked), now):
            yield from wanted

    result.put_items = put_items
    return result


def run(
    client: DynamoDBClient,
    table: str,
    seed_plan: SeedPlan,
    *,
    writers: int = 4,
    policy: RetryPolicy = RetryPolicy(),
    on_progress: Callable[[int], None] | None = None,
    lock: SeedLock | None = None,
    capacity: bool = True,
) -> SeedResult:
    """Carry out a plan with `writers` concurrent batch writers; raises WriteIncomplete naming unwritten keys.

    Under a `lock` (see `exclusive`) the writes stop when the lock is lost: LockLost says how far they got; Ctrl-C: Interrupted."""
    started = time.perf_counter()
    if lock:
        lock.check()
    puts = seed_plan.put_items() if seed_plan.put_items else seed_plan.puts
    deletes = chain(seed_plan.deletes, seed_plan.later_deletes() if seed_plan.later_deletes else ())
    requests = chain((batch.put_request(i) for i in puts), (batch.delete_request(k) for k in deletes))
    total = len(seed_plan.deletes) + seed_plan.put_count
    written = batch.write(
        client,
        table,
        requests,
        writers=writers,
        policy=policy,
        on_progress=on_progress,
        stop=lock.stop if lock else None,
        total=total,
        capacity=capacity,
    )
    if lock:
        lock.check(written.put + written.deleted, total)
    return SeedResult(seed_plan, written, time.perf_counter() - started, pacing.provisioned_write_units(client, table))


def _checked(source: Source) -> Fixtures | CheckedFixtures:
    """Fixtures as given, or a fixture folder through the validation pass (every file checked, none kept)."""
    if isinstance(source, CheckAside):
        return source.result()
    return source if isinstance(source, Fixtures | CheckedFixtures) else check(source)


def _plan(
    client: DynamoDBClient, table: str, loaded: Fixtures | CheckedFixtures, now: datetime, way: str, overlap: bool = False
) -> SeedPlan:
    if isinstance(loaded, Fixtures):
        return plan(client, table, loaded, now, way)
    return streamed_plan(client, table, loaded, now, way, overlap)


def preview(client: DynamoDBClient, table: str, source: Source, now: datetime | None = None, way: str = "auto") -> SeedPlan:
    """A dry run: validate the fixtures and plan the seed (reading keys only), writing nothing."""
    return _plan(client, table, _checked(source), now or utc_now(), way)


def seed_fixtures(
    client: DynamoDBClient,
    table: str,
    source: Source,
    *,
    writers: int = 4,
    policy: RetryPolicy = RetryPolicy(),
    lease_seconds: float = 15,
    confirm: Callable[[Any], None] | None = None,
    on_wait: Callable[[LockWait], None] | None = None,
    on_planned: Callable[[SeedPlan], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
    way: str = "auto",
    capacity: bool = True,
) -> SeedResult:
    """Seed the table with a fixture folder (or fixtures already loaded): re-seeding replaces them.

    In order: every file is read and validated, one at a time (FixtureError, nothing
    written); `confirm(fixtures)` may refuse by raising (e.g. `Refused`, nothing written);
    the seed lock is taken (`on_wait(LockWait)` while another seed holds it); the stale
    keys are found the cheapest way (`way`: see `ddb.seed.plan`; `on_planned(plan)`,
    before the first write); the writes go out (`on_progress(n)` as items land), each
    file read again and its items built as writers come free. Raises WriteIncomplete,
    LockLost or Interrupted as `run` does, FixtureError if a file changed since it was checked;
    Ctrl-C before the first write (checking, confirming, locking, planning) is Interrupted too.
    """
    writing = False
    try:
        loaded = _checked(source)
        if confirm:
            confirm(loaded)
        with exclusive(client, table, lease_seconds=lease_seconds, on_wait=on_wait) as lock:
            seed_plan = _plan(client, table, loaded, now or utc_now(), way, overlap=True)
            if on_planned:
                on_planned(seed_plan)
            writing = True
            return run(
                client, table, seed_plan, writers=writers, policy=policy, on_progress=on_progress, lock=lock, capacity=capacity
            )
    except KeyboardInterrupt:
        if writing:
            raise
        raise Interrupted("interrupted before the first write: nothing written") from None


@dataclass
class SetupResult:
    dropped: bool  # False: there was no table to drop
    created: schema.LoadResult
    seeded: SeedResult


def setup(
    client: DynamoDBClient,
    table: str,
    source: Source,
    *,
    billing: str = schema.PROVISIONED,
    confirm: Callable[[Any], None] | None = None,
    on_dropped: Callable[[bool], None] | None = None,
    on_created: Callable[[schema.LoadResult], None] | None = None,
    **seed_options: Any,
) -> SetupResult:
    """Drop the table (if present), create it as declared and seed it.

    The fixtures are validated and `confirm(fixtures)` asked before the drop: a bad file
    or a refusal leaves the table as it was. `on_dropped(dropped)` and `on_created(result)`
    report the first two steps as they end; `seed_options` go to `seed_fixtures`.

    The new table is seeded before its stream is on, then the declared stream is turned
    on (`schema.enable_stream`): the seed writes the group items itself, so its messages
    need no stream records, and no consumer can read the stream of a table that did not
    exist. The table ends as declared; should the seed fail, the stream is still turned on
    if the engine lets it (else `schema-apply`, or a new `setup`, turns it on).
    """
    from ddb.core.errors import DdbError

    loaded = _checked(source)
    if confirm:
        confirm(loaded)
    dropped = schema.drop(client, table)
    if on_dropped:
        on_dropped(dropped)
    created = schema.load(client, table, billing, stream=False)
    if on_created:
        on_created(created)
    try:
        seeded = seed_fixtures(client, table, loaded, **seed_options)
    except BaseException:
        try:
            schema.enable_stream(client, table)
        except DdbError:
            pass  # the seed's own error is the one to report
        raise
    created.description = schema.enable_stream(client, table)
    return SetupResult(dropped, created, seeded)
