"""Pacing batch writes by write units per second, to the rate the table admits.

Nothing is paced until the table first throttles (a throttling error, or UnprocessedItems,
which is how DynamoDB sheds load inside a batch). An engine that never throttles (moto,
DynamoDB Local, an on-demand table) is never slowed down, whatever capacity DescribeTable
claims: the local engines do not enforce the 5 WCU they report.

From the first throttle on, calls go out under a rate in write units per second, spaced
so the rate holds over any stretch of time (no credit builds up while idle):
- the first throttle sets the rate to DECREASE of what the table admitted so far (over
  the last second at most), and leaves the ceiling unknown;
- each later throttle takes what the table admitted over the last second as the ceiling
  (once the write has run a whole second) and sets the rate to DECREASE of that, or of
  the rate if lower;
- a throttle cuts once per round: only a call that started after the last cut can cut
  again, so writers throttled together are one signal;
- every clean call raises the rate by a share of the units it wrote: PROBE (doubling in
  about a second) up to the ceiling, GROWTH (about 10% a second) above it, so the rate
  keeps probing just above what the table admits and spends most of its time near it.

Write units are DynamoDB's: an item costs its size rounded up to 1 KB (see `request_units`).
"""

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from ddb.core.clients import DynamoDBClient
from ddb.data.capacity import WRITE_UNIT, typed_item_size

DECREASE = 0.9
PROBE = 1.0
GROWTH = 0.1
FLOOR = 25.0  # units/s: one batch of small items a second, so a starved rate still moves on
WINDOW = 1.0  # seconds of admitted writes the first estimate looks back over


def request_units(request: dict) -> int:
    """Write units of one put or delete request (DynamoDB JSON), by DynamoDB's item-size rules.

    A put costs its item's size (UTF-8 bytes of attribute names and values) rounded up to
    1 KB. A delete costs the size of the item it removes, which the request does not
    carry: it counts one unit (every item this project writes is under 1 KB).
    """
    if "DeleteRequest" in request:
        return 1
    item = request["PutRequest"]["Item"]
    size = 0
    for name, value in item.items():
        text = value.get("S")
        if text is None:  # not a string: the exact rules for numbers, sets, lists and maps
            return max(1, math.ceil(typed_item_size(item) / WRITE_UNIT))
        size += len(name.encode("utf-8")) + len(text.encode("utf-8"))
    return max(1, math.ceil(size / WRITE_UNIT))


def units(requests: Iterable[dict]) -> int:
    """Write units of a list of requests, summed."""
    return sum(request_units(r) for r in requests)


class RatePacer:
    """The rate batch writes go out at: none (unlimited) until the table throttles, then adaptive.

    `acquire(units)` before a call (it waits, with `sleep`, for the call's turn) returns a
    token for `release(token, admitted, throttled)` after it. `rate` is the current rate in
    write units per second (None: never throttled), `lowest` the lowest it has been.
    """

    def __init__(self, sleep: Callable[[float], object] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.sleep, self.clock = sleep, clock
        self.rate: float | None = None
        self.lowest: float | None = None
        self.ceiling = math.inf  # what the table admitted over the second before the last throttle
        self.lock = threading.Lock()
        self.sent_at, self.sent_cost = -math.inf, 0  # the last paced call: when it went, its units
        self.last_cut = -math.inf
        self.first_call: float | None = None
        self.admitted: deque[tuple[float, int]] = deque()  # (time, units) of the last WINDOW seconds

    def acquire(self, cost: int) -> float:
        """Wait for a call of `cost` write units to be due; returns when it started.

        A call is due when the one before it has had its time at the current rate (its
        units / rate), so a rate raised meanwhile takes effect at once. Waiting writers
        check again when they wake; one whose sleep ends early (the write is stopping, or
        a test's sleep that passes no time) goes at once.
        """
        now = self.clock()
        if self.rate is None:
            if self.first_call is None:
                self.first_call = now
            return now
        go_now = False
        while True:
            with self.lock:
                now = self.clock()
                due = self.sent_at + self.sent_cost / (self.rate or FLOOR)
                if go_now or now >= due:
                    self.sent_at, self.sent_cost = now, cost
                    return now
            go_now = bool(self.sleep(due - now)) or self.clock() < due

    def release(self, started: float, admitted: int, throttled: bool) -> None:
        """Tell the pacer how a call that started at `started` went: units written, throttled or not."""
        now = self.clock()
        with self.lock:
            if admitted:
                self.admitted.append((now, admitted))
            while self.admitted and self.admitted[0][0] <= now - WINDOW:
                self.admitted.popleft()
            if throttled:
                if started > self.last_cut:
                    self._cut(now)
            elif self.rate is not None and admitted:
                self.rate += (PROBE if self.rate < self.ceiling else GROWTH) * admitted

    def _cut(self, now: float):
        since = now - (self.first_call if self.first_call is not None else now)
        admitted = sum(u for _, u in self.admitted) / (min(WINDOW, since) or WINDOW)
        if self.rate is None:  # the first throttle: how far below the ceiling is not known yet
            self.rate = max(FLOOR, DECREASE * admitted)
        else:
            if since >= WINDOW:  # a whole second to measure the ceiling by; until then it stays unknown
                self.ceiling = max(FLOOR, admitted)
            self.rate = max(FLOOR, DECREASE * min(self.ceiling, self.rate))
        self.last_cut = now
        self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)


def provisioned_write_units(client: DynamoDBClient, table: str) -> int | None:
    """The table's provisioned write capacity (WCU) as DescribeTable gives it; None when on-demand.

    None too when the description cannot be read: a figure for the summary never fails a write.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = client.describe_table(TableName=table)["Table"]
    except (BotoCoreError, ClientError):
        return None
    if (described.get("BillingModeSummary") or {}).get("BillingMode") == "PAY_PER_REQUEST":
        return None
    return int((described.get("ProvisionedThroughput") or {}).get("WriteCapacityUnits") or 0) or None
