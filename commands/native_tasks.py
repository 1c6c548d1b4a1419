"""export --native / import --native: AWS's own ExportTableToPointInTime and ImportTable, from the command line.

Called by `export_tasks.export` and `export_tasks.import_` when `--native` is given. Each
checks with reads only (`ddb.backup.native_export` / `native_import`), prices the run at
`ddb.prices` (`ddb.modeling.pricing.TransferPrices`), asks on prod with the bucket, the
region and account, the table and the estimate (`--yes` for CI; no terminal and no
`--yes`: refused, nothing asked of AWS), then starts the job and waits for it with a
progress line. Ctrl-C while waiting leaves the job running in AWS and says its ARN.
"""

import sys
from datetime import UTC, datetime

from invoke import Exit

from ddb.core.errors import InvalidInput

from .interrupts import INTERRUPTED as INTERRUPTED_CODE
from .output import console, status_line
from .targeting import config, confirm, make_client, resolve_target

PITR_HINT = ": declare it and turn it on with `invoke schema-apply --prod --pitr` (or ddb.point_in_time_recovery: true)"


def transfer_prices(c):
    """`ddb.prices`' three transfer prices, each a price in USD (one line naming a bad one)."""
    from ddb.modeling import pricing

    given = config(c).prices
    values = {}
    for name in ("export_gb", "incremental_export_gb", "import_gb"):
        try:
            values[name] = float(given[name])
        except (KeyError, TypeError, ValueError):
            values[name] = -1.0
        if not 0 <= values[name] <= 1000:
            raise InvalidInput(
                f"ddb.prices.{name} must be a price in USD per GB from 0 to 1000, not {str(given.get(name))[:40]!r}"
            )
    return pricing.TransferPrices(**values, taken=str(given.get("transfer_taken", "?")), region=str(given.get("region", "?")))


def size_text(size: int) -> str:
    """Bytes for people: 1.5 GB, 20.0 KB, 512 B (units of 1024, as AWS bills GB)."""
    for unit, scale in (("TB", 1024**4), ("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} B"


def dollars(amount: float) -> str:
    return f"${amount:.2f}" if amount >= 0.01 or amount == 0 else f"${amount:.6f}"


def parse_time(flag: str, text: str | None) -> datetime | None:
    """An ISO 8601 time with its zone (`2026-12-06T10:00:00Z`, `…+01:00`); one line for anything else."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{flag} must be an ISO 8601 time such as 2026-12-06T10:00:00Z, not {str(text)[:40]!r}") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{flag} {text!r} has no time zone: add Z (UTC) or an offset such as +01:00")
    return moment.astimezone(UTC)


def _s3_place(out: str) -> tuple[str, str]:
    from ddb.backup.location import is_s3_url, parse_s3_url

    if not is_s3_url(out):
        raise InvalidInput(f"--native exports into S3, not a folder: give s3://bucket/prefix, not {str(out)[:80]!r}")
    return parse_s3_url(out)


def export_native(c, out, table=None, prod=False, endpoint_url=None, yes=False, since=None, until=None, view=None):
    """AWS's export of the table into s3://bucket/prefix: checked, confirmed, started, awaited, reported."""
    from ddb.backup import native_export
    from ddb.modeling.pricing import transfer_cost

    bucket, prefix = _s3_place(out)
    target = resolve_target(c, prod, endpoint_url, table)
    client = make_client(target)
    prices = transfer_prices(c)
    try:
        plan = native_export.plan_export(
            client,
            target.table,
            since=parse_time("--since", since),
            until=parse_time("--until", until),
            view=view or "NEW_AND_OLD_IMAGES",
        )
    except native_export.PitrOff as exc:
        raise native_export.PitrOff(f"{exc}{PITR_HINT}") from None
    incremental = plan.export_type == native_export.INCREMENTAL
    per_gb = prices.incremental_export_gb if incremental else prices.export_gb
    estimate = transfer_cost(plan.size_bytes, per_gb)
    priced = (
        f"estimated at most {dollars(estimate)}: billed per GB of changes processed at {dollars(per_gb)}/GB, "
        f"the table holds {size_text(plan.size_bytes)}"
        if incremental
        else f"estimated {dollars(estimate)}: {size_text(plan.size_bytes)} at {dollars(per_gb)}/GB"
    )
    kind = (
        f"an incremental export (changes since {plan.since.isoformat() if plan.since else '?'})"
        if incremental
        else "a full export"
    )
    where = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    confirm(target, client, f"start AWS's {kind} of the table into {where} ({priced}; prices of {prices.taken})", yes or False)
    arn = native_export.start(client, plan, bucket, prefix)
    status_line(f"started {arn}")
    try:
        result = _wait(lambda on: native_export.wait(client, arn, on_progress=on), "ExportStatus", "exporting")
    except KeyboardInterrupt:
        raise Exit(
            f"interrupted: the export goes on in AWS: {arn} (follow it with `aws dynamodb describe-export --export-arn {arn}`)",
            code=INTERRUPTED_CODE,
        ) from None
    folder = f"s3://{result.bucket}/{result.folder}" if result.folder else where
    sys.stdout.write(f"{folder}\n")
    cost = transfer_cost(result.billed_bytes, per_gb)
    status_line(f"export {result.arn}: {result.export_type}, completed in {result.seconds:.0f} s into {folder}")
    status_line(
        f"{result.item_count} items; billed size {size_text(result.billed_bytes)} ({result.billed_bytes} bytes): "
        f"{dollars(cost)} at {dollars(per_gb)}/GB ({prices.region} price of {prices.taken})"
    )


def _wait(run, status_name: str, doing: str):
    """`run(on_progress)` under a transient progress line: the job's status and the seconds waited."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console(stderr=True), transient=True) as progress:
        line = progress.add_task(f"{doing}: starting", total=None)

        def on_progress(described: dict, elapsed: float) -> None:
            counted = described.get("ItemCount", described.get("ImportedItemCount"))
            items = f", {counted} items" if counted else ""
            progress.update(line, description=f"{doing}: {described.get(status_name, '?')}{items}, {elapsed:.0f} s")

        return run(on_progress)


def import_native(c, folder, table=None, prod=False, endpoint_url=None, yes=False, dry_run=False):
    """AWS's import of a full export in S3 into a new table: checked, confirmed, started, awaited, counted, streamed."""
    import time

    from ddb.backup import native_import
    from ddb.backup.location import is_s3_url, location
    from ddb.core.target import describe
    from ddb.modeling.pricing import transfer_cost

    if table is None:
        raise InvalidInput("--native needs --table NEW: ImportTable creates a new table")
    if not is_s3_url(folder):
        raise InvalidInput(f"--native imports from S3 only: give s3://bucket/prefix, not {str(folder)[:80]!r}")
    target = resolve_target(c, prod, endpoint_url, table)
    client = make_client(target)
    prices = transfer_prices(c)
    plan = native_import.plan_import(client, location(folder, target), target.table, config(c).billing)
    estimate = transfer_cost(plan.size_bytes, prices.import_gb)
    priced = f"estimated {dollars(estimate)}: {size_text(plan.size_bytes)} ({plan.size_source}) at {dollars(prices.import_gb)}/GB"
    status_line(f"checked {plan.export}: {plan.item_count} items in {plan.files} data file(s); {priced}")
    if dry_run:
        status_line(
            f"dry run: would create {describe(target, client)} with ImportTable from s3://{plan.bucket}/{plan.data_prefix}"
        )
        return
    action = (
        f"create the table with AWS's ImportTable from s3://{plan.bucket}/{plan.data_prefix} ({priced}; prices of {prices.taken})"
    )
    confirm(target, client, action, yes or False)
    began = time.monotonic()
    arn = native_import.start(client, plan)
    status_line(f"started {arn}")
    try:
        described = _wait(lambda on: native_import.wait(client, arn, on_progress=on), "ImportStatus", "importing")
    except KeyboardInterrupt:
        raise Exit(
            f"interrupted: the import goes on in AWS: {arn} (follow it with `aws dynamodb describe-import --import-arn {arn}`); "
            f"once it completes, turn the declared stream on with `INVOKE_DDB_TABLE={target.table} invoke schema-apply --prod`",
            code=INTERRUPTED_CODE,
        ) from None
    result = native_import.finish(client, plan, described, time.monotonic() - began)
    status_line(
        f"imported {result.imported} items into {describe(target, client)} in {result.seconds:.0f} s, as the manifest says; "
        f"{size_text(result.processed_bytes)} processed, {dollars(transfer_cost(result.processed_bytes, prices.import_gb))} "
        f"at {dollars(prices.import_gb)}/GB; stream on ({result.stream_arn or 'no ARN given'})"
    )
