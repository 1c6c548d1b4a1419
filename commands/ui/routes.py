"""A request to its page: the dispatch, the refusals (prod POSTs, CSRF, foreign Origins) and errors as one line.

`handle(ctx, request)` is the whole view as a function of a `Request`; the server only
reads requests and writes `Response`s. A `DdbError` shows as its one line (with the
command line's hint); anything unforeseen as one line too, its traceback in the server's
log only, never in a response.
"""

import logging
from collections.abc import Callable

from ddb.core import errors

from ..exits import worded
from . import app_pages, item_pages, query_pages, tool_pages, write_pages
from .context import UiContext
from .html import Html, layout, tag
from .security import CSRF_FIELD, headers, new_nonce, origin_allowed
from .web import Page, Request, Response

log = logging.getLogger("commands.ui")


GET: dict[str, Callable] = {
    "/": item_pages.item_types,
    "/items": item_pages.items,
    "/inbox": app_pages.inbox,
    "/conversation": app_pages.conversation,
    "/start": write_pages.start_form,
    "/query": query_pages.query,
    "/schema": tool_pages.schema_plan,
    "/migrations": tool_pages.migrations,
    "/model": tool_pages.model,
    "/cost": tool_pages.cost,
    "/cost.svg": tool_pages.cost_chart,
    "/static/mermaid.min.js": tool_pages.mermaid_script,
}
POST: dict[str, Callable] = {"/send": write_pages.send, "/start": write_pages.start}

_STATUS = {errors.NotFound: 404, errors.InvalidInput: 400, errors.BadCursor: 400, errors.EngineUnreachable: 503}


def handle(ctx: UiContext, request: Request) -> Response:
    """The answer to `request` (the Host was checked by the server)."""
    nonce = new_nonce()
    try:
        answer = _dispatch(ctx, request)
    except errors.DdbError as exc:
        status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 500)
        answer = Page("Error", tag("p", f"error: {worded(exc)}", class_="error"), status=status)
    except Exception:  # the page says one line; the traceback goes to the server's log only
        log.exception("%s %s failed", request.method, request.path)
        answer = Page(
            "Error", tag("p", "error: the view failed unexpectedly; the server's log says why", class_="error"), status=500
        )
    if isinstance(answer, Response):
        answer.headers = {**headers(nonce), **answer.headers}
        return answer
    scripts = _mermaid_scripts(nonce) if answer.mermaid else ()
    html = layout(answer.title, answer.body, ctx.banner, ctx.prod, nonce, scripts)
    return Response(answer.status, html.encode("utf-8"), headers=headers(nonce))


def refusal(status: int, line: str) -> Response:
    """A refusal before any page runs: one line, plain text."""
    return Response(status, (line + "\n").encode(), "text/plain; charset=utf-8", headers(new_nonce()))


def _dispatch(ctx: UiContext, request: Request) -> Page | Response:
    if request.method == "POST":
        if ctx.prod:
            return _refused(405, "refused: this view was opened with --prod and is read-only", {"Allow": "GET"})
        if not origin_allowed(request.origin, ctx.port):
            return _refused(403, "refused: the form was sent from another site")
        if not ctx.csrf.valid(request.form.get(CSRF_FIELD)):
            return _refused(403, "refused: the form's token is missing or stale; reload the page and send it again")
        routes = POST
    elif request.method == "GET":
        routes = GET
    else:
        return _refused(405, f"refused: {request.method} is not served here", {"Allow": "GET, POST"})
    page = routes.get(request.path)
    if page is None:
        if request.path in GET or request.path in POST:
            return _refused(405, f"refused: {request.method} {request.path} is not served here")
        return Page("Not found", tag("p", f"no page {request.path}", class_="error"), status=404)
    return page(ctx, request)


def _refused(status: int, line: str, extra: dict[str, str] | None = None) -> Response:
    response = refusal(status, line)
    response.headers.update(extra or {})
    return response


def _mermaid_scripts(nonce: str) -> tuple[Html, ...]:
    start = "mermaid.initialize({startOnLoad: true, securityLevel: 'strict', theme: 'default'});"
    return (
        tag("script", src="/static/mermaid.min.js", nonce=nonce),
        tag("script", Html(start), nonce=nonce),
    )
