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

from ddb import errors

# The exit code of a process killed by SIGPIPE, as a shell reports it (128 + 13).
CLOSED_PIPE = 141


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
            raise Exit(f"error: {exc}", code=1) from None
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
