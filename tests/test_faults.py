"""Zero loss under faults, clear refusals: the tasks behind a fault-injecting proxy.

The faults are the proxy's, so most of these run on moto alone; those whose outcome
rests on what the engine does with conditional writes, transactions and the seed lock
(`each_engine`) run on DynamoDB Local too.
"""

import json
import os
import pty
import subprocess
import sys
from operator import itemgetter

import pytest

from ddb.schema import declaration as schema

from .faultproxy import ALL, FaultProxy
from .support import ROOT, TABLE, all_items, fake_aws_environment, local_client, seed_table, start_task_process, task_environment

# Short timeouts: each silent answer of the proxy (2.5 s) costs this long; long enough for a loaded machine's slow answers.
FAST = {"INVOKE_DDB_READ_TIMEOUT": "1.5", "INVOKE_DDB_CONNECT_TIMEOUT": "1"}
MIRA_TOMAS = "3364f717-0448-48d9-b8ed-f5dc3fb166c3"
# A third of every request fails, whatever its kind: throttled, answered 500, or dropped.
EVERY_KIND = {"throttle": 0.25, "500": 0.05, "drop-before": 0.025, "drop-after": 0.025}


def _scan(invoke):
    run = invoke("scan", "--json")
    assert run.code == 0, run
    return [json.loads(line) for line in run.out.splitlines()]


def _assert_exactly_the_fixtures(items):
    messages = [i for i in items if i["pk"].startswith("MSG#")]
    groups = [i for i in items if i["pk"].startswith("GRP#")]
    assert len(messages) == 100 and len({m["message_uuid"] for m in messages}) == 100
    assert len(groups) == 8 and len({(g["pk"], g["message_group_uuid"]) for g in groups}) == 8
    assert len([i for i in items if i["pk"].startswith("CLAIM#GROUP#")]) == 4
    assert len(items) == 112


def test_seed_stores_every_item_once_with_30_percent_faults_and_half_of_every_batch_unprocessed(invoke, engine):
    assert invoke("schema-load").code == 0
    with FaultProxy(engine, fail_share=0.35, unprocessed_share=1.0) as proxy:
        run = invoke("seed", endpoint=proxy.endpoint, env=FAST)
        assert run.code == 0, run
        assert proxy.injected["unprocessed"] >= 5 and sum(proxy.injected.values()) - proxy.injected["unprocessed"] >= 3
    retries = int(run.err.split(" retries")[0].rsplit(" ", 1)[-1])
    assert retries > 0, run.err
    _assert_exactly_the_fixtures(_scan(invoke))


@pytest.mark.each_engine
def test_write_patterns_and_stream_finish_under_faults_with_nothing_twice(invoke, engine):
    schema.load(local_client(engine), TABLE)  # an empty table: the stream then holds only what this test writes
    with FaultProxy(engine, fail_share=0.35, seed=11) as proxy:
        started = invoke(
            "patterns.create-conversation",
            "--handle",
            "ravi",
            "--with",
            "lena",
            "--message",
            "first",
            "--json",
            endpoint=proxy.endpoint,
            env=FAST,
        )
        assert started.code == 0, started
        group = json.loads(started.out)["message_group_uuid"]
        for n in range(6):
            sender = ("lena", "ravi")[n % 2]
            sent = invoke(
                "patterns.create-message",
                "--message-group-uuid",
                group,
                "--handle",
                sender,
                "--message",
                f"reply {n}",
                endpoint=proxy.endpoint,
                env=FAST,
            )
            assert sent.code == 0, sent
        processed = invoke("stream.process", endpoint=proxy.endpoint, env=FAST)
        assert processed.code == 0, processed
        assert sum(proxy.injected.values()) >= 3
    items = _scan(invoke)
    mine = [i for i in items if i["pk"] == f"MSG#{group}"]
    assert sorted(i["message"] for i in mine) == sorted(["first"] + [f"reply {n}" for n in range(6)])
    groups = [i for i in items if i.get("message_group_uuid") == group]
    assert len(groups) == 2 and {g["message"] for g in groups} == {"reply 5"}


def test_when_retries_run_out_seed_exits_1_naming_keys_and_a_rerun_finishes(invoke, engine):
    assert invoke("schema-load").code == 0
    with FaultProxy(engine, fail_share=1.0, faults=("throttle",), operations={"BatchWriteItem"}) as proxy:
        run = invoke("seed", "--writers", "1", endpoint=proxy.endpoint, env={"INVOKE_DDB_RETRY_ATTEMPTS": "2", **FAST})
    assert run.code == 1
    (line,) = run.err.strip().splitlines()
    assert line.startswith("error: 112 item(s) not written after 2 attempts without progress: ")
    assert "MSG#" in line and line.endswith("and 107 more; run the command again to finish")
    assert "Traceback" not in run.err
    assert invoke("seed").code == 0
    _assert_exactly_the_fixtures(_scan(invoke))


@pytest.mark.each_engine
def test_seed_stores_every_item_once_when_a_third_of_every_kind_of_request_fails(invoke, engine):
    assert invoke("schema-load").code == 0
    with FaultProxy(engine, shares=EVERY_KIND, operations=ALL, seed=4) as proxy:
        run = invoke("seed", endpoint=proxy.endpoint, env=FAST)
        assert run.code == 0, run
        again = invoke("seed", endpoint=proxy.endpoint, env=FAST)  # a re-seed: its plan reads the table
        assert again.code == 0, again
        assert proxy.faulted["Scan"] + proxy.faulted["Query"] >= 1, proxy.faulted
    items = all_items(local_client(engine))
    assert not [i for i in items if i["pk"].startswith("LOCK#")]
    _assert_exactly_the_fixtures(items)


def test_read_patterns_answer_when_a_third_of_their_requests_fail(invoke, engine):
    seed_table(local_client(engine))
    with FaultProxy(engine, shares=EVERY_KIND, operations=ALL, seed=4) as proxy:
        for _ in range(6):
            inbox = invoke("patterns.list-conversations", "--json", endpoint=proxy.endpoint, env=FAST)
            assert inbox.code == 0, inbox
            assert [i["user_handle"] for i in json.loads(inbox.out)["items"]] == ["tomas", "june", "ravi"]
            chat = invoke("patterns.get-conversation", "--limit", "3", "--json", endpoint=proxy.endpoint, env=FAST)
            assert chat.code == 0, chat
            assert len(json.loads(chat.out)["items"]) == 3
        assert proxy.faulted["Query"] >= 3, proxy.faulted


def test_setup_messages_stream_and_scan_finish_when_a_third_of_every_kind_of_request_fails(invoke, engine):
    # No silent answers among these faults: a slow answer of a loaded machine must not count as a hang.
    env = {**FAST, "INVOKE_DDB_READ_TIMEOUT": "10"}
    with FaultProxy(engine, shares=EVERY_KIND, operations=ALL, seed=7) as proxy:
        set_up = invoke("setup", endpoint=proxy.endpoint, env=env)
        assert set_up.code == 0, set_up
        assert invoke("stream.process").code == 0  # the seed's records, straight from the engine
        for n in range(3):
            sent = invoke(
                "patterns.create-message",
                "--message-group-uuid",
                MIRA_TOMAS,
                "--handle",
                "tomas",
                "--message",
                f"late reply {n}",
                endpoint=proxy.endpoint,
                env=env,
            )
            assert sent.code == 0, sent
        processed = invoke("stream.process", endpoint=proxy.endpoint, env=env)
        assert processed.code == 0, processed
        scanned = invoke("scan", "--json", endpoint=proxy.endpoint, env=env)
        assert scanned.code == 0, scanned
        # The read patterns too (a stream batch now takes one query per conversation, so few queries above).
        for _ in range(3):
            inbox = invoke("patterns.list-conversations", "--handle", "tomas", "--json", endpoint=proxy.endpoint, env=env)
            assert inbox.code == 0, inbox
            assert json.loads(inbox.out)["items"][0]["message"] == "late reply 2"
            chat = invoke(
                "patterns.get-conversation", "--message-group-uuid", MIRA_TOMAS, "--json", endpoint=proxy.endpoint, env=env
            )
            assert chat.code == 0, chat
            assert json.loads(chat.out)["items"][-1]["message"] == "late reply 2"
        assert {"DescribeTable", "Query", "GetRecords"} <= set(proxy.faulted), proxy.faulted
    items = [json.loads(line) for line in scanned.out.splitlines()]
    by_key = itemgetter("pk", "sk")
    assert sorted(items, key=by_key) == sorted(all_items(local_client(engine)), key=by_key)
    replies = [i for i in items if i["pk"] == f"MSG#{MIRA_TOMAS}" and i["message"].startswith("late reply")]
    assert sorted(i["message"] for i in replies) == ["late reply 0", "late reply 1", "late reply 2"]
    groups = [i for i in items if i.get("message_group_uuid") == MIRA_TOMAS]
    assert len(groups) == 2 and {g["message"] for g in groups} == {"late reply 2"}


def test_an_engine_that_hangs_is_one_line_after_two_tries_whatever_the_retry_attempts(invoke, engine):
    # Bounded by tries (RetryPolicy.timeout_attempts), each bounded by the read timeout: how long that takes is bench/'s to say.
    with FaultProxy(engine, hang_all=True, timeout_seconds=3) as proxy:
        run = invoke("patterns.list-conversations", endpoint=proxy.endpoint, env={"INVOKE_DDB_RETRY_ATTEMPTS": "10", **FAST})
        tries = sum(proxy.seen.values())
    assert run.code == 1
    assert run.err.strip() == f"error: DynamoDB at {proxy.endpoint} accepted the connection but did not answer in time"
    assert tries == 2


def _prod(proxy_or_engine, **extra):
    return {"AWS_ENDPOINT_URL_DYNAMODB": proxy_or_engine, "INVOKE_DDB_ENDPOINT_URL": "http://127.0.0.1:9", **FAST, **extra}


def test_wrong_credentials_on_prod_are_one_line_and_never_echo_the_secret(invoke, engine):
    secret = "wJalrXUtnFEMI-not-a-real-secret-42"
    with FaultProxy(engine, always="auth") as proxy:
        run = invoke("list-tables", "--prod", env=_prod(proxy.endpoint, AWS_SECRET_ACCESS_KEY=secret))
    assert run.code == 1
    assert run.err.strip() == (
        "error: AWS refused the credentials (UnrecognizedClientException): The security token included in the request is invalid."
    )
    assert secret not in run.err + run.out


# moto keeps tables per region (DynamoDB Local with -sharedDb has one database whatever the region).
def test_a_region_with_no_table_names_the_region(invoke, engine):
    seed_table(local_client(engine))
    run = invoke("scan", "--prod", env=_prod(engine, AWS_DEFAULT_REGION="eu-west-1"))
    assert run.code == 1
    assert run.err.strip().startswith(f"error: table 'cruddur-messages' does not exist in eu-west-1 at {engine}")


def test_local_dummy_credentials_are_never_used_for_prod(invoke, engine):
    env = _prod(engine)
    env.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    with FaultProxy(engine) as proxy:
        run = invoke("list-tables", "--prod", env={**env, "AWS_ENDPOINT_URL_DYNAMODB": proxy.endpoint})
        assert sum(proxy.seen.values()) == 0
    assert run.code == 1 and run.err.strip().startswith("error: no AWS credentials found")


@pytest.mark.parametrize(
    "args",
    [
        ["setup"],
        ["seed"],
        ["drop"],
        ["schema-load"],
        ["patterns.create-message", "--message-group-uuid", MIRA_TOMAS, "--message", "x"],
        ["patterns.create-conversation", "--with", "lena", "--message", "x"],
        ["stream.process"],
    ],
)
def test_prod_refusal_sends_no_request_at_all(invoke, engine, args):
    with FaultProxy(engine) as proxy:
        run = invoke(*args, "--prod", env=_prod(proxy.endpoint))
        assert sum(proxy.seen.values()) == 0, proxy.seen  # so nothing was touched either
    assert run.code == 1
    refusal = run.err.strip().splitlines()[-1]
    assert refusal.startswith("error: refusing to ")
    assert refusal.endswith(
        f"on prod table 'cruddur-messages' in us-east-1 at {proxy.endpoint}: no terminal to confirm on; pass --yes to confirm"
    )


@pytest.mark.parametrize("task", ["seed", "drop"])
def test_dry_run_sends_no_write(invoke, engine, task):
    seed_table(local_client(engine))
    before = _scan(invoke)
    with FaultProxy(engine) as proxy:
        run = invoke(task, "--dry-run", "--prod", env=_prod(proxy.endpoint))
        assert proxy.writes_seen == 0 and sum(proxy.seen.values()) > 0
    assert run.code == 0 and run.err.startswith("dry run: ")
    assert _scan(invoke) == before


def _at_a_terminal(args, answer, env, end="\n"):
    """Run invoke with a pseudo-terminal as stdin, type `answer` + `end`, return (code, output)."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    os.close(terminal)
    os.write(controller, (answer + end).encode())
    out, _ = process.communicate(timeout=60)
    os.close(controller)
    return process.returncode, out


def _env(engine, **extra):
    env = fake_aws_environment()
    env.update(_prod(engine), **extra)
    return env


def test_at_a_terminal_typing_the_table_name_confirms(invoke, engine):
    seed_table(local_client(engine))
    code, out = _at_a_terminal(["drop", "--prod"], "cruddur-messages", _env(engine, AWS_ENDPOINT_URL_STS=engine))
    assert code == 0, out
    assert "Type the table name to go on:" in out and "table 'cruddur-messages': deleted" in out
    prompt = f"About to DELETE the table and all its items on prod table 'cruddur-messages' in us-east-1 (account 123456789012) at {engine}."
    assert prompt in out  # the account the credentials act in, as STS says
    assert json.loads(invoke("list-tables", "--json").out) == []


def test_at_a_terminal_any_other_answer_refuses(invoke, engine):
    seed_table(local_client(engine))
    code, out = _at_a_terminal(["drop", "--prod"], "yes", _env(engine))
    assert code == 1
    assert "error: not confirmed: did not DELETE the table and all its items; nothing was changed" in out
    assert json.loads(invoke("list-tables", "--json").out) == ["cruddur-messages"]


def test_at_a_terminal_ctrl_d_refuses_in_one_line_and_changes_nothing(invoke, engine):
    seed_table(local_client(engine))
    code, out = _at_a_terminal(["drop", "--prod"], "\x04", _env(engine), end="")  # Ctrl-D: end of input
    assert code == 1, out
    assert out.splitlines()[-2:] == [
        "Type the table name to go on: ",
        "error: not confirmed (no answer): did not DELETE the table and all its items; nothing was changed",
    ]
    assert json.loads(invoke("list-tables", "--json").out) == ["cruddur-messages"]


@pytest.mark.each_engine
def test_two_seeds_started_at_once_end_as_one_seed(invoke, engine, tmp_path):
    """Two processes, as two people at two terminals: the lock, not the process, must serialise them."""
    assert invoke("schema-load").code == 0
    env = task_environment(engine, tmp_path, invoke.port)
    runs = [start_task_process(["seed"], env) for _ in range(2)]
    outcomes = [(r.wait(timeout=120), r.communicate()[1]) for r in runs]
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    _assert_exactly_the_fixtures(_scan(invoke))
