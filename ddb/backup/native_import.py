"""AWS's own import of a full export in S3 into a new table (ImportTable): checked, started, awaited, counted, streamed.

`plan_import` reads, before anything is asked of AWS: the export's manifests (a full
export in DYNAMODB_JSON, `ddb.backup.layout`), its `data/` prefix, which must hold exactly
the data files manifest-files.json names (ImportTable imports every object below the
prefix it is given), and the target table, which must not exist (`TableExists`, one line,
as AWS refuses it: ImportTable only creates). The table is the declared one
(`ddb.schema.declaration`: keys, GSI, billing) without its stream, which ImportTable
cannot create. `start` sends ImportTable (InputFormat DYNAMODB_JSON, compression GZIP, the
`data/` prefix) with a client token; `wait` polls DescribeImport at a bounded interval
until it ends. `finish` compares the items AWS imported with the manifest's itemCount
(`ImportCountMismatch` when they differ; the stream is then left off), then turns the
declared stream on (`schema.enable_stream`) and describes the table.

The data files are not read here: AWS reads them, which is the point for a large table.
Their sizes (HeadObject) give the estimate when the manifest has no billed size. An
incremental export cannot be imported this way: `invoke import` (not native) applies it.
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ddb.backup import layout
from ddb.backup.aws_job import wait_for_job
from ddb.backup.layout import ExportFormatError
from ddb.backup.s3_path import S3Path
from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError, InvalidInput
from ddb.schema import declaration as schema

FORMAT = "DYNAMODB_JSON"
COMPRESSION = "GZIP"
POLL = 2.0  # seconds before the first DescribeImport, doubled after each ...
MAX_POLL = 30.0  # ... up to this
TIMEOUT = 24 * 3600.0
# TableCreationParameters takes these of CreateTable's request (not the stream, nor the table's other settings).
CREATION_KEYS = (
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
)
# What ImportTable needs beyond the DynamoDB actions (AWS's "Requesting a table import"): reading the
# objects, and CloudWatch Logs, where it writes the items it could not import.
S3_ACTIONS = ("s3:GetObject", "s3:ListBucket")
LOGS_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "logs:PutRetentionPolicy",
)
LOG_GROUP = "/aws-dynamodb/imports"


class TableExists(DdbError):
    """ImportTable creates its table: a name already taken is refused, as AWS refuses it."""


class ImportFailed(DdbError):
    """AWS refused the import or ended it FAILED or CANCELLED: one line with its code and message."""


class ImportCountMismatch(DdbError):
    """The import ended with another item count than the manifest's."""


@dataclass(frozen=True)
class ImportPlan:
    """A native import, checked with reads only: from where, into which new table, how much."""

    table: str
    bucket: str
    data_prefix: str  # the key prefix ImportTable reads: `<export>/data/`
    export: str  # the export folder, shown
    item_count: int  # the manifest's itemCount
    files: int
    size_bytes: int  # the size priced: the manifest's billedSizeBytes, else the data files' stored size
    size_source: str  # "billed size of the export" / "stored size of its data files (compressed: a lower bound)"
    creation: dict  # TableCreationParameters


def creation_parameters(table: str, billing: str = schema.PROVISIONED) -> dict:
    """ImportTable's TableCreationParameters: the declared table (keys, GSI, billing) without its stream."""
    spec = schema.table_spec(table, billing)
    return {name: spec[name] for name in CREATION_KEYS if name in spec}


def _stored_size(path: S3Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise ExportFormatError(f"{path}: missing (manifest-files.json lists it)") from None
    except OSError as exc:
        raise ExportFormatError(f"{path}: not readable ({exc.strerror or exc})") from None


def plan_import(client: DynamoDBClient, where: "S3Path | Path", table: str, billing: str = schema.PROVISIONED) -> ImportPlan:
    """The native import of the full export at (or below) `where` into the new table `table`; raises what it refuses."""
    if not isinstance(where, S3Path):
        raise InvalidInput(f"{where}: AWS imports from S3 only: give an s3://bucket/prefix")
    export_dir = layout.find_export(where)
    assert isinstance(export_dir, S3Path)
    summary = layout.read_summary(export_dir)
    entries = layout.read_file_manifest(export_dir)
    if sum(e.item_count for e in entries) != summary["itemCount"]:
        raise ExportFormatError(f"{export_dir / layout.FILES}: its files do not hold the itemCount {summary['itemCount']}")
    data = export_dir / layout.DATA
    named = {layout.data_path(export_dir, e.key).name for e in entries}
    stored = {path.name: path for path in data.glob("*")}
    if set(stored) != named:
        extra, missing = sorted(set(stored) - named), sorted(named - set(stored))
        what = f"{len(missing)} data file(s) missing ({', '.join(missing[:3])})" if missing else ""
        what += ("; " if what else "") + (f"{len(extra)} object(s) no manifest names ({', '.join(extra[:3])})" if extra else "")
        raise ExportFormatError(f"{data}: {what}: ImportTable would import every object below it")
    if schema.describe(client, table) is not None:
        raise TableExists(f"table {table!r} already exists: ImportTable creates a new table only; choose another --table")
    billed = summary.get("billedSizeBytes")
    if type(billed) is int and billed > 0:
        size, source = billed, "billed size of the export"
    else:
        size, source = sum(_stored_size(p) for p in stored.values()), "stored size of its data files (compressed: a lower bound)"
    return ImportPlan(
        table,
        export_dir.bucket,
        f"{data.key}/",
        str(export_dir),
        summary["itemCount"],
        len(entries),
        size,
        source,
        creation_parameters(table, billing),
    )


def request(plan: ImportPlan, token: str) -> dict:
    """The ImportTable request of `plan`."""
    return {
        "ClientToken": token,
        "S3BucketSource": {"S3Bucket": plan.bucket, "S3KeyPrefix": plan.data_prefix},
        "InputFormat": FORMAT,
        "InputCompressionType": COMPRESSION,
        "TableCreationParameters": plan.creation,
    }


def _line(exc: BaseException) -> str:
    message = (getattr(exc, "response", None) or {}).get("Error", {}).get("Message", "") or str(exc)
    return f"{error_code(exc) or type(exc).__name__}: {message.splitlines()[0][:300] if message else 'no message'}"


def start(client: DynamoDBClient, plan: ImportPlan) -> str:
    """Send ImportTable; its ARN. TableExists when AWS finds the name taken after all."""
    from botocore.exceptions import ClientError

    with translated(client, plan.table):
        try:
            answer = client.import_table(**request(plan, str(uuid.uuid4())))
        except ClientError as exc:
            if error_code(exc) == "ResourceInUseException":
                raise TableExists(f"table {plan.table!r} already exists: ImportTable creates a new table only") from None
            if error_code(exc) in ("LimitExceededException", "ImportConflictException", "ValidationException"):
                raise ImportFailed(f"AWS did not start the import into table {plan.table!r}: {_line(exc)}") from None
            raise
    return str(answer["ImportTableDescription"]["ImportArn"])


def wait(
    client: DynamoDBClient,
    arn: str,
    *,
    on_progress: Callable[[dict, float], None] | None = None,
    poll: float = POLL,
    max_poll: float = MAX_POLL,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Poll DescribeImport until the import ends; its last description when COMPLETED, else ImportFailed."""

    def describe() -> dict:
        with translated(client):
            return dict(client.describe_import(ImportArn=arn)["ImportTableDescription"])

    def timed_out(status: str) -> DdbError:
        return ImportFailed(f"the import {arn} is still {status} after {timeout:g} s: it goes on in AWS; look again later")

    described, _ = wait_for_job(
        describe,
        "ImportStatus",
        timed_out=timed_out,
        on_progress=on_progress,
        poll=poll,
        max_poll=max_poll,
        timeout=timeout,
        sleep=sleep,
    )
    status = described.get("ImportStatus")
    if status == "COMPLETED":
        return described
    code, message = described.get("FailureCode") or status, described.get("FailureMessage") or "no message"
    errors = described.get("ErrorCount") or 0
    logged = f"; {errors} item error(s), logged in CloudWatch Logs {LOG_GROUP}" if errors else ""
    raise ImportFailed(f"the import {arn} ended {status}: {code}: {str(message).splitlines()[0][:300]}{logged}")


@dataclass(frozen=True)
class ImportResult:
    """A finished native import: the table made, its counts, its stream."""

    arn: str
    table: str
    imported: int  # ImportedItemCount
    processed_bytes: int
    errors: int
    stream_arn: str
    seconds: float


def finish(client: DynamoDBClient, plan: ImportPlan, described: dict, seconds: float = 0.0) -> ImportResult:
    """Compare the imported count with the manifest's, then turn the declared stream on (see the module's docstring)."""
    imported = int(described.get("ImportedItemCount") or 0)
    errors = int(described.get("ErrorCount") or 0)
    if imported != plan.item_count:
        logged = f" ({errors} item error(s), logged in CloudWatch Logs {LOG_GROUP})" if errors else ""
        raise ImportCountMismatch(
            f"table {plan.table!r} was imported with {imported} items, the export's manifest says {plan.item_count}{logged}: "
            "its stream was left off; check it, then drop it and import again"
        )
    table = schema.enable_stream(client, plan.table)
    return ImportResult(
        str(described.get("ImportArn") or ""),
        plan.table,
        imported,
        int(described.get("ProcessedSizeBytes") or 0),
        errors,
        str(table.get("LatestStreamArn") or ""),
        seconds,
    )
