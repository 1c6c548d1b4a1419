"""Flags and config values: the help strings every task shares, and the number parsers.

A bad flag or config value is one `InvalidInput` line naming it, never a traceback.
"""

from ddb.core import errors

PROD = "act on production AWS (the AWS chain picks credentials, region, endpoint)"
ENDPOINT = "local endpoint to use instead of ddb.endpoint_url (e.g. http://localhost:8001)"
JSON = "print machine-readable JSON instead of a table"
YES = "confirm writes/deletes on --prod without asking (for CI)"


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
