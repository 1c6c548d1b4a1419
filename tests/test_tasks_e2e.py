"""Every task, run as `invoke ...` (in process) against the moto server on loopback; on DynamoDB Local too where
the engine changes the outcome (`each_engine`: schema, seeding, scans, paged queries, streams)."""

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ddb.data import contract

from .support import ENGINES, FIXTURES, INBOX_FIELDS, ROOT, TABLE, dynamodb_local_or_skip, fake_aws_environment, seed_table

MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"


@pytest.fixture
def ready(invoke, engine_client):
    """The task runner, against a table seeded with the repository's fixtures (through the library)."""
    seed_table(engine_client)
    return invoke


def _scan(invoke, *extra):
    run = invoke("scan", "--json", *extra)
    assert run.code == 0, run
    return [json.loads(line) for line in run.out.splitlines()]


@pytest.mark.each_engine
def test_setup_creates_and_seeds_and_says_so(invoke):
    run = invoke("setup")
    assert run.code == 0, run
    assert "table 'cruddur-messages': created" in run.err
    assert "seeded 4 conversations, 100 messages, 8 group items, 4 group claims: 112 put, 0 stale deleted" in run.err


def test_list_conversations_prints_the_default_users_inbox(ready):
    run = ready("patterns.list-conversations")
    assert run.code == 0, run
    assert run.out.index("@tomas") < run.out.index("@june") < run.out.index("@ravi")
    assert "conversations of @mira, most recent first" in run.out


@pytest.mark.each_engine
def test_list_conversations_json_shape(ready):
    run = ready("patterns.list-conversations", "--handle", "mira", "--limit", "2", "--json")
    page = json.loads(run.out)
    assert set(page) == {"items", "next_cursor", "consumed_capacity"}
    assert [i["user_handle"] for i in page["items"]] == ["tomas", "june"]
    assert set(page["items"][0]) == INBOX_FIELDS
    rest = json.loads(ready("patterns.list-conversations", "--limit", "2", "--cursor", page["next_cursor"], "--json").out)
    assert [i["user_handle"] for i in rest["items"]] == ["ravi"] and rest["next_cursor"] is None


def test_get_conversation_reads_like_a_chat(ready):
    run = ready("patterns.get-conversation", "--limit", "3")
    assert run.code == 0, run
    lines = run.out
    assert "@mira" in lines and "@tomas" in lines
    assert lines.index("Just checked one more time") < lines.index("See you at 5:30 sharp")


def test_get_conversation_json_is_oldest_first(ready):
    page = json.loads(ready("patterns.get-conversation", "--message-group-uuid", MIRA_TOMAS, "--limit", "4", "--json").out)
    times = [i["created_at"] for i in page["items"]]
    assert len(times) == 4 and times == sorted(times)
    assert set(page["items"][0]) == {"message_uuid", "user_uuid", "user_handle", "user_display_name", "message", "created_at"}
    assert page["next_cursor"]


@pytest.mark.each_engine
def test_scan_json_prints_every_item_as_plain_json_lines(ready):
    items = _scan(ready)
    assert len(items) == 112
    assert all(isinstance(i["pk"], str) for i in items)
    for item in items:
        assert contract.item_problems(item) == [], item
    assert len(_scan(ready, "--limit", "5")) == 5


def test_scan_human_output_counts_items(ready):
    run = ready("scan", "--limit", "3")
    assert run.code == 0 and "3 items in local table 'cruddur-messages'" in run.err


def test_list_tables_json_and_table(ready):
    assert json.loads(ready("list-tables", "--json").out) == [TABLE]
    assert TABLE in ready("list-tables").out


@pytest.mark.each_engine
def test_seed_twice_leaves_the_same_keys_as_once(ready):
    once = {(i["pk"], i["sk"]) for i in _scan(ready)}
    assert ready("seed").code == 0
    twice = {(i["pk"], i["sk"]) for i in _scan(ready)}
    assert len(twice) == 112
    # Times move with the seed run, so compare what identifies each item.
    assert {p for p, _ in once} == {p for p, _ in twice}


def test_seed_dry_run_writes_nothing(invoke):
    assert invoke("schema-load").code == 0
    run = invoke("seed", "--dry-run")
    assert run.code == 0 and "dry run: fixtures valid; would write 112 items" in run.err
    assert _scan(invoke) == []


def test_seed_of_a_bad_fixture_is_one_line_and_writes_nothing(invoke, tmp_path):
    copy = tmp_path / "fx"
    shutil.copytree(FIXTURES, copy)
    (copy / "conversations" / "zz-broken.json").write_text("{")
    assert invoke("schema-load").code == 0
    run = invoke("seed", "--fixtures", str(copy))
    assert run.code == 1
    assert (
        run.err.strip()
        == f"error: {copy}/conversations/zz-broken.json: line 1 column 2: invalid JSON: Expecting property name enclosed in double quotes"
    )
    assert _scan(invoke) == []


@pytest.mark.each_engine
def test_schema_load_twice_says_up_to_date(invoke):
    assert "created" in invoke("schema-load").err
    run = invoke("schema-load")
    assert run.code == 0 and "up to date" in run.err


@pytest.mark.each_engine
def test_drop_deletes_and_a_missing_table_is_a_clear_no_op(ready):
    run = ready("drop", "--yes")
    assert run.code == 0 and "table 'cruddur-messages': deleted" in run.err
    assert json.loads(ready("list-tables", "--json").out) == []
    again = ready("drop")
    assert again.code == 0 and "not there, nothing to delete" in again.err


@pytest.mark.parametrize("task", [["scan"], ["seed"], ["patterns.list-conversations"]], ids=lambda task: task[0])
def test_engine_down_is_one_line_naming_both_ways_to_start_one(invoke_alone, task):
    port = invoke_alone.port
    run = invoke_alone(*task)
    assert run.code == 1
    assert run.err.strip() == (
        f"error: no DynamoDB engine answers at http://127.0.0.1:{port}: start one with "
        "`invoke local.start` (embedded engine) or `docker compose up -d` (DynamoDB Local)"
    )


def _prod_env(engine):
    return {"AWS_ENDPOINT_URL_DYNAMODB": engine, "INVOKE_DDB_ENDPOINT_URL": "http://127.0.0.1:9"}


def test_prod_setup_with_yes_then_list_conversations(invoke, engine):
    run = invoke("setup", "--prod", "--yes", env=_prod_env(engine))
    assert run.code == 0, run
    assert "target: prod table 'cruddur-messages' in us-east-1 (account unknown: Could not connect" in run.err
    page = json.loads(invoke("patterns.list-conversations", "--prod", "--json", env=_prod_env(engine)).out)
    assert [i["user_handle"] for i in page["items"]] == ["tomas", "june", "ravi"]


def test_invoke_list_shows_every_task_with_one_line():
    out = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"], cwd=ROOT, capture_output=True, text=True, env=fake_aws_environment()
    ).stdout
    for name in [
        "schema-load",
        "list-tables",
        "drop",
        "seed",
        "scan",
        "setup",
        "local.start",
        "local.status",
        "local.stop",
        "patterns.list-conversations",
        "patterns.get-conversation",
    ]:
        line = next((row for row in out.splitlines() if row.strip().startswith(name + " ")), None)
        assert line and len(line.split(None, 1)) == 2, (name, out)


def test_every_flag_of_every_task_has_help():
    import tasks

    for name in tasks.ns.task_names:
        task = tasks.ns[name]
        for arg in task.get_arguments():
            assert arg.help, f"{name} --{arg.name} has no help"


def _listening_addresses(port: int) -> set[str]:
    """The IPv4/IPv6 addresses that LISTEN on `port`, from /proc/net/tcp{,6}."""
    import ipaddress

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.add(str(ipaddress.IPv4Address(raw[::-1])))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(str(ipaddress.IPv6Address(words)))
    return found


@pytest.mark.parametrize("engine_name", ENGINES)
def test_local_start_status_stop(invoke_alone_process, engine_name):
    invoke, endpoint = invoke_alone_process, invoke_alone_process.endpoint
    if engine_name == "dynamodb-local":
        dynamodb_local_or_skip()
        flags, label, version = (
            ["--engine", "auto"],
            "DynamoDB Local",
            "3.3.1",
        )  # auto picks DynamoDB Local: Java and the jar are there
    else:
        flags, label, version = ["--engine", "moto"], "moto", importlib.metadata.version("moto")
    run = invoke("local.start", *flags)
    try:
        assert run.code == 0, run
        assert (
            run.err.startswith(f"{label} {version} answers at {endpoint} (pid ")
            and f"answers at {endpoint}" in run.err
            and "forgets everything on stop" in run.err
        )
        status = json.loads(invoke("local.status", "--json").out)
        assert status["running"] and status["answering"] and status["engine"] == engine_name
        if engine_name == "moto":
            assert _listening_addresses(int(endpoint.rsplit(":", 1)[1])) == {"127.0.0.1"}
        assert status["db_path"] is None and status["version"] == version
        human = invoke("local.status")
        assert human.err.strip() == f"{label} {version} running (pid {status['pid']}) at {endpoint}, answering; in memory"
        again = invoke("local.start", *flags)
        assert again.code == 0 and f"(pid {status['pid']}" in again.err
        assert invoke("setup").code == 0
        assert json.loads(invoke("patterns.list-conversations", "--json").out)["items"]
    finally:
        stopped = invoke("local.stop")
    assert stopped.code == 0 and stopped.err.strip() == f"stopped {label} (pid {status['pid']}); its tables are gone"
    gone = invoke("local.status", "--json")
    status = json.loads(gone.out)
    assert not status["running"] and not status["answering"] and gone.code == 1  # nothing answers: a failure
    down = invoke("local.status")
    assert (down.code, down.err.strip()) == (
        1,
        f"not running; nothing answers at {endpoint}: start one with `invoke local.start`",
    )


@pytest.mark.each_engine
def test_create_conversation_message_stream_then_both_inboxes_show_it_on_top(ready):
    started = ready(
        "patterns.create-conversation", "--handle", "ravi", "--with", "lena", "--message", "Book club Thursday?", "--json"
    )
    assert started.code == 0, started
    created = json.loads(started.out)
    group = created["message_group_uuid"]
    assert created["created_conversation"] is True
    reply = ready("patterns.create-message", "--message-group-uuid", group, "--handle", "lena", "--message", "Count me in.")
    assert reply.code == 0 and reply.out.strip() == group
    processed = ready("stream.process", "--json")
    assert processed.code == 0, processed
    assert json.loads(processed.out)["failed"] == []
    for handle in ("ravi", "lena"):
        page = json.loads(ready("patterns.list-conversations", "--handle", handle, "--json").out)
        top = page["items"][0]
        assert (top["message_group_uuid"], top["message"]) == (group, "Count me in.")
        assert sum(i["message_group_uuid"] == group for i in page["items"]) == 1
    chat = json.loads(ready("patterns.get-conversation", "--message-group-uuid", group, "--json").out)
    assert [(i["user_handle"], i["message"]) for i in chat["items"]] == [
        ("ravi", "Book club Thursday?"),
        ("lena", "Count me in."),
    ]
    again = json.loads(ready("stream.process", "--json").out)
    assert again["messages"] == 0  # the checkpoint remembers what was applied


def test_create_message_from_a_non_participant_is_one_line(ready):
    run = ready("patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--handle", "lena", "--message", "hi")
    assert (run.code, run.err.strip()) == (1, f"error: @lena is not a participant of conversation {MIRA_TOMAS}")


@pytest.mark.each_engine
def test_paging_the_long_conversation_7_at_a_time_from_the_command_line(ready):
    pages, cursor = [], None
    while True:
        args = ["patterns.get-conversation", "--limit", "7", "--json"] + (["--cursor", cursor] if cursor else [])
        page = json.loads(ready(*args).out)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    chat = [item for page in reversed(pages) for item in page]
    assert len(chat) == 70 and len({i["message_uuid"] for i in chat}) == 70
    assert [i["created_at"] for i in chat] == sorted(i["created_at"] for i in chat)
