"""The writes, through the library: send a message (pattern C), start a conversation (pattern D).

Local targets only: on `--prod` the server refuses every POST before it gets here, and
the pages offer no form. After a write the browser is sent (303) to the conversation,
with a notice of what was stored and the capacity it used; both inboxes move once the
stream is applied (`invoke stream.process`, or a follower).
"""

from urllib.parse import urlencode

from ddb.app import messaging
from ddb.core.errors import InvalidInput

from ..sentences import sent as sent_line
from .app_pages import find_user
from .context import UiContext
from .html import field, join, select, tag, text_input
from .web import Page, Request, Response, csrf_field, redirect

APPLY = "both inboxes move when the stream is applied (`invoke stream.process`, or a stream follower)"


def _after(ctx: UiContext, sent: messaging.SentMessage) -> Response:
    key = ctx.remember(f"{sent_line(sent)}; {APPLY}")
    return redirect("/conversation?" + urlencode({"group": sent.message_group_uuid, "notice": key}))


def _text(request: Request) -> str:
    text = request.form.get("message", "")
    if not text.strip():
        raise InvalidInput("the message is empty: write something to send")
    return text


def send(ctx: UiContext, request: Request) -> Response:
    """Pattern C from the conversation page's form."""
    group = request.get("group")
    sender = find_user(ctx, user_uuid=request.get("sender_uuid")) if request.get("sender_uuid") else None
    if sender is None:
        raise InvalidInput("choose who sends the message")
    return _after(ctx, messaging.create_message(ctx.client, ctx.table, group, sender, _text(request)))


def start(ctx: UiContext, request: Request) -> Response:
    """Pattern D from the start form (into the conversation the two share, if they have one)."""
    sender = find_user(ctx, request.get("handle"))
    other = find_user(ctx, request.get("with")) if request.get("with") else None
    if other is None:
        raise InvalidInput("who with? choose the other user")
    return _after(ctx, messaging.create_conversation(ctx.client, ctx.table, sender, other, _text(request)))


def start_form(ctx: UiContext, request: Request) -> Page:
    """Pattern D's form (none on --prod)."""
    if ctx.prod:
        return Page("Start a conversation", tag("p", "read-only: this view was opened with --prod and writes nothing"))
    handles = sorted(ctx.users)

    def chooser(name: str, chosen: str):
        return select(name, [(h, f"@{h}") for h in handles], chosen) if handles else text_input(name, chosen)

    others = [h for h in handles if h != ctx.default_handle]
    form = tag(
        "form",
        csrf_field(ctx.csrf),
        field("from", chooser("handle", ctx.default_handle)),
        field("with", chooser("with", others[0] if others else "")),
        field("first message", tag("textarea", "", name="message", rows=2, cols=60, required=True)),
        tag("button", "start", type="submit"),
        method="post",
        action="/start",
        id="start-form",
    )
    intro = tag(
        "p", "Two group items, the first message and two claims, all or nothing; if the two already talk, the message goes there."
    )
    return Page("Start a conversation (pattern D)", join([intro, form]))
