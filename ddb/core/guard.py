"""The prod guard: anything that writes or deletes on prod is confirmed first."""

from collections.abc import Callable

from ddb.core.clients import AwsClient
from ddb.core.errors import Refused
from ddb.core.target import Target, describe


def confirm(
    target: Target,
    client: AwsClient,
    action: str,
    *,
    yes: bool,
    interactive: bool,
    ask: Callable[[str], str | None],
    account: str | None = None,
) -> None:
    """Return when `action` on `target` may go ahead; raise Refused otherwise.

    Local targets need no confirmation. On prod, `yes` confirms; else, at a terminal,
    `ask(prompt)` must return the table name; with no terminal, or no answer at all
    (`ask` raises EOFError: Ctrl-D), the answer is no. The prompt names the target as
    `client`, the client that will send the requests, resolves it.
    """
    if not target.prod or yes:
        return
    shown = describe(target, client, account)
    if not interactive:
        raise Refused(f"refusing to {action} on {shown}: no terminal to confirm on; pass --yes to confirm")
    try:
        answer = ask(f"About to {action} on {shown}.\nType the table name to go on: ")
    except EOFError:
        raise Refused(f"not confirmed (no answer): did not {action}; nothing was changed") from None
    if (answer or "").strip() != target.table:
        raise Refused(f"not confirmed: did not {action}; nothing was changed")
