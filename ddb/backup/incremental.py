"""Incremental exports (AWS's INCREMENTAL_EXPORT): found beside their full export, read, and applied on top of it.

AWS's layout ("DynamoDB table export output format", incremental export output) is a full
export's, under the same `<prefix>/AWSDynamoDB/<export id>/`:

    manifest-summary.json   exportType INCREMENTAL_EXPORT, exportFromTime, exportToTime, outputView, itemCount
    manifest-files.json     as a full export's: itemCount, md5Checksum, etag, dataFileS3Key per data file
    data/<name>.json.gz     one line per item changed in [exportFromTime, exportToTime):
        {"Metadata": {"WriteTimestampMicros": …}, "Keys": {…}, "OldImage": {…}, "NewImage": {…}}

With the view NEW_AND_OLD_IMAGES an insert has NewImage, an update OldImage and NewImage,
a delete OldImage only; with NEW_IMAGE a delete has Keys only. So, whatever the view, a
line with a NewImage puts that item and a line without one deletes its key. AWS compacts
each export to one line per changed item; should a key come twice, the later write
(WriteTimestampMicros, then the later line) wins.

`find_chain(folder)` finds, below a prefix that holds several exports, the one full export
and the incremental exports that follow it, ordered by their end, each starting no later
than the one before ended (a gap would lose the changes made in it); an incremental export
that ended before the full export was taken is left out. `read_changes(chain)` checks every
file of those incremental exports (sizes, MD5s, counts, line shapes) and returns the last
change of each key, so that `ddb.backup.source` restores the full export's items with those
changes applied: the table as of the last export. Memory holds the changed items (not the
full export's).
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ddb.backup import layout
from ddb.backup.layout import ExportFormatError
from ddb.backup.s3_path import S3Path

Place = Path | S3Path
Key = tuple[str, str]  # (pk, sk)


@dataclass(frozen=True)
class Increment:
    """One incremental export: where it is, and the window of changes it holds."""

    directory: Place
    start: datetime  # exportFromTime, inclusive
    end: datetime  # exportToTime, exclusive
    item_count: int


@dataclass
class Chain:
    """A full export and the incremental exports applied on top of it, in order."""

    full: Place
    taken: datetime  # the full export's exportTime
    increments: list[Increment]
    left_out: list[Place] = field(default_factory=list)  # incremental exports that ended before the full export


@dataclass(frozen=True)
class Change:
    """The last change of one key: the item as it became (None: deleted), and where that was read."""

    item: dict | None
    path: Place
    line: int


def export_dirs(folder: Place) -> list[Place]:
    """Every export folder (holding manifest-summary.json) that `folder` is or holds."""
    if (folder / layout.SUMMARY).is_file():
        return [folder]
    root = folder / layout.ROOT if (folder / layout.ROOT).is_dir() else folder
    return sorted(p.parent for p in root.glob(f"*/{layout.SUMMARY}"))


def parse_time(value: object, where: str, name: str) -> datetime:
    """A manifest's time (`2023-09-01T12:00:00.000Z`) as an aware datetime; one line when it is none."""
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ExportFormatError(f"{where}: {name} is {str(value)[:40]!r}, not a time") from None


def find_chain(folder: Place) -> Chain | None:
    """The full export and its incremental exports below `folder`; None when it holds no incremental export."""
    dirs = export_dirs(folder)
    if len(dirs) < 2:
        return None
    summaries = {d: layout.read_summary(d, export_type=None) for d in dirs}
    fulls = [d for d, s in summaries.items() if s.get("exportType", layout.EXPORT_TYPE) == layout.EXPORT_TYPE]
    partial = [d for d in dirs if d not in fulls]
    if not partial:
        return None  # several full exports: `layout.find_export` asks for one
    if len(fulls) != 1:
        raise ExportFormatError(
            f"{folder} holds {len(fulls)} full exports and {len(partial)} incremental one(s): "
            "give the prefix of one full export and the incremental exports that follow it"
        )
    full = fulls[0]
    taken = parse_time(summaries[full].get("exportTime"), str(full / layout.SUMMARY), "exportTime")
    increments = []
    for d in partial:
        where = str(d / layout.SUMMARY)
        start = parse_time(summaries[d].get("exportFromTime"), where, "exportFromTime")
        end = parse_time(summaries[d].get("exportToTime"), where, "exportToTime")
        if end <= start:
            raise ExportFormatError(f"{where}: exportToTime {end.isoformat()} is not after exportFromTime {start.isoformat()}")
        increments.append(Increment(d, start, end, summaries[d]["itemCount"]))
    chain = Chain(full, taken, [], [i.directory for i in increments if i.end <= taken])
    reached = taken
    for step in sorted((i for i in increments if i.end > taken), key=lambda i: (i.end, i.start)):
        if step.start > reached:
            raise ExportFormatError(
                f"{step.directory}: its changes start at {step.start.isoformat()}, after {reached.isoformat()}, "
                "where the exports before it end: the changes in between are in no export"
            )
        chain.increments.append(step)
        reached = step.end
    return chain


def _stamp(record: dict) -> int:
    """WriteTimestampMicros of a change line (a number, a string, or a typed {"N": …}), 0 when absent."""
    value = (record.get("Metadata") or {}).get("WriteTimestampMicros") if isinstance(record.get("Metadata"), dict) else None
    if isinstance(value, dict):
        value = value.get("N")
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 0


def item_key(image: object) -> Key | None:
    """(pk, sk) of a typed item or key, None when it has no string pk and sk."""
    if not isinstance(image, dict):
        return None
    pk, sk = image.get("pk"), image.get("sk")
    if not (isinstance(pk, dict) and isinstance(sk, dict) and isinstance(pk.get("S"), str) and isinstance(sk.get("S"), str)):
        return None
    return pk["S"], sk["S"]


def change_line(path: Place, number: int, line: str) -> tuple[Key, dict | None, int]:
    """(key, the item as it became or None when deleted, write time) of one line of an incremental export."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ExportFormatError(f"{path}:{number}: not JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(record, dict) or "Item" in record:
        raise ExportFormatError(
            f'{path}:{number}: expected {{"Keys": {{…}}, "NewImage": {{…}}}}, a change of an incremental export'
        )
    key = item_key(record.get("Keys"))
    if key is None:
        raise ExportFormatError(f"{path}:{number}: Keys must hold pk and sk as strings")
    image = record.get("NewImage")
    if image is not None and item_key(image) != key:
        raise ExportFormatError(f"{path}:{number}: NewImage is not of the key {key[0]}/{key[1]} its Keys name")
    return key, image, _stamp(record)


def read_increment(step: Increment) -> dict[Key, Change]:
    """The last change of each key of one incremental export, every file checked against its manifest."""
    entries = layout.read_file_manifest(step.directory)
    listed = sum(e.item_count for e in entries)
    if listed != step.item_count:
        raise ExportFormatError(
            f"{step.directory / layout.FILES}: its files hold {listed} items, {layout.SUMMARY} says itemCount {step.item_count}"
        )
    found: dict[Key, tuple[int, Change]] = {}
    for entry in entries:
        path = layout.data_path(step.directory, entry.key)
        layout.check_data_file(path, entry)
        lines = 0
        for number, line in layout.data_lines(path, entry.item_count):
            lines += 1
            key, image, stamp = change_line(path, number, line)
            if key not in found or stamp >= found[key][0]:
                found[key] = (stamp, Change(image, path, number))
        if lines != entry.item_count:
            raise ExportFormatError(f"{path}: holds {lines} changes, manifest-files.json says {entry.item_count}")
    return {key: change for key, (_, change) in found.items()}


def read_changes(chain: Chain) -> dict[Key, Change]:
    """The last change of every key over the chain's incremental exports, applied in order (a later export wins)."""
    changes: dict[Key, Change] = {}
    for step in chain.increments:
        changes.update(read_increment(step))
    return changes
