"""What an import reads: a DynamoDB export folder (ours or AWS's) or a dynamodump folder, checked whole.

`open_source(folder)` finds the layout; `validate(source)` reads every file once and
refuses the first problem with one line naming the file (and line) and the rule: a data
file whose size, MD5 or item count is not the manifest's, a line longer than one item
can be or beyond the file's item count (so memory and time stay bounded whatever a file
unpacks to), a line that is not `{"Item": {…}}`, an item that breaks a rule of
`ddb.backup.rules` (typed JSON DynamoDB can store, the item contract, the text rules, the
cross-item contract), two items with one key. Nothing is sent to DynamoDB. Locks are left
out and history items restored as `import_rules` says. `typed_items(source)` then reads the
files again, one line at a time, for the writes (`ddb.backup.read_ahead` does it on a thread
of its own, a bounded number of lists ahead).

Export folders: `manifest-summary.json` (version 2020-06-30, DYNAMODB_JSON, a full
export; a prefix holding a full export and incremental ones gets them applied on top of
it: `ddb.backup.incremental`, whose changed items replace or delete the full export's),
`manifest-files.json`, data files gzip or plain (a downloaded file may have
been unpacked), empty data files, `_started` and the `.checksum` files (not read).
dynamodump folders: `schema.json` (`{"Table": DescribeTable's answer}`) and
`data/0001.json`, … each a raw Scan page `{"Items": [typed items], "Count": n, …}`.
"""

import hashlib
import json
import mmap
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ddb.backup import incremental, layout
from ddb.backup.layout import ExportFormatError
from ddb.backup.rules import Conversations, HistoryChange, is_lock, item_problem, restored_history, typed_problem
from ddb.backup.s3_path import S3Path
from ddb.core.aside import Aside
from ddb.core.errors import DdbError
from ddb.data.items import from_typed, to_typed
from ddb.schema import description as table_description

EXPORT = "DynamoDB export"
DYNAMODUMP = "dynamodump folder"
MAX_DUMP_PAGE_BYTES = 8 * 1024 * 1024  # a Scan page holds at most 1 MB of items; dynamodump indents it
CHILD_SHARE = (3, 5)  # the validation child checks 3 records of every 5: this process also holds every rule across items


@dataclass
class Source:
    """A folder to import, as found: its kind, its data files (with manifest entries) and the saved table."""

    kind: str
    directory: Path | S3Path  # a folder, or an S3 prefix (`ddb.backup.location`)
    files: list[tuple[Path | S3Path, layout.DataFile | None]]
    description: dict | None
    declared_items: int | None  # manifest-summary's itemCount (exports only)
    item_count: int = 0  # items to restore, counted by validate() (locks left out)
    conversations: Conversations = field(default_factory=Conversations)  # filled by validate()
    locks: int = 0  # lock items left out
    history: dict[int, str] = field(default_factory=dict)  # migration version → its state as restored
    history_changes: list[HistoryChange] = field(default_factory=list)
    skip: set[tuple[str, str]] = field(default_factory=set)  # keys never written: locks, stale group items
    rewrites: dict[tuple[str, str], dict] = field(default_factory=dict)  # typed items written instead of the exported
    chain: incremental.Chain | None = None  # incremental exports applied on top of this full one
    changes: dict[tuple[str, str], incremental.Change] = field(default_factory=dict)  # their last change per key (validate)

    def restored(self, typed: dict) -> dict | None:
        """The typed item to write for an exported one: itself, its rewrite, or None (left out)."""
        if not self.skip and not self.rewrites:
            return typed
        key = (typed["pk"]["S"], typed["sk"]["S"])
        return None if key in self.skip else self.rewrites.get(key, typed)


def open_source(folder: Path | S3Path | str) -> Source:
    """The export or dynamodump folder (or S3 prefix) that `folder` is (or holds), with its file list; reads manifests only."""
    folder = folder if isinstance(folder, S3Path) else Path(folder)
    if not folder.is_dir():
        raise ExportFormatError(f"{folder}: {'nothing is stored below it' if isinstance(folder, S3Path) else 'no such folder'}")
    if (folder / "schema.json").is_file() and not (folder / layout.SUMMARY).is_file():
        pages: list[Path | S3Path] = sorted((folder / layout.DATA).glob("*.json"), key=str)
        return Source(DYNAMODUMP, folder, [(p, None) for p in pages], _description(folder / "schema.json"), None)
    chain = incremental.find_chain(folder)
    export_dir = chain.full if chain else layout.find_export(folder)
    summary = layout.read_summary(export_dir)
    entries = layout.read_file_manifest(export_dir)
    files: list[tuple[Path | S3Path, layout.DataFile | None]] = [(layout.data_path(export_dir, e.key), e) for e in entries]
    listed = sum(e.item_count for e in entries)
    if listed != summary["itemCount"]:
        raise ExportFormatError(
            f"{export_dir / layout.FILES}: its files hold {listed} items, {layout.SUMMARY} says itemCount {summary['itemCount']}"
        )
    found = Source(EXPORT, export_dir, files, _description(export_dir / layout.DESCRIPTION), summary["itemCount"])
    found.chain = chain
    return found


def _description(path: Path | S3Path) -> dict | None:
    """The saved table description, if there is one, checked: a table of this project can be made from it."""
    description = layout.read_description(path)
    if description is not None:
        table_description.check(description, str(path))
    return description


def plain(typed: dict) -> dict:
    """A typed item as plain values (strings without the deserializer: nearly every attribute here)."""
    if all(type(v) is dict and len(v) == 1 and type(v.get("S")) is str for v in typed.values()):
        return {name: value["S"] for name, value in typed.items()}
    return from_typed(typed)


def _dump_page(path: Path | S3Path) -> list:
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_DUMP_PAGE_BYTES + 1)
        if len(raw) > MAX_DUMP_PAGE_BYTES:
            raise ExportFormatError(f"{path}: larger than {MAX_DUMP_PAGE_BYTES} bytes, more than a Scan page can be")
        page = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ExportFormatError(f"{path}: not readable JSON ({str(exc).splitlines()[0][:120]})") from None
    items = page.get("Items") if isinstance(page, dict) else None
    if not isinstance(items, list):
        raise ExportFormatError(f'{path}: expected a Scan page {{"Items": […]}}')
    if "Count" in page and page["Count"] != len(items):
        raise ExportFormatError(f"{path}: Count is {page['Count']!r} but it holds {len(items)} items")
    return items


def _records(source: Source) -> Iterator[tuple[Path | S3Path, int, int, dict]]:
    """(file, line or position, bytes, typed item) of every item, one file at a time."""
    for path, entry in source.files:
        if entry is None:
            for position, typed in enumerate(_dump_page(path), 1):
                if not isinstance(typed, dict) or not typed:
                    raise ExportFormatError(f"{path}: Items[{position - 1}]: expected an object of typed attributes")
                yield path, position, 0, typed
            continue
        for number, line in layout.data_lines(path, entry.item_count):
            yield path, number, len(line), layout.typed_item(path, number, line)
    for change in source.changes.values():  # the items incremental exports put (validated in validate())
        if change.item is not None:
            yield change.path, change.line, 0, change.item


def _replaced(source: Source, path: Path | S3Path, typed: dict) -> bool:
    """True for an item of the full export that an incremental export changed later (put anew, or deleted)."""
    if not source.changes:
        return False
    change = source.changes.get(incremental.item_key(typed) or ("", ""))
    return change is not None and change.path != path


def _where(path: Path | S3Path, number: int, source: Source) -> str:
    return f"{path}:{number}" if source.kind == EXPORT else f"{path}: Items[{number - 1}]"


def validate(source: Source) -> int:
    """Check every file and item of `source` (see the module's docstring); returns the count of items to restore.

    A local folder's per-item checks are shared with a forked child (`ddb.core.aside`): it
    checks the records CHILD_SHARE picks, this process the rest and every rule across
    items. The first problem in reading order is the one refused, as one process would.
    """
    seen: set[bytes] = set()
    history: list[dict] = []
    if source.chain is not None:
        source.changes = incremental.read_changes(source.chain)
    replaced = 0
    for path, entry in source.files:
        if entry is not None:
            layout.check_data_file(path, entry)
        elif not path.is_file():
            raise ExportFormatError(f"{path}: missing")
    counts: dict[Path | S3Path, int] = {}
    reached = mmap.mmap(-1, 8)  # shared with the child: every record up to this ordinal is checked
    struct.pack_into("q", reached, 0, -1)
    aside = Aside(lambda: _first_item_problem(source, _childs, reached), fork=isinstance(source.directory, Path))
    mine = (lambda ordinal: not _childs(ordinal)) if aside.forked else (lambda ordinal: True)
    ordinal = -1
    try:
        for ordinal, (path, number, size, typed) in enumerate(_records(source)):
            counts[path] = counts.get(path, 0) + 1
            if _replaced(source, path, typed):
                replaced += 1
                continue
            item = _checked(typed, path, number, size, source) if mine(ordinal) else plain(typed)  # else: the child's
            key = hashlib.blake2b(f"{item['pk']}\x00{item['sk']}".encode("utf-8", "surrogatepass"), digest_size=12).digest()
            if key in seen:
                raise ExportFormatError(f"{_where(path, number, source)}: the key {item['pk']}/{item['sk']} is there twice")
            seen.add(key)
            if is_lock(item):
                source.skip.add((item["pk"], item["sk"]))
                source.locks += 1
            elif item["pk"] == "MIGRATION":
                history.append(item)
            elif problem := source.conversations.add(item):
                raise ExportFormatError(f"{_where(path, number, source)}: {problem}")
    except Exception:  # an item the child checks may fail here first: its own problem comes first in reading order
        earlier = _childs_problem(aside, reached, ordinal)
        if earlier is not None and earlier[0] <= ordinal:
            raise earlier[1] from None
        raise
    except BaseException:  # Ctrl-C: no verdict is wanted
        aside.close()
        raise
    earlier = aside.result() if aside.forked else None  # the child's verdict on its share
    if earlier is not None:
        raise earlier[1]
    for path, entry in source.files:
        if entry is not None and counts.get(path, 0) != entry.item_count:
            raise ExportFormatError(f"{path}: holds {counts.get(path, 0)} items, manifest-files.json says {entry.item_count}")
    for item in history:
        restored, change = restored_history(item, source.conversations)
        source.history[int(item["version"])] = restored["state"]
        if change:
            source.rewrites[(item["pk"], item["sk"])] = to_typed(restored)
            source.history_changes.append(change)
    source.item_count = sum(counts.values()) - replaced - source.locks
    return source.item_count


def _childs(ordinal: int) -> bool:
    """The records whose per-item checks the child takes: CHILD_SHARE of them, so both processes end together."""
    return ordinal % CHILD_SHARE[1] < CHILD_SHARE[0]


def _first_item_problem(
    source: Source, share: Callable[[int], bool], reached: mmap.mmap | None = None
) -> tuple[int, ExportFormatError] | None:
    """The first record `share` picks that fails a per-item check: (its ordinal, the error), or None.

    Every 256 records it writes the ordinal it has reached into `reached`, for `_childs_problem`.
    """
    for ordinal, (path, number, size, typed) in enumerate(_records(source)):
        if reached is not None and not ordinal % 256:
            struct.pack_into("q", reached, 0, ordinal - 1)
        if share(ordinal) and not _replaced(source, path, typed):
            try:
                _checked(typed, path, number, size, source)
            except ExportFormatError as refused:
                return ordinal, refused
    return None


def _childs_problem(aside: Aside, reached: mmap.mmap, ordinal: int) -> tuple[int, ExportFormatError] | None:
    """The child's first problem up to `ordinal`, if it forked, or None; it is stopped once it has checked past `ordinal`.

    So a problem near the start of a big export is refused at once, not after the child's whole pass.
    """
    if not aside.forked:
        return None
    while not aside.answered(0.01):
        if struct.unpack_from("q", reached, 0)[0] > ordinal:  # checked past it, and found nothing before
            aside.close()
            return None
    try:
        return aside.result()
    except DdbError:  # the same unreadable record this process stopped at, or after
        return None


def _checked(typed: dict, path: Path | S3Path, number: int, size: int, source: Source) -> dict:
    """The plain item of a record that passes the per-item checks (typed JSON DynamoDB can store, the contract, the text rules)."""
    problem = typed_problem(typed)
    item = _plain_or_refuse(typed, path, number, source) if problem is None else {}
    problem = problem or item_problem(item, size or _json_size(typed))
    if problem:
        raise ExportFormatError(f"{_where(path, number, source)}: {problem}")
    return item


def _json_size(typed: dict) -> int:
    return len(json.dumps(typed, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _plain_or_refuse(typed: dict, path: Path | S3Path, number: int, source: Source) -> dict:
    try:
        return plain(typed)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
        raise ExportFormatError(f"{_where(path, number, source)}: not DynamoDB JSON ({str(exc)[:80]})") from None


def typed_items(source: Source) -> Iterator[dict]:
    """Every typed item of a validated source to restore, read again file by file (rewrites applied, locks left out)."""
    for path, _, _, typed in _records(source):
        restored = None if _replaced(source, path, typed) else source.restored(typed)
        if restored is not None:
            yield restored
