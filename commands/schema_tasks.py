"""The root tasks that change a live table to the declaration: schema-plan and schema-apply.

schema-plan reads only. schema-apply refuses, before anything is sent, what cannot change
in place, and the risky steps (destructive ones, capacity cuts, billing switches) without
--allow-destructive, also on --prod with --yes; then it asks on --prod and applies the
steps one at a time, each waited for; run again after an interruption, it continues.
"""

from invoke import Exit

from .exits import reports_errors
from .flags import target_flags
from .output import print_json, status_line
from .targeting import config, confirm, make_client, resolve_target

ON_DEMAND = "declare on-demand (PAY_PER_REQUEST) billing instead of ddb.billing, as schema-load --on-demand does"
ALLOW_DESTRUCTIVE = (
    "also carry out the risky steps: destructive ones (deleting a GSI, turning the stream, TTL or PITR off, ...), "
    "lowering the capacity of the table or a GSI, and switching the billing mode"
)
PITR = (
    "declare point-in-time recovery on (export --native needs it) instead of ddb.point_in_time_recovery, so the plan turns it on"
)
# schema-plan --check: the exit code that says "changes pending" (0: none; 1 stays "error").
CHANGES_PENDING = 2


def _declared(c, table: str, on_demand: bool) -> dict:
    from ddb.schema import declaration as schema

    return schema.table_spec(table, schema.ON_DEMAND if on_demand else config(c).billing)


def _extras(c, pitr: bool):
    """The declared extras: point-in-time recovery from --pitr, else ddb.point_in_time_recovery ("true", "false", "")."""
    from ddb.core.errors import InvalidInput
    from ddb.schema.extras import declared

    value = "true" if pitr else str(config(c).point_in_time_recovery or "").strip().lower()
    if value not in ("", "true", "false"):
        raise InvalidInput(f"ddb.point_in_time_recovery must be true, false or empty, not {value[:40]!r}")
    return declared(None if not value else value == "true")


def _plan_lines(plan) -> list[str]:
    return [f"{number}. [{step.label}] {step.summary}" for number, step in enumerate(plan.steps, 1)]


def _command(name: str, prod: bool, endpoint_url, on_demand: bool, guarded: bool = False, pitr: bool = False) -> str:
    """`invoke NAME` for the same target and declaration as this run (and --allow-destructive when `guarded`)."""
    flags = [
        "--prod" if prod else "",
        f"--endpoint-url {endpoint_url}" if endpoint_url else "",
        "--on-demand" if on_demand else "",
        "--pitr" if pitr else "",
        "--allow-destructive" if guarded else "",
    ]
    return " ".join([f"invoke {name}", *filter(None, flags)])


def _refuse_blocked(table: str, blocked: list[str]):
    """SchemaDrift naming how many differences no step can change (the lines themselves were shown)."""
    from ddb.core.errors import SchemaDrift

    raise SchemaDrift(
        f"table {table!r}: {len(blocked)} difference(s) cannot change in place, so no schema-apply makes it the "
        "declaration: export the items, drop the table, schema-load it and import them (their values converted)"
    )


@target_flags(
    json_="print the plan as JSON: {table, steps: [{kind, summary, destructive, risky, operation, request}], skipped, blocked}",
    on_demand=ON_DEMAND,
    pitr=PITR,
    check=(
        f"exit {CHANGES_PENDING} when there are steps (for CI); without it the exit code is 0 either way "
        "(1 when something cannot change in place)"
    ),
)
@reports_errors
def schema_plan(c, prod=False, endpoint_url=None, json_=False, on_demand=False, check=False, pitr=False):
    """Show the steps that would make the live table match the declaration (reads only)."""
    import sys

    from ddb.core.target import describe
    from ddb.schema.plan import plan

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    found = plan(client, target.table, _declared(c, target.table, on_demand), _extras(c, pitr))
    for line in found.skipped:
        status_line(f"note: {line}")
    if json_:
        print_json(found.as_json())
    elif found.steps or found.blocked:
        lines = _plan_lines(found) + [f"cannot change in place: {line}" for line in found.blocked]
        sys.stdout.write("".join(line + "\n" for line in lines))
    if found.blocked:
        _refuse_blocked(target.table, found.blocked)
    if not found.steps:
        status_line(f"table {target.table!r}: up to date with the declaration, no step at {describe(target, client)}")
        return
    guarded = len(found.guarded)
    status_line(
        f"table {target.table!r}: {len(found.steps)} step(s) to match the declaration"
        f"{f', {guarded} risky (schema-apply needs --allow-destructive)' if guarded else ''}; "
        f"apply them with `{_command('schema-apply', prod, endpoint_url, on_demand, bool(guarded), pitr)}`"
    )
    if check:
        raise Exit(code=CHANGES_PENDING)


@target_flags(on_demand=ON_DEMAND, allow_destructive=ALLOW_DESTRUCTIVE, pitr=PITR)
@reports_errors
def schema_apply(c, prod=False, endpoint_url=None, yes=False, on_demand=False, allow_destructive=False, pitr=False):
    """Change the live table to the declaration, one step at a time; run again to continue after an interruption."""
    from ddb.core import errors
    from ddb.schema.apply import apply, refuse_guarded
    from ddb.schema.plan import plan

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    spec = _declared(c, target.table, on_demand)
    extras = _extras(c, pitr)
    found = plan(client, target.table, spec, extras)
    for line in found.skipped:
        status_line(f"note: {line}")
    for line in found.blocked:
        status_line(f"cannot change in place: {line}")
    if found.blocked:
        _refuse_blocked(target.table, found.blocked)
    if not found.steps:
        status_line(f"table {target.table!r}: up to date with the declaration, nothing to apply")
        return
    for line in _plan_lines(found):
        status_line(line)
    refuse_guarded(found.steps, allow_destructive)
    confirm(target, client, f"apply {len(found.steps)} schema step(s) to the table", yes)
    total = len(found.steps)
    result = apply(
        client,
        target.table,
        found.steps,
        spec,
        extras=extras,
        allow_destructive=allow_destructive,
        on_step=lambda number, step: status_line(f"step {number}/{total}: {step.summary}"),
        on_wait=lambda waiting: status_line(waiting.line()),
    )
    if result.remaining:
        raise errors.SchemaDrift(
            f"table {target.table!r} still differs after {len(result.applied)} step(s): "
            + "; ".join(s.summary for s in result.remaining)
            + f"; `{_command('schema-plan', prod, endpoint_url, on_demand, pitr=pitr)}` shows it"
        )
    status_line(
        f"table {target.table!r}: {len(result.applied)} step(s) applied in {result.seconds:.1f} s; "
        "up to date with the declaration"
    )
