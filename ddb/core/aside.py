"""Work run in a forked child process while this one goes on, on the machine's other core (Linux).

Validation passes are pure Python, so a thread would only take turns with the caller under
the GIL; a forked child runs at the same time and sends its answer back through a pipe
(pickled). `Aside(work)` forks at once; `result()` waits for the child and returns what
`work()` returned, or raises the DdbError it raised. Anything else going wrong in the
child (an error that does not pickle, a crash) makes `result()` run `work()` here, so the
outcome is always the one `work()` gives in-process. Elsewhere than on Linux (no `fork`,
or one that is unsafe without an exec, as on macOS), or with `fork=False`, nothing is
forked and `result()` runs `work()`. Fork only before any thread or network client
exists: a child shares its parent's open connections.
"""

import os
import pickle
import select
import signal
import sys
from collections.abc import Callable
from typing import Generic, TypeVar

from ddb.core.errors import DdbError

T = TypeVar("T")


class Aside(Generic[T]):
    """`work()` in a child process; `result()` is its return value, or the DdbError it raised."""

    def __init__(self, work: Callable[[], T], fork: bool = True):
        self._work = work
        self._child: tuple[int, int] | None = None  # (pid, read end of its pipe)
        if fork and sys.platform.startswith("linux"):
            readable, writable = os.pipe()
            pid = os.fork()
            if pid == 0:
                self._report(readable, writable)
            os.close(writable)
            self._child = (pid, readable)

    @property
    def forked(self) -> bool:
        """True while a child is doing the work."""
        return self._child is not None

    def _report(self, readable: int, writable: int) -> None:
        """In the child: run the work, send back its outcome, and leave without any cleanup of the parent's."""
        try:
            os.close(readable)
            try:
                outcome: tuple[str, object] = ("done", self._work())
            except DdbError as refused:
                outcome = ("refused", refused)
            except Exception:  # noqa: BLE001 -- anything else: the parent runs the work again and shows it
                outcome = ("again", None)
            with os.fdopen(writable, "wb") as pipe:
                pipe.write(pickle.dumps(outcome))
        finally:
            os._exit(0)

    def answered(self, timeout: float) -> bool:
        """True once the child has sent its answer (or died), waiting at most `timeout` seconds; True if none forked."""
        if self._child is None:
            return True
        return bool(select.select([self._child[1]], [], [], timeout)[0])

    def close(self) -> None:
        """A result never asked for (the caller failed first): stop the child and reap it."""
        if self._child is not None:
            pid, readable = self._child
            self._child = None
            try:
                os.close(readable)
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass

    __del__ = close

    def result(self) -> T:
        """What `work()` returned, or the DdbError it raised."""
        if self._child is None:
            return self._work()
        pid, readable = self._child
        self._child = None
        with os.fdopen(readable, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        kind, value = pickle.loads(answer) if answer else ("again", None)
        if kind == "done":
            return value  # type: ignore[return-value]
        if kind == "refused":
            raise value  # type: ignore[misc]
        return self._work()
