"""Carrying out a schema plan (`ddb.schema.plan`), one step at a time.

`apply(client, table, steps)` first refuses, before any request, a plan with destructive
or risky steps (`Step.guarded`: a GSI deleted, a stream, TTL or PITR turned off, capacity
lowered, billing switched) unless they are allowed. Then, for each step: wait until the table and every GSI
are ACTIVE (a step of an earlier, interrupted run may still be in progress), send the
step's request, and wait again, reporting a new GSI's backfill through `on_wait`.

Resumable by design: every step is planned from the live table, so a run that stopped
part-way (Ctrl-C, a lost connection, a killed process) is continued by planning again:
what was done is no longer a step, and a GSI still being built is waited for, not
created twice. After the last step the table is planned once more; what still differs
is in the result's `remaining`.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError, Refused, TableMissing
from ddb.schema.plan import DECLARED_EXTRAS, OPERATIONS, Extras, Step, plan

# How long a step may take: a GSI's backfill on a big table takes hours.
DEFAULT_TIMEOUT = 6 * 3600.0


@dataclass(frozen=True)
class Waiting:
    """What `on_wait` hears while a step settles: the step, the table's and its indexes' states, seconds so far."""

    step: Step | None  # None: waiting for an earlier run's change before the first step
    table_status: str
    index_status: dict  # index name -> IndexStatus (+ " backfilling" while a new GSI is backfilled)
    elapsed: float

    def line(self) -> str:
        indexes = ", ".join(f"{name} {status}" for name, status in sorted(self.index_status.items()))
        what = self.step.summary if self.step else "an earlier change"
        return f"waiting for {what}: table {self.table_status}{'; ' + indexes if indexes else ''} ({self.elapsed:.0f} s)"


@dataclass
class ApplyResult:
    table: str
    applied: list[Step] = field(default_factory=list)
    remaining: list[Step] = field(default_factory=list)
    seconds: float = 0.0


def unsettled(description: dict) -> dict:
    """What is still changing in a table description: {"table": status} and {index: status}; empty when all is ACTIVE."""
    busy = {}
    if description.get("TableStatus", "ACTIVE") != "ACTIVE":
        busy["table"] = description.get("TableStatus")
    for gsi in description.get("GlobalSecondaryIndexes", []):
        status = gsi.get("IndexStatus", "ACTIVE")
        if gsi.get("Backfilling"):
            status += " backfilling"
        if status != "ACTIVE":
            busy[gsi["IndexName"]] = status
    return busy


def wait_settled(
    client: DynamoDBClient,
    table: str,
    step: Step | None = None,
    *,
    on_wait: Callable[[Waiting], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = 1.0,
    report_every: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll until the table and all its GSIs are ACTIVE (and not backfilling); the settled description.

    `on_wait(Waiting)` is called at the first poll that finds something changing and then
    every `report_every` seconds. Raises DdbError after `timeout` seconds.
    """
    started = time.monotonic()
    next_report = started
    while True:
        with translated(client, table):
            description = client.describe_table(TableName=table)["Table"]
        busy = unsettled(description)
        if not busy:
            return description
        elapsed = time.monotonic() - started
        if elapsed >= timeout:
            raise DdbError(
                f"table {table!r} is still changing after {timeout:g} s ({', '.join(f'{k} {v}' for k, v in busy.items())}); "
                "run schema-apply again later to continue"
            )
        if on_wait and time.monotonic() >= next_report:
            indexes = {k: v for k, v in busy.items() if k != "table"}
            on_wait(Waiting(step, description.get("TableStatus", "?"), indexes, elapsed))
            next_report += report_every
        sleep(poll)


def refuse_guarded(steps: list[Step], allow_destructive: bool) -> None:
    """Refused, naming each destructive or risky step (`Step.guarded`), unless they are allowed (or there are none)."""
    guarded = [s for s in steps if s.guarded]
    if guarded and not allow_destructive:
        listed = "; ".join(s.summary for s in guarded)
        raise Refused(f"{len(guarded)} risky step(s) need --allow-destructive: {listed}; nothing was changed")


def apply(
    client: DynamoDBClient,
    table: str,
    steps: list[Step],
    spec: dict,
    *,
    extras: Extras = DECLARED_EXTRAS,
    allow_destructive: bool = False,
    on_step: Callable[[int, Step], None] | None = None,
    on_wait: Callable[[Waiting], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    poll: float = 1.0,
    report_every: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> ApplyResult:
    """Carry out `steps` (planned against `spec`) in order, each waited for; plan again at the end.

    `on_step(number, step)` is called before each step is sent (numbered from 1). A
    step the engine finds already done (the GSI is there, the stream is on) is not an
    error: an earlier run did it.
    """
    refuse_guarded(steps, allow_destructive)
    started = time.perf_counter()
    result = ApplyResult(table)

    def settle(step: Step | None) -> None:
        wait_settled(client, table, step, on_wait=on_wait, timeout=timeout, poll=poll, report_every=report_every, sleep=sleep)

    settle(None)
    for number, step in enumerate(steps, 1):
        if on_step:
            on_step(number, step)
        _send(client, table, step)
        settle(step)
        result.applied.append(step)
    result.remaining = plan(client, table, spec, extras).steps
    result.seconds = time.perf_counter() - started
    return result


# What an engine answers when a step was already carried out by an earlier run whose answer was lost.
_ALREADY_DONE = ("already exists", "already enabled", "already has", "no provisioned throughput changes", "is already")


def _send(client: DynamoDBClient, table: str, step: Step) -> None:
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            if step.operation not in OPERATIONS:
                raise ValueError(f"not a schema step's operation: {step.operation!r}")
            getattr(client, step.operation)(**step.request)
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "").lower()
            if error_code(exc) == "ValidationException" and any(words in message for words in _ALREADY_DONE):
                return
            if error_code(exc) == "ResourceNotFoundException":
                raise TableMissing(f"table {table!r} disappeared while it was being changed") from exc
            raise
