"""HTML built by escaping: `Html` is text already safe, every other value is escaped on the way in.

`tag("a", "text", href=url)` escapes the text and the attribute values; `layout` wraps a
page's body in the navigation and the target banner (the prod target on every page).
"""

from collections.abc import Iterable, Mapping
from html import escape


class Html(str):
    """Markup that is safe as it is (built here from escaped parts)."""

    __slots__ = ()


def h(value: object) -> Html:
    """`value` as HTML: Html as it is, anything else escaped (quotes too)."""
    return value if isinstance(value, Html) else Html(escape(str(value), quote=True))


def join(parts: Iterable[object], separator: str = "") -> Html:
    return Html(separator.join(h(part) for part in parts))


def tag(element: str, /, *children: object, **attrs: object) -> Html:
    """`<name attrs>children</name>`; an attribute of False/None is left out, True is written bare; `class_` is `class`."""
    written = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        key = key.rstrip("_").replace("_", "-")
        written.append(f" {key}" if value is True else f' {key}="{h(value)}"')
    opening = f"<{element}{''.join(written)}>"
    if element in ("input", "br", "meta", "link", "img"):
        return Html(opening)
    return Html(f"{opening}{join(children)}</{element}>")


def table(headers: Iterable[object], rows: Iterable[Iterable[object]], **attrs: object) -> Html:
    head = tag("tr", *(tag("th", cell) for cell in headers))
    body = join(tag("tr", *(tag("td", cell) for cell in row)) for row in rows)
    return tag("table", tag("thead", head), tag("tbody", body), **attrs)


def link(text: object, path: str, **params: object) -> Html:
    """A link to `path` with the query `params` (None ones left out)."""
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in params.items() if v is not None and v != ""})
    return tag("a", text, href=f"{path}?{query}" if query else path)


def capacity(used: Mapping, unit: str = "RCU") -> Html:
    """The capacity a request consumed, as the engine reported it and as the project estimates it."""
    return tag(
        "p",
        f"consumed capacity: {used.get('reported', 0):g} {unit} reported by the engine, {used.get('estimated', 0):g} {unit} estimated",
        class_="capacity",
    )


def field(label: str, control: Html) -> Html:
    return tag("label", label, " ", control)


def text_input(name: str, value: object = "", **attrs: object) -> Html:
    return tag("input", type="text", name=name, value="" if value is None else value, **attrs)


def select(name: str, options: Iterable[tuple[object, object]], chosen: object = None, **attrs: object) -> Html:
    """A select of (value, label) options, `chosen` selected."""
    return tag(
        "select",
        *(tag("option", label, value=value, selected=str(value) == str(chosen)) for value, label in options),
        name=name,
        **attrs,
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222}
header{background:#234;color:#fff;padding:.5em 1em}header a{color:#fff;margin-right:1em}
.target{font-size:.9em;opacity:.9}.prod{background:#8b1a1a}
main{padding:1em}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top;font-size:.9em}
.capacity{color:#555;font-size:.9em}.error{color:#a00;font-weight:bold}.notice{color:#060}
form{margin:.5em 0;padding:.5em;border:1px solid #ddd}label{margin-right:1em}
.chat li{margin:.3em 0}.chat .who{font-weight:bold}.chat time{color:#777;font-size:.8em}
pre{background:#f6f6f6;padding:.5em;overflow:auto}
"""

NAV = (
    ("/items", "Items"),
    ("/inbox", "Inbox"),
    ("/conversation", "Conversation"),
    ("/start", "Start a conversation"),
    ("/query", "Query"),
    ("/schema", "Schema plan"),
    ("/migrations", "Migrations"),
    ("/model", "Data model"),
    ("/cost", "Cost"),
)


def layout(title: str, body: object, banner: str, prod: bool, nonce: str, scripts: Iterable[Html] = ()) -> Html:
    """A whole page: the navigation, the target banner (read-only on prod), the body."""
    nav = join(tag("a", label, href=path) for path, label in NAV)
    where = tag("div", ("PROD, read-only: " if prod else "") + banner, class_="target", id="target")
    page = join(
        [
            Html("<!DOCTYPE html>"),
            tag(
                "html",
                tag(
                    "head",
                    tag("meta", charset="utf-8"),
                    tag("link", rel="icon", href="data:,"),  # no favicon request
                    tag("title", f"{title} · cruddur-ddb"),
                    tag("style", Html(STYLE), nonce=nonce),
                ),
                tag(
                    "body",
                    tag("header", tag("nav", nav), where, class_="prod" if prod else None),
                    tag("main", tag("h1", title), body),
                    *scripts,
                ),
                lang="en",
            ),
        ]
    )
    return page
