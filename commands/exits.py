"""How a task ends: every task body runs inside `reports_errors`.

A `DdbError` becomes one line on stderr, `error: <message>`, and exit code 1. The library
states the fact; the hint that names a command (`invoke local.start`, …) is added here,
from the error's `hint` (see `HINTS`), since only the command line knows its commands.
A reader that stops early (`| head`) ends the task quietly with exit code 141, as SIGPIPE
ends other command-line tools; Ctrl-C is exit code 130.
"""

import functools
import sys

from invoke import Exit

from ddb.core import errors

# The exit code of a process killed by SIGPIPE, as a shell reports it (128 + 13).
CLOSED_PIPE = 141

# The command line's wording of each `ddb.core.errors.Hint`, appended to the error's message;
# `{name}` takes the error's facts.
HINTS = {
    errors.Hint.START_ENGINE: ": start one with `invoke local.start` (embedded engine) or `docker compose up -d` (DynamoDB Local)",
    errors.Hint.CREATE_TABLE: ": create it with `invoke schema-load` (or `invoke setup`)",
    errors.Hint.LIST_CONVERSATIONS: ": check the uuid with `invoke patterns.list-conversations`",
    errors.Hint.INSTALL_DYNAMODB_LOCAL: " (`invoke local.install` fetches it)",
    errors.Hint.REINSTALL_DYNAMODB_LOCAL: "{joiner}fetch it again with `invoke local.install --force`",
    errors.Hint.STOP_ENGINE: ": `invoke local.stop` it first to start {asked}",
    errors.Hint.INSTALL_JAVA: ": install a Java {minimum}+ runtime (e.g. `apt-get install openjdk-17-jre-headless`), or use --engine moto",
}


def worded(exc: errors.DdbError) -> str:
    """The error's message and, if it names a hint, the command line's wording of it."""
    hint = HINTS.get(getattr(exc, "hint", None) or "", "")
    return f"{exc}{hint.format_map(getattr(exc, 'facts', {}))}"


def reports_errors(body):
    """Run a task body; a DdbError becomes `error: <line>` on stderr and exit code 1."""

    @functools.wraps(body)
    def run(c, *args, **kwargs):
        try:
            result = body(c, *args, **kwargs)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return result
        except BrokenPipeError:
            _silence_standard_streams()
            raise Exit(code=CLOSED_PIPE) from None
        except errors.Interrupted as exc:
            raise Exit(str(exc), code=130) from None
        except errors.DdbError as exc:
            raise Exit(f"error: {worded(exc)}", code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return run


def _silence_standard_streams():
    """Point stdout and stderr at /dev/null, so Python's flush at exit meets no closed pipe.

    (The recipe of the Python docs' note on SIGPIPE.)
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            pass
