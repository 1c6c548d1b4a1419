"""The seed lock: one seed at a time per table, across processes and machines.

`exclusive()` holds it: a conditional put of an item outside the app's key space
(`LOCK#seed`) that names its holder and carries a short lease, renewed by a heartbeat
thread; a second seed waits (`on_wait(LockWait)`) until it is free or its lease ran out.
"""

import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import Busy, LockLost
from ddb.data.items import to_typed

LOCK_KEY = {"pk": "LOCK#seed", "sk": "seed"}


@dataclass(frozen=True)
class LockHolder:
    """Who holds the seed lock, as its item says (fields a lock from an older version lacks are empty)."""

    owner: str
    host: str
    pid: int | None
    acquired_at: str  # UTC ISO-8601
    expires_at: float  # Unix time at which the lease runs out unless renewed

    @classmethod
    def from_item(cls, typed: dict) -> "LockHolder":
        def text(name: str):
            return typed.get(name, {}).get("S", "")

        def number(name: str):
            value = typed.get(name, {}).get("N")
            return float(value) if value is not None else None

        pid = number("pid")
        return cls(
            text("owner"), text("host"), None if pid is None else int(pid), text("acquired_at"), number("expires_at") or 0.0
        )

    def describe(self) -> str:
        """`pid 4242 on build-7`, or `an unknown seed` for a lock that does not say."""
        if self.pid is None and not self.host:
            return "an unknown seed"
        return f"pid {self.pid if self.pid is not None else '?'} on {self.host or 'an unknown host'}"


@dataclass(frozen=True)
class LockWait:
    """What a seed waiting for the lock knows, handed to `on_wait` every `report_every` seconds."""

    table: str
    holder: LockHolder
    lease_left: float  # seconds until the holder's lease runs out, unless its seed renews it
    waited: float  # seconds this seed has waited so far
    wait_left: float  # seconds until this seed gives up


class SeedLock:
    """The seed lock while this process holds it: a heartbeat renews its lease.

    `stop` is set when the lock is lost (another seed took it, or the lease ran out while
    renewals failed): whatever writes under the lock must then stop; `check()` raises LockLost.
    """

    def __init__(
        self, client: DynamoDBClient, table: str, item: dict, lease_seconds: float, renew_every: float, purpose: str = "seed"
    ):
        self.client, self.table, self.item, self.purpose = client, table, item, purpose
        self.key = {"pk": item["pk"]["S"], "sk": item["sk"]["S"]}
        self.owner = item["owner"]["S"]
        self.lease_seconds, self.renew_every = lease_seconds, renew_every
        self.expires_at = float(item["expires_at"]["N"])
        self.stop = threading.Event()
        self.lost = False
        self.taken_by: LockHolder | None = None
        self._released = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="seed-lock-heartbeat", daemon=True)

    def _beat(self):
        while not self._released.wait(self.renew_every):
            expires_at = time.time() + self.lease_seconds
            # A conditional put, not UpdateItem: the tasks' IAM policy needs no more actions.
            renewed = {**self.item, "expires_at": {"N": _seconds(expires_at)}}
            try:
                self.client.put_item(
                    TableName=self.table,
                    Item=renewed,
                    ConditionExpression="#o = :me",
                    ExpressionAttributeNames={"#o": "owner"},
                    ExpressionAttributeValues={":me": {"S": self.owner}},
                )
                self.expires_at = expires_at
            except Exception as exc:  # noqa: BLE001 - anything but a lost condition: try again at the next beat
                if error_code(exc) == "ConditionalCheckFailedException":
                    self._lose(self._holder())
                    return
                if time.time() >= self.expires_at:
                    self._lose(None)
                    return

    def _holder(self) -> LockHolder | None:
        try:
            item = self.client.get_item(TableName=self.table, Key=to_typed(self.key), ConsistentRead=True).get("Item")
        except Exception:  # noqa: BLE001 - only to name the new holder; the loss stands either way
            return None
        return LockHolder.from_item(item) if item else None

    def _lose(self, taken_by: LockHolder | None):
        self.lost, self.taken_by = True, taken_by
        self.stop.set()

    def check(self, written: int | None = None, total: int | None = None) -> None:
        """Raise LockLost if the lock is no longer ours (naming how far the writes got, if given)."""
        if not self.lost:
            return
        what = f"taken over by {self.taken_by.describe()}" if self.taken_by else "lost: its lease ran out while renewals failed"
        progress = f"; stopped after {written} of {total} items written" if written is not None else ""
        raise LockLost(
            f"the {self.purpose} lock on table {self.table!r} was {what}{progress}; "
            f"run the {self.purpose} again when the other is done"
        )

    def _release(self):
        self._released.set()
        self._heartbeat.join()


def _seconds(at: float) -> str:
    return f"{at:.3f}"


def _lock_item(owner: str, now: float, lease_seconds: float, key: dict = LOCK_KEY) -> dict:
    import os
    import socket

    return {
        **to_typed({**key, "owner": owner, "host": socket.gethostname(), "acquired_at": _iso(now)}),
        "pid": {"N": str(os.getpid())},
        "expires_at": {"N": _seconds(now + lease_seconds)},
    }


def _acquire(
    client: DynamoDBClient,
    table: str,
    owner: str,
    lease_seconds: float,
    wait_seconds: float,
    report_every: float,
    poll_seconds: float,
    on_wait: Callable[[LockWait], None] | None,
    sleep: Callable[[float], None],
    key: dict = LOCK_KEY,
    purpose: str = "seed",
) -> dict:
    """Put the lock item once it is free or its lease ran out; the item as stored."""
    from botocore.exceptions import ClientError

    started = time.monotonic()
    next_report = started
    while True:
        now = time.time()
        typed = _lock_item(owner, now, lease_seconds, key)
        try:
            client.put_item(
                TableName=table,
                Item=typed,
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": _seconds(now)}},
            )
            return typed
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
        held = client.get_item(TableName=table, Key=to_typed(key), ConsistentRead=True).get("Item")
        if not held:
            continue  # released between our put and our read: try again at once
        holder = LockHolder.from_item(held)
        if holder.owner == owner:
            return held  # our own put landed, its answer was lost
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise Busy(
                f"the {purpose} lock on table {table!r} is still held by {holder.describe()} since "
                f"{holder.acquired_at or 'an unknown time'} after {wait_seconds:g} s of waiting; try again when it is done"
            )
        if on_wait and time.monotonic() >= next_report:
            on_wait(LockWait(table, holder, max(0.0, holder.expires_at - time.time()), waited, wait_seconds - waited))
            next_report += report_every
        sleep(min(poll_seconds, max(0.0, wait_seconds - waited)))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


@contextmanager
def exclusive(
    client: DynamoDBClient,
    table: str,
    *,
    lease_seconds: float = 15,
    renew_every: float | None = None,
    wait_seconds: float = 600,
    report_every: float = 5,
    poll_seconds: float = 0.5,
    on_wait: Callable[[LockWait], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    key: dict = LOCK_KEY,
    purpose: str = "seed",
) -> Iterator[SeedLock]:
    """Hold the table's seed lock: one seed at a time, across processes and machines.

    The lock is an item outside the app's key space (`LOCK#seed`), put conditionally, that
    names its holder (owner id, host, pid, `acquired_at`) and carries a short lease
    (`expires_at`). A heartbeat thread renews the lease every `renew_every` seconds (a
    third of the lease by default) for as long as the lock is held, so a long seed keeps it
    and a crashed one frees it within `lease_seconds`. On exit the lock is deleted.

    A second seed waits for the lock, up to `wait_seconds` (then Busy); while it waits,
    `on_wait(LockWait)` is called at once and every `report_every` seconds. Two seeds
    started at once thus end as one seed would. Yields a `SeedLock`, whose `stop` event is
    set if the lock is lost while held.

    Other jobs that must run one at a time take the same kind of lock on their own item:
    `key` is the lock item's key, `purpose` names the job in messages ("migrate").
    """
    owner = str(uuidlib.uuid4())
    renew_every = lease_seconds / 3 if renew_every is None else renew_every
    with translated(client, table):
        item = _acquire(
            client, table, owner, lease_seconds, wait_seconds, report_every, poll_seconds, on_wait, sleep, key, purpose
        )
    lock = SeedLock(client, table, item, lease_seconds, renew_every, purpose)
    lock._heartbeat.start()
    try:
        yield lock
    finally:
        lock._release()
        _delete_if_ours(client, table, owner, key)


def _delete_if_ours(client: DynamoDBClient, table: str, owner: str, key: dict = LOCK_KEY) -> None:
    from botocore.exceptions import ClientError

    with translated(client, table):
        try:
            client.delete_item(
                TableName=table,
                Key=to_typed(key),
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": owner}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
