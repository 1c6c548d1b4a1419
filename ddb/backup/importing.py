"""Restore a validated export into a table: create it if missing, guard existing items, write, read back.

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
   declaration (`ddb.schema.declaration`), and waited for.
4. Items go out through `ddb.bulk.batch` (the zero-loss writer: retries, pacing, unwritten
   keys reported) in one lazy write, while a thread of its own reads and decodes the
   next WRITE_GROUP items from the files (`import_source.read_ahead`), so the writers
   wait for no file and memory holds three groups at most.
5. What is stored is counted: every key of the export is read back (`ddb.backup.readback`,
   keys only, strongly consistent, `writers` calls in flight), so the count is of the
   export's own items, each found once; any missing is named. (A COUNT scan of the table
   would also count items that are not the export's, and on the embedded engine it costs
   minutes for 100,000 items.)
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ddb.backup import live as import_live
from ddb.backup.readback import count_stored, each_stored, key_of
from ddb.backup.source import Source, plain, read_ahead
from ddb.bulk import batch
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import DdbError, Interrupted
from ddb.core.retry import RetryPolicy
from ddb.core.tally import BatchResult
from ddb.data.items import from_typed, to_typed
from ddb.schema import declaration as schema
from ddb.schema import description as table_description

WRITE_GROUP = 5000  # requests handed to the batch writer at once


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
    result = Plan(table, source.item_count, schema.describe(client, table) is not None, replace=replace)
    if not result.table_exists:
        result.creation = _allowed(creation(source, table, billing), backup_capacity)
        return result
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
    created = None
    if found.creation is not None:
        if source.description is not None:
            table_description.create(client, table, source.description)
        else:
            schema.load(client, table, found.creation.capacity.billing)
        created = found.creation.source
    write_began = time.monotonic()
    keep = (lambda typed: key_of(typed) not in found.identical) if found.identical else None
    with contextlib.closing(read_ahead(source, WRITE_GROUP, keep)) as groups:
        requests = ({"PutRequest": {"Item": typed}} for group in groups for typed in group)
        written = _write(client, table, requests, writers, policy, on_progress, stop, found)
    deleted = _delete_superseded(client, table, found, writers, policy)
    write_seconds = time.monotonic() - write_began
    stored = count_stored(client, table, source, policy, readers=writers, on_progress=on_read_back)
    ended = time.monotonic()
    return ImportResult(
        found, created, written, stored, ended - began, write_seconds, ended - write_began - write_seconds, deleted
    )


def _delete_superseded(client: DynamoDBClient, table: str, found: Plan, writers: int, policy: RetryPolicy) -> int:
    """Delete the table's group items that the export's newer ones replace (after those are written)."""
    if not found.superseded:
        return 0
    requests = ({"DeleteRequest": {"Key": to_typed(key)}} for key in found.superseded)
    return batch.write(client, table, requests, writers=writers, policy=policy, capacity=False).deleted


def _write(
    client: DynamoDBClient,
    table: str,
    requests: Iterable[dict],
    writers: int,
    policy: RetryPolicy,
    on_progress: Callable[[int], None] | None,
    stop: threading.Event | None,
    found: Plan,
) -> BatchResult:
    """One lazy batch write of every request: the writers and the pacing carry on across the reader's groups."""
    try:
        # No consumed capacity asked: the import does not report it, and DynamoDB Local slows by a fifth to give it.
        written = batch.write(
            client,
            table,
            requests,
            writers=writers,
            policy=policy,
            on_progress=on_progress,
            stop=stop,
            total=found.to_write,
            capacity=False,
        )
    except Interrupted as exc:  # Ctrl-C, also while the reader was between two groups
        raise _interrupted(exc.result or BatchResult(), found) from None
    if written.stopped:
        raise Interrupted(
            f"stopped: {written.put} of {found.to_write} items written; run the command again to finish",
            written.put,
            found.to_write,
        )
    return written


def _interrupted(total: BatchResult, found: Plan) -> Interrupted:
    return Interrupted(
        f"interrupted: {total.put} of {found.to_write} items written; run the command again to finish "
        "(what is already there is skipped)",
        total.put,
        found.to_write,
    )
