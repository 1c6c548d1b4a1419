"""The other tools, as pages: the schema plan, migration status, the data-model document with its Mermaid
diagram, and the month's cost with its chart. All of them read only.
"""

import functools
from pathlib import Path
from typing import Any

from ddb.core.errors import DdbError

from .context import UiContext
from .html import join, table, tag
from .markdown import to_html
from .web import Page, Request, Response


def schema_plan(ctx: UiContext, request: Request) -> Page:
    """What `invoke schema-plan` says: the steps that make the live table the declaration (nothing is applied here)."""
    from ddb.schema import declaration, plan

    found = plan.plan(ctx.client, ctx.table, declaration.table_spec(ctx.table, ctx.billing))
    parts: list[object] = []
    if found.blocked:
        parts += [tag("p", "cannot change in place:", class_="error"), tag("ul", *(tag("li", line) for line in found.blocked))]
    elif not found.steps:
        parts.append(tag("p", f"table {ctx.table!r} is up to date with the declaration ({ctx.billing})", id="up-to-date"))
    else:
        rows = [[number, step.label, step.summary] for number, step in enumerate(found.steps, 1)]
        parts += [table(["step", "kind", "what it does"], rows, id="steps"), tag("p", "apply them with `invoke schema-apply`")]
    if found.skipped:
        parts += [tag("p", "not compared on this engine:"), tag("ul", *(tag("li", line) for line in found.skipped))]
    return Page("Schema plan", join(parts))


def migrations(ctx: UiContext, request: Request) -> Page:
    """What `invoke migrate.status` says: each migration, applied (when), pending or part-way."""
    from ddb.migrate import migrations as runner

    if ctx.migrations is None:
        raise DdbError("no migrations folder is configured (ddb.migrations)")
    states = runner.status(ctx.client, ctx.table, ctx.migrations)
    rows = [
        [
            s.version,
            s.description,
            s.state,
            s.applied_at or "",
            "" if s.migrated is None else s.migrated,
            "missing" if s.file_missing else "",
        ]
        for s in states
    ]
    body = table(["version", "description", "state", "applied at", "items migrated", "file"], rows, id="migrations")
    return Page("Migrations", join([body, tag("p", "run them with `invoke migrate.up` / `invoke migrate.down`")]))


def _fixtures(ctx: UiContext):
    from ddb.seed import fixtures

    if ctx.fixtures is None:
        raise DdbError("no fixture folder is configured (ddb.fixtures)")
    return fixtures.load(ctx.fixtures)


def model(ctx: UiContext, request: Request) -> Page:
    """The data-model document (`invoke model.doc`), rendered, its diagram drawn by Mermaid when vendored."""
    from ddb.modeling import document

    from .mermaid import FETCH_COMMAND

    text = document.render(_fixtures(ctx), ctx.table)
    body = to_html(text.split("\n", 1)[1])  # its title is the page's
    if ctx.mermaid is None:
        note = tag("p", f"The diagram shows as Mermaid text: fetch the Mermaid script once with `{FETCH_COMMAND}`.")
        return Page("Data model", join([note, body]))
    return Page("Data model", body, mermaid=True)


def _cost(ctx: UiContext) -> tuple[list[dict], Any, dict]:
    from ddb.modeling import pricing
    from ddb.modeling import traffic as traffic_file
    from ddb.seed import stamping

    if ctx.traffic is None or ctx.prices is None:
        raise DdbError("no traffic file or prices are configured")
    found = stamping.sample_items(_fixtures(ctx))
    wanted = traffic_file.read_traffic(ctx.traffic)
    return found, wanted, pricing.price(found, wanted, ctx.prices)


def cost(ctx: UiContext, request: Request) -> Page:
    """What `invoke model.cost --from-fixtures` says for the traffic file, and the chart against traffic."""
    from ..cost_view import cost_lines

    _, _, answer = _cost(ctx)
    body = join(
        [
            tag("p", f"A month at the rates of {ctx.traffic.name if ctx.traffic else '?'}, item sizes from the fixtures."),
            tag("pre", "\n".join(cost_lines(answer)), id="cost"),
            tag("img", src="/cost.svg", alt="the month's cost against traffic, on demand and provisioned", width=640, height=360),
        ]
    )
    return Page("Cost", body)


def cost_chart(ctx: UiContext, request: Request) -> Response:
    """The chart of `invoke model.cost --chart`, as an image (scripts in an SVG image never run)."""
    from ddb.modeling import chart

    found, wanted, _ = _cost(ctx)
    drawn = chart.svg(
        chart.points(found, wanted, ctx.prices), f"a month at 0.25x to 10x {ctx.traffic.name if ctx.traffic else ''}"
    )
    return Response(200, drawn.encode("utf-8"), "image/svg+xml")


@functools.lru_cache(maxsize=2)
def _script(path: Path) -> bytes:
    return path.read_bytes()


def mermaid_script(ctx: UiContext, request: Request) -> Response:
    """The vendored Mermaid script, from this server (no CDN)."""
    if ctx.mermaid is None:
        return Response(404, b"// mermaid is not vendored\n", "text/javascript; charset=utf-8")
    return Response(200, _script(ctx.mermaid), "text/javascript; charset=utf-8", {"Cache-Control": "max-age=3600"})
