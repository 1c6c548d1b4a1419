"""An import's second read of a validated source, on a thread of its own, a bounded number of lists ahead.

The writers (`ddb.backup.importing`) and the read-back (`ddb.backup.readback`) take the
typed items in lists while the next ones are read and decoded, so they wait for no file,
and memory holds a few lists whatever the export's size.
"""

import queue
import threading
from collections.abc import Callable, Generator

from ddb.backup.source import Source, typed_items

_END = object()


def read_ahead(
    source: Source, size: int, keep: Callable[[dict], bool] | None = None, depth: int = 1
) -> Generator[list[dict], None, None]:
    """The typed items of a validated source (those `keep` accepts) in lists of `size`, read on a thread of its own.

    At most `depth` lists wait ready, so memory holds `depth` + 2 lists whatever the
    export's size. An error of the reading thread is raised here. Closing the generator
    ends that thread: loop over it inside `contextlib.closing`.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    done = threading.Event()

    def hand_over(value: object) -> bool:
        while not done.is_set():
            try:
                ready.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            group: list[dict] = []
            for typed in typed_items(source):
                if keep is None or keep(typed):
                    group.append(typed)
                    if len(group) == size:
                        if not hand_over(group):
                            return
                        group = []
            if group and not hand_over(group):
                return
            hand_over(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            hand_over(exc)

    reader = threading.Thread(target=read, name="import-read-ahead", daemon=True)
    reader.start()
    try:
        while (value := ready.get()) is not _END:
            if isinstance(value, BaseException):
                raise value
            yield value
    finally:
        done.set()
        reader.join()
