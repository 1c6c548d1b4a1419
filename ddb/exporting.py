"""Export a table to a folder in DynamoDB's own export layout (DYNAMODB_JSON), streamed and resumable.

The table is scanned in `segments` parallel segments; each segment is written, page by
page, into its own gzip data file, so memory holds about one page per segment however
large the table. A data file is written under a `.part` name and renamed into place
only when its segment is complete and on disk; then it is recorded in
`<out>/.export-progress.json` with its item count and MD5. The manifests are written
last, atomically, and list only recorded files: an export that stops part-way leaves
no manifest at all, and never one that claims an unfinished file.

Run again with the same `out` (and the same number of segments), an unfinished export
goes on where it stopped: recorded segments are kept, the others are scanned again
from their start (one segment is the unit of resume). A finished export is left as it
is. The items of a resumed export were read at different times, as those of any scan
are: an export is a copy of the items, not a point-in-time snapshot.
"""

import base64
import gzip
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import export_layout as layout
from . import schema, table_description
from .anonymize import Anonymizer
from .clients import DynamoDBClient
from .errors import DdbError, Interrupted, TableMissing
from .scan import PARALLEL_PAGE_ITEMS, typed_pages

PROGRESS = ".export-progress.json"
MAX_THREADS = 16


@dataclass
class ExportResult:
    """What an export run did, and where the export is."""

    directory: Path  # the export folder: <out>/AWSDynamoDB/<export id>
    export_id: str
    item_count: int
    files: list[layout.DataFile]
    segments: int
    kept_segments: int  # finished by an earlier run and kept
    seconds: float
    already_complete: bool = False
    anonymized: bool = False
    summary: dict = field(default_factory=dict)


def _iso(moment: float) -> str:
    """AWS's manifest time format: `2020-11-04T07:28:34.028Z`."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(moment * 1000) % 1000:03d}Z"


def file_name(export_id: str, segment: int) -> str:
    """A data file's name, in the style of AWS's (26 characters of base32), fixed per export and segment."""
    digest = hashlib.sha256(f"{export_id}/{segment}".encode()).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:26] + ".json.gz"


class _Progress:
    """The progress file: which segments are finished, written atomically after each one."""

    def __init__(self, path: Path, state: dict):
        self.path, self.state, self.lock = path, state, threading.Lock()

    def finish(self, segment: int, entry: layout.DataFile, finished_at: float):
        with self.lock:
            self.state["finished"][str(segment)] = entry.as_json()
            self.state["last_finished_at"] = finished_at
            layout.write_atomically(self.path, json.dumps(self.state, indent=1))

    def entries(self) -> list[layout.DataFile]:
        finished = self.state["finished"]
        return [
            layout.DataFile(e["itemCount"], e["md5Checksum"], e["etag"], e["dataFileS3Key"])
            for _, e in sorted(finished.items(), key=lambda pair: int(pair[0]))
        ]


def _start_or_resume(out: Path, table: str, segments: int, anonymized: bool) -> _Progress:
    path = out / PROGRESS
    if path.is_file():
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            known = (state["table"], state["segments"], state["anonymized"], state["export_id"], state["finished"])
        except (OSError, ValueError, KeyError, TypeError):
            raise DdbError(f"{path} is damaged: delete {out} (or give another --out) and export again") from None
        if known[:3] != (table, segments, anonymized):
            was = f"table {state['table']!r}, --segments {state['segments']}{', --anonymize' if state['anonymized'] else ''}"
            raise DdbError(
                f"{out} holds an export started with {was}: run it again the same way to finish it, or give another --out"
            )
        return _Progress(path, state)
    if (out / layout.ROOT).exists():
        raise DdbError(f"{out} already holds {layout.ROOT}/ but no {PROGRESS}: give an empty or new folder to --out")
    started = time.time()
    export_id = f"{int(started * 1000):014d}-{secrets.token_hex(4)}"
    state = {
        "table": table,
        "segments": segments,
        "anonymized": anonymized,
        "export_id": export_id,
        "started_at": started,
        "finished": {},
    }
    out.mkdir(parents=True, exist_ok=True)
    layout.write_atomically(path, json.dumps(state, indent=1))
    return _Progress(path, state)


def export_table(
    client: DynamoDBClient,
    table: str,
    out: Path | str,
    *,
    segments: int = 1,
    anonymizer: Anonymizer | None = None,
    page_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> ExportResult:
    """Export `table` into `out` (see the module's docstring); returns what was done.

    `on_progress(n)` is called with the items of each page written. Setting `stop`, or
    Ctrl-C, ends the run after the pages in flight: raises Interrupted, the finished
    segments kept for the next run.
    """
    began = time.monotonic()
    out = Path(out)
    if segments < 1:
        raise ValueError(f"segments must be at least 1, not {segments}")
    progress = _start_or_resume(out, table, segments, anonymizer is not None)
    export_id = progress.state["export_id"]
    export_dir = out / layout.ROOT / export_id
    summary_path = export_dir / layout.SUMMARY
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        files = progress.entries()
        return ExportResult(
            export_dir,
            export_id,
            summary["itemCount"],
            files,
            segments,
            len(files),
            time.monotonic() - began,
            already_complete=True,
            anonymized=anonymizer is not None,
            summary=summary,
        )
    description = schema.describe(client, table)
    if description is None:
        raise TableMissing(f"table {table!r} does not exist at {client.meta.endpoint_url}: nothing to export")
    (export_dir / layout.DATA).mkdir(parents=True, exist_ok=True)
    (export_dir / layout.STARTED).touch()
    saved = {"Table": table_description.as_json(description)}
    layout.write_atomically(export_dir / layout.DESCRIPTION, json.dumps(saved, indent=1))
    kept = len(progress.state["finished"])
    todo = [s for s in range(segments) if str(s) not in progress.state["finished"]]
    stop = stop or threading.Event()
    if segments > 1 and not page_size:
        page_size = PARALLEL_PAGE_ITEMS
    _run_segments(client, table, export_dir, export_id, todo, segments, page_size, anonymizer, progress, on_progress, stop)
    files = progress.entries()
    started = progress.state["started_at"]
    summary = {
        "version": layout.VERSION,
        "exportArn": f"{description.get('TableArn', '')}/export/{export_id}",
        "startTime": _iso(started),
        "endTime": _iso(progress.state.get("last_finished_at") or time.time()),
        "tableArn": description.get("TableArn"),
        "tableId": description.get("TableId"),
        "exportTime": _iso(started),
        "s3Bucket": None,
        "s3Prefix": None,
        "s3SseAlgorithm": None,
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": f"{layout.ROOT}/{export_id}/{layout.FILES}",
        "billedSizeBytes": 0,
        "itemCount": sum(f.item_count for f in files),
        "outputFormat": layout.OUTPUT_FORMAT,
        "exportType": layout.EXPORT_TYPE,
    }
    layout.write_manifests(export_dir, summary, files)
    return ExportResult(
        export_dir,
        export_id,
        summary["itemCount"],
        files,
        segments,
        kept,
        time.monotonic() - began,
        anonymized=anonymizer is not None,
        summary=summary,
    )


class _Stopped(Exception):
    """A segment left off because the run was asked to stop."""


def _run_segments(
    client: DynamoDBClient,
    table: str,
    export_dir: Path,
    export_id: str,
    todo: list[int],
    segments: int,
    page_size: int | None,
    anonymizer: Anonymizer | None,
    progress: _Progress,
    on_progress: Callable[[int], None] | None,
    stop: threading.Event,
) -> None:
    def one(segment: int):
        name = file_name(export_id, segment)
        final = export_dir / layout.DATA / name
        part = final.with_name(name + ".part")
        count = 0
        with open(part, "wb") as raw:
            hashing = layout.HashingWriter(raw)
            with gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=6, mtime=0) as packed:
                pages = typed_pages(client, table, segment=segment, total_segments=segments, page_size=page_size)
                try:
                    for page in pages:
                        if stop.is_set():
                            raise _Stopped
                        if anonymizer is not None:
                            page = [anonymizer.item(item) for item in page]
                        packed.write("".join(json.dumps({"Item": item}, ensure_ascii=False) + "\n" for item in page).encode())
                        count += len(page)
                        if on_progress and page:
                            on_progress(len(page))
                finally:
                    pages.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, final)
        digest = hashing.md5.digest()
        key = f"{layout.ROOT}/{export_id}/{layout.DATA}/{name}"
        entry = layout.DataFile(count, layout.md5_checksum(digest), digest.hex(), key)
        progress.finish(segment, entry, time.time())

    for segment in todo:  # a part file left by a run that stopped is started again
        (export_dir / layout.DATA / (file_name(export_id, segment) + ".part")).unlink(missing_ok=True)
    if not todo:
        return
    pool = ThreadPoolExecutor(max_workers=min(len(todo), MAX_THREADS), thread_name_prefix="export-segment")
    futures = [pool.submit(one, s) for s in todo]
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                stop.set()
                break
    except KeyboardInterrupt:
        stop.set()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    errors = [f.exception() for f in futures if not f.cancelled() and f.done()]
    real = [e for e in errors if e is not None and not isinstance(e, _Stopped)]
    if real:
        raise real[0]
    if stop.is_set():
        finished = len(progress.state["finished"])
        raise Interrupted(
            f"interrupted: {finished} of {segments} segments exported; run the same command again to finish", finished, segments
        )
