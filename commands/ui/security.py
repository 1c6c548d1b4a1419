"""What keeps the view to its own user: loopback Hosts only, CSRF tokens, bounded requests, strict headers.

- A request whose Host header is not `127.0.0.1:PORT` or `localhost:PORT` is refused
  (a page elsewhere reaching the port through DNS rebinding sends its own host name).
- Every POST form carries a token derived from a secret made when the server starts; a
  POST without it, or with an Origin other than the server's, is refused.
- A request body is at most `MAX_BODY` bytes, with a Content-Length.
- The headers forbid framing, sniffing, referrers to other sites, caching and any script but the page's own.
"""

import hashlib
import hmac
import secrets

MAX_BODY = 64 * 1024  # bytes of a form; a message is far smaller
CSRF_FIELD = "csrf_token"


def loopback_hosts(port: int) -> set[str]:
    """The Host header values this server answers to."""
    return {f"127.0.0.1:{port}", f"localhost:{port}"}


def host_allowed(host: str | None, port: int) -> bool:
    return (host or "").strip().lower() in loopback_hosts(port)


def origin_allowed(origin: str | None, port: int) -> bool:
    """No Origin (an older browser, a script), or this server's own origin."""
    if origin is None:
        return True
    return origin.strip().lower() in {f"http://{host}" for host in loopback_hosts(port)}


class Csrf:
    """The per-server secret and the token the forms carry."""

    def __init__(self, secret: bytes | None = None):
        self._secret = secret or secrets.token_bytes(32)

    @property
    def token(self) -> str:
        return hmac.new(self._secret, b"cruddur-ddb ui form", hashlib.sha256).hexdigest()

    def valid(self, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self.token.encode())


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def headers(nonce: str) -> dict[str, str]:
    """The headers of every answer: only this server's scripts (and the page's nonce), no framing, nothing cached."""
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",  # Mermaid styles the diagrams it draws
            "img-src 'self' data:",
            "font-src 'self' data:",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",  # (no-referrer would make the browser send `Origin: null` with the forms)
        "Cache-Control": "no-store",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
