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

import contextlib
import gzip
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from ddb.backup import layout
from ddb.backup import manifest as export_manifest
from ddb.backup.anonymize import Anonymizer
from ddb.backup.export_files import HashingWriter
from ddb.backup.location import Location, Writable, open_out
from ddb.backup.manifest import file_name
from ddb.backup.progress import PROGRESS, Progress, Source, recorded_segments, start_or_resume, table_account
from ddb.backup.segments import default_segments
from ddb.bulk.scan import PARALLEL_PAGE_ITEMS, typed_pages
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError, Interrupted, TableMissing
from ddb.schema import declaration as schema
from ddb.schema import description as table_description

__all__ = ["PROGRESS", "ExportResult", "export_table", "file_name"]
MAX_THREADS = 16
Where = TypeVar("Where", bound=Location)


@dataclass
class ExportResult(Generic[Where]):
    """What an export run did, and where the export is."""

    directory: Where  # the export folder (or S3 prefix): <out>/AWSDynamoDB/<export id>
    export_id: str
    item_count: int
    files: list[layout.DataFile]
    segments: int
    kept_segments: int  # finished by an earlier run and kept
    seconds: float
    already_complete: bool = False
    anonymized: bool = False
    summary: dict = field(default_factory=dict)


def export_table(
    client: DynamoDBClient,
    table: str,
    out: Where,
    *,
    segments: int | None = 1,
    anonymizer: Anonymizer | None = None,
    page_size: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> ExportResult[Where]:
    """Export `table` into `out`, a folder or an S3 prefix (`ddb.backup.location`; see the module's docstring).

    `segments=None` chooses them by the table's size and engine (`ddb.backup.segments`), or
    takes those of the unfinished export in `out` it resumes. `on_progress(n)` is called
    with the items of each page written. Setting `stop`, or
    Ctrl-C, ends the run after the pages in flight: raises Interrupted, the finished
    segments kept for the next run.
    """
    began = time.monotonic()
    if segments is not None and segments < 1:
        raise ValueError(f"segments must be at least 1, not {segments}")
    description = schema.describe(client, table)  # before anything is written to `out`
    if description is None:
        raise TableMissing(f"table {table!r} does not exist at {client.meta.endpoint_url}: nothing to export")
    saved = table_description.as_json(description)
    if anonymizer is not None:
        saved = anonymizer.description(saved, table_account(description))
    with contextlib.ExitStack() as folders:
        folder = open_out(out)
        folders.callback(folder.close)
        if segments is None:
            segments = recorded_segments(folder) or default_segments(client, dict(description))
        source = Source.of(client, table, description, segments, anonymizer)
        progress = start_or_resume(folder, source)
        try:
            done = _export(client, folder, progress, saved, page_size, anonymizer, on_progress, stop, began, folders)
            return cast(ExportResult[Where], done)  # its directory is below `out`: a folder's, or an S3 prefix's
        except BaseException:
            if not progress.state["finished"]:  # nothing worth keeping: leave nothing that blocks `out`
                progress.remove([file_name(progress.export_id, s) + ".part" for s in range(segments)])
            raise


def _export(
    client: DynamoDBClient,
    folder: Writable,
    progress: Progress,
    saved: dict,
    page_size: int | None,
    anonymizer: Anonymizer | None,
    on_progress: Callable[[int], None] | None,
    stop: threading.Event | None,
    began: float,
    folders: contextlib.ExitStack,
) -> ExportResult[Location]:
    source_segments = progress.state["segments"]
    export_id = progress.export_id
    root = _opened(folders, folder.child(layout.ROOT, create=True))
    export = _opened(folders, root.child(export_id, create=True))
    files = progress.entries()
    done = export.read_text(layout.SUMMARY)
    if done is not None:
        try:
            summary = json.loads(done)
            count = int(summary["itemCount"])
        except (ValueError, KeyError, TypeError):
            raise DdbError(f"{export.path / layout.SUMMARY} is damaged: give another --out and export again") from None
        return ExportResult(
            export.path,
            export_id,
            count,
            files,
            source_segments,
            len(files),
            time.monotonic() - began,
            True,
            anonymizer is not None,
            summary,
        )
    data = _opened(folders, export.child(layout.DATA, create=True))
    export.write_atomically(layout.STARTED, "")
    export.write_atomically(layout.DESCRIPTION, json.dumps({"Table": saved}, indent=1))
    kept = len(progress.state["finished"])
    todo = [s for s in range(source_segments) if str(s) not in progress.state["finished"]]
    stop = stop or threading.Event()
    if source_segments > 1 and not page_size:
        page_size = PARALLEL_PAGE_ITEMS
    table = progress.state["table"]
    s3_place = folder.s3_place
    key_prefix = f"{s3_place[1]}/" if s3_place and s3_place[1] else ""  # S3 keys are whole; a folder's are relative to it
    keys = Keys(export_id, key_prefix)
    _run_segments(client, table, data, keys, todo, source_segments, page_size, anonymizer, progress, on_progress, stop)
    files = progress.entries()
    ended = progress.state.get("last_finished_at") or time.time()
    summary = export_manifest.summary(saved, export_id, progress.state["started_at"], ended, files, s3_place)
    export.write_manifests(summary, files)
    return ExportResult(
        export.path,
        export_id,
        summary["itemCount"],
        files,
        source_segments,
        kept,
        time.monotonic() - began,
        False,
        anonymizer is not None,
        summary,
    )


@dataclass(frozen=True)
class Keys:
    """How an export names its data files: its id, and the S3 key prefix its manifests put before them."""

    export_id: str
    prefix: str

    def data_key(self, name: str) -> str:
        """dataFileS3Key of the data file `name`."""
        return f"{self.prefix}{layout.ROOT}/{self.export_id}/{layout.DATA}/{name}"


def _opened(folders: contextlib.ExitStack, found: Writable | None) -> Writable:
    assert found is not None  # made when missing
    folders.callback(found.close)
    return found


class _Stopped(Exception):
    """A segment left off because the run was asked to stop."""


def _run_segments(
    client: DynamoDBClient,
    table: str,
    data: Writable,
    keys: Keys,
    todo: list[int],
    segments: int,
    page_size: int | None,
    anonymizer: Anonymizer | None,
    progress: Progress,
    on_progress: Callable[[int], None] | None,
    stop: threading.Event,
) -> None:
    export_id = keys.export_id

    def one(segment: int):
        name = file_name(export_id, segment)
        count = 0
        with data.data_file(name) as raw:
            hashing = HashingWriter(raw, data.path / (name + ".part"))
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
        digest = hashing.md5.digest()
        etag = getattr(raw, "etag", "") or digest.hex()  # S3's own (`<hex>-<parts>` when multipart); a file's: its MD5
        entry = layout.DataFile(count, layout.md5_checksum(digest), etag, keys.data_key(name))
        progress.finish(segment, entry, time.time())

    for segment in todo:  # a part file left by a run that stopped is started again
        data.unlink(file_name(export_id, segment) + ".part")
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
