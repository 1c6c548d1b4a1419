"""What a task acts on: invoke config and flags made into a `Target`, its client, and the prod prompt.

`resolve_target` builds the local or prod target from config and flags; `confirm` is the
prod guard's prompt at the terminal; `project_path` reads configured paths from the
project folder; `user_directory` is the users of the configured fixtures.
"""

import sys

from ddb.core import errors
from ddb.engines import DYNAMODB_LOCAL, MOTO

from .flags import seconds, whole_number
from .output import status_line


def config(c):
    return c.config.ddb


def project_path(value):
    """A configured path; relative ones are taken from the project folder, not the cwd."""
    from pathlib import Path

    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(__file__).resolve().parent.parent / path


# The fastest raw writer of 20,300 items, by thread count (bench/seed_process.py): moto's
# server answers on one core, so past two requests at a time they only contend for it
# (4.7 s with 2, 5.5 s with 4); DynamoDB Local spreads them over its threads (6: 4.8 s,
# 4: 5.2 s, 2: 6.0 s). Elsewhere (AWS, an engine this tool did not start) 4.
ENGINE_WRITERS = {MOTO: 2, DYNAMODB_LOCAL: 6}
WRITERS = 4


def writer_count(c, target, given=None) -> int:
    """--writers, else `ddb.writers`; "auto" (the default) suits the engine `local.start` runs at the target, else 4."""
    value = config(c).writers if given is None else given
    if str(value).strip().lower() != "auto":
        return whole_number("--writers" if given is not None else "ddb.writers", value)
    return ENGINE_WRITERS.get(_engine_at(c, target) or "", WRITERS)


def _engine_at(c, target) -> str | None:
    """The engine this tool started (its state file) if it serves the target's endpoint: "moto" or "dynamodb-local"."""
    from urllib.parse import urlsplit

    from ddb.engines.state import read_state

    if target.prod or not target.endpoint_url:
        return None
    state = read_state(project_path(config(c).state_dir))
    where = urlsplit(target.endpoint_url)
    serves = state and where.port == state.port and where.hostname in (state.host, "localhost", "127.0.0.1")
    return state.engine if state and serves else None


def resolve_target(c, prod=False, endpoint_url=None, table=None):
    from ddb.core.retry import RetryPolicy
    from ddb.core.target import local_target, prod_target

    cfg = config(c)
    if prod and endpoint_url:
        raise errors.DdbError("--endpoint-url is for local engines; on --prod set AWS_ENDPOINT_URL_DYNAMODB instead")
    name = cfg.table if table is None else table
    settings = {
        "connect_timeout": seconds("ddb.connect_timeout", cfg.connect_timeout),
        "read_timeout": seconds("ddb.read_timeout", cfg.read_timeout),
        "retries": RetryPolicy(
            max_attempts=whole_number("ddb.retry_attempts", cfg.retry_attempts),
            base_delay=seconds("ddb.retry_base_delay", cfg.retry_base_delay),
            max_delay=seconds("ddb.retry_max_delay", cfg.retry_max_delay),
        ),
    }
    if prod:
        return prod_target(name, **settings)
    return local_target(name, cfg.region, endpoint_url or cfg.endpoint_url, **settings)


def make_client(target, service="dynamodb"):
    """A boto3 client for the target (boto3 is imported only when a task needs it)."""
    from ddb.core.target import client

    return client(target, service)


def confirm(target, client, action, yes):
    """The prod guard at the command line: name the target as `client` resolves it, then ask."""
    from ddb.core import guard
    from ddb.core.target import account_of, describe

    interactive = sys.stdin.isatty()
    # The account is asked of STS only when the run may go on: a refusal sends no request at all.
    account = account_of(target) if target.prod and (yes or interactive) else None
    if target.prod:
        status_line(f"target: {describe(target, client, account)}")
    guard.confirm(target, client, action, yes=yes, interactive=interactive, ask=ask_at_terminal, account=account)


def ask_at_terminal(prompt):
    """`input(prompt)`; on Ctrl-D or Ctrl-C the prompt's line is ended first, so the refusal is a line of its own."""
    try:
        return input(prompt)
    except (EOFError, KeyboardInterrupt):
        sys.stdout.write("\n")
        sys.stdout.flush()
        raise


def user_directory(c):
    from ddb.seed import fixtures

    return fixtures.load_users(project_path(config(c).fixtures))


def resolve_user(c, target, client, handle=None, user_uuid=None, flags=("--handle", "--user-uuid")):
    """The user a pattern task acts for.

    By uuid: from the table's group items. By handle (default: ddb.default_handle): locally
    from the fixture set's users.json (ddb.seed.fixtures), else from the table; on prod from the
    table only, since a fixture file's uuids are not production's.
    """
    from ddb.core.errors import DdbError, InvalidInput, NotFound

    if handle and user_uuid:
        raise InvalidInput(f"give {flags[0]} or {flags[1]}, not both")
    if user_uuid:
        from ddb.app import user_lookup

        return user_lookup.by_uuid(client, target.table, user_uuid)
    handle = handle or config(c).default_handle
    if not target.prod:
        try:
            users = user_directory(c).users
        except DdbError:
            users = {}
        if handle in users:
            return users[handle]
    from ddb.app import user_lookup  # the table is asked only for a handle the fixtures do not know

    try:
        return user_lookup.by_handle(client, target.table, handle)
    except NotFound:
        where = "" if target.prod else f"not in {config(c).fixtures}/users.json, and "
        raise NotFound(
            f"unknown handle {handle!r}: {where}no conversation of table {target.table!r} names them; "
            f"pass {flags[1]} if you know the uuid"
        ) from None
