"""The `patterns.*` tasks: the app's access patterns A to D, run against the table.

Read patterns print a view (or `--json`) on stdout and the capacity they used on stderr;
write patterns print the conversation's uuid on stdout and what they stored on stderr.
"""

from .exits import reports_errors
from .flags import target_flags, whole_number
from .output import print_json, status_line
from .targeting import config, confirm, make_client, resolve_target, resolve_user


@target_flags(
    handle="whose conversations (default: ddb.default_handle); found in the fixture set, else in the table",
    user_uuid="whose conversations, by uuid (instead of --handle)",
    limit="page size (default 20)",
    cursor="next_cursor of the previous page",
)
@reports_errors
def list_conversations(c, handle=None, user_uuid=None, limit=None, cursor=None, json_=False, prod=False, endpoint_url=None):
    """Pattern B: a user's conversations, most recent first."""
    from ddb.app import patterns
    from ddb.data import validate

    from .views import conversations_view

    limit = whole_number("--limit", limit, patterns.DEFAULT_LIMIT, high=patterns.MAX_LIMIT)
    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    if user_uuid and not handle:  # the pattern needs the uuid alone: no lookup
        validate.uuid(user_uuid, "--user-uuid")
        owner, label = user_uuid, user_uuid
    else:
        user = resolve_user(c, target, client, handle, user_uuid)
        owner, label = user.uuid, user.handle
    page = patterns.list_conversations(client, target.table, owner, limit, cursor or patterns.FIRST_PAGE)
    _show_page(page, json_, lambda: conversations_view(page, label))


@target_flags(
    message_group_uuid="which conversation (default: ddb.default_message_group_uuid)",
    limit="messages per page (default 20)",
    cursor="next_cursor of the previous page (older messages)",
)
@reports_errors
def get_conversation(c, message_group_uuid=None, limit=None, cursor=None, json_=False, prod=False, endpoint_url=None):
    """Pattern A: a conversation's newest messages, shown like a chat."""
    from ddb.app import patterns

    from .views import chat_table

    limit = whole_number("--limit", limit, patterns.DEFAULT_LIMIT, high=patterns.MAX_LIMIT)
    group = message_group_uuid or config(c).default_message_group_uuid
    target = resolve_target(c, prod, endpoint_url)
    page = patterns.list_messages(make_client(target), target.table, group, limit, cursor or patterns.FIRST_PAGE)
    _show_page(page, json_, lambda: chat_table(page, group))


def _show_page(page, as_json, view):
    from .output import show_view
    from .sentences import capacity_used

    if as_json:
        print_json(page.as_json())
        return
    show_view(view())
    status_line(capacity_used(page.consumed_capacity))
    if page.next_cursor:
        status_line(f"more: --cursor {page.next_cursor}")


@target_flags(
    message_group_uuid="the conversation to write into",
    handle="the sender (default: ddb.default_handle); found in the fixture set, else in the table",
    user_uuid="the sender, by uuid (instead of --handle)",
    message="the text",
)
@reports_errors
def create_message(
    c, message_group_uuid, message, handle=None, user_uuid=None, json_=False, prod=False, endpoint_url=None, yes=False
):
    """Pattern C: send a message into an existing conversation."""
    from ddb.app import messaging

    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    confirm(target, client, "write a message", yes)  # before any request: on prod the user is read from the table
    sender = resolve_user(c, target, client, handle, user_uuid)
    _show_sent(messaging.create_message(client, target.table, message_group_uuid, sender, message), json_)


@target_flags(
    handle="who starts it (default: ddb.default_handle); found in the fixture set, else in the table",
    user_uuid="who starts it, by uuid (instead of --handle)",
    with_="the other user's handle",
    with_user_uuid="the other user, by uuid (instead of --with)",
    message="the first message",
)
@reports_errors
def create_conversation(
    c,
    message,
    with_=None,
    handle=None,
    user_uuid=None,
    with_user_uuid=None,
    json_=False,
    prod=False,
    endpoint_url=None,
    yes=False,
):
    """Pattern D: start a conversation (or continue the one the two share)."""
    from ddb.app import messaging
    from ddb.core.errors import InvalidInput

    if not with_ and not with_user_uuid:
        raise InvalidInput("who with? give --with HANDLE or --with-user-uuid UUID")
    target = resolve_target(c, prod, endpoint_url)
    client = make_client(target)
    confirm(target, client, "write a conversation", yes)  # before any request: on prod the users are read from the table
    sender = resolve_user(c, target, client, handle, user_uuid)
    other = resolve_user(c, target, client, with_, with_user_uuid, ("--with", "--with-user-uuid"))
    _show_sent(messaging.create_conversation(client, target.table, sender, other, message), json_)


def _show_sent(sent, as_json):
    import sys

    from .sentences import sent as sent_line

    if as_json:
        print_json(sent.as_json())
        return
    sys.stdout.write(sent.message_group_uuid + "\n")
    status_line(sent_line(sent))
