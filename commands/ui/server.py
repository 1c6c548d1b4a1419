"""The HTTP server of the view: 127.0.0.1 only, one thread per request, bounded requests.

`start(ctx, port)` binds 127.0.0.1 (port 0: a free one), records the port in the context
(the Host check and the Origin check need it) and serves in a background thread;
`UiServer.url` is where to point the browser. The handler refuses a non-loopback Host
(403) before reading anything else, a body without a length (411) or above
`MAX_BODY` (413), then hands the request to `routes.handle`.
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import routes
from .context import UiContext
from .security import MAX_BODY, host_allowed
from .web import Request, Response

HOST = "127.0.0.1"


class UiServer(ThreadingHTTPServer):
    """The view's server; `ctx` is what its pages act on."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, ctx: UiContext, port: int = 0, quiet: bool = True):
        self.ctx, self.quiet = ctx, quiet
        super().__init__((HOST, port), Handler)
        ctx.port = self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.ctx.port}/"


def _fields(text: str) -> dict[str, str]:
    """The first value of each field of a query string or urlencoded form."""
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True, max_num_fields=100).items()}


class Handler(BaseHTTPRequestHandler):
    """Reads one request, checks what no page should see, answers with what `routes.handle` says."""

    server: UiServer
    server_version = "cruddur-ddb-ui"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def do_PUT(self):
        self._answer("PUT")

    def do_DELETE(self):
        self._answer("DELETE")

    def _answer(self, method: str) -> None:
        ctx = self.server.ctx
        if not host_allowed(self.headers.get("Host"), ctx.port):
            self.close_connection = True
            return self._send(routes.refusal(403, "refused: this server answers only to 127.0.0.1 and localhost on its port"))
        url = urlsplit(self.path)
        request = Request(method, url.path, _fields(url.query), origin=self.headers.get("Origin"))
        if method in ("POST", "PUT", "DELETE"):
            form = self._form()
            if isinstance(form, Response):
                self.close_connection = True
                return self._send(form)
            request.form = form
        return self._send(routes.handle(ctx, request))

    def _form(self) -> dict[str, str] | Response:
        if self.headers.get("Transfer-Encoding"):
            return routes.refusal(411, "refused: send the form with a Content-Length")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return routes.refusal(411, "refused: send the form with a Content-Length")
        if not 0 <= length <= MAX_BODY:
            return routes.refusal(413, f"refused: a form is at most {MAX_BODY} bytes")
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self.rfile.read(length)
        if kind != "application/x-www-form-urlencoded":
            return routes.refusal(415, "refused: forms are sent urlencoded")
        try:
            return _fields(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return routes.refusal(400, "refused: the form is not urlencoded UTF-8 text")

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format, *args):
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def start(ctx: UiContext, port: int = 0, quiet: bool = True) -> UiServer:
    """Bind 127.0.0.1:`port` (0: a free port) and serve in a background thread; stop with `shutdown()`."""
    server = UiServer(ctx, port, quiet)
    threading.Thread(target=server.serve_forever, name="ui-server", daemon=True).start()
    return server
