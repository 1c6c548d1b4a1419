"""The status sentences the tasks say on stderr, built from what the library returns."""

from ddb.core.errors import Hint
from ddb.core.target import describe

from .exits import worded


def plan_counts(plan) -> str:
    return f"{plan.conversations} conversations, {plan.messages} messages, {plan.groups} group items, {plan.claims} group claims"


def plan_way(plan) -> str:
    """How the seed found the stale items: `planned by one scan of 20,301 items` (a `ddb.seed.seeding.SeedPlan`)."""
    if plan.way == "empty":
        return "planned with no reads: the table held no app items"
    if plan.way == "scan":
        return f"planned by one scan of the table's keys ({plan.table_items} items)"
    known = f", cheaper than a scan of {plan.table_items} items" if plan.table_items else ""
    return f"planned by key queries ({4 * plan.conversations} queries{known})"


def seed_dry_run(plan, target, client) -> str:
    return (
        f"dry run: fixtures valid; would write {plan.put_count} items ({plan_counts(plan)}) and delete "
        f"{len(plan.deletes)} stale items in {describe(target, client)}; {plan_way(plan)}"
    )


def seeded(result) -> str:
    """`seeded 3 conversations, …: 40 put, 0 stale deleted, …` (with the provisioned share and the pacing, if any)."""
    w = result.written
    share = result.share_of_provisioned
    of_table = ""
    if share is not None and share > 1.5:  # a local engine's table claims 5 WCU and admits thousands
        of_table = (
            f", past the table's {result.provisioned_wcu} provisioned WCU: burst capacity, or an engine that does not enforce it"
        )
    elif share is not None:
        of_table = f", {share:.2f} of the table's {result.provisioned_wcu} provisioned WCU"
    paced = f"; throttled {w.throttled} times" if w.throttled else ""
    reported = f", {w.consumed_wcu / result.seconds if result.seconds else 0:.0f} WCU/s reported" if w.capacity_reported else ""
    if w.paced_rate is not None:
        paced += f", paced to {w.paced_rate:.0f} WCU/s (lowest {w.lowest_rate:.0f})"
    return (
        f"seeded {plan_counts(result.plan)}: {w.put} put, {w.deleted} stale deleted, {w.retries} retries, "
        f"{result.items_per_second:.0f} items/s ({result.units_per_second:.0f} WCU/s by item size{of_table})"
        f"{reported}{paced}; "
        f"{plan_way(result.plan)}"
    )


def seed_summary(result) -> dict:
    """The seed's summary as data, for `--json`: the counts, the rates and the provisioned share."""
    w, plan = result.written, result.plan
    share = result.share_of_provisioned
    return {
        "conversations": plan.conversations,
        "messages": plan.messages,
        "put": w.put,
        "deleted": w.deleted,
        "retries": w.retries,
        "throttled": w.throttled,
        "seconds": round(result.seconds, 3),
        "items_per_second": round(result.items_per_second, 1),
        "write_units_per_second": round(result.units_per_second, 1),
        "reported_wcu_per_second": (round(w.consumed_wcu / result.seconds, 1) if result.seconds else 0.0)
        if w.capacity_reported
        else None,
        "provisioned_wcu": result.provisioned_wcu,
        "share_of_provisioned": None if share is None else round(share, 3),
        "paced_rate": None if w.paced_rate is None else round(w.paced_rate, 1),
        "planned_by": plan.way,
    }


def lock_wait(wait, purpose: str = "seed") -> str:
    """What a seed (or another `purpose`: migrate) waiting for its lock says (a `ddb.bulk.lease.LockWait`)."""
    holder = wait.holder
    since = f"since {holder.acquired_at}" if holder.acquired_at else "since an unknown time"
    return (
        f"waiting for the {purpose} lock on table {wait.table!r}, held by {holder.describe()} {since}: until that {purpose} "
        f"ends or its lease runs out (in {wait.lease_left:.0f} s, unless renewed), at most {wait.wait_left:.0f} s more"
    )


def capacity_used(capacity: dict) -> str:
    """`capacity: 0.5 RCU reported by the engine, 0.5 RCU estimated`."""
    return f"capacity: {capacity.get('reported', 0):g} RCU reported by the engine, {capacity.get('estimated', 0):g} RCU estimated"


def sent(message) -> str:
    """What pattern C or D stored (a `ddb.app.messaging.SentMessage`), and the capacity it used."""
    verb = "started conversation" if message.created_conversation else "sent into conversation"
    return (
        f"{verb} {message.message_group_uuid} at {message.message['sk']}; "
        f"capacity: {message.consumed_capacity['reported']:g} reported, {message.consumed_capacity['estimated']:g} estimated"
    )


def stream_applied(result) -> str:
    return (
        f"{result.records} records: {result.messages} new messages, {result.moved} group items moved, "
        f"{result.already_current} already current, {result.vanished} vanished, {result.ignored} ignored, "
        f"{len(result.malformed)} malformed (dead-lettered)"
    )


def engine_choice(choice) -> str:
    """How `auto` chose (a `ddb.engines.control.EngineChoice`): empty when the engine was named or already ran."""
    if choice is None or not choice.auto:
        return ""
    if choice.passed_over is None:
        return "auto: Java and DynamoDB Local found"
    why = choice.passed_over
    return f"auto: {worded(why) if why.hint == Hint.INSTALL_DYNAMODB_LOCAL else why}, so moto"


def engine_started(state, choice) -> str:
    from ddb.engines import DYNAMODB_LOCAL

    note = engine_choice(choice)
    storage = f"tables kept in {state.db_path}" if state.db_path else "in memory: it forgets everything on stop"
    listens = "; it listens on all interfaces" if state.engine == DYNAMODB_LOCAL else ""
    return f"{state.label} {state.version} answers at {state.endpoint} (pid {state.pid}, log {state.log}); {storage}{listens}" + (
        f" ({note})" if note else ""
    )


def engine_status(state, endpoint: str, closed=None) -> str:
    """What `local.status` says; `closed` is DynamoDB Local's `ClosedStreams`, if it was asked."""
    if state.running:
        return (
            f"{state.label} {state.version} running (pid {state.pid}) at {endpoint}, "
            f"{'answering' if state.answering else 'NOT answering'}; {state.storage}{stream_history(state, closed)}"
        )
    if state.answering:
        return f"no engine of ours runs, but something answers at {endpoint} (DynamoDB Local in docker?)"
    return f"not running; nothing answers at {endpoint}: start one with `invoke local.start`"


def stream_history(state, closed) -> str:
    """The clause on the stream records DynamoDB Local keeps of streams that are off (empty when none)."""
    if not closed or not closed.records:
        return ""
    clear = (
        f"they stay in {state.db_path} across restarts"
        if state.db_path
        else "`invoke local.stop` then `local.start` clears them, and every table"
    )
    return (
        f"; it keeps {closed.records:,} stream records of {closed.streams} dropped table(s) or stream(s) turned off, "
        f"and writes into a table that has had a stream slow down with them: {clear}"
    )


def engine_stopped(state) -> str:
    if not state.pid:
        return "no engine of ours was running"
    return f"stopped {state.label} (pid {state.pid})" + (
        f"; its tables stay in {state.db_path}" if state.db_path else "; its tables are gone"
    )


def import_notes(source, found, deleted: int | None = None) -> list[str]:
    """What an import leaves out or restores differently, a line each (`ddb.backup.source.Source`, `ddb.backup.importing.Plan`)."""
    notes = []
    if source.locks:
        notes.append(f"left out {source.locks} lock item(s): a lock of a seed or migrate run is never restored as held")
    for change in source.history_changes:
        then = "; run `invoke migrate.up` to finish it" if change.state == "applying" else ""
        notes.append(f"migration {change.version:04d} restored as {change.state}: {change.reason}{then}")
    if found.stale:
        notes.append(f"kept the table's newer group items: {found.stale} older group item(s) of the export left out")
    if found.superseded:
        done = "deleted" if deleted is not None else "would delete"
        notes.append(f"{done} {len(found.superseded)} group item(s) of the table that the export's newer ones replace")
    return notes
