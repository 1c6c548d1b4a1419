"""Ctrl-C on a long write: say at once that it stops, stop soon, and quit at once on a second press.

`stops_on_ctrl_c` wraps the library call of a task that writes in bulk (seed). The first
Ctrl-C prints `STOPPING` straight away and raises KeyboardInterrupt in the task, which the
library turns into `Interrupted` with the count once the requests in flight are answered
(it waits a second at most for them); `commands.exits` makes that exit code 130.
A process then leaves within `EXIT_GRACE` seconds even if a thread that only reads (a
seed's planner) is still waiting for an answer. A second Ctrl-C quits at once, exit code
130, with one line and no traceback: what was in flight may still land, and a seed's lock
frees itself when its lease runs out.
"""

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOPPING = "stopping: finishing the requests in flight (Ctrl-C again to quit at once)"
QUIT = "quit at once: requests in flight may still land; run the command again to finish"
EXIT_GRACE = 0.5  # seconds the process is given to end by itself once the task body is left after a Ctrl-C
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def _say(line: str) -> None:
    """Write one line to stderr from a signal handler (os.write: the handler may have interrupted a write to sys.stderr)."""
    try:
        os.write(sys.stderr.fileno(), f"{line}\n".encode())
    except (OSError, ValueError):
        pass


def _quit(line: str | None = None) -> None:
    if line:
        _say(line)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, RuntimeError):  # RuntimeError: a reentrant flush from a handler
            pass
    os._exit(INTERRUPTED)


@contextmanager
def stops_on_ctrl_c(stopping: str = STOPPING, quit_line: str = QUIT) -> Iterator[None]:
    """Run the body with the two-press Ctrl-C described above (outside the main thread, as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    presses = 0

    def on_ctrl_c(signum, frame):
        nonlocal presses
        presses += 1
        if presses > 1:
            _quit(quit_line)
        _say(stopping)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        if presses:
            # Kept for the rest of the process, so a second press while it ends is still one line.
            # Threads left reading (non-daemon pool workers) must not hold the exit past the grace.
            watchdog = threading.Timer(EXIT_GRACE, _quit)
            watchdog.daemon = True
            watchdog.start()
        else:
            signal.signal(signal.SIGINT, previous)
