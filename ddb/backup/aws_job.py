"""Waiting for one of AWS's own long jobs (a table export or import) to end.

Both are asked for once and then described until they leave their running states: the
first look after `poll` seconds, each wait twice the one before up to `max_poll`, and
after `timeout` seconds the caller's error (the job goes on in AWS; the caller says so).
"""

import time
from collections.abc import Callable

from ddb.core.errors import DdbError

RUNNING = ("IN_PROGRESS", "CANCELLING")


def wait_for_job(
    describe: Callable[[], dict],
    status_key: str,
    *,
    timed_out: Callable[[str], DdbError],
    on_progress: Callable[[dict, float], None] | None,
    poll: float,
    max_poll: float,
    timeout: float,
    sleep: Callable[[float], None],
) -> tuple[dict, float]:
    """Describe the job until its status is no longer running: (its last description, seconds waited).

    `timed_out(status)` is raised once `timeout` seconds have passed with the job still running.
    """
    began = time.monotonic()
    interval = poll
    while True:
        described = describe()
        elapsed = time.monotonic() - began
        if on_progress:
            on_progress(described, elapsed)
        status = str(described.get(status_key))
        if status not in RUNNING:
            return described, elapsed
        if elapsed >= timeout:
            raise timed_out(status)
        sleep(interval)
        interval = min(interval * 2, max_poll)
