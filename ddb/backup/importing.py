"""Restore a validated export into a table: create it if missing, guard existing items, write, read back, stream.

The order is fixed, and nothing is written before its last check:

1. `import_source.validate` has read every file (no request).
2. If the table exists and `replace` is off, every item of the export is read back from
   it (`ddb.backup.readback`: BatchGetItem, 100 keys a call, strongly consistent, a few calls in
   flight). An item already stored as it is in the export is left alone (so a re-run
   after an interruption only writes what is missing); an item stored *differently* is a
   conflict. Any conflict stops the import with one line naming them, before the first
   write. The price: a full read of the export's keys (its size in read units, halved:
   4 KB units, strongly consistent reads cost double those of eventually consistent
   ones) before writing; `replace=True` skips it and overwrites.
3. A missing table is created from the saved description (the export's
   `table-description.json` or dynamodump's `schema.json`), else from the project's
   declaration (`ddb.schema.declaration`), without its stream, and waited for.
4. Items go out through `ddb.bulk.batch` (`ddb.backup.import_writes`) in one lazy write,
   while a thread of its own reads and decodes the next WRITE_GROUP items from the files
   (`ddb.backup.read_ahead`), so the writers wait for no file and memory holds three
   groups at most.
5. What is stored is counted: every key of the export is read back (`ddb.backup.readback`,
   keys only, strongly consistent, `writers` calls in flight), so the count is of the
   export's own items, each found once; any missing is named. Into a table this import
   created, on DynamoDB Local, the table's exact count proves the same for nothing
   (`ddb.backup.countcheck`), and the read of each key follows when it does not.
6. A created table gets its stream now (`ddb.backup.stream_later`): no stream record of the
   restore, and no consumer could have read one. An existing table keeps its stream.
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ddb.backup import countcheck, stream_later
from ddb.backup import live as import_live
from ddb.backup.import_writes import delete_superseded, write_all
from ddb.backup.read_ahead import read_ahead
from ddb.backup.readback import count_stored, each_stored, key_of
from ddb.backup.source import Source, plain
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError
from ddb.core.retry import RetryPolicy
from ddb.core.tally import BatchResult
from ddb.data.items import from_typed
from ddb.schema import declaration as schema
from ddb.schema import description as table_description

WRITE_GROUP = 5000  # requests handed to the batch writer at once
AFTER_LOAD = "turned on after the load"
AT_CREATION = "at creation"  # the engine refused it after the load: the table made again with it, and loaded again
REFUSED = "left off"  # an existing table without one, on an engine that takes a stream only at creation
READ_EACH, COUNTED = "each key read back", "the table's exact count"


class ImportConflict(DdbError):
    """Items of the export would overwrite different items already in the table; `keys` names them."""

    def __init__(self, message: str, keys: Iterable[tuple] = ()):
        super().__init__(message)
        self.keys = list(keys)


@dataclass
class Plan:
    """What an import will do, found with reads only."""

    table: str
    items: int  # the export's items to restore (locks left out)
    table_exists: bool
    identical: set = field(default_factory=set)  # keys (pk, sk) already stored as in the export
    conflicts: list = field(default_factory=list)  # keys stored differently
    replace: bool = False
    creation: "Creation | None" = None  # how a missing table is made
    stale: int = 0  # the export's group items older than the table's: left out
    superseded: list = field(default_factory=list)  # the table's group item keys older than the export's: deleted
    dropping: list = field(default_factory=list)  # keys whose stored item has attributes the export's lacks
    stream_after: dict | None = None  # the StreamSpecification turned on after the writes (`ddb.backup.stream_later`)

    @property
    def to_write(self) -> int:
        return self.items - len(self.identical) - self.stale


@dataclass(frozen=True)
class Creation:
    """How a missing table would be made: from what, and billed how."""

    source: str  # "saved description" / "project schema"
    capacity: table_description.Capacity


@dataclass
class ImportResult:
    plan: Plan
    created: str | None  # "saved description" / "project schema" / None when the table was there
    written: BatchResult
    stored: int  # the export's items found in the table at the end
    seconds: float  # the whole run
    write_seconds: float  # the write phase alone
    read_back_seconds: float = 0.0  # the final read-back alone
    deleted: int = 0  # the table's superseded group items deleted
    stream: str = ""  # how the table got its stream: AFTER_LOAD, AT_CREATION (with the refusal), REFUSED…; "" as it was
    read_back: str = READ_EACH  # how the items were counted: READ_EACH or COUNTED (`ddb.backup.countcheck`)


def _same(stored: dict, exported: dict) -> bool:
    return stored == exported or from_typed(stored) == plain(exported)


def creation(source: Source, table: str, billing: str = schema.PROVISIONED) -> Creation:
    """How a missing table would be made (no request): from the saved description, else from the declaration."""
    if source.description is None:
        return Creation("project schema", table_description.capacity(schema.table_spec(table, billing)))
    return Creation("saved description", table_description.capacity(source.description))


def _allowed(made: Creation, backup_capacity: bool) -> Creation:
    """`made`, unless it asks for more capacity than the declaration's and the caller did not ask for the backup's."""
    if made.capacity.above(schema.DEFAULT_CAPACITY) and not backup_capacity:
        raise DdbError(
            f"the backup's table description asks for {made.capacity}, above the declared {schema.DEFAULT_CAPACITY} RCU/WCU: "
            "nothing was created (pass --backup-capacity to create the table with the backup's capacity)"
        )
    return made


def plan(
    client: DynamoDBClient,
    table: str,
    source: Source,
    *,
    replace: bool = False,
    policy: RetryPolicy | None = None,
    readers: int = 4,
    on_progress: Callable[[int], None] | None = None,
    billing: str = schema.PROVISIONED,
    backup_capacity: bool = False,
) -> Plan:
    """Find what the import would do, with reads only (see the module's docstring); raises what it refuses."""
    described = schema.describe(client, table)
    result = Plan(table, source.item_count, described is not None, replace=replace)
    result.stream_after = stream_later.wanted(source.description)
    if described is None:
        result.creation = _allowed(creation(source, table, billing), backup_capacity)
        return result
    result.stream_after = stream_later.missing(dict(described), result.stream_after)
    live = import_live.decide(client, table, source, readers=readers)
    result.stale, result.superseded = len(live.stale), live.superseded

    def compare(exported: list[dict], stored: list[dict]) -> None:
        by_key = {key_of(typed): typed for typed in exported}
        for item in stored:
            key = key_of(item)
            if _same(item, by_key[key]):
                result.identical.add(key)
            else:
                result.conflicts.append(key)
                if set(item) - set(by_key[key]):
                    result.dropping.append((key, sorted(set(item) - set(by_key[key]))))
        if on_progress:
            on_progress(len(exported))

    each_stored(client, table, source, compare, policy=policy or RetryPolicy(), readers=readers)
    if result.dropping:
        raise _dropping_error(result)
    return result


def _keys_shown(keys: list) -> str:
    keys = sorted(keys)
    return ", ".join(f"{pk}/{sk}" for pk, sk in keys[:5]) + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def _dropping_error(found: Plan) -> DdbError:
    names = sorted({name for _, dropped in found.dropping for name in dropped})
    return DdbError(
        f"{len(found.dropping)} item(s) of table {found.table!r} hold {', '.join(names)}, which the export's lack "
        f"({_keys_shown([key for key, _ in found.dropping])}): restoring them would remove what was added since "
        "(a migration?); nothing was written; import into a new table (--table)"
    )


def conflict_error(found: Plan) -> ImportConflict:
    return ImportConflict(
        f"{len(found.conflicts)} item(s) of the export would overwrite different items in table {found.table!r}: "
        f"{_keys_shown(found.conflicts)}; nothing was written (pass --replace to overwrite them)",
        sorted(found.conflicts),
    )


def run(
    client: DynamoDBClient,
    table: str,
    source: Source,
    found: Plan,
    *,
    writers: int = 4,
    policy: RetryPolicy | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_read_back: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> ImportResult:
    """Carry out a plan (see the module's docstring); raises ImportConflict before any write when it has conflicts."""
    began = time.monotonic()
    policy = policy or RetryPolicy()
    if found.conflicts and not found.replace:
        raise conflict_error(found)
    if found.dropping:
        raise _dropping_error(found)
    load = _Load(client, table, source, found, writers, policy, on_progress, on_read_back, stop)
    try:
        result = load.run(stream_at_creation=False)
    except BaseException:
        if found.stream_after is not None:  # as setup does: a stopped import leaves the table with its stream
            with contextlib.suppress(Exception):  # the import's own error is the one to report
                stream_later.turn_on(client, table, found.stream_after)
        raise
    if found.stream_after is not None:
        try:
            stream_later.turn_on(client, table, found.stream_after)
            result.stream = AFTER_LOAD
        except schema.StreamRefused as refused:
            if found.creation is None:  # an existing table: its items are in; its stream is the engine's to refuse
                result.stream = f"{REFUSED} ({refused})"
            else:  # the engine takes a stream only in CreateTable: made again with it, and loaded again
                schema.drop(client, table)
                result = load.run(stream_at_creation=True)
                result.stream = f"{AT_CREATION} ({refused})"
    result.seconds = time.monotonic() - began
    return result


@dataclass
class _Load:
    """One pass of an import: create the table if the plan says so, write, delete what is superseded, read back."""

    client: DynamoDBClient
    table: str
    source: Source
    found: Plan
    writers: int
    policy: RetryPolicy
    on_progress: Callable[[int], None] | None
    on_read_back: Callable[[int], None] | None
    stop: threading.Event | None

    def run(self, stream_at_creation: bool) -> ImportResult:
        client, table, source, found = self.client, self.table, self.source, self.found
        began = time.monotonic()
        created = None
        if found.creation is not None:
            created = found.creation.source
            self._create(with_stream=stream_at_creation or found.stream_after is None)
        write_began = time.monotonic()
        keep = (lambda typed: key_of(typed) not in found.identical) if found.identical else None
        with contextlib.closing(read_ahead(source, WRITE_GROUP, keep)) as groups:
            requests = ({"PutRequest": {"Item": typed}} for group in groups for typed in group)
            written = write_all(client, table, requests, self.writers, self.policy, self.on_progress, self.stop, found.to_write)
        deleted = delete_superseded(client, table, found.superseded, self.writers, self.policy)
        write_seconds = time.monotonic() - write_began
        described = dict(schema.describe(client, table) or {}) if created else {}
        if created and countcheck.holds_exactly(client, described, source.item_count, written.put):
            stored, how = source.item_count, COUNTED
            if self.on_read_back:
                self.on_read_back(stored)
        else:
            stored, how = (
                count_stored(client, table, source, self.policy, readers=self.writers, on_progress=self.on_read_back),
                READ_EACH,
            )
        ended = time.monotonic()
        read_back = ended - write_began - write_seconds
        return ImportResult(found, created, written, stored, ended - began, write_seconds, read_back, deleted, "", how)

    def _create(self, with_stream: bool) -> None:
        """Create the missing table (with its stream only when asked) and wait for it."""
        client, table, description = self.client, self.table, self.source.description
        assert self.found.creation is not None
        if description is not None:
            made = description if with_stream else stream_later.without_stream(description)
            table_description.create(client, table, made)
        else:
            schema.load(client, table, self.found.creation.capacity.billing, stream=with_stream)
