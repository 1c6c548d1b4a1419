"""Tasks for the cruddur-messages DynamoDB table: `invoke --list` shows them all.

Each task resolves its target, calls the `ddb` library, renders the result, and lets
`DdbError` become one line on stderr with exit code 1 (see `cli`).
"""

import functools
import json
import sys

from invoke import Collection, Exit, task

from ddb import errors
from ddb.target import local_target, prod_target

PROD = "act on production AWS (the AWS chain picks credentials, region, endpoint)"
ENDPOINT = "local endpoint to use instead of ddb.endpoint_url (e.g. http://localhost:8001)"
JSON = "print machine-readable JSON instead of a table"
YES = "confirm writes/deletes on --prod without asking (for CI)"


def cli(body):
    """Run a task body; a DdbError becomes `error: <line>` on stderr and exit code 1."""

    @functools.wraps(body)
    def run(c, *args, **kwargs):
        try:
            return body(c, *args, **kwargs)
        except errors.DdbError as exc:
            raise Exit(f"error: {exc}", code=1) from None
        except KeyboardInterrupt:
            raise Exit("interrupted", code=130) from None

    return run


def _config(c):
    return c.config.ddb


def _target(c, prod=False, endpoint_url=None, table=None):
    cfg = _config(c)
    if prod and endpoint_url:
        raise errors.DdbError("--endpoint-url is for local engines; on --prod set AWS_ENDPOINT_URL_DYNAMODB instead")
    name = table or cfg.table
    return prod_target(name) if prod else local_target(name, cfg.region, endpoint_url or cfg.endpoint_url)


def _client(target, service="dynamodb"):
    from ddb.target import client

    return client(target, service)


def _console(stderr=False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _say(message):
    """Status lines go to stderr so stdout stays clean for --json (plain text: no rich import)."""
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


def _confirm(target, action, yes):
    from ddb import guard

    if target.prod:
        _say(f"target: {target.describe()}")
    guard.confirm(target, action, yes=yes, interactive=sys.stdin.isatty(), ask=input)


def _print_json(data):
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def _users(c):
    from ddb import fixtures

    return fixtures.load_users(_config(c).fixtures)


# ---------------------------------------------------------------- root tasks


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "on_demand": "create the table with on-demand (PAY_PER_REQUEST) billing"})
@cli
def schema_load(c, prod=False, endpoint_url=None, yes=False, on_demand=False):
    """Create the table (keys, GSI, stream) and wait until it is ACTIVE."""
    from ddb import schema

    target = _target(c, prod, endpoint_url)
    client = _client(target)
    _confirm(target, "create the table", yes)
    billing = schema.ON_DEMAND if on_demand else _config(c).billing
    result = schema.load(client, target.table, billing)
    _say(f"table {result.table!r}: {result.action} ({result.description['TableStatus']}) at {target.describe()}")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "json": JSON})
@cli
def list_tables(c, prod=False, endpoint_url=None, json=False):
    """List the table names at the target."""
    from ddb import render, schema

    target = _target(c, prod, endpoint_url)
    names = schema.list_tables(_client(target))
    if json:
        _print_json(names)
    else:
        _console().print(render.names_table(names))
        _say(f"{len(names)} table(s), {target.where()}")


@task(help={"table": "table to delete (default: ddb.table)", "prod": PROD, "endpoint_url": ENDPOINT, "yes": YES,
            "dry_run": "say what would be deleted, delete nothing"})
@cli
def drop(c, table=None, prod=False, endpoint_url=None, yes=False, dry_run=False):
    """Delete the table; a missing table is a no-op."""
    from ddb import schema

    target = _target(c, prod, endpoint_url, table)
    client = _client(target)
    if dry_run:
        exists = schema.describe(client, target.table) is not None
        _say(f"dry run: would {'delete' if exists else 'skip (no such table)'} {target.describe()}")
        return
    _confirm(target, "DELETE the table and all its items", yes)
    dropped = schema.drop(client, target.table)
    _say(f"table {target.table!r}: {'deleted' if dropped else 'not there, nothing to delete'}")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "fixtures": "fixture directory (default: ddb.fixtures)",
            "dry_run": "validate and plan, write nothing", "writers": "concurrent batch writers (default: ddb.writers)"})
@cli
def seed(c, prod=False, endpoint_url=None, yes=False, fixtures=None, dry_run=False, writers=None):
    """Validate the fixtures, then write them; re-seeding replaces them."""
    target = _target(c, prod, endpoint_url)
    _seed(c, target, _client(target), fixtures, dry_run, yes, writers)


def _seed(c, target, client, fixture_dir, dry_run, yes, writers):
    from ddb import fixtures, items
    from ddb import seed as seeding

    loaded = fixtures.load(fixture_dir or _config(c).fixtures)
    plan = seeding.plan(client, target.table, loaded, items.utc_now())
    counts = f"{plan.conversations} conversations, {plan.messages} messages, {plan.groups} group items"
    if dry_run:
        _say(f"dry run: fixtures valid; would write {len(plan.puts)} items ({counts}) and delete {len(plan.deletes)} stale items in {target.describe()}")
        return
    _confirm(target, f"write {len(plan.puts)} items into the table", yes)
    from rich.progress import Progress

    with Progress(console=_console(stderr=True), transient=True) as progress:
        bar = progress.add_task("seeding", total=len(plan.puts) + len(plan.deletes))
        result = seeding.run(client, target.table, plan, writers=int(writers or _config(c).writers),
                             on_progress=lambda n: progress.advance(bar, n))
    w = result.written
    paced = f"; throttled {w.throttled} times, paced down to {w.fewest_writers} of {w.writers} writers" if w.throttled else ""
    _say(f"seeded {counts}: {w.put} put, {w.deleted} stale deleted, {w.retries} retries, "
         f"{result.items_per_second:.0f} items/s, {w.consumed_wcu / result.seconds if result.seconds else 0:.0f} WCU/s reported{paced}")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "limit": "stop after N items", "json": "print JSON Lines, one plain item per line",
            "segments": "parallel scan in N segments, one thread each (items then come in no particular order)"})
@cli
def scan(c, prod=False, endpoint_url=None, limit=None, json=False, segments=1):
    """Print every item of the table, streamed page by page."""
    from dataclasses import replace

    from ddb.scan import scan_items

    # A 1 MB page can take a slow local engine (moto) many seconds, more with segments in parallel.
    target = replace(_target(c, prod, endpoint_url), read_timeout=60.0)
    segments = int(segments)
    if segments < 1:
        raise errors.DdbError(f"--segments must be a whole number of at least 1, not {segments}")
    stream = scan_items(_client(target), target.table, limit=int(limit) if limit is not None else None, segments=segments)
    if json:
        dumps, write = __import__("json").dumps, sys.stdout.write
        for item in stream:
            write(dumps(item, ensure_ascii=False) + "\n")
        return
    count = 0
    if sys.stdout.isatty():
        from rich.table import Table

        console = _console()
        for count, item in enumerate(stream, 1):
            row = Table.grid(padding=(0, 1))
            row.add_row(f"[bold]{item.get('pk')}[/]", item.get("sk", ""), ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("pk", "sk")))
            console.print(row, soft_wrap=True)
    else:  # piped: the same fields as plain lines, without rich
        for count, item in enumerate(stream, 1):
            rest = ", ".join(f"{k}={v}" for k, v in item.items() if k not in ("pk", "sk"))
            sys.stdout.write(f"{item.get('pk')} {item.get('sk', '')} {rest}\n")
    _say(f"{count} items in {target.describe()}")


@task(help={"out": "directory to write users.json and conversations/*.json into", "messages": "messages in all (default 20000)",
            "conversations": "conversations, each between a distinct pair of users (default 200)", "users": "users (default 100)",
            "seed": "random seed: the same seed writes the same files (default 0)", "force": "replace fixture files already in --out"})
@cli
def synth(c, out, messages=20000, conversations=200, users=100, seed=0, force=False):
    """Write a synthetic fixture directory (N messages, M conversations, K users) for scale runs."""
    from ddb import synthetic

    made = synthetic.generate(out, messages=int(messages), conversations=int(conversations), users=int(users), seed=int(seed), force=force)
    _say(f"wrote {made.messages} messages in {made.conversations} conversations between {made.users} users to {made.directory}; "
         f"seed them with `invoke seed --fixtures {made.directory}`")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "fixtures": "fixture directory (default: ddb.fixtures)"})
@cli
def setup(c, prod=False, endpoint_url=None, yes=False, fixtures=None):
    """Drop (if present), create and seed the table."""
    from ddb import fixtures as fixture_files
    from ddb import schema

    target = _target(c, prod, endpoint_url)
    client = _client(target)
    fixture_files.load(fixtures or _config(c).fixtures)  # a bad fixture stops us before the drop
    _confirm(target, "DROP, re-create and seed the table", yes)
    _say(f"table {target.table!r}: {'deleted' if schema.drop(client, target.table) else 'was not there'}")
    result = schema.load(client, target.table, _config(c).billing)
    _say(f"table {target.table!r}: {result.action}")
    _seed(c, target, client, fixtures, dry_run=False, yes=True, writers=None)


# ---------------------------------------------------------------- patterns


@task(help={"handle": "whose conversations (default: ddb.default_handle)", "limit": "page size (default 20)",
            "cursor": "next_cursor of the previous page", "json": JSON, "prod": PROD, "endpoint_url": ENDPOINT})
@cli
def list_conversations(c, handle=None, limit=20, cursor=None, json=False, prod=False, endpoint_url=None):
    """Pattern B: a user's conversations, most recent first."""
    from ddb import patterns, render

    handle = handle or _config(c).default_handle
    user = _users(c).user(handle)
    target = _target(c, prod, endpoint_url)
    page = patterns.list_conversations(_client(target), target.table, user.uuid, int(limit), cursor)
    _show_page(page, json, lambda: render.conversations_view(page, handle))


@task(help={"message_group_uuid": "which conversation (default: ddb.default_message_group_uuid)", "limit": "messages per page (default 20)",
            "cursor": "next_cursor of the previous page (older messages)", "json": JSON, "prod": PROD, "endpoint_url": ENDPOINT})
@cli
def get_conversation(c, message_group_uuid=None, limit=20, cursor=None, json=False, prod=False, endpoint_url=None):
    """Pattern A: a conversation's newest messages, shown like a chat."""
    from ddb import patterns, render

    group = message_group_uuid or _config(c).default_message_group_uuid
    target = _target(c, prod, endpoint_url)
    page = patterns.list_messages(_client(target), target.table, group, int(limit), cursor)
    _show_page(page, json, lambda: render.chat_table(page, group))


def _show_page(page, as_json, table):
    from ddb import render

    if as_json:
        _print_json(page.as_json())
        return
    view = table()
    if hasattr(view, "plain") and not sys.stdout.isatty():
        sys.stdout.write(view.plain())  # piped: the same text, without importing rich
    else:
        _console().print(view)
    _say(render.capacity_line(page.consumed_capacity))
    if page.next_cursor:
        _say(f"more: --cursor {page.next_cursor}")


# ---------------------------------------------------------------- local engine


def _engine_args(c):
    from pathlib import Path

    cfg = _config(c)
    return Path(c.config.ddb.state_dir), cfg.engine_host, int(cfg.engine_port)


@task(help={"engine": "moto (embedded, in memory)"})
@cli
def start(c, engine="moto"):
    """Start the embedded engine in the background on 127.0.0.1:8000."""
    from ddb import local_engine

    state_dir, host, port = _engine_args(c)
    if engine != "moto":
        raise errors.EngineError(f"unknown engine {engine!r}: use moto")
    state = local_engine.start(state_dir, host, port, local_engine.moto_command(host, port), "moto", local_engine.moto_version())
    _say(f"{state.engine} {state.version} answers at {state.endpoint} (pid {state.pid}, log {state.log}); in memory: it forgets everything on stop")


@task(help={"json": JSON})
@cli
def status(c, json=False):
    """Say whether the embedded engine runs and answers."""
    from dataclasses import asdict

    from ddb import local_engine

    state = local_engine.status(*_engine_args(c))
    if json:
        _print_json({**asdict(state), "endpoint": state.endpoint})
    elif state.running:
        _say(f"{state.engine} {state.version} running (pid {state.pid}) at {state.endpoint}, {'answering' if state.answering else 'NOT answering'}")
    elif state.answering:
        _say(f"no engine of ours runs, but something answers at {state.endpoint} (DynamoDB Local in docker?)")
    else:
        _say(f"not running; nothing answers at {state.endpoint}")


@task
@cli
def stop(c):
    """Stop the embedded engine (its data is gone)."""
    from ddb import local_engine

    state = local_engine.stop(*_engine_args(c))
    _say(f"stopped {state.engine or 'engine'} (pid {state.pid})" if state.pid else "no engine of ours was running")


patterns = Collection("patterns", list_conversations, get_conversation)
local = Collection("local", start, status, stop)
ns = Collection(schema_load, list_tables, drop, seed, scan, synth, setup, patterns, local)
