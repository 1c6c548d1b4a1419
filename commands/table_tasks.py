"""The root tasks, on the table as a whole: schema-load, list-tables, drop, seed, scan, synth, setup.

Each task resolves its target, calls the `ddb` library, renders the result, and lets
`DdbError` become one line on stderr with exit code 1 (`commands.exits`).
"""

from invoke import task

from .exits import reports_errors
from .flags import seconds, target_flags, whole_number
from .output import status_line
from .targeting import config, confirm, make_client, project_path, resolve_target, writer_count


@target_flags(on_demand="create the table with on-demand (PAY_PER_REQUEST) billing")
@reports_errors
def schema_load(c, prod=False, endpoint_url=None, yes=False, on_demand=False):
    """Create the table (keys, GSI, stream) and wait until it is ACTIVE."""
    from ddb.core.target import describe
    from ddb.schema import declaration as schema

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    confirm(target, client, "create the table", yes)
    billing = schema.ON_DEMAND if on_demand else config(c).billing
    result = schema.load(client, target.table, billing)
    status_line(f"table {result.table!r}: {result.action} ({result.description['TableStatus']}) at {describe(target, client)}")


@target_flags()
@reports_errors
def list_tables(c, prod=False, endpoint_url=None, json_=False):
    """List the table names at the target."""
    from ddb.core.target import where
    from ddb.schema import declaration as schema

    from .output import console, print_json
    from .views import names_table

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    names = schema.list_tables(client)
    if json_:
        print_json(names)
    else:
        console().print(names_table(names))
        status_line(f"{len(names)} table(s), {where(target, client)}")


@target_flags(table="table to delete (default: ddb.table)", dry_run="say what would be deleted, delete nothing")
@reports_errors
def drop(c, table=None, prod=False, endpoint_url=None, yes=False, dry_run=False):
    """Delete the table; a missing table is a no-op."""
    from ddb.core.target import describe
    from ddb.schema import declaration as schema

    target = resolve_target(c, prod, endpoint_url, table)
    client = make_client(target)
    if dry_run:
        exists = schema.describe(client, target.table) is not None
        status_line(f"dry run: would {'delete' if exists else 'skip (no such table)'} {describe(target, client)}")
        return
    confirm(target, client, "DELETE the table and all its items", yes)
    dropped = schema.drop(client, target.table)
    status_line(f"table {target.table!r}: {'deleted' if dropped else 'not there, nothing to delete'}")


@target_flags(
    fixtures="fixture directory (default: ddb.seed.fixtures)",
    dry_run="validate and plan, write nothing",
    writers="concurrent batch writers (default: ddb.writers)",
    json_="print the summary as one JSON object on stdout",
)
@reports_errors
def seed(c, prod=False, endpoint_url=None, yes=False, fixtures=None, dry_run=False, writers=None, json_=False):
    """Validate the fixtures, then write them; re-seeding replaces them."""
    from ddb.seed.fixture_stream import CheckAside

    target = resolve_target(c, prod, endpoint_url)
    writers = writer_count(c, target, writers)
    source = CheckAside(fixtures or project_path(config(c).fixtures))  # checked in a child while boto3 loads here
    from ddb.seed import seeding

    from . import sentences
    from .interrupts import stops_on_ctrl_c
    from .output import ProgressBar

    client = make_client(target)
    if dry_run:
        status_line(sentences.seed_dry_run(seeding.preview(client, target.table, source), target, client))
        return

    def confirm_seed(loaded):
        confirm(
            target,
            client,
            f"replace {loaded.conversation_count} conversations ({loaded.message_count} messages) in the table",
            yes,
        )

    with stops_on_ctrl_c(), ProgressBar("seeding") as bar:
        result = seeding.seed_fixtures(
            client, target.table, source, confirm=confirm_seed, **_seed_options(c, target, writers, bar)
        )
    if json_:
        from .output import print_json

        print_json(sentences.seed_summary(result))
    else:
        status_line(sentences.seeded(result))


def _seed_options(c, target, writers, bar) -> dict:
    """How a seed writes and what it reports while it runs (the lock it waits for, the progress bar)."""
    from . import sentences

    return {
        "writers": writers,
        "policy": target.retries,
        "capacity": target.prod,  # local engines: moto's figures mean little, DynamoDB Local slows by a fifth to give them
        "lease_seconds": seconds("ddb.seed_lock_lease", config(c).seed_lock_lease),
        "on_wait": lambda wait: status_line(sentences.lock_wait(wait)),
        "on_planned": lambda plan: bar.start(plan.put_count + len(plan.deletes)),
        "on_progress": bar.advance,
    }


@target_flags(
    limit="stop after N items",
    json_="print JSON Lines, one plain item per line",
    segments="parallel scan in N segments, one thread each (items then come in no particular order)",
)
@reports_errors
def scan(c, prod=False, endpoint_url=None, limit=None, json_=False, segments=None):
    """Print every item of the table, streamed page by page."""
    from contextlib import closing
    from dataclasses import replace

    from ddb.core.target import describe

    # A 1 MB page can take a slow local engine (moto) many seconds, more with segments in parallel.
    target = replace(
        resolve_target(c, prod, endpoint_url), read_timeout=seconds("ddb.scan_read_timeout", config(c).scan_read_timeout)
    )
    segments = whole_number("--segments", segments, 1, high=1000)
    limit = None if limit is None else whole_number("--limit", limit)
    # Closed on the way out, however the task ends (a closed pipe too): that stops the segment threads.
    client = make_client(target)
    if json_:
        from ddb.bulk.scan_json import json_lines

        from .output import print_texts

        with closing(json_lines(client, target.table, limit=limit, segments=segments)) as pages:
            print_texts(pages)
        return
    from ddb.bulk.scan import scan_items

    from .output import print_scan_rows

    with closing(scan_items(client, target.table, limit=limit, segments=segments)) as stream:
        count = print_scan_rows(stream)
        status_line(f"{count} items in {describe(target, client)}")


@task(
    help={
        "out": "directory to write users.json and conversations/*.json into",
        "messages": "messages in all (default 20000)",
        "conversations": "conversations, each between a distinct pair of users (default 200)",
        "users": "users (default 100)",
        "seed": "random seed: the same seed writes the same files (default 0)",
        "force": "replace fixture files already in --out",
    }
)
@reports_errors
def synth(c, out, messages=None, conversations=None, users=None, seed=None, force=False):
    """Write a synthetic fixture directory (N messages, M conversations, K users) for scale runs."""
    from ddb.seed import synthetic

    given = {"messages": messages, "conversations": conversations, "users": users, "seed": seed}
    numbers = {
        name: whole_number(f"--{name}", value, low=0 if name == "seed" else 1)
        for name, value in given.items()
        if value is not None
    }
    made = synthetic.generate(out, **numbers, force=force)
    status_line(
        f"wrote {made.messages} messages in {made.conversations} conversations between {made.users} users to {made.directory}; "
        f"seed them with `invoke seed --fixtures {made.directory}`"
    )


@target_flags(fixtures="fixture directory (default: ddb.seed.fixtures)")
@reports_errors
def setup(c, prod=False, endpoint_url=None, yes=False, fixtures=None):
    """Drop (if present), create and seed the table."""
    from ddb.seed.fixture_stream import CheckAside

    target = resolve_target(c, prod, endpoint_url)
    writers = writer_count(c, target)
    source = CheckAside(fixtures or project_path(config(c).fixtures))  # checked in a child while boto3 loads here
    from ddb.seed import setup as table_setup

    from . import sentences
    from .output import ProgressBar

    client = make_client(target)
    from .interrupts import stops_on_ctrl_c

    with stops_on_ctrl_c(), ProgressBar("seeding") as bar:

        def refused(error):
            bar.__exit__(None, None, None)  # the second seed shows a bar of its own
            status_line(f"{error}: dropping the table, creating it with its stream and seeding again")

        result = table_setup.setup(
            client,
            target.table,
            source,
            billing=config(c).billing,
            confirm=lambda loaded: confirm(target, client, "DROP, re-create and seed the table", yes),
            on_dropped=lambda dropped: status_line(f"table {target.table!r}: {'deleted' if dropped else 'was not there'}"),
            on_created=lambda created: status_line(f"table {target.table!r}: {created.action}"),
            on_refused=refused,
            **_seed_options(c, target, writers, bar),
        )
    status_line(sentences.seeded(result.seeded))
    view = result.created.description.get("StreamSpecification", {}).get("StreamViewType")
    if result.stream == table_setup.AFTER_SEED:
        status_line(f"table {target.table!r}: stream {view} turned on after the seed (no stream record of the seed)")
    else:
        status_line(
            f"table {target.table!r}: stream {view} created with the table, as this engine takes it only at creation: "
            "seeded twice, and the stream holds the seed's records"
        )
