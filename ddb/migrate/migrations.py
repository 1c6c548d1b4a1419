"""Versioned data migrations: run them up or down, one run at a time, with their history in the table.

The history is one item per migration, outside the app's key space, all in one
partition so that one query reads it: pk `MIGRATION`, sk the version in 4 digits
(`0001`), with `version`, `description`, `state` (`applying`, `applied` or
`reverting`), `started_at`, `applied_at`, `migrated` (items changed so far in this
direction) and `checkpoint` (where an interrupted backfill resumes: the last key of its
scan, as DynamoDB JSON text). A migration that was undone has no history item.

`up` and `down` take the migrate lock (`ddb.bulk.lease`'s lease lock, on its own item
`LOCK#migrate`), then read the history again and run what is still to run: two runs at
once end as one. Each migration's `progress.checkpoint()` writes its history item, so a
run that crashed continues where its last checkpoint was. `dry_run` reads only.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ddb.bulk.lease import LockWait, SeedLock, exclusive
from ddb.core.awserrors import translated
from ddb.core.clients import DynamoDBClient
from ddb.core.errors import InvalidInput
from ddb.data.items import from_typed, to_typed
from ddb.migrate.files import Migration, load

HISTORY_PK = "MIGRATION"
LOCK_KEY = {"pk": "LOCK#migrate", "sk": "migrate"}
APPLYING, APPLIED, REVERTING = "applying", "applied", "reverting"


def history_key(version: int) -> dict:
    return {"pk": HISTORY_PK, "sk": f"{version:04d}"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def read_history(client: DynamoDBClient, table: str) -> dict[int, dict]:
    """The history items by version (plain items): one strongly consistent query of their partition."""
    found = {}
    with translated(client, table):
        query = {
            "TableName": table,
            "ConsistentRead": True,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": HISTORY_PK}},
        }
        for page in client.get_paginator("query").paginate(**query):
            for item in page.get("Items", []):
                plain = from_typed(item)
                found[int(plain["version"])] = plain
    return found


@dataclass(frozen=True)
class MigrationState:
    """One line of migrate.status: a migration (from its file, its history, or both) and where it stands."""

    version: int
    description: str
    state: str  # pending, applying, applied, reverting
    applied_at: str | None = None
    migrated: int | None = None
    file_missing: bool = False

    def as_json(self) -> dict:
        return self.__dict__.copy()


def status(client: DynamoDBClient, table: str, folder: str | Path) -> list[MigrationState]:
    """Every migration of the folder and every one in the history, in version order."""
    migrations = {m.version: m for m in load(folder)}
    history = read_history(client, table)
    states = []
    for version in sorted(set(migrations) | set(history)):
        entry, migration = history.get(version), migrations.get(version)
        if entry is None:
            states.append(MigrationState(version, migrations[version].description, "pending"))
            continue
        description = migration.description if migration else entry["description"]
        states.append(
            MigrationState(
                version, description, entry["state"], entry.get("applied_at"), entry.get("migrated"), migration is None
            )
        )
    return states


class Progress:
    """What a migration's `up`/`down` is handed: where to resume, and how to record a checkpoint."""

    def __init__(
        self, client: DynamoDBClient, table: str, entry: dict, on_progress: Callable[[int], None] | None, lock: SeedLock | None
    ):
        self._client, self._table, self._entry = client, table, entry
        self._on_progress, self._lock = on_progress, lock
        checkpoint = entry.get("checkpoint")
        self.resume: dict | None = json.loads(checkpoint) if checkpoint else None
        self.migrated: int = int(entry.get("migrated", 0))

    def checkpoint(self, position: dict | None, migrated: int = 0) -> None:
        """Record that the items before `position` are done, `migrated` more of them changed.

        `position` is where a resumed run starts: a scan's LastEvaluatedKey, None at the end.

        Raises LockLost if another run took the migrate lock meanwhile (this run must stop).
        """
        if self._lock:
            self._lock.check()
        self.migrated += migrated
        self._entry["migrated"] = self.migrated
        if position is None:
            self._entry.pop("checkpoint", None)
        else:
            self._entry["checkpoint"] = json.dumps(position, sort_keys=True)
        _put(self._client, self._table, self._entry)
        self.resume = position
        if self._on_progress:
            self._on_progress(self.migrated)


def _put(client: DynamoDBClient, table: str, entry: dict) -> None:
    with translated(client, table):
        client.put_item(TableName=table, Item=to_typed({**entry, "updated_at": _now()}))


@dataclass
class RunResult:
    """What migrate.up or migrate.down did (or, on a dry run, would do): the migrations, in the order run."""

    direction: str  # "up" or "down"
    migrations: list[Migration] = field(default_factory=list)
    migrated: dict[int, int] = field(default_factory=dict)  # version -> items changed by this run
    previews: dict[int, str] = field(default_factory=dict)  # dry run: version -> what `preview` says
    dry_run: bool = False


def _to_run(direction: str, migrations: list[Migration], history: dict[int, dict], to: int | None) -> list[Migration]:
    known = {m.version: m for m in migrations}
    if direction == "up":
        if to is not None and to not in known:
            raise InvalidInput(f"--to {to}: no such migration (known: {', '.join(map(str, known)) or 'none'})")
        return [m for m in migrations if history.get(m.version, {}).get("state") != APPLIED and (to is None or m.version <= to)]
    started = sorted(history, reverse=True)
    if to is not None and to != 0 and to not in known and to not in history:
        raise InvalidInput(f"--to {to}: no such migration; --to 0 undoes them all")
    chosen = started[:1] if to is None else [v for v in started if v > to]
    missing = [v for v in chosen if v not in known]
    if missing:
        raise InvalidInput(
            f"migration {missing[0]} is in the table's history but its file is not in the migrations folder: cannot undo it"
        )
    return [known[v] for v in chosen]


def run(
    client: DynamoDBClient,
    table: str,
    folder: str | Path,
    direction: str,
    *,
    to: int | None = None,
    dry_run: bool = False,
    confirm: Callable[[list[Migration]], None] | None = None,
    lease_seconds: float = 15,
    wait_seconds: float = 600,
    on_wait: Callable[[LockWait], None] | None = None,
    on_start: Callable[[Migration, dict | None], None] | None = None,
    on_progress: Callable[[Migration, int], None] | None = None,
) -> RunResult:
    """Migrate `up` (pending ones, up to version `to`) or `down` (the latest applied, or all above `to`).

    Every file is loaded and checked, and `confirm(migrations)` asked, before the first
    write. `on_start(migration, resume)` is called as each one starts (resume: its
    checkpoint, None from the beginning), `on_progress(migration, migrated)` at each
    checkpoint. Dry run: the migrations that would run and, for `up`, their previews.
    """
    if direction not in ("up", "down"):
        raise InvalidInput(f"direction must be up or down, not {direction!r}")
    migrations = load(folder)
    planned = _to_run(direction, migrations, read_history(client, table), to)
    result = RunResult(direction, dry_run=dry_run)
    if dry_run:
        result.migrations = planned
        for migration in planned if direction == "up" else []:
            preview = getattr(migration.module, "preview", None)
            if callable(preview):
                with translated(client, table):
                    result.previews[migration.version] = str(preview(client, table))
        return result
    if not planned:
        return result
    if confirm:
        confirm(planned)
    with exclusive(
        client, table, lease_seconds=lease_seconds, wait_seconds=wait_seconds, on_wait=on_wait, key=LOCK_KEY, purpose="migrate"
    ) as lock:
        # Under the lock, again: a run that held it before us may have done some (or all) of them.
        for migration in _to_run(direction, migrations, read_history(client, table), to):
            result.migrated[migration.version] = _run_one(client, table, migration, direction, lock, on_start, on_progress)
            result.migrations.append(migration)
    return result


def _run_one(
    client: DynamoDBClient,
    table: str,
    migration: Migration,
    direction: str,
    lock: SeedLock,
    on_start: Callable[[Migration, dict | None], None] | None,
    on_progress: Callable[[Migration, int], None] | None,
) -> int:
    entry = read_history(client, table).get(migration.version)
    state = APPLYING if direction == "up" else REVERTING
    if entry is None or entry.get("state") != state:
        # A fresh start in this direction (a half-done run the other way starts over: both are safe to repeat).
        entry = {
            **history_key(migration.version),
            "version": migration.version,
            "description": migration.description,
            "state": state,
            "started_at": _now(),
            "migrated": 0,
        }
        _put(client, table, entry)
    progress = Progress(client, table, entry, (lambda n: on_progress(migration, n)) if on_progress else None, lock)
    done_before = progress.migrated
    if on_start:
        on_start(migration, progress.resume)
    with translated(client, table):
        getattr(migration.module, direction)(client, table, progress)
    lock.check()
    if direction == "up":
        entry.pop("checkpoint", None)
        _put(client, table, {**entry, "state": APPLIED, "applied_at": _now(), "migrated": progress.migrated})
    else:
        with translated(client, table):
            client.delete_item(TableName=table, Key=to_typed(history_key(migration.version)))
    return progress.migrated - done_before
