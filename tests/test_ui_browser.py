"""`invoke ui` in a real browser: headless Chromium from the OS packages, driven through chromedriver's
WebDriver HTTP API (no client library), against the view's server and a moto server of this module's own.

One browser for the module. Chromium runs with the flags this machine needs (no sandbox
as root, no background networking: the network beyond loopback is closed). Skipped, saying
why, where chromium or chromedriver is missing; `.ci/run` installs both
(`apt-get install chromium chromium-driver`). The stream is applied in the test with
`ddb.stream.reader.drain`, as `invoke stream.process` does. With UI_SCREENSHOTS=DIR set,
the main pages are saved there as PNG (docs/images/ holds the committed ones).
"""

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from commands.ui import server
from ddb.app import patterns
from ddb.core.target import client as make_client
from ddb.core.target import local_target, prod_target
from ddb.stream import reader

from .support import TABLE, free_port, local_client, seed_table
from .test_ui import MIRA_TOMAS, ui_context

CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or "/usr/bin/chromium", shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1100,720",
]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element identifier

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="headless Chromium is not installed: `apt-get install -y chromium chromium-driver` (.ci/run does)",
)


class Browser:
    """A chromedriver session: navigate, find, type, click, run a script, read the console, screenshot."""

    def __init__(self, profile: Path):
        self.port = free_port()
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while not self._ready():
            assert time.monotonic() < deadline, "chromedriver did not start"
            time.sleep(0.1)
        options = {"binary": CHROMIUM, "args": [*FLAGS, f"--user-data-dir={profile}"]}
        capabilities = {"browserName": "chrome", "goog:chromeOptions": options, "goog:loggingPrefs": {"browser": "ALL"}}
        self.session = self._call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})["sessionId"]

    def _ready(self) -> bool:
        try:
            return bool(self._call("GET", "/status")["ready"])
        except (OSError, urllib.error.URLError):
            return False

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())["value"]
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"WebDriver {method} {path}: {exc.read().decode()[:500]}") from None

    def do(self, method: str, path: str, body: dict | None = None):
        return self._call(method, f"/session/{self.session}{path}", body)

    def open(self, url: str) -> None:
        self.do("POST", "/url", {"url": url})

    def run(self, script: str, *args):
        return self.do("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css: str) -> str:
        found = self.do("POST", "/element", {"using": "css selector", "value": css})
        assert ELEMENT in found, (css, found)
        return found[ELEMENT]

    def type(self, css: str, text: str) -> None:
        self.do("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css: str) -> None:
        self.do("POST", f"/element/{self.find(css)}/click", {})

    def console(self) -> list[dict]:
        """The console's entries since the last call."""
        return self.do("POST", "/se/log", {"type": "browser"})

    def wait_for(self, script: str, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while not (value := self.run(script)):
            assert time.monotonic() < deadline, f"timed out waiting for: {script}"
            time.sleep(0.1)
        return value

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.do("GET", "/screenshot")))

    def quit(self) -> None:
        try:
            self.do("DELETE", "")
        finally:
            self.driver.terminate()
            self.driver.wait(10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    opened = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield opened
    opened.quit()


@pytest.fixture(scope="module")
def engine_endpoint():
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()


@pytest.fixture(scope="module")
def site(engine_endpoint, repo_fixtures):
    client = local_client(engine_endpoint)
    seed_table(client)
    ctx = ui_context(client, repo_fixtures)
    ctx.target = local_target(TABLE, "us-east-1", engine_endpoint)
    running = server.start(ctx)
    yield running
    running.shutdown()
    running.server_close()


@pytest.fixture(scope="module")
def prod_site(site, repo_fixtures):
    ctx = ui_context(site.ctx.client, repo_fixtures, prod=True)
    ctx.target = prod_target(TABLE)
    running = server.start(ctx)
    yield running
    running.shutdown()
    running.server_close()


PAGES = {
    "items": "items?type=message",
    "inbox": "inbox?handle=mira",
    "conversation": f"conversation?group={MIRA_TOMAS}&limit=8",
    "start": "start",
    "query": "query?index=table&pk=MSG%23" + MIRA_TOMAS + "&op=between&a=2026-11-25T15&b=2026-11-25T16&order=desc",
    "schema": "schema",
    "migrations": "migrations",
    "model": "model",
    "cost": "cost",
}


SHOWN = ("items", "inbox", "conversation", "query", "model", "cost")  # the pages docs/ui.md shows


def test_the_pages_render_without_console_errors(browser, site):
    shots = os.environ.get("UI_SCREENSHOTS")
    browser.console()
    for name, path in PAGES.items():
        browser.open(site.url + path)
        assert browser.run("return document.querySelector('h1').textContent"), name
        if name == "model" and site.ctx.mermaid is not None:
            browser.wait_for("return document.querySelector('pre.mermaid svg') !== null")
        errors = [e for e in browser.console() if e.get("level") == "SEVERE"]
        assert errors == [], (name, errors)
        if shots and name in SHOWN:
            if name == "model":
                browser.run("document.querySelector('pre.mermaid').scrollIntoView()")
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.screenshot(Path(shots) / f"ui-{name}.png")


def test_the_inbox_lists_the_conversations_newest_first(browser, site):
    browser.open(site.url + "inbox?handle=mira")
    rows = browser.run(
        "return [...document.querySelectorAll('#inbox tr.conversation')].map(r => [r.dataset.at, r.dataset.group])"
    )
    expected = patterns.list_conversations(site.ctx.client, TABLE, site.ctx.users["mira"].uuid)
    assert rows == [[c["last_message_at"], c["message_group_uuid"]] for c in expected.items]
    assert [at for at, _ in rows] == sorted((at for at, _ in rows), reverse=True) and len(rows) == 3


def test_a_conversation_shows_its_messages_in_order(browser, site):
    browser.open(site.url + "inbox?handle=mira")
    browser.click(f'#inbox tr[data-group="{MIRA_TOMAS}"] a')
    browser.wait_for("return document.querySelector('#chat') !== null")
    shown = browser.run("return [...document.querySelectorAll('#chat li .text')].map(e => e.textContent)")
    times = browser.run("return [...document.querySelectorAll('#chat li')].map(e => e.dataset.at)")
    assert shown == [m["message"] for m in patterns.list_messages(site.ctx.client, TABLE, MIRA_TOMAS).items]
    assert times == sorted(times) and len(times) > 1


def _inbox_top(browser, site, handle):
    browser.open(site.url + f"inbox?handle={handle}")
    return browser.run(
        "const r = document.querySelector('#inbox tr.conversation'); return [r.dataset.group, r.cells[1].textContent]"
    )


def test_a_message_sent_from_the_page_reaches_both_inboxes_once_the_stream_is_applied(browser, site, tmp_path):
    text = f"Sent from the browser at {time.time():.3f}"
    browser.open(site.url + f"conversation?group={MIRA_TOMAS}")
    browser.type("#send-form textarea[name=message]", text)
    browser.click("#send-form button[type=submit]")
    browser.wait_for("return document.querySelector('#notice') !== null")
    assert browser.run("return [...document.querySelectorAll('#chat li .text')].map(e => e.textContent).at(-1)") == text
    assert "sent into conversation" in browser.run("return document.querySelector('#notice').textContent")
    assert _inbox_top(browser, site, "tomas")[1] != text  # the group items move with the stream, not with the write
    # Applied as `invoke stream.process` does (a follower, `invoke stream.follow`, does it by itself).
    streams = make_client(site.ctx.target, "dynamodbstreams")
    drained = reader.drain(site.ctx.client, streams, TABLE, tmp_path / "checkpoint.json", tmp_path / "dead.jsonl")
    assert drained.result.failed == []
    for handle in ("mira", "tomas"):
        assert _inbox_top(browser, site, handle) == [MIRA_TOMAS, text], handle


def test_prod_pages_have_no_write_form(browser, prod_site):
    for name, path in PAGES.items():
        browser.open(prod_site.url + path)  # on prod the handle is looked up in the table
        posts = browser.run("return document.querySelectorAll('form[method=post], textarea, button[formmethod=post]').length")
        assert posts == 0, name
        assert browser.run("return document.querySelector('#target').textContent").startswith("PROD, read-only"), name
        assert browser.run("return document.querySelector('.error')") is None, name
        assert [e for e in browser.console() if e.get("level") == "SEVERE"] == [], name
