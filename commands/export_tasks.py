"""export / import: backup, restore and copy in DynamoDB's own export layout (DYNAMODB_JSON)."""

import sys

from .exits import reports_errors
from .flags import PROD, seconds, target_flags, whole_number
from .output import console, status_line
from .targeting import config, confirm, make_client, resolve_target, writer_count


def _rate(items, elapsed):
    return f"{items / elapsed:.0f} items/s" if elapsed > 0 else "instant"


@target_flags(
    out="folder or s3://bucket/prefix to write the export into (run again with the same one to finish an interrupted export)",
    segments="scan in N parallel segments, one data file each, or auto (default: ddb.export_segments, auto: by size and engine)",
    anonymize=(
        "replace people (handles, names, texts, user uuids) and the account id with stand-ins keyed by this "
        "installation's secret (or ddb.anonymize_salt)"
    ),
    table="table to export (default: ddb.table)",
    prod=PROD + "; reads only (--native: AWS writes the export into S3 and bills it, after you confirm)",
    native="AWS's own ExportTableToPointInTime into s3://bucket/prefix (needs point-in-time recovery; billed per GB)",
    incremental="with --native: an incremental export of the changes since --since",
    since="with --incremental: the start of the changes, ISO 8601 with its zone (2026-12-06T10:00:00Z)",
    until="with --incremental: the end of the changes (default: the latest AWS has)",
    view="with --incremental: NEW_AND_OLD_IMAGES (default) or NEW_IMAGE",
)
@reports_errors
def export(
    c,
    out,
    segments=None,
    anonymize=False,
    table=None,
    prod=False,
    endpoint_url=None,
    yes=False,
    native=False,
    incremental=False,
    since=None,
    until=None,
    view=None,
):
    """Export the table into a folder or s3:// prefix in DynamoDB's export layout (DYNAMODB_JSON); resumable."""
    from dataclasses import replace

    if native or incremental or since or until or view:
        return _native_export(
            c, out, segments, anonymize, table, prod, endpoint_url, yes, native, incremental, since, until, view
        )

    from ddb.backup import exporting
    from ddb.backup.anonymize import Anonymizer
    from ddb.backup.location import location
    from ddb.core.target import describe

    chosen = config(c).export_segments if segments is None else segments
    # "auto": by the table's size and engine (ddb.backup.segments), or those of the export being resumed.
    segments = None if str(chosen).strip().lower() == "auto" else whole_number("--segments", chosen, high=1000)
    # A 1 MB page can take a slow local engine (moto) many seconds, more with segments in parallel.
    target = replace(
        resolve_target(c, prod, endpoint_url, table), read_timeout=seconds("ddb.scan_read_timeout", config(c).scan_read_timeout)
    )
    client = make_client(target)
    anonymizer, made_secret = None, None
    if anonymize:
        from ddb.backup.anonymize_secret import anonymize_key, secret_file

        key = anonymize_key(str(config(c).anonymize_salt or ""), secret_file(str(config(c).anonymize_secret_file or "")))
        anonymizer, made_secret = Anonymizer(key.key), key.source if key.created else None
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from .interrupts import stops_on_ctrl_c

    with (
        stops_on_ctrl_c(),
        Progress(
            SpinnerColumn(), TextColumn("exporting: {task.completed} items"), console=console(stderr=True), transient=True
        ) as progress,
    ):
        bar = progress.add_task("exporting", total=None)
        result = exporting.export_table(
            client,
            target.table,
            location(out, target),
            segments=segments,
            anonymizer=anonymizer,
            on_progress=lambda n: progress.advance(bar, n),
        )
    sys.stdout.write(f"{result.directory}\n")
    if result.already_complete:
        status_line(f"export {result.directory} is already complete ({result.item_count} items): nothing to do")
        return
    kept = f"; {result.kept_segments} segment(s) kept from an earlier run" if result.kept_segments else ""
    status_line(
        f"exported {result.item_count} items{' (anonymized)' if result.anonymized else ''} from {describe(target, client)} "
        f"into {len(result.files)} data file(s) in {result.directory}{kept}; {_rate(result.item_count, result.seconds)}"
    )
    if made_secret:
        status_line(f"made this installation's anonymization secret, {made_secret} (0600): keep it to anonymize alike again")


def _native_export(c, out, segments, anonymize, table, prod, endpoint_url, yes, native, incremental, since, until, view):
    """export --native: the flags checked, then `native_tasks.export_native`."""
    from ddb.core.errors import InvalidInput

    from .native_tasks import export_native

    if not native:
        raise InvalidInput("--incremental, --since, --until and --view are for AWS's own export: add --native")
    if segments is not None or anonymize:
        raise InvalidInput("--segments and --anonymize are for an export through this machine, not --native")
    if incremental != (since is not None):
        raise InvalidInput("an incremental export needs both --incremental and --since T")
    if (until is not None or view is not None) and not incremental:
        raise InvalidInput("--until and --view are for an incremental export (--incremental --since T)")
    export_native(c, out, table, prod, endpoint_url, yes, since, until, view)


@target_flags(
    name="import",
    folder="an export folder or s3://bucket/prefix (ours, or AWS's: the prefix above AWSDynamoDB/), or a dynamodump folder",
    table="table to import into (default: ddb.table)",
    dry_run="validate and plan (reads only), write nothing",
    replace="overwrite items that differ from the export's instead of refusing",
    writers="concurrent batch writers (default: ddb.writers)",
    backup_capacity="create a missing table with the backup's provisioned capacity even when above the declared schema's",
    native="AWS's own ImportTable from a full export in S3 into a new table (--table NEW), with the declared keys, GSI, billing",
)
@reports_errors
def import_(
    c,
    folder,
    table=None,
    prod=False,
    endpoint_url=None,
    yes=False,
    dry_run=False,
    replace=False,
    writers=None,
    backup_capacity=False,
    native=False,
):
    """Validate an export (a folder or s3:// prefix) whole, then restore it into the table (created if missing)."""
    import time

    if native:
        from ddb.core.errors import InvalidInput

        from .native_tasks import import_native

        if replace or writers is not None or backup_capacity:
            raise InvalidInput("--replace, --writers and --backup-capacity are for an import through this machine, not --native")
        return import_native(c, folder, table, prod, endpoint_url, yes, dry_run)

    from ddb.backup import importing
    from ddb.backup import source as import_source
    from ddb.backup.location import location
    from ddb.core.target import describe

    from .sentences import import_notes

    target = resolve_target(c, prod, endpoint_url, table)
    writers = writer_count(c, target, writers)
    began = time.monotonic()
    source = import_source.open_source(location(folder, target))
    items = import_source.validate(source)
    status_line(
        f"validated {source.directory}: {items} items in {len(source.files)} data file(s) ({source.kind}) "
        f"in {time.monotonic() - began:.1f} s"
    )
    if source.chain is not None:
        puts = sum(1 for change in source.changes.values() if change.item is not None)
        last = source.chain.increments[-1].end.isoformat() if source.chain.increments else "none"
        status_line(
            f"with {len(source.chain.increments)} incremental export(s) applied on top of it (the last ends {last}): "
            f"{puts} item(s) put, {len(source.changes) - puts} deleted"
            + (f"; {len(source.chain.left_out)} that ended before it left out" if source.chain.left_out else "")
        )
    creation = importing.creation(source, target.table, config(c).billing)
    client = make_client(target)
    if not dry_run:
        action = f"import {items} items into the table (if it is missing, create it {creation.capacity})"
        confirm(target, client, action, yes or False)
    found = importing.plan(
        client,
        target.table,
        source,
        replace=replace,
        policy=target.retries,
        readers=writers,
        billing=config(c).billing,
        backup_capacity=backup_capacity,
    )
    if found.conflicts and not replace:
        raise importing.conflict_error(found)
    if dry_run:
        what = f"create it ({creation.capacity}) and write" if not found.table_exists else "write"
        status_line(
            f"dry run: would {what} {found.to_write} items into {describe(target, client)}"
            + (f" ({len(found.identical)} already there as exported)" if found.identical else "")
            + (" overwriting what differs" if replace and found.table_exists else "")
        )
        for note in import_notes(source, found):
            status_line(note)
        return
    from rich.progress import Progress

    from .interrupts import stops_on_ctrl_c

    with stops_on_ctrl_c(), Progress(console=console(stderr=True), transient=True) as progress:
        bar = progress.add_task("importing", total=found.to_write)
        check = progress.add_task("reading back", total=items, visible=False)  # shown when the writes are done
        result = importing.run(
            client,
            target.table,
            source,
            found,
            writers=writers,
            policy=target.retries,
            on_progress=lambda n: progress.advance(bar, n),
            on_read_back=lambda n: progress.update(check, advance=n, visible=True),
        )
    w = result.written
    created = f" (created from the {result.created}, {found.creation.capacity})" if result.created and found.creation else ""
    for note in import_notes(source, found, result.deleted):
        status_line(note)
    if result.read_back == importing.COUNTED:
        status_line(
            f"the table this import made holds exactly the {result.stored} items it put (DescribeTable's exact count "
            "on this engine): no key read back one by one"
        )
    if result.stream:
        status_line(f"the table's stream: {result.stream}")
    status_line(
        f"imported {w.put} items into {describe(target, client)}{created}: {len(found.identical)} already there, "
        f"{w.retries} retries, {_rate(w.put, result.write_seconds)}; all {result.stored} read back from the table "
        f"in {result.read_back_seconds:.1f} s"
    )
