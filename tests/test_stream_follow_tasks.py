"""`invoke stream.follow` and `invoke local.start --with-stream`: the follower as a process, started, stopped, interrupted."""

import json
import signal
import time

import pytest

from ddb.app import messaging, patterns
from ddb.engines.process import alive
from ddb.seed.fixtures import load

from .support import FIXTURES, TABLE, local_client, seed_table, start_task_process

MIRA_JUNE = "248665fc-a3a4-41bd-b3b4-81b49c46262b"


def _wait_for(condition, timeout=20.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not come within {timeout:.0f}s")
        time.sleep(0.05)


def _both_inboxes_show(client, users, text):
    def shown():
        tops = [patterns.list_conversations(client, TABLE, users[h].uuid).items[0] for h in ("mira", "june")]
        return all((top["message_group_uuid"], top["message"]) == (MIRA_JUNE, text) for top in tops)

    return shown


@pytest.mark.parametrize(
    ("flags", "said"),
    [(["--from", "sideways"], "--from must be"), (["--batch-size", "0"], "--batch-size"), (["--workers", "11"], "--workers")],
)
def test_follow_refuses_a_bad_flag_in_one_line(invoke, flags, said):
    run = invoke("stream.follow", *flags)
    assert run.code == 1 and run.err.startswith(f"error: {said}") and len(run.err.strip().splitlines()) == 1, run


def test_local_start_with_stream_runs_a_follower_that_moves_both_inboxes_and_local_stop_stops_both(invoke_alone_process):
    invoke = invoke_alone_process
    started = invoke("local.start", "--engine", "moto", "--with-stream")
    try:
        assert started.code == 0, started
        assert "stream follower running (pid " in started.err, started
        status = invoke("local.status", "--json")
        follower = json.loads(status.out)["stream_follower"]
        assert follower["running"] and alive(follower["pid"]), status
        assert invoke("setup").code == 0  # the follower waited for the table, and follows its stream once it is there
        client, users = local_client(invoke.endpoint), load(FIXTURES).users
        messaging.create_message(client, TABLE, MIRA_JUNE, users["june"], "the follower moved this")
        _wait_for(_both_inboxes_show(client, users, "the follower moved this"), what="both inboxes moving")
        assert "stream follower running" in invoke("local.status").err
    finally:
        stopped = invoke("local.stop")
    assert stopped.code == 0 and f"stopped the stream follower (pid {follower['pid']})" in stopped.err, stopped
    assert not alive(follower["pid"])
    log = (invoke.state_dir / "stream-follower.log").read_text()
    assert "following the stream of cruddur-messages" in log and "stopped: applied " in log  # SIGTERM: a clean stop


def test_ctrl_c_stops_the_follower_with_exit_130_and_the_checkpoint_of_what_it_applied(invoke, engine, engine_client):
    seed_table(engine_client)
    users = load(FIXTURES).users
    checkpoint = invoke.state_dir / "stream-local-cruddur-messages.json"
    process = start_task_process(["stream.follow", "--batch-size", "10"], invoke.environment())
    try:
        _wait_for(checkpoint.exists, what="a checkpoint")
        messaging.create_message(engine_client, TABLE, MIRA_JUNE, users["june"], "just before Ctrl-C")
        _wait_for(_both_inboxes_show(engine_client, users, "just before Ctrl-C"), what="both inboxes moving")
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert "stopping: finishing the batch in flight" in err and "\nstopped: applied " in err and "Traceback" not in err, err
    assert len(json.loads(checkpoint.read_text())) == 1  # one stream's checkpoint, whole
    rest = invoke("stream.process", "--json")  # what the follower left: its own last moves at most, no message
    assert rest.code == 0 and json.loads(rest.out)["messages"] == 0, rest
