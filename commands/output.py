"""Where output goes: data on stdout (plain, JSON, or rich at a terminal), status lines on stderr.

rich is imported only by `console()`, when a table is shown: it is the heaviest import
of a read command.
"""

import json
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def status_line(message):
    """One status line on stderr, printed as is, so stdout stays clean for --json (no rich import)."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def print_json(data):
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def console(stderr=False):
    """A rich console (stdout, or stderr for a progress bar) that highlights nothing on its own."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def show_view(view):
    """A view of `commands.views` on stdout: rich at a terminal; piped, its plain text if it has one (no rich import)."""
    if hasattr(view, "plain") and not sys.stdout.isatty():
        sys.stdout.write(view.plain())
    else:
        console().print(view)


def print_scan_rows(items) -> int:
    """Each scanned item as one row (pk bold at a terminal, plain words when piped); how many there were."""
    from .views import scan_row

    count = 0
    if sys.stdout.isatty():
        from rich.table import Table
        from rich.text import Text

        terminal = console()
        for item in items:
            count += 1
            pk, sk, rest = scan_row(item)
            row = Table.grid(padding=(0, 1))
            row.add_row(Text(pk, style="bold"), Text(sk), Text(rest))
            terminal.print(row, soft_wrap=True)
    else:  # piped: the same fields as plain lines, without rich
        for item in items:
            count += 1
            sys.stdout.write(" ".join(scan_row(item)) + "\n")
    return count


def print_texts(texts):
    """Each text (a page of JSON Lines) on stdout as it comes, whole: one system call a page, not one a line.

    Written as bytes: an unbuffered stdout (`python -u`, PYTHONUNBUFFERED) takes part of a big write
    when the reader is slow to drain the pipe or goes away, and its text layer would drop the rest.
    """
    stream = sys.stdout
    binary = getattr(stream, "buffer", None)
    if binary is None or os.linesep != "\n":  # a text-only stream (a test's), or line ends to translate
        for text in texts:
            stream.write(text)
        return
    stream.flush()  # what was written as text goes first
    encoding, errors = stream.encoding, stream.errors or "strict"
    for text in texts:
        _write_all(binary, text.encode(encoding, errors))


def _write_all(binary, data: bytes):
    """All of `data`, however many calls the stream takes (a closed pipe raises BrokenPipeError)."""
    view = memoryview(data)
    while view:
        written = binary.write(view)
        if written is None:  # a non-blocking stdout that is full: wait a moment
            time.sleep(0.001)
            continue
        view = view[written:]


class ProgressBar:
    """A transient rich progress bar on stderr, shown from `start(total)` on and gone when the `with` block ends.

    Only at a terminal: with stderr piped there is nothing to show, and rich costs an import and a thread.
    """

    def __init__(self, label: str):
        self.label = label
        self._progress: Progress | None = None
        self._bar: TaskID | None = None

    def start(self, total: int):
        if not sys.stderr.isatty():  # piped or logged: a transient bar would show nothing; skip rich and its refresh thread
            return
        from rich.progress import Progress

        progress = Progress(console=console(stderr=True), transient=True)
        progress.start()
        self._progress, self._bar = progress, progress.add_task(self.label, total=total)

    def advance(self, done: int):
        if self._progress is not None and self._bar is not None:  # nothing to show before `start`
            self._progress.advance(self._bar, done)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._progress is not None:
            self._progress.stop()
