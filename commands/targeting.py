"""The glue between invoke and the `ddb` library, in one place.

Every task uses these: `cli` turns a `DdbError` into one `error: …` line and exit code 1;
`target` builds the local or prod target from config and flags; `confirm` is the prod
guard's prompt; `say` and `print_json` keep status on stderr and data on stdout; the
number parsers turn bad flags and config values into one line instead of a traceback.
"""

import functools
import json
import sys

from invoke import Exit

from ddb import errors
from ddb.retry import RetryPolicy
from ddb.target import local_target, prod_target

PROD = "act on production AWS (the AWS chain picks credentials, region, endpoint)"
ENDPOINT = "local endpoint to use instead of ddb.endpoint_url (e.g. http://localhost:8001)"
JSON = "print machine-readable JSON instead of a table"
YES = "confirm writes/deletes on --prod without asking (for CI)"


# The exit code of a process killed by SIGPIPE, as a shell reports it (128 + 13).
CLOSED_PIPE = 141


def cli(body):
    """Run a task body; a DdbError becomes `error: <line>` on stderr and exit code 1.

    A reader that stops early (`| head`) ends the task quietly with exit code 141,
    as SIGPIPE ends other command-line tools; Ctrl-C is exit code 130.
    """

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


def config(c):
    return c.config.ddb


def project_path(value):
    """A configured path; relative ones are taken from the project folder, not the cwd."""
    from pathlib import Path

    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(__file__).resolve().parent / path


def resolve_target(c, prod=False, endpoint_url=None, table=None):
    cfg = config(c)
    if prod and endpoint_url:
        raise errors.DdbError("--endpoint-url is for local engines; on --prod set AWS_ENDPOINT_URL_DYNAMODB instead")
    name = cfg.table if table is None else table
    settings = {"connect_timeout": seconds("ddb.connect_timeout", cfg.connect_timeout),
                "read_timeout": seconds("ddb.read_timeout", cfg.read_timeout),
                "retries": RetryPolicy(max_attempts=whole_number("ddb.retry_attempts", cfg.retry_attempts),
                                       base_delay=seconds("ddb.retry_base_delay", cfg.retry_base_delay),
                                       max_delay=seconds("ddb.retry_max_delay", cfg.retry_max_delay))}
    if prod:
        return prod_target(name, **settings)
    return local_target(name, cfg.region, endpoint_url or cfg.endpoint_url, **settings)


def make_client(target, service="dynamodb"):
    """A boto3 client for the target (boto3 is imported only when a task needs it)."""
    from ddb.target import client

    return client(target, service)


def console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def say(message):
    """Status lines go to stderr so stdout stays clean for --json (plain text: no rich import)."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def confirm(target, client, action, yes):
    """The prod guard at the command line: name the target as `client` resolves it, then ask."""
    from ddb import guard
    from ddb.target import describe

    if target.prod:
        say(f"target: {describe(target, client)}")
    guard.confirm(target, client, action, yes=yes, interactive=sys.stdin.isatty(), ask=_ask)


def _ask(prompt):
    try:
        return input(prompt)
    except (EOFError, KeyboardInterrupt):
        sys.stdout.write("\n")  # end the prompt's line: the refusal is a line of its own
        sys.stdout.flush()
        raise


def print_json(data):
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def seconds(name, value):
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


def user_directory(c):
    from ddb import fixtures

    return fixtures.load_users(project_path(config(c).fixtures))


def tell(message):
    """One status line on stderr, never wrapped, printed as is (paths may hold brackets)."""
    console(stderr=True).print(message, soft_wrap=True, markup=False)


