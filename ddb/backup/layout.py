"""The on-disk layout of a DynamoDB table export (DYNAMODB_JSON), as AWS writes it to S3.

    <out>/AWSDynamoDB/<export id>/_started                 empty: the export has begun
    <out>/AWSDynamoDB/<export id>/manifest-summary.json    one JSON object (version 2020-06-30)
    <out>/AWSDynamoDB/<export id>/manifest-summary.checksum
    <out>/AWSDynamoDB/<export id>/manifest-files.json      JSON Lines: itemCount, md5Checksum, etag, dataFileS3Key
    <out>/AWSDynamoDB/<export id>/manifest-files.checksum
    <out>/AWSDynamoDB/<export id>/data/<name>.json.gz      JSON Lines of {"Item": {typed attributes}}
    <out>/AWSDynamoDB/<export id>/table-description.json   ours: {"Table": DescribeTable's answer}

`md5Checksum` is the base64 of the binary MD5 of the data file's bytes (the gzip file,
as stored); `etag` is S3's ETag: the hex MD5 for a file uploaded in one part, which is
what we write; a multipart upload's ETag (`<hex>-<parts>`) cannot be checked without
the part size, so readers check md5Checksum only. AWS does not document the contents of
the two `.checksum` files; ours hold the hex MD5 of the manifest beside them, and
nothing here reads them. The table description is not part of AWS's layout: DynamoDB's
"Import from S3" takes the key schema as a parameter, so point it at the `data/` prefix.

This module only knows files: the names, the checksums, reading manifests and data lines
(gzip or plain). Each file is a `pathlib.Path` or an `S3Path` (`ddb.backup.s3_path`: an
S3 object read as a stream, with the same few methods), so every check here is the same
for a folder and for S3; it sends no request of its own. An export writes them through
`export_files` (a folder, never following a link it did not create) or `s3_folder`.
"""

import base64
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ddb.backup.s3_path import S3Path
from ddb.core.errors import DdbError

VERSION = "2020-06-30"
OUTPUT_FORMAT = "DYNAMODB_JSON"
EXPORT_TYPE = "FULL_EXPORT"
INCREMENTAL_TYPE = "INCREMENTAL_EXPORT"
# An incremental export's manifest-summary.json carries the version of its own format (AWS documents 2023-08-01).
VERSIONS = (VERSION, "2023-08-01")
ROOT = "AWSDynamoDB"
SUMMARY = "manifest-summary.json"
FILES = "manifest-files.json"
STARTED = "_started"
DESCRIPTION = "table-description.json"
DATA = "data"
_GZIP_MAGIC = b"\x1f\x8b"
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit
# The longest data line one item can make: JSON may spend 6 bytes (\u0001) on one byte of an
# item's size, plus the typed wrapping of its attributes. A longer line is no item.
MAX_LINE_BYTES = 6 * MAX_ITEM_BYTES + 64 * 1024
MAX_MANIFEST_BYTES = 16 * 1024 * 1024  # manifest-files.json at about 200 bytes a line: 80,000 data files
MAX_SMALL_JSON_BYTES = 4 * 1024 * 1024  # manifest-summary.json, a saved table description
_SLACK_LINES = 1  # a data file may end with one blank line


class ExportFormatError(DdbError):
    """An export (or dump) folder that is not what it claims: one line naming the file and the line."""


@dataclass(frozen=True)
class DataFile:
    """One line of manifest-files.json."""

    item_count: int
    md5_checksum: str
    etag: str
    key: str  # dataFileS3Key as written

    def as_json(self) -> dict:
        return {"itemCount": self.item_count, "md5Checksum": self.md5_checksum, "etag": self.etag, "dataFileS3Key": self.key}


def md5_checksum(digest: bytes) -> str:
    """manifest-files.json's md5Checksum: base64 of the binary MD5."""
    return base64.b64encode(digest).decode("ascii")


def file_md5(path: Path | S3Path) -> bytes:
    """The binary MD5 of the file at `path` (manifests carry it as base64 and as hex), read as a stream."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "md5").digest()


def find_export(folder: Path | S3Path) -> Path | S3Path:
    """The export folder (the one holding manifest-summary.json) that `folder` is or holds."""
    if (folder / SUMMARY).is_file():
        return folder
    root = folder / ROOT if (folder / ROOT).is_dir() else folder
    found = sorted(p.parent for p in root.glob(f"*/{SUMMARY}"))
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(str(p) for p in found[:3])
        raise ExportFormatError(f"{folder} holds {len(found)} exports ({names}…): give the one to import")
    raise ExportFormatError(
        f"{folder}: no {SUMMARY} here or in {ROOT}/<export id>/, and no dynamodump schema.json: not an export"
    )


def _json_file(path: Path | S3Path, limit: int = MAX_MANIFEST_BYTES):
    """A small JSON file (a manifest, a saved description), refused past `limit` bytes before it is parsed."""
    try:
        with path.open("rb") as file:
            raw = file.read(limit + 1)
    except FileNotFoundError:
        raise ExportFormatError(f"{path}: missing") from None
    except OSError as exc:
        raise ExportFormatError(f"{path}: not readable ({_short(exc)})") from None
    if len(raw) > limit:
        raise ExportFormatError(f"{path}: larger than {limit} bytes: not a file of an export")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ExportFormatError(f"{path}: not readable JSON ({_short(exc)})") from None


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def read_summary(export_dir: Path | S3Path, export_type: str | None = EXPORT_TYPE) -> dict:
    """manifest-summary.json, checked for what an import needs: version, format, export type, item count.

    `export_type` is the exportType asked for (a full export by default); None takes a full
    or an incremental one (`ddb.backup.incremental` reads the latter).
    """
    path = export_dir / SUMMARY
    summary = _json_file(path, MAX_SMALL_JSON_BYTES)
    if not isinstance(summary, dict):
        raise ExportFormatError(f"{path}: expected a JSON object")
    kind = summary.get("exportType", EXPORT_TYPE)
    if summary.get("version") not in (VERSIONS if kind == INCREMENTAL_TYPE else (VERSION,)):
        raise ExportFormatError(f"{path}: version is {summary.get('version')!r}, this tool reads {VERSION!r}")
    if summary.get("outputFormat") != OUTPUT_FORMAT:
        raise ExportFormatError(
            f"{path}: outputFormat is {summary.get('outputFormat')!r}; only {OUTPUT_FORMAT} is read "
            "(export again in DynamoDB JSON, not Amazon Ion)"
        )
    if kind not in ((EXPORT_TYPE, INCREMENTAL_TYPE) if export_type is None else (export_type,)):
        also = "; an incremental export is applied on top of its full export: give the prefix holding both"
        raise ExportFormatError(
            f"{path}: exportType is {summary.get('exportType')!r}; only a {EXPORT_TYPE} can be restored"
            + (also if kind == INCREMENTAL_TYPE else "")
        )
    if type(summary.get("itemCount")) is not int or summary["itemCount"] < 0:
        raise ExportFormatError(f"{path}: itemCount is {summary.get('itemCount')!r}, not a count")
    return summary


def read_file_manifest(export_dir: Path | S3Path) -> list[DataFile]:
    """The lines of manifest-files.json, each checked for its four fields."""
    path = export_dir / FILES
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ExportFormatError(f"{path}: larger than {MAX_MANIFEST_BYTES} bytes: not a manifest of an export")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ExportFormatError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportFormatError(f"{path}: not readable ({_short(exc)})") from None
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise ExportFormatError(f"{path}:{number}: not JSON ({_short(exc)})") from None
        if not isinstance(entry, dict):
            raise ExportFormatError(f"{path}:{number}: expected a JSON object")
        count, md5, etag, key = (entry.get(k) for k in ("itemCount", "md5Checksum", "etag", "dataFileS3Key"))
        if type(count) is not int or count < 0 or not isinstance(md5, str) or not isinstance(key, str) or not key:
            raise ExportFormatError(f"{path}:{number}: needs itemCount (a count), md5Checksum and dataFileS3Key")
        entries.append(DataFile(count, md5, etag if isinstance(etag, str) else "", key))
    return entries


def data_path(export_dir: Path | S3Path, key: str) -> Path | S3Path:
    """Where the data file named by `dataFileS3Key` is in a downloaded export: <export>/data/<its name>.

    The key holds the S3 prefix the export was written under; a download keeps only the
    folder below it, so the file is looked up by name.
    """
    name = key.rsplit("/", 1)[-1]
    if name in ("", ".", "..") or "\\" in name:
        raise ExportFormatError(f"{export_dir / FILES}: dataFileS3Key {key[:80]!r} names no file")
    return export_dir / DATA / name


def check_data_file(path: Path | S3Path, entry: DataFile) -> None:
    """Refuse a data file whose bytes are not the ones the manifest names (md5Checksum, and a one-part etag).

    A file larger than its `itemCount` items can make is refused before a byte of it is read.
    """
    try:
        size = path.stat().st_size if path.is_file() else None
        if size is None:
            raise ExportFormatError(f"{path}: missing (manifest-files.json lists it)")
        if size > (entry.item_count + _SLACK_LINES) * MAX_LINE_BYTES:
            raise ExportFormatError(
                f"{path}: {size} bytes, more than its {entry.item_count} item(s) can fill (manifest-files.json): not the file exported"
            )
        digest = file_md5(path)
    except OSError as exc:
        raise ExportFormatError(f"{path}: not readable ({_short(exc)})") from None
    if md5_checksum(digest) != entry.md5_checksum:
        raise ExportFormatError(
            f"{path}: MD5 is {md5_checksum(digest)}, manifest-files.json says {entry.md5_checksum[:40]}: "
            "the file is damaged or not the one exported"
        )
    if entry.etag and "-" not in entry.etag and entry.etag.strip('"') != digest.hex():
        raise ExportFormatError(f"{path}: etag {entry.etag[:40]} is not the file's MD5 {digest.hex()}")


def data_lines(path: Path | S3Path, item_count: int | None = None) -> Iterator[tuple[int, str]]:
    """(line number, line) of a data file, gzip or plain, one bounded line at a time.

    However the file was crafted, memory holds one line of at most MAX_LINE_BYTES: a
    longer line is refused, and so is a file with more lines (blank ones included) than
    `item_count` items make, so a gzip file that unpacks to gigabytes is refused early.
    """
    lines_allowed = None if item_count is None else item_count + _SLACK_LINES
    try:
        with path.open("rb") as stored, gzip.GzipFile(fileobj=stored) if stored.peek(2)[:2] == _GZIP_MAGIC else stored as file:
            number = 0
            while raw := file.readline(MAX_LINE_BYTES + 1):
                number += 1
                if len(raw) > MAX_LINE_BYTES:
                    raise ExportFormatError(f"{path}:{number}: longer than {MAX_LINE_BYTES} bytes, more than one item can be")
                if lines_allowed is not None and number > lines_allowed:
                    raise ExportFormatError(
                        f"{path}:{number}: more lines than the {item_count} item(s) manifest-files.json gives it"
                    )
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ExportFormatError(f"{path}:{number}: not UTF-8 ({_short(exc)})") from None
                if line.strip():
                    yield number, line
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise ExportFormatError(f"{path}: not readable ({_short(exc)})") from None


def typed_item(path: Path | S3Path, number: int, line: str) -> dict:
    """The typed item of one data line `{"Item": {...}}`."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ExportFormatError(f"{path}:{number}: not JSON ({_short(exc)})") from None
    item = record.get("Item") if isinstance(record, dict) else None
    if not isinstance(item, dict) or not item:
        raise ExportFormatError(f'{path}:{number}: expected {{"Item": {{…}}}}')
    return item


def read_description(path: Path | S3Path) -> dict | None:
    """The `Table` of a saved DescribeTable answer (ours or dynamodump's schema.json), or None when absent."""
    if not path.is_file():
        return None
    document = _json_file(path, MAX_SMALL_JSON_BYTES)
    table = document.get("Table") if isinstance(document, dict) else None
    if not isinstance(table, dict) or not isinstance(table.get("KeySchema"), list):
        raise ExportFormatError(f'{path}: expected {{"Table": {{…, "KeySchema": […]}}}}, a DescribeTable answer')
    return table
