"""Where output goes: data on stdout (plain, JSON, or rich at a terminal), status lines on stderr.

rich is imported only by `console()`, when a table is shown: it is the heaviest import
of a read command.
"""

import json
import sys
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


def print_json_lines(items):
    """Each item as one JSON object a line (JSON Lines), streamed."""
    dumps, write = json.dumps, sys.stdout.write
    for item in items:
        write(dumps(item, ensure_ascii=False) + "\n")


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
