"""What an import reads: a DynamoDB export folder (ours or AWS's) or a dynamodump folder, checked whole.

`open_source(folder)` finds the layout; `validate(source)` reads every file once and
refuses the first problem with one line naming the file (and line): a data file whose
MD5 or item count is not the manifest's, a line that is not `{"Item": {…}}`, an item
that breaks the item contract (`ddb/schemas/item.schema.json`, the 400 KB limit), two
items with one key. Nothing is sent to DynamoDB. `typed_items(source)` then reads the
files again, one line at a time, for the writes; `read_ahead(source, size)` does the same
on a thread of its own and hands over lists of `size` items, a bounded number ahead, so
the files are read and decoded while the caller's requests are in flight.

Export folders: `manifest-summary.json` (version 2020-06-30, DYNAMODB_JSON, a full
export), `manifest-files.json`, data files gzip or plain (a downloaded file may have
been unpacked), empty data files, `_started` and the `.checksum` files (not read).
dynamodump folders: `schema.json` (`{"Table": DescribeTable's answer}`) and
`data/0001.json`, … each a raw Scan page `{"Items": [typed items], "Count": n, …}`.
"""

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import contract
from . import export_layout as layout
from .export_layout import ExportFormatError
from .items import from_typed
from .validate import shown

EXPORT = "DynamoDB export"
DYNAMODUMP = "dynamodump folder"
_BRANCHES = (("CLAIM#GROUP#", "group_claim"), ("CLAIM#PAIR#", "pair_claim"), ("GRP#", "group_item"), ("MSG#", "message_item"))


@dataclass
class Source:
    """A folder to import, as found: its kind, its data files (with manifest entries) and the saved table."""

    kind: str
    directory: Path
    files: list[tuple[Path, layout.DataFile | None]]
    description: dict | None
    declared_items: int | None  # manifest-summary's itemCount (exports only)
    item_count: int = 0  # counted by validate()


def open_source(folder: Path | str) -> Source:
    """The export or dynamodump folder that `folder` is (or holds), with its file list; reads manifests only."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ExportFormatError(f"{folder}: no such folder")
    if (folder / "schema.json").is_file() and not (folder / layout.SUMMARY).is_file():
        pages = sorted((folder / layout.DATA).glob("*.json"))
        return Source(DYNAMODUMP, folder, [(p, None) for p in pages], layout.read_description(folder / "schema.json"), None)
    export_dir = layout.find_export(folder)
    summary = layout.read_summary(export_dir)
    entries = layout.read_file_manifest(export_dir)
    files: list[tuple[Path, layout.DataFile | None]] = [(layout.data_path(export_dir, e.key), e) for e in entries]
    listed = sum(e.item_count for e in entries)
    if listed != summary["itemCount"]:
        raise ExportFormatError(
            f"{export_dir / layout.FILES}: its files hold {listed} items, {layout.SUMMARY} says itemCount {summary['itemCount']}"
        )
    return Source(EXPORT, export_dir, files, layout.read_description(export_dir / layout.DESCRIPTION), summary["itemCount"])


def plain(typed: dict) -> dict:
    """A typed item as plain values (strings without the deserializer: nearly every attribute here)."""
    if all(type(v) is dict and len(v) == 1 and type(v.get("S")) is str for v in typed.values()):
        return {name: value["S"] for name, value in typed.items()}
    return from_typed(typed)


def item_problem(item: dict, line_bytes: int) -> str | None:
    """The first way a plain item breaks the contract, or None.

    The item type is the one its pk names (the four types of the item schema exclude
    each other by pk), so a problem is worded for that type (`user_handle: … is not a
    handle`) rather than as "matches none of the types". The 400 KB check runs only for
    a line longer than the limit: an item's size (UTF-8 names and values) is never
    above the length of its typed JSON line.
    """
    pk = item.get("pk")
    branch = next((name for prefix, name in _BRANCHES if isinstance(pk, str) and pk.startswith(prefix)), None)
    if branch is None:
        return f"pk: {shown(pk)} is not the key of an item type of this table (GRP#, MSG#, CLAIM#GROUP#, CLAIM#PAIR#)"
    problem = contract.first_problem("item", item, branch)
    if problem is None and line_bytes > contract.MAX_ITEM_BYTES:
        problems = contract.item_problems(item)  # the size check
        return problems[-1] if problems else None
    return problem


def _dump_page(path: Path) -> list:
    try:
        page = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ExportFormatError(f"{path}: not readable JSON ({str(exc).splitlines()[0][:120]})") from None
    items = page.get("Items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise ExportFormatError(f'{path}: expected a Scan page {{"Items": […]}}')
    if "Count" in page and page["Count"] != len(items):
        raise ExportFormatError(f"{path}: Count is {page['Count']!r} but it holds {len(items)} items")
    return items


def _records(source: Source) -> Iterator[tuple[Path, int, int, dict]]:
    """(file, line or position, bytes, typed item) of every item, one file at a time."""
    for path, entry in source.files:
        if entry is None:
            for position, typed in enumerate(_dump_page(path), 1):
                if not isinstance(typed, dict) or not typed:
                    raise ExportFormatError(f"{path}: Items[{position - 1}]: expected an object of typed attributes")
                yield path, position, 0, typed
            continue
        for number, line in layout.data_lines(path):
            yield path, number, len(line), layout.typed_item(path, number, line)


def _where(path: Path, number: int, source: Source) -> str:
    return f"{path}:{number}" if source.kind == EXPORT else f"{path}: Items[{number - 1}]"


def validate(source: Source) -> int:
    """Check every file and item of `source` (see the module's docstring); returns the item count."""
    seen: set[bytes] = set()
    total = 0
    for path, entry in source.files:
        if entry is not None:
            layout.check_data_file(path, entry)
        elif not path.is_file():
            raise ExportFormatError(f"{path}: missing")
    counts: dict[Path, int] = {}
    for path, number, size, typed in _records(source):
        item = _plain_or_refuse(typed, path, number, source)
        problem = item_problem(item, size or _json_size(typed))
        if problem:
            raise ExportFormatError(f"{_where(path, number, source)}: {problem}")
        key = hashlib.blake2b(f"{item['pk']}\x00{item['sk']}".encode("utf-8", "surrogatepass"), digest_size=12).digest()
        if key in seen:
            raise ExportFormatError(f"{_where(path, number, source)}: the key {item['pk']}/{item['sk']} is there twice")
        seen.add(key)
        counts[path] = counts.get(path, 0) + 1
        total += 1
    for path, entry in source.files:
        if entry is not None and counts.get(path, 0) != entry.item_count:
            raise ExportFormatError(f"{path}: holds {counts.get(path, 0)} items, manifest-files.json says {entry.item_count}")
    source.item_count = total
    return total


def _json_size(typed: dict) -> int:
    return len(json.dumps(typed, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _plain_or_refuse(typed: dict, path: Path, number: int, source: Source) -> dict:
    try:
        return plain(typed)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ExportFormatError(f"{_where(path, number, source)}: not DynamoDB JSON ({str(exc)[:80]})") from None


def typed_items(source: Source) -> Iterator[dict]:
    """Every typed item of a validated source, read again file by file."""
    for _, _, _, typed in _records(source):
        yield typed


_END = object()


def read_ahead(
    source: Source, size: int, keep: Callable[[dict], bool] | None = None, depth: int = 1
) -> Generator[list[dict], None, None]:
    """The typed items of a validated source (those `keep` accepts) in lists of `size`, read on a thread of its own.

    At most `depth` lists wait ready, so memory holds `depth` + 2 lists whatever the
    export's size. An error of the reading thread is raised here. Closing the generator
    ends that thread: loop over it inside `contextlib.closing`.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    done = threading.Event()

    def hand_over(value: object) -> bool:
        while not done.is_set():
            try:
                ready.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            group: list[dict] = []
            for typed in typed_items(source):
                if keep is None or keep(typed):
                    group.append(typed)
                    if len(group) == size:
                        if not hand_over(group):
                            return
                        group = []
            if group and not hand_over(group):
                return
            hand_over(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            hand_over(exc)

    reader = threading.Thread(target=read, name="import-read-ahead", daemon=True)
    reader.start()
    try:
        while (value := ready.get()) is not _END:
            if isinstance(value, BaseException):
                raise value
            yield value
    finally:
        done.set()
        reader.join()
