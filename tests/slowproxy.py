"""A proxy in front of a DynamoDB engine that answers chosen operations late, for the interrupt tests.

`SlowProxy(upstream, delay)` forwards every request unchanged, holding each for
`delay(operation, body)` seconds first: a seed's planner that is still reading, or writes
still in flight, when Ctrl-C comes. `seen` counts the requests of each operation.
"""

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse


class SlowProxy:
    def __init__(self, upstream: str, delay: Callable[[str, dict], float]):
        self.upstream, self.delay = urlparse(upstream), delay
        self.seen: Counter[str] = Counter()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = self.headers.get("X-Amz-Target", ".").split(".")[-1]
                proxy.seen[operation] += 1
                time.sleep(proxy.delay(operation, json.loads(raw or b"{}")))
                upstream = http.client.HTTPConnection(proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                upstream.request("POST", self.path, body=raw, headers={**headers, "Content-Length": str(len(raw))})
                answer = upstream.getresponse()
                payload = answer.read()
                upstream.close()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.getheader("Content-Type", "application/x-amz-json-1.0"))
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client left (a process ended by Ctrl-C)

        return Handler
