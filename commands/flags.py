"""Flags and config values: the flags every task shares, declared once, and the number parsers.

`target_flags` declares a task (invoke's `@task`) with the help of the shared flags its
signature has (`--prod`, `--endpoint-url`, `--yes`, `--json`) beside its own. A bad flag or
config value is one `InvalidInput` line naming it, never a traceback.
"""

import inspect
from collections.abc import Callable

from invoke import Task, task

from ddb.core import errors

PROD = "act on production AWS (the AWS chain picks credentials, region, endpoint)"
ENDPOINT = "local endpoint to use instead of ddb.endpoint_url (e.g. http://localhost:8001)"
JSON = "print machine-readable JSON instead of a table"
YES = "confirm writes/deletes on --prod without asking (for CI)"

# The flags many tasks take, by parameter name, with their help.
SHARED_HELP = {"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "json_": JSON}


def target_flags(name: str | None = None, **own_help: str) -> Callable[[Callable], Task]:
    """invoke's `@task(name=..., help=...)`: the help of the shared flags the body takes, and `own_help`.

    `own_help` holds the help of the task's other flags. An entry for a shared flag rewords
    it for this task (a JSON of another shape, a prod run that only reads);
    tests/test_task_flags.py lists the tasks that do.
    """

    def declare(body: Callable) -> Task:
        takes = inspect.signature(body).parameters  # through `reports_errors`, to the body's own
        shared = {flag: text for flag, text in SHARED_HELP.items() if flag in takes}
        return task(name=name, help=shared | own_help)(body)

    return declare


def seconds(name, value):
    """A number of seconds above 0 and at most an hour (a config value named `name`)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1
    if not 0 < seconds <= 3600:
        raise errors.InvalidInput(f"{name} must be a number of seconds above 0, not {str(value)!r}")
    return seconds


def whole_number(flag, value, default=None, low=1, high=None):
    """The whole number a flag was given (or `default`); anything else is one InvalidInput line."""
    if value is None:
        value = default
    try:
        number = int(value)
        ok = low <= number and (high is None or number <= high)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise errors.InvalidInput(f"{flag} must be a whole number {bounds}, not {str(value)!r}")
    return number
