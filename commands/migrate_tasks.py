"""The `migrate.*` tasks: versioned data migrations from the migrations folder, history in the table.

The folder is `ddb.migrations` in invoke.yaml (a relative path is taken from the project
folder). `up` and `down` hold the migrate lock while they run; `--dry-run` reads only.
"""

from .exits import reports_errors
from .flags import seconds, target_flags, whole_number
from .output import print_json, status_line
from .targeting import config, confirm, make_client, project_path, resolve_target

DRY_RUN = "say which migrations would run (and what they would change), write nothing"


def _folder(c):
    return project_path(config(c).migrations)


@target_flags()
@reports_errors
def status(c, prod=False, endpoint_url=None, json_=False):
    """Show each migration: applied (when), pending, or part-way (resumable)."""
    from ddb.core.target import describe
    from ddb.migrate import migrations

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    states = migrations.status(client, target.table, _folder(c))
    if json_:
        print_json([s.as_json() for s in states])
        return
    import sys

    for s in states:
        if s.state == "applied":
            where = f"applied {s.applied_at}, {s.migrated} item(s) changed"
        elif s.state == "pending":
            where = "pending"
        else:
            again = "up" if s.state == "applying" else "down"
            where = f"{s.state} (stopped part-way after {s.migrated} item(s); migrate.{again} continues it)"
        missing = " [file missing]" if s.file_missing else ""
        sys.stdout.write(f"{s.version:04d} {where}: {s.description}{missing}\n")
    applied = sum(1 for s in states if s.state == "applied")
    status_line(f"{applied} of {len(states)} migration(s) applied to {describe(target, client)}")


def _run(c, direction, to, dry_run, prod, endpoint_url, yes):
    from ddb.migrate import migrations

    from . import sentences

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    to = None if to is None else whole_number("--to", to, low=0 if direction == "down" else 1)
    listed = lambda chosen: ", ".join(f"{m.version:04d} {m.name}" for m in chosen)  # noqa: E731
    result = migrations.run(
        client,
        target.table,
        _folder(c),
        direction,
        to=to,
        dry_run=dry_run,
        confirm=lambda chosen: confirm(target, client, f"migrate {direction}: {listed(chosen)}", yes),
        lease_seconds=seconds("ddb.seed_lock_lease", config(c).seed_lock_lease),
        on_wait=lambda wait: status_line(sentences.lock_wait(wait, "migrate")),
        on_start=lambda m, resume: status_line(
            f"migration {m.version:04d} {direction}: {m.description}" + (" (resuming from its last checkpoint)" if resume else "")
        ),
        on_progress=lambda m, done: status_line(f"migration {m.version:04d}: {done} item(s) so far"),
    )
    if dry_run:
        for m in result.migrations:
            preview = result.previews.get(m.version)
            status_line(f"dry run: would migrate {direction} {m.version:04d} {m.name}" + (f": {preview}" if preview else ""))
        if not result.migrations:
            status_line(f"dry run: nothing to migrate {direction}")
        return
    if not result.migrations:
        status_line(
            f"nothing to migrate {direction}: " + ("every migration is applied" if direction == "up" else "no migration to undo")
        )
        return
    for m in result.migrations:
        status_line(
            f"migration {m.version:04d} {'applied' if direction == 'up' else 'undone'}: "
            f"{result.migrated[m.version]} item(s) changed by this run"
        )


@target_flags(to="apply the pending migrations up to this version (default: all)", dry_run=DRY_RUN)
@reports_errors
def up(c, to=None, dry_run=False, prod=False, endpoint_url=None, yes=False):
    """Apply the pending migrations in version order; continues one that stopped part-way."""
    _run(c, "up", to, dry_run, prod, endpoint_url, yes)


@target_flags(to="undo the applied migrations above this version (0: all); default: only the latest", dry_run=DRY_RUN)
@reports_errors
def down(c, to=None, dry_run=False, prod=False, endpoint_url=None, yes=False):
    """Undo the latest applied migration (or all above --to), newest first."""
    _run(c, "down", to, dry_run, prod, endpoint_url, yes)
