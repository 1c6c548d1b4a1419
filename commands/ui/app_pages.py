"""The app's view: a user's inbox (pattern B) and a conversation (pattern A), as the app shows them.

Both call `ddb.app.patterns` with the same opaque cursors the app pages with, and show
the capacity each request consumed, as the engine reported it and as estimated. On a
local target the conversation page carries the send form (pattern C).
"""

from collections.abc import Iterable, Mapping
from typing import Any

from ddb.app import group_items, patterns, user_lookup
from ddb.data import validate
from ddb.data.items import User

from .context import UiContext
from .html import Html, capacity, field, join, link, select, tag, text_input
from .web import Page, Request, csrf_field


def find_user(ctx: UiContext, handle: str = "", user_uuid: str = "") -> User:
    """By uuid from the table; by handle from the fixture set's users (local), else from the table."""
    if user_uuid:
        known = next((u for u in ctx.users.values() if u.uuid == user_uuid), None)
        return known or user_lookup.by_uuid(ctx.client, ctx.table, user_uuid)
    handle = handle or ctx.default_handle
    if not ctx.prod and handle in ctx.users:
        return ctx.users[handle]
    return user_lookup.by_handle(ctx.client, ctx.table, handle)


def _limit(request: Request) -> int:
    from ..flags import whole_number

    return whole_number("limit", request.get("limit") or None, patterns.DEFAULT_LIMIT, high=patterns.MAX_LIMIT)


def _who(row: Mapping[str, Any]) -> str:
    return f"{row['user_display_name']} (@{row['user_handle']})"


def user_picker(ctx: UiContext, handle: str) -> Html:
    """A GET form choosing whose inbox: the fixture set's users locally, a handle or uuid anywhere."""
    chooser = (
        select("handle", [(h, f"@{h}") for h in sorted(ctx.users)], handle)
        if ctx.users and not ctx.prod
        else text_input("handle", handle)
    )
    return tag(
        "form",
        field("user", chooser),
        field("or uuid", text_input("user_uuid", "", size=36)),
        tag("button", "show inbox", type="submit"),
        method="get",
        action="/inbox",
    )


def inbox(ctx: UiContext, request: Request) -> Page:
    """Pattern B: the user's conversations, most recent first, one page at a time."""
    user_uuid = request.get("user_uuid")
    if user_uuid:
        validate.uuid(user_uuid, "user_uuid")
    user = find_user(ctx, request.get("handle"), user_uuid)
    limit = _limit(request)
    page = patterns.list_conversations(ctx.client, ctx.table, user.uuid, limit, request.get("cursor") or patterns.FIRST_PAGE)
    rows = [
        tag(
            "tr",
            tag("td", link(_who(row), "/conversation", group=row["message_group_uuid"])),
            tag("td", row["message"]),
            tag("td", tag("time", row["last_message_at"])),
            data_group=row["message_group_uuid"],
            data_at=row["last_message_at"],
            class_="conversation",
        )
        for row in page.items
    ]
    listing = tag(
        "table",
        tag("thead", tag("tr", tag("th", "with"), tag("th", "last message"), tag("th", "at"))),
        tag("tbody", *rows),
        id="inbox",
    )
    more = link("older conversations →", "/inbox", user_uuid=user.uuid, limit=limit, cursor=page.next_cursor)
    body = join(
        [
            user_picker(ctx, user.handle),
            tag("h2", f"@{user.handle}'s conversations ({user.display_name}), most recent first"),
            listing if page.items else tag("p", "no conversations"),
            tag("p", more) if page.next_cursor else "",
            capacity(page.consumed_capacity),
        ]
    )
    return Page(f"Inbox of @{user.handle}", body)


def participants(ctx: UiContext, group: str, rows: Iterable[Mapping[str, Any]]) -> list[User]:
    """The conversation's two users: each group item names the other one (the GSI may lag: the messages' senders too)."""
    found = {}
    for item in group_items.in_conversation(ctx.client, ctx.table, group).items:
        found[item["user_uuid"]] = User(item["user_uuid"], item["user_handle"], item["user_display_name"])
    for row in rows:
        found.setdefault(row["user_uuid"], User(row["user_uuid"], row["user_handle"], row["user_display_name"]))
    return sorted(found.values(), key=lambda u: u.handle)


def conversation(ctx: UiContext, request: Request) -> Page:
    """Pattern A: the newest messages, shown oldest first like a chat; older ones a page further."""
    group = request.get("group", ctx.default_group)
    limit = _limit(request)
    page = patterns.list_messages(ctx.client, ctx.table, group, limit, request.get("cursor") or patterns.FIRST_PAGE)
    chat = tag(
        "ol",
        *(
            tag(
                "li",
                tag("span", _who(row), class_="who"),
                " ",
                tag("time", row["created_at"]),
                tag("div", row["message"], class_="text"),
                class_="message",
                data_at=row["created_at"],
            )
            for row in page.items
        ),
        class_="chat",
        id="chat",
    )
    older = link("← older messages", "/conversation", group=group, limit=limit, cursor=page.next_cursor)
    notice = ctx.notice(request.get("notice"))
    parts: list[object] = [
        tag("p", notice, class_="notice", id="notice") if notice else "",
        tag("p", older) if page.next_cursor else "",
        chat,
        capacity(page.consumed_capacity),
    ]
    if not ctx.prod:
        parts.append(_send_form(ctx, group, participants(ctx, group, page.items)))
    return Page(f"Conversation {group}", join(parts))


def _send_form(ctx: UiContext, group: str, users: list[User]) -> Html:
    """Pattern C's form: a participant sends a message into this conversation."""
    return tag(
        "form",
        tag("h2", "Send a message (pattern C)"),
        csrf_field(ctx.csrf),
        tag("input", type="hidden", name="group", value=group),
        field("from", select("sender_uuid", [(u.uuid, f"@{u.handle}") for u in users])),
        field("message", tag("textarea", "", name="message", rows=2, cols=60, required=True)),
        tag("button", "send", type="submit"),
        method="post",
        action="/send",
        id="send-form",
    )
