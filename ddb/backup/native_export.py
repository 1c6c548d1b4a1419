"""AWS's own export of the table to S3 (ExportTableToPointInTime): checked, started, awaited, reported.

`plan_export` reads what the export needs before anything is asked of AWS: the table's
ARN and size (DescribeTable) and its point-in-time recovery (DescribeContinuousBackups),
which every export needs: off, it is `PitrOff`, one line. `start` asks for the export
(DYNAMODB_JSON, full, or incremental over [since, until) with the view asked for) with a
client token, so a request retried after a lost answer starts no second export. `wait`
polls DescribeExport at a bounded interval (doubling from `poll` up to `max_poll`),
telling `on_progress` each answer, until it is COMPLETED (the result) or FAILED
(`ExportFailed`, AWS's code and message). The export runs in AWS whatever happens here:
a caller stopped while waiting (Ctrl-C) leaves it running, and its ARN, which `start`
returned, says where to follow it.

AWS writes `<prefix>/AWSDynamoDB/<export id>/` (manifests, `data/*.json.gz`: the layout
`ddb.backup.layout` reads), so `invoke import s3://…` restores it into any engine. The
size AWS bills (BilledSizeBytes) is priced by the caller (`ddb.modeling.pricing`).
"""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ddb.backup.aws_job import wait_for_job
from ddb.core.awserrors import error_code, translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError, TableMissing
from ddb.schema import declaration as schema

FULL = "FULL_EXPORT"
INCREMENTAL = "INCREMENTAL_EXPORT"
FORMAT = "DYNAMODB_JSON"
VIEWS = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE")  # ExportViewType; AWS's default is the first
POLL = 2.0  # seconds before the first DescribeExport, doubled after each ...
MAX_POLL = 30.0  # ... up to this
TIMEOUT = 24 * 3600.0  # an export of a large table takes hours; past a day the caller is told to look again
# What DynamoDB needs of S3 to write an export into the bucket, on behalf of the caller (AWS's
# "Requesting a table export": the caller's policy must allow them on the bucket's objects).
S3_ACTIONS = ("s3:AbortMultipartUpload", "s3:PutObject", "s3:PutObjectAcl")


class PitrOff(DdbError):
    """The table's point-in-time recovery is off: AWS exports only a table that has it."""


class ExportFailed(DdbError):
    """AWS refused the export, or the export ended FAILED: one line with AWS's code and message."""


@dataclass(frozen=True)
class ExportPlan:
    """What the export will read, found with reads only: the table, its ARN and its size."""

    table: str
    table_arn: str
    size_bytes: int  # DescribeTable's TableSizeBytes (AWS updates it about every six hours)
    item_count: int  # DescribeTable's ItemCount (as stale)
    export_type: str
    since: datetime | None = None
    until: datetime | None = None
    view: str = VIEWS[0]


@dataclass(frozen=True)
class ExportResult:
    """A finished export: where it is, what it holds and what AWS bills for it."""

    arn: str
    bucket: str
    prefix: str  # the prefix asked for
    folder: str  # the key prefix of the export's own folder (`<prefix>/AWSDynamoDB/<id>`), "" when AWS did not say
    item_count: int
    billed_bytes: int
    export_type: str
    seconds: float


def pitr_enabled(client: DynamoDBClient, table: str) -> bool:
    """True when the table's point-in-time recovery is ENABLED (DescribeContinuousBackups)."""
    with translated(client, table):
        answer = client.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    return (answer.get("PointInTimeRecoveryDescription") or {}).get("PointInTimeRecoveryStatus") == "ENABLED"


def plan_export(
    client: DynamoDBClient,
    table: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    view: str = VIEWS[0],
) -> ExportPlan:
    """The export of `table` (incremental when `since` is given), checked with reads only; PitrOff when it cannot run."""
    from ddb.core.errors import Hint, InvalidInput

    if view not in VIEWS:
        raise InvalidInput(f"the view of an incremental export is {' or '.join(VIEWS)}, not {view!r}")
    if until is not None and since is None:
        raise InvalidInput("an export's end time is for an incremental export: give its start too")
    if since is not None and until is not None and until <= since:
        raise InvalidInput(f"an incremental export's end {until.isoformat()} must come after its start {since.isoformat()}")
    live = schema.describe(client, table)
    if live is None:
        raise TableMissing(f"table {table!r} does not exist: there is nothing to export", hint=Hint.CREATE_TABLE)
    if not pitr_enabled(client, table):
        raise PitrOff(f"point-in-time recovery is off for table {table!r}, and AWS exports only a table that has it")
    kind = FULL if since is None else INCREMENTAL
    size, count = int(live.get("TableSizeBytes", 0)), int(live.get("ItemCount", 0))
    return ExportPlan(table, live["TableArn"], size, count, kind, since, until, view)


def request(plan: ExportPlan, bucket: str, prefix: str, token: str) -> dict:
    """The ExportTableToPointInTime request for `plan` into `s3://bucket/prefix`."""
    asked: dict = {
        "TableArn": plan.table_arn,
        "S3Bucket": bucket,
        "ExportFormat": FORMAT,
        "ExportType": plan.export_type,
        "ClientToken": token,
    }
    if prefix:
        asked["S3Prefix"] = prefix
    if plan.export_type == INCREMENTAL:
        window: dict = {"ExportFromTime": plan.since, "ExportViewType": plan.view}
        if plan.until is not None:
            window["ExportToTime"] = plan.until
        asked["IncrementalExportSpecification"] = window
    return asked


def _failed(exc: BaseException, doing: str) -> ExportFailed:
    message = (getattr(exc, "response", None) or {}).get("Error", {}).get("Message", "") or str(exc)
    return ExportFailed(f"{doing}: {error_code(exc) or type(exc).__name__}: {message.splitlines()[0][:300] if message else ''}")


def start(client: DynamoDBClient, plan: ExportPlan, bucket: str, prefix: str) -> str:
    """Ask AWS for the export; its ARN. PitrOff when AWS finds point-in-time recovery off after all."""
    from botocore.exceptions import ClientError

    asked = request(plan, bucket, prefix, str(uuid.uuid4()))
    with translated(client, plan.table):
        try:
            answer = client.export_table_to_point_in_time(**asked)
        except ClientError as exc:
            if error_code(exc) in ("PointInTimeRecoveryUnavailableException", "PointInTimeRecoveryUnavailable"):
                raise PitrOff(
                    f"point-in-time recovery is off for table {plan.table!r}, and AWS exports only a table that has it"
                ) from None
            if error_code(exc) in ("InvalidExportTimeException", "ExportConflictException", "LimitExceededException"):
                raise _failed(exc, f"AWS did not start the export of table {plan.table!r}") from None
            raise
    return str(answer["ExportDescription"]["ExportArn"])


def folder_of(description: dict) -> str:
    """The key prefix of the export's folder, from ExportManifest (else the ARN's export id); "" when neither says."""
    prefix = (description.get("S3Prefix") or "").strip("/")
    manifest = (description.get("ExportManifest") or "").strip("/")
    if manifest.endswith("/manifest-summary.json"):
        folder = manifest.rsplit("/", 1)[0]
        return folder if not prefix or folder.startswith(f"{prefix}/") else f"{prefix}/{folder}"
    arn = description.get("ExportArn") or ""
    if "/export/" in arn:
        export_id = arn.rsplit("/export/", 1)[1]
        return f"{prefix}/AWSDynamoDB/{export_id}" if prefix else f"AWSDynamoDB/{export_id}"
    return ""


def wait(
    client: DynamoDBClient,
    arn: str,
    *,
    on_progress: Callable[[dict, float], None] | None = None,
    poll: float = POLL,
    max_poll: float = MAX_POLL,
    timeout: float = TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> ExportResult:
    """Poll DescribeExport until the export ends (see the module's docstring); its result, or ExportFailed."""

    def describe() -> dict:
        with translated(client):
            return dict(client.describe_export(ExportArn=arn)["ExportDescription"])

    def timed_out(status: str) -> DdbError:
        return ExportFailed(f"the export {arn} is still {status} after {timeout:g} s: it goes on in AWS; look again later")

    described, elapsed = wait_for_job(
        describe,
        "ExportStatus",
        timed_out=timed_out,
        on_progress=on_progress,
        poll=poll,
        max_poll=max_poll,
        timeout=timeout,
        sleep=sleep,
    )
    if described.get("ExportStatus") != "COMPLETED":
        code, message = described.get("FailureCode") or "FAILED", described.get("FailureMessage") or "no message"
        raise ExportFailed(f"the export {arn} failed: {code}: {str(message).splitlines()[0][:300]}")
    return ExportResult(
        arn,
        str(described.get("S3Bucket", "")),
        str(described.get("S3Prefix") or ""),
        folder_of(described),
        int(described.get("ItemCount") or 0),
        int(described.get("BilledSizeBytes") or 0),
        str(described.get("ExportType") or FULL),
        elapsed,
    )
