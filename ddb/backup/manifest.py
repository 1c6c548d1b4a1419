"""What an export's manifests say: its data files' names and manifest-summary.json, in AWS's own shapes."""

import base64
import hashlib
from datetime import UTC, datetime

from ddb.backup import layout


def iso(moment: float) -> str:
    """AWS's manifest time format: `2020-11-04T07:28:34.028Z`."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(moment * 1000) % 1000:03d}Z"


def file_name(export_id: str, segment: int) -> str:
    """A data file's name, in the style of AWS's (26 characters of base32), fixed per export and segment."""
    digest = hashlib.sha256(f"{export_id}/{segment}".encode()).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:26] + ".json.gz"


def summary(
    saved: dict,
    export_id: str,
    started: float,
    ended: float,
    files: list[layout.DataFile],
    s3_place: tuple[str, str] | None = None,
) -> dict:
    """manifest-summary.json of a finished export of the table described (as saved) by `saved`.

    The values are the honest local ones: the table's ARN and id as described (anonymized
    in an anonymized export), the S3 bucket and prefix when written to S3 (`s3_place`,
    whose keys are then whole: `<prefix>/AWSDynamoDB/…`), no encryption, nothing billed.
    """
    bucket, prefix = s3_place or (None, None)
    key_prefix = f"{prefix}/" if prefix else ""
    return {
        "version": layout.VERSION,
        "exportArn": f"{saved.get('TableArn', '')}/export/{export_id}",
        "startTime": iso(started),
        "endTime": iso(ended),
        "tableArn": saved.get("TableArn"),
        "tableId": saved.get("TableId"),
        "exportTime": iso(started),
        "s3Bucket": bucket,
        "s3Prefix": prefix if s3_place else None,
        "s3SseAlgorithm": None,
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{key_prefix}{layout.ROOT}/{export_id}/{layout.FILES}",
        "billedSizeBytes": 0,
        "itemCount": sum(f.item_count for f in files),
        "outputFormat": layout.OUTPUT_FORMAT,
        "exportType": layout.EXPORT_TYPE,
    }
