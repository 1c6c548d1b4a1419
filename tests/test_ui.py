"""`invoke ui`, the web view, with its server in a thread against moto: the pages, the writes, and the refusals.

Requests go through http.client so each test sets the Host, Origin and body it means.
The browser's own view of the pages is tests/test_ui_browser.py.
"""

import http.client
import re
import threading
from urllib.parse import urlencode

import pytest

from commands.ui import markdown, routes, server
from commands.ui.context import UiContext
from commands.ui.mermaid import script_path
from commands.ui.security import MAX_BODY
from ddb.app import messaging, patterns
from ddb.core.target import local_target, prod_target
from ddb.data.items import message_pk

from .support import ROOT, TABLE, all_items, free_port, local_client, seed_table, start_task_process, task_environment

MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"


def ui_context(client, fixture_set, prod=False) -> UiContext:
    target = prod_target(TABLE) if prod else local_target(TABLE, "us-east-1", "http://localhost:8000")
    from ddb.modeling import pricing

    prices = pricing.Prices(0.125, 0.625, 0.00013, 0.00065, 0.25, taken="test", region="us-east-1")
    return UiContext(
        target=target,
        client=client,
        users={} if prod else dict(fixture_set.users),
        default_group=MIRA_TOMAS,
        migrations=ROOT / "migrations",
        fixtures=ROOT / "fixtures",
        traffic=ROOT / "docs" / "traffic.example.yaml",
        prices=prices,
        account="123456789012" if prod else None,
        mermaid=script_path(),
    )


class Browserless:
    """The view's server in a thread, asked through http.client."""

    def __init__(self, ctx: UiContext):
        self.ctx = ctx
        self.server = server.start(ctx)
        self.port = ctx.port

    def ask(self, method, path, form=None, host=None, headers=None, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}" if host is None else host, **(headers or {})}
        if form is not None:
            body = urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
        connection.close()
        return response.status, dict(response.getheaders()), text

    def get(self, path, **kw):
        return self.ask("GET", path, **kw)

    def post(self, path, form, with_token=True, **kw):
        if with_token:
            form = {**form, "csrf_token": self.ctx.csrf.token}
        return self.ask("POST", path, form=form, **kw)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def view(client, seeded):
    running = Browserless(ui_context(client, seeded))
    yield running
    running.close()


@pytest.fixture
def prod_view(client, seeded):
    running = Browserless(ui_context(client, seeded, prod=True))
    yield running
    running.close()


def _found(pattern, text) -> str:
    match = re.search(pattern, text)
    assert match, pattern
    return match.group(1)


def _attr(html, name):
    return re.findall(rf'{name}="([^"]*)"', html)


def test_inbox_lists_the_conversations_newest_first_with_their_capacity(view):
    status, headers, html = view.get("/inbox?handle=mira")
    assert status == 200
    times = _attr(html, "data-at")
    assert len(times) == 3 and times == sorted(times, reverse=True)
    assert "@tomas" in html and "consumed capacity:" in html and "RCU reported by the engine" in html
    assert "nonce-" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"


def test_inbox_pages_with_the_patterns_cursor(view):
    first = view.get("/inbox?handle=mira&limit=2")[2]
    cursor = _found(r'href="/inbox\?[^"]*cursor=([^"&]+)', first)
    expected = patterns.list_conversations(view.ctx.client, TABLE, view.ctx.users["mira"].uuid, 2)
    assert cursor == expected.next_cursor
    second = view.get(f"/inbox?handle=mira&limit=2&cursor={cursor}")[2]
    assert len(_attr(second, "data-at")) == 1 and "older conversations" not in second


def test_conversation_shows_its_messages_oldest_first_and_the_send_form(view):
    status, _, html = view.get(f"/conversation?group={MIRA_TOMAS}&limit=5")
    assert status == 200
    times = _attr(html, "data-at")
    assert len(times) == 5 and times == sorted(times)
    assert 'id="send-form"' in html and 'name="csrf_token"' in html and "older messages" in html


def test_a_message_sent_from_the_form_is_stored_through_pattern_c(view):
    mira = view.ctx.users["mira"]
    status, headers, _ = view.post("/send", {"group": MIRA_TOMAS, "sender_uuid": mira.uuid, "message": "From the view"})
    assert status == 303 and headers["Location"].startswith(f"/conversation?group={MIRA_TOMAS}&notice=")
    page = view.get(headers["Location"])[2]
    assert "sent into conversation" in page and "From the view" in page
    newest = patterns.list_messages(view.ctx.client, TABLE, MIRA_TOMAS, 1).items[0]
    assert (newest["message"], newest["user_handle"]) == ("From the view", "mira")


def test_a_conversation_started_from_the_form_goes_through_pattern_d(view):
    status, headers, _ = view.post("/start", {"handle": "tomas", "with": "lena", "message": "Hello Lena"})
    assert status == 303
    group = _found(r"group=([0-9a-f-]+)", headers["Location"])
    assert "started conversation" in view.get(headers["Location"])[2]
    assert [m["message"] for m in patterns.list_messages(view.ctx.client, TABLE, group).items] == ["Hello Lena"]


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(view):
    before = len(all_items(view.ctx.client))
    mira = view.ctx.users["mira"]
    form = {"group": MIRA_TOMAS, "sender_uuid": mira.uuid, "message": "forged"}
    assert view.post("/send", form, with_token=False)[0] == 403
    assert view.post("/send", {**form, "csrf_token": "0" * 64}, with_token=False)[0] == 403
    status, _, text = view.post("/send", form, headers={"Origin": "http://evil.example"})
    assert status == 403 and "another site" in text
    assert len(all_items(view.ctx.client)) == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost", "", "127.0.0.1.evil:{port}"])
def test_a_request_whose_host_is_not_this_loopback_server_is_refused(view, host):
    status, _, text = view.get("/inbox", host=host.format(port=view.port))
    assert status == 403 and "127.0.0.1 and localhost" in text


def test_localhost_on_the_servers_port_is_served(view):
    assert view.get("/items", host=f"localhost:{view.port}")[0] == 200


def test_oversized_or_unmeasured_forms_are_refused(view):
    big = {"group": MIRA_TOMAS, "message": "x" * (MAX_BODY + 1)}
    assert view.post("/send", big)[0] == 413
    status, _, _ = view.ask("POST", "/send", body=b"a=b", headers={"Transfer-Encoding": "chunked"})
    assert status == 411


def test_every_value_is_escaped(view):
    mira, tomas = view.ctx.users["mira"], view.ctx.users["tomas"]
    messaging.create_message(view.ctx.client, TABLE, MIRA_TOMAS, mira, '<script>alert("x")</script> & <b>bold</b>')
    html = view.get(f"/conversation?group={MIRA_TOMAS}")[2]
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert" not in html and "<b>bold" not in html
    query = view.get("/query?" + urlencode({"pk": '"><img src=x onerror=alert(1)>'}))[2]
    assert "<img src=x" not in query and "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in query
    assert tomas.handle in view.get("/inbox?handle=mira")[2]


def test_an_error_shows_as_its_one_line_and_never_a_traceback(view, monkeypatch):
    status, _, html = view.get("/conversation?group=not-a-uuid")
    assert status == 400 and "error: message_group_uuid" in html and "Traceback" not in html
    status, _, html = view.get(f"/conversation?group={MIRA_TOMAS}&cursor=bogus")
    assert status == 400 and "malformed cursor" in html
    assert view.get("/conversation?group=00000000-0000-4000-8000-000000000000")[0] == 404

    def broken(ctx, request):
        raise RuntimeError("secret internals")

    monkeypatch.setitem(routes.GET, "/items", broken)
    status, _, html = view.get("/items")
    assert status == 500 and "secret internals" not in html and "Traceback" not in html


def test_prod_shows_its_target_on_every_page_offers_no_form_and_refuses_posts(prod_view):
    for path in [
        "/",
        "/items?type=group",
        "/inbox?user_uuid=" + "a3d22a69-1e07-4922-aa0f-9a7468447548",
        "/conversation",
        "/start",
        "/query",
        "/schema",
        "/migrations",
    ]:
        status, _, html = prod_view.get(path)
        assert status == 200, (path, html[-400:])
        assert "PROD, read-only: prod table 'cruddur-messages' in us-east-1 (account 123456789012)" in html.replace("&#x27;", "'")
        assert 'method="post"' not in html and "csrf_token" not in html, path
    before = len(all_items(prod_view.ctx.client))
    group = MIRA_TOMAS
    status, headers, text = prod_view.post("/send", {"group": group, "sender_uuid": "x", "message": "no"})
    assert status == 405 and headers["Allow"] == "GET" and "read-only" in text
    assert prod_view.post("/start", {"handle": "mira", "with": "tomas", "message": "no"})[0] == 405
    assert len(all_items(prod_view.ctx.client)) == before


def test_queries_take_sort_key_conditions_between_included(view):
    messages = patterns.list_messages(view.ctx.client, TABLE, MIRA_TOMAS, 10).items
    low, high = messages[2]["created_at"], messages[5]["created_at"]
    form = {"pk": message_pk(MIRA_TOMAS), "op": "between", "a": low, "b": high, "order": "desc"}
    html = view.get("/query?" + urlencode(form))[2]
    shown = re.findall(r"<td>(\d{4}-\d\d-\d\dT[^<]+)</td>", html)
    assert shown == [m["created_at"] for m in reversed(messages[2:6])]
    assert "BETWEEN :a AND :b" in html and "consumed capacity" in html
    refused = view.get("/query?" + urlencode({**form, "a": high, "b": low}))
    assert refused[0] == 400 and "a &lt;= b" in refused[2]
    index = view.get("/query?" + urlencode({"index": "message-group-sk-index", "pk": MIRA_TOMAS}))[2]
    assert index.count("GRP#") == 2


def test_items_by_type_list_filter_and_page(view):
    html = view.get("/")[2]
    for name in ["group", "message", "group claim", "pair claim", "lock", "migration"]:
        assert f">{name}</a>" in html
    first = view.get("/items?type=message")[2]
    assert first.count("<tr>") == 26 and "next page" in first
    cursor = _found(r"cursor=([^\"&]+)", first)
    second = view.get(f"/items?type=message&cursor={cursor}")[2]
    assert not set(re.findall(r"MSG#[^<]+</td><td>[^<]+", first)) & set(re.findall(r"MSG#[^<]+</td><td>[^<]+", second))
    filtered = view.get("/items?" + urlencode({"type": "group", "attribute": "user_handle", "contains": "TOMAS"}))[2]
    assert filtered.count("<tr>") == 2 and "@" not in filtered.split("<tbody>")[1].split("</tbody>")[0]


def test_the_tools_pages_show_plan_migrations_model_and_cost(view):
    assert "is up to date with the declaration" in view.get("/schema")[2]
    assert "pending" in view.get("/migrations")[2]
    model = view.get("/model")[2]
    assert '<pre class="mermaid">' in model and "flowchart LR" in model and "&amp;lt;owner user uuid&amp;gt;" in model
    cost = view.get("/cost")[2]
    assert "on demand:" in cost and 'src="/cost.svg"' in cost
    status, headers, svg = view.get("/cost.svg")
    assert status == 200 and headers["Content-Type"] == "image/svg+xml" and svg.startswith("<svg")


def test_the_markdown_of_the_document_is_escaped_text():
    html = markdown.to_html("## A <b>\n\n| x | y |\n|---|---|\n| `a\\|b` | <i> |\n\n- `<c>` d\n\nplain & text\n")
    assert html == (
        "<h2>A &lt;b&gt;</h2><table><thead><tr><th>x</th><th>y</th></tr></thead><tbody><tr><td><code>a|b</code></td>"
        "<td>&lt;i&gt;</td></tr></tbody></table><ul><li><code>&lt;c&gt;</code> d</li></ul><p>plain &amp; text</p>"
    )


def test_invoke_ui_serves_on_loopback_prints_the_url_and_stops_on_ctrl_c(engine, tmp_path):
    import signal
    import urllib.request

    seed_table(local_client(engine))
    port = free_port()
    process = start_task_process(["ui", "--port", str(port)], task_environment(engine, tmp_path / "state", free_port()))
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port}/"
        with urllib.request.urlopen(url + "inbox?handle=mira", timeout=30) as answer:
            page = answer.read().decode()
        assert "conversations (Mira Okafor), most recent first" in page and engine in page
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Ctrl-C stops" in err and "stopped" in err


def test_invoke_ui_says_in_one_line_when_the_port_is_taken(invoke):
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        run = invoke("ui", "--port", str(taken.getsockname()[1]))
    assert run.code == 1 and run.err.startswith("error: cannot listen on 127.0.0.1:") and "Traceback" not in run.err


def test_the_server_serves_requests_at_once(view):
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(view.get("/items")[0])) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == [200] * 4


def test_the_diagram_is_text_until_mermaid_is_vendored_and_then_served_from_here(view):
    vendored = view.ctx.mermaid
    view.ctx.mermaid = None
    page = view.get("/model")[2]
    assert "python -m commands.ui.mermaid" in page and "<script" not in page
    assert view.get("/static/mermaid.min.js")[0] == 404
    if vendored is None:
        pytest.skip("the Mermaid script is not vendored here: `python -m commands.ui.mermaid` (.ci/run does)")
    view.ctx.mermaid = vendored
    page = view.get("/model")[2]
    assert '<script src="/static/mermaid.min.js" nonce="' in page
    status, headers, script = view.get("/static/mermaid.min.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript") and "globalThis" in script[-200:]
