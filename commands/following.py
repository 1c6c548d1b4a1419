"""`stream.follow` on the command line: the follower run in a thread, its words, and how it stops.

The library's `follow` runs until its stop event is set. Here it runs in a worker thread
while the main thread waits: Ctrl-C (`stops_on_ctrl_c`: a second press quits at once) and
SIGTERM (what `local.stop` sends the follower it started) set the event, the batch in
flight ends or is abandoned with the checkpoint of what was applied, and the run ends with
its summary; exit code 130 after Ctrl-C, 0 after SIGTERM.
"""

import signal
import threading
from contextlib import contextmanager

from ddb.core import errors

from .exits import worded
from .output import status_line

STOPPING = "stopping: finishing the batch in flight, keeping the checkpoint (Ctrl-C again to quit at once)"


class Words:
    """The follower's callbacks: one line for each stream followed, batch with messages, dead letter and wait."""

    def __init__(self, table, where, settings, checkpoint, dead_letter):
        self.table, self.where, self.settings = table, where, settings
        self.checkpoint, self.dead_letter, self.wait_seconds = checkpoint, dead_letter, settings.wait_seconds
        self.streams = 0

    def on_stream(self, arn):
        self.streams += 1
        if self.streams == 1:
            status_line(
                f"following the stream of {self.table} ({self.where}): batches of up to {self.settings.batch_size:,}, "
                f"{self.settings.workers} {'conversation' if self.settings.workers == 1 else 'conversations'} at once; "
                f"checkpoint in {self.checkpoint}; records that can never apply go to {self.dead_letter}; Ctrl-C stops"
            )
        else:
            status_line(f"{self.table} has a new stream (the table was created again): following it from its start")

    def on_batch(self, shard_id, records, applied):
        result = applied.result
        if result.messages:
            status_line(
                f"applied {applied.through} records of shard {shard_id}: {result.messages} new messages, "
                f"{result.moved} group items moved"
            )
        for failure in applied.dead:
            status_line(f"record {failure.identifier} can never apply: {failure.reason}; saved to {self.dead_letter} and passed")

    def on_wait(self, reason):
        if reason is None:
            status_line("going on: the table's stream answers")
        else:
            status_line(f"waiting: {worded(reason)}; looking again every {self.wait_seconds:g} s")


def summary(followed, dead_letter, checkpoint) -> str:
    """What a run did, said once it stopped."""
    result = followed.result
    dead = f"; {followed.dead_lettered} dead-lettered to {dead_letter}" if followed.dead_lettered else ""
    return (
        f"stopped: applied {result.records} records ({result.messages} new messages, {result.moved} group items moved) "
        f"in {followed.batches} batches{dead}; the checkpoint stays in {checkpoint}, and the next stream.follow goes on from it"
    )


def run_until_stopped(follow, stop):
    """Run `follow()` in a thread until it returns; Ctrl-C or SIGTERM sets `stop` first. (result, how it stopped)."""
    from .interrupts import stops_on_ctrl_c

    outcome: dict = {}
    done = threading.Event()  # not Thread.join: a join that Ctrl-C interrupts may take the thread for ended (Python < 3.13)

    def work():
        try:
            outcome["result"] = follow()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, raised there
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name="stream-follower", daemon=True)
    how = None
    with stops_on_ctrl_c(STOPPING), _stops_on_sigterm(stop) as terminated:
        worker.start()
        try:
            while not done.wait(0.2):
                pass
        except KeyboardInterrupt:
            how = "ctrl-c"
            stop.set()
            done.wait()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"], how or ("sigterm" if terminated.is_set() else None)


@contextmanager
def _stops_on_sigterm(stop):
    """SIGTERM sets `stop` (and the yielded event) instead of ending the process at once (main thread only)."""
    terminated = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield terminated
        return

    def on_sigterm(signum, frame):
        terminated.set()
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted(line: str) -> errors.Interrupted:
    """The error a Ctrl-C'd run ends with: exit code 130 (`commands.exits`), its summary as the message."""
    return errors.Interrupted(line)


def start_follower(state_dir, endpoint) -> str:
    """Start `invoke stream.follow` against `endpoint` as the engine's sidecar (`local.start --with-stream`); what to say."""
    import os
    import sys

    from ddb.engines import sidecar

    from .targeting import project_path

    command = [sys.executable, "-m", "invoke", "stream.follow", "--endpoint-url", endpoint]
    state = sidecar.start_sidecar(state_dir, sidecar.FOLLOWER, command, cwd=project_path("."), env=dict(os.environ))
    return (
        f"stream follower running (pid {state.pid}, log {state.log}): it applies the table's stream as the Lambda does "
        "(it waits for the table if there is none yet); `invoke local.stop` stops it with the engine"
    )


def follower_status(state) -> str | None:
    """The `local.status` line on the follower (a `ddb.engines.sidecar.SidecarState`); None when none was started."""
    if not state.pid:
        return None
    if state.running:
        return f"stream follower running (pid {state.pid}, log {state.log})"
    return (
        f"stream follower (pid {state.pid}) is not running: see {state.log}; `invoke local.start --with-stream` starts it again"
    )


def stop_follower(state_dir) -> str | None:
    """Stop the engine's follower, if one was started; what to say (None when there was none)."""
    from ddb.engines import sidecar

    state = sidecar.stop_sidecar(state_dir, sidecar.FOLLOWER)
    return f"stopped the stream follower (pid {state.pid}); its checkpoint stays in {state_dir}" if state.pid else None
