"""Views of results for people: the inbox, the chat, the scan rows, the table list (built here, printed by `output`).

rich is imported only inside the functions that need it: it is the heaviest import of a
read command.
"""

from datetime import datetime

from ddb.core.text import escaped

# Stored text is shown with its control characters escaped (a stored `\x1b[2J` must not
# clear the terminal); message bodies keep their line feeds and tabs.
_BODY_KEEPS = "\n\t"


def short_time(iso: str) -> str:
    """`2026-11-25T16:20:00.123456+00:00` as `2026-11-25 16:20 UTC`."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def conversations_view(page, handle: str):
    """Pattern B as an inbox: one header line per conversation, its last message below.

    rich renders it styled at a terminal (`__rich__`); `plain()` is the same layout as
    plain text, for piped output, without importing rich at all.
    """
    return InboxView(page, handle)


class InboxView:
    def __init__(self, page, handle: str):
        self.page, self.handle = page, handle

    def _title(self) -> str:
        return f"conversations of @{self.handle}, most recent first"

    @staticmethod
    def _header(item) -> tuple[str, str]:
        return (
            escaped(f"@{item['user_handle']}"),
            escaped(f" ({item['user_display_name']}) · {short_time(item['last_message_at'])}"),
        )

    def plain(self) -> str:
        lines = [self._title()]
        for item in self.page.items:
            lines.append("".join(self._header(item)))
            lines += ["  " + line for line in escaped(item["message"], _BODY_KEEPS).splitlines() or [""]]
            lines.append(escaped(f"  group {item['message_group_uuid']}"))
        if not self.page.items:
            lines.append("(none)")
        return "\n".join(lines) + "\n"

    def __rich__(self):
        from rich.console import Group
        from rich.padding import Padding
        from rich.text import Text

        parts: list[Text | Padding] = [Text(self._title(), style="italic")]
        for item in self.page.items:
            handle, rest = self._header(item)
            group = escaped(f"group {item['message_group_uuid']}")
            body = Text.assemble(escaped(item["message"], _BODY_KEEPS), "\n", (group, "dim"))
            parts += [Text.assemble((handle, "bold"), rest), Padding(body, (0, 0, 0, 2))]
        if not self.page.items:
            parts.append(Text("(none)"))
        return Group(*parts)


def chat_table(page, message_group_uuid: str):
    """Pattern A as a chat: handle, time, message, oldest at the top."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(escaped(f"conversation {message_group_uuid}")), title_justify="left", show_lines=False)
    table.add_column("from", no_wrap=True)
    table.add_column("at", no_wrap=True)
    table.add_column("message", ratio=1, min_width=20, overflow="fold")
    for item in page.items:  # Text, not str: stored text is never read as rich markup
        table.add_row(
            Text(escaped(f"@{item['user_handle']}")),
            Text(escaped(short_time(item["created_at"]))),
            Text(escaped(item["message"], _BODY_KEEPS)),
        )
    return table


def scan_row(item) -> tuple[str, str, str]:
    """One scanned item as (pk, sk, `name=value, …`), control characters escaped."""
    rest = ", ".join(f"{name}={value}" for name, value in item.items() if name not in ("pk", "sk"))
    return escaped(str(item.get("pk"))), escaped(str(item.get("sk", ""))), escaped(rest)


def names_table(names):
    from rich.table import Table

    table = Table()
    table.add_column("table")
    for name in names:
        table.add_row(name)
    return table
