"""The prod guard: anything that writes or deletes on prod is confirmed first."""

from .errors import Refused
from .target import Target


def confirm(target: Target, action: str, *, yes: bool, interactive: bool, ask) -> None:
    """Return when `action` on `target` may go ahead; raise Refused otherwise.

    Local targets need no confirmation. On prod, `yes` confirms; else, at a terminal,
    `ask(prompt)` must return the table name; with no terminal the answer is no.
    """
    if not target.prod or yes:
        return
    if not interactive:
        raise Refused(f"refusing to {action} on {target.describe()}: no terminal to confirm on; pass --yes to confirm")
    answer = ask(f"About to {action} on {target.describe()}.\nType the table name to go on: ")
    if (answer or "").strip() != target.table:
        raise Refused(f"not confirmed: did not {action}; nothing was changed")
