"""The shapes a page deals in: the `Request` the server read, the `Page` or `Response` a page returns."""

from dataclasses import dataclass, field

from .html import Html, tag
from .security import CSRF_FIELD, Csrf


@dataclass
class Request:
    """What the server read: method, path, query and form fields (first value each), the Origin header."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] = field(default_factory=dict)
    origin: str | None = None

    def get(self, name: str, default: str = "") -> str:
        """A query (GET) or form (POST) field, stripped; `default` when absent or empty."""
        value = (self.form if self.method == "POST" else self.query).get(name, "").strip()
        return value or default


@dataclass
class Response:
    """An answer as the server sends it."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    """A page's title and body, which the layout wraps; `mermaid` adds the diagram's script."""

    title: str
    body: Html
    mermaid: bool = False
    status: int = 200


def redirect(location: str) -> Response:
    """See Other: after a POST, the browser asks for `location` (so a reload sends nothing again)."""
    return Response(303, b"", headers={"Location": location})


def csrf_field(csrf: Csrf) -> Html:
    """The hidden field every POST form carries."""
    return tag("input", type="hidden", name=CSRF_FIELD, value=csrf.token)
