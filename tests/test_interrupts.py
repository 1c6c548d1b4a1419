"""What only a process shows: Ctrl-C and SIGKILL during seed, and a reader that closes the pipe early.

These run `invoke` in a subprocess against the session's moto server: the engine does not
change how a process meets a signal or a closed pipe. Their time bounds are generous (a
loaded machine); `bench/interrupts.py` measures how soon a seed answers Ctrl-C.
"""

import re
import signal
import socket
import threading
import time

import pytest

from ddb.bulk.scan import scan_items
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding, synthetic
from ddb.seed.stamping import stamped

from .slowproxy import SlowProxy
from .support import NOW, TABLE, fake_aws_environment, local_client, reset_moto, start_task_process

LOCK = {"pk": {"S": "LOCK#seed"}, "sk": {"S": "seed"}}
STOPPING = "stopping: finishing the requests in flight (Ctrl-C again to quit at once)"
QUIT = "quit at once: requests in flight may still land; run the command again to finish"


@pytest.fixture
def empty_table(moto_server):
    """The session's moto server, emptied, with the declared table; (endpoint, client)."""
    reset_moto(moto_server)
    client = local_client(moto_server)
    schema.load(client, TABLE)
    return moto_server, client


@pytest.fixture(scope="module")
def big_set(tmp_path_factory):
    """6,000 messages in 6 conversations: a seed of a few seconds with two writers on moto, quick to read back."""
    return synthetic.generate(tmp_path_factory.mktemp("big") / "fixtures", messages=6000, conversations=6, users=4).directory


def _start(endpoint, state_dir, *args, env=None):
    full_env = fake_aws_environment()
    full_env.update(INVOKE_DDB_ENDPOINT_URL=endpoint, INVOKE_DDB_STATE_DIR=str(state_dir), **(env or {}))
    return start_task_process(args, full_env)


def _wait_for_writes(client, loaded, process, timeout=60):
    """Return once the seed's first items are in the table (its plan is done, its writers busy)."""
    first = loaded.conversations[0].message_group_uuid
    deadline = time.monotonic() + timeout
    while not client.query(
        TableName=TABLE, KeyConditionExpression="pk = :pk", Limit=1, ExpressionAttributeValues={":pk": {"S": f"MSG#{first}"}}
    )["Items"]:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the seed wrote nothing"
        time.sleep(0.05)


def _without_times(item):
    return tuple(sorted((k, v) for k, v in item.items() if k != "sk"))


def test_ctrl_c_stops_a_seed_within_seconds_releases_the_lock_and_a_rerun_finishes_it(empty_table, big_set, tmp_path):
    endpoint, client = empty_table
    loaded = fixtures.load(big_set)
    seed = _start(endpoint, tmp_path, "seed", "--fixtures", str(big_set), "--writers", "2")
    _wait_for_writes(client, loaded, seed)
    time.sleep(0.5)
    seed.send_signal(signal.SIGINT)
    interrupted_at = time.monotonic()
    _, err = seed.communicate(timeout=30)
    assert seed.returncode == 130 and time.monotonic() - interrupted_at < 20, (
        err
    )  # a loaded machine: bench/interrupts.py times it
    assert "Traceback" not in err
    stopping, line = err.strip().splitlines()
    assert stopping == STOPPING
    counted = re.fullmatch(r"interrupted: (\d+) of 6018 items written; run the command again to finish", line)
    assert counted, line
    landed = int(counted.group(1))
    assert 0 < landed < 6018
    assert "Item" not in client.get_item(TableName=TABLE, Key=LOCK, ConsistentRead=True)
    first_run = list(scan_items(client, TABLE))
    assert len(first_run) == landed
    claims = sum(item["pk"].startswith("CLAIM#") for item in first_run)

    rerun = _start(endpoint, tmp_path, "seed", "--fixtures", str(big_set))
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    # Every item the first run wrote but its claims (their keys hold no time) has another time now,
    # so the re-run deletes exactly those.
    assert (
        f"seeded 6 conversations, 6000 messages, 12 group items, 6 group claims: 6018 put, {landed - claims} stale deleted" in err
    )
    stored = list(scan_items(client, TABLE))
    wanted = [item for _, items in stamped(loaded, loaded.conversations, NOW) for item in items]
    assert sorted(map(_without_times, stored)) == sorted(map(_without_times, wanted))
    assert len({(i["pk"], i["sk"]) for i in stored}) == len(stored) == 6018


def test_a_seed_killed_mid_run_frees_its_lock_within_the_lease_and_the_next_seed_says_who_held_it(empty_table, big_set, tmp_path):
    endpoint, client = empty_table
    # Short, yet long enough that a loaded machine starts the second seed before the killed one's lease runs out.
    short_lease = {"INVOKE_DDB_SEED_LOCK_LEASE": "6"}
    victim = _start(endpoint, tmp_path, "seed", "--fixtures", str(big_set), env=short_lease)
    _wait_for_writes(client, fixtures.load(big_set), victim)
    victim.kill()
    victim.communicate(timeout=10)
    assert "Item" in client.get_item(TableName=TABLE, Key=LOCK, ConsistentRead=True)

    started = time.monotonic()
    waiting = _start(endpoint, tmp_path, "seed", env=short_lease)
    first_line = []
    reader = threading.Thread(target=lambda: first_line.append((waiting.stderr.readline(), time.monotonic() - started)))
    reader.start()
    reader.join(timeout=10)
    line, after = first_line[0]
    assert after < 4  # two of them to start Python and load the fixtures, two to report
    assert line.startswith(
        f"waiting for the seed lock on table 'cruddur-messages', held by pid {victim.pid} on {socket.gethostname()} since "
    ), line
    assert re.search(r"until that seed ends or its lease runs out \(in [0-6] s, unless renewed\), at most 60\d s more$", line), (
        line
    )
    _, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert "seeded 4 conversations, 100 messages, 8 group items, 4 group claims: 112 put" in err
    assert time.monotonic() - started < 20
    assert "Item" not in client.get_item(TableName=TABLE, Key=LOCK, ConsistentRead=True)


def _planner_still_reading(operation, body):
    """The delays of the slow engine: the re-seed's planning scan answers after 8 s, each batch write after 0.2 s."""
    if operation == "Scan" and "Limit" not in body:  # the planner's scan of keys (not its first look for app items)
        return 8
    return 0.2 if operation == "BatchWriteItem" else 0


@pytest.fixture
def reseed(empty_table, big_set, tmp_path):
    """A re-seed of the big set through a slow proxy, started and writing: (process, lines with times, client)."""
    endpoint, client = empty_table
    seeding.run(client, TABLE, seeding.plan(client, TABLE, fixtures.load(big_set), NOW))
    with SlowProxy(endpoint, _planner_still_reading) as proxy:
        process = _start(proxy.endpoint, tmp_path, "seed", "--fixtures", str(big_set), "--writers", "2")
        lines: list[tuple[float, str]] = []

        def read():
            for line in process.stderr:
                lines.append((time.monotonic(), line.rstrip("\n")))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while proxy.seen["BatchWriteItem"] < 4:  # the planner's scan is out, the writers busy
            assert process.poll() is None and time.monotonic() < deadline, lines
            time.sleep(0.05)
        yield process, lines, client
        process.kill()
        process.wait()
        reader.join(timeout=5)


def _sigint_and_wait(process, lines, second_after_first_line=False):
    """Ctrl-C; with `second_after_first_line`, again as soon as the process says anything. Exit code, seconds, lines."""
    process.send_signal(signal.SIGINT)
    pressed = time.monotonic()
    if second_after_first_line:
        while not lines and process.poll() is None and time.monotonic() - pressed < 20:
            time.sleep(0.01)
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    code = process.wait(timeout=30)
    seconds = time.monotonic() - pressed
    time.sleep(0.2)  # the reader's last lines
    return code, seconds, [(at - pressed, line) for at, line in lines]


def test_ctrl_c_while_the_planner_still_reads_says_stopping_at_once_and_exits_130_with_the_count(reseed):
    process, lines, client = reseed
    code, seconds, said = _sigint_and_wait(process, lines)
    text = "\n".join(line for _, line in said)
    assert code == 130 and seconds < 20, text  # the planner's scan would hold it 8 s more: the exit does not wait for it
    assert "Traceback" not in text
    (first_at, first), (_, last) = said[0], said[-1]
    assert first == STOPPING and first_at < 20, said
    assert len(said) == 2, said
    counted = re.fullmatch(
        r"interrupted: (\d+) of 6018 items written(?: \((\d+) more in calls still unanswered: they may land\))?; "
        r"run the command again to finish",
        last,
    )
    assert counted, last
    assert int(counted.group(1)) > 0
    assert "Item" not in client.get_item(TableName=TABLE, Key=LOCK, ConsistentRead=True)  # released on the way out


def test_a_second_ctrl_c_quits_at_once_with_one_line_and_no_traceback(reseed):
    process, lines, _ = reseed
    code, seconds, said = _sigint_and_wait(process, lines, second_after_first_line=True)
    text = "\n".join(line for _, line in said)
    assert code == 130 and seconds < 20, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert said[0][1] == STOPPING, text
    assert said[-1][1] in (QUIT,) or said[-1][1].startswith("interrupted: "), text


@pytest.fixture
def scannable(empty_table, tmp_path):
    """A table whose scan prints far more than a pipe holds (about 700 KB)."""
    endpoint, client = empty_table
    loaded = fixtures.load(synthetic.generate(tmp_path / "fixtures", messages=2000, conversations=10, users=5).directory)
    seeding.run(client, TABLE, seeding.plan(client, TABLE, loaded, NOW))
    return endpoint


@pytest.mark.parametrize(
    "args", [["scan", "--json"], ["scan"], ["scan", "--segments", "2"], ["scan", "--json", "--segments", "4"]], ids=" ".join
)
def test_a_reader_that_closes_the_pipe_early_ends_the_task_quietly(scannable, tmp_path, args):
    scan = _start(scannable, tmp_path, *args)
    first = scan.stdout.readline()
    scan.stdout.close()  # as `| head -1` does
    err = scan.stderr.read()
    assert scan.wait(timeout=30) == 141  # as a shell reports a tool ended by SIGPIPE
    assert err == ""
    assert first.startswith(('{"pk": "', "CLAIM#", "GRP#", "MSG#")), first


def test_ctrl_c_during_an_import_says_stopping_at_once_and_exits_130_with_the_count(empty_table, big_set, tmp_path):
    endpoint, client = empty_table
    seeding.run(client, TABLE, seeding.plan(client, TABLE, fixtures.load(big_set), NOW))
    out = tmp_path / "backup"
    assert _start(endpoint, tmp_path, "export", "--out", str(out)).wait(timeout=120) == 0
    with SlowProxy(endpoint, lambda operation, body: 0.2 if operation == "BatchWriteItem" else 0) as proxy:
        process = _start(proxy.endpoint, tmp_path, "import", str(out), "--table", "cruddur-copy", "--writers", "2")
        lines: list[tuple[float, str]] = []
        reader = threading.Thread(target=lambda: lines.extend((time.monotonic(), x.rstrip("\n")) for x in process.stderr))
        reader.start()
        deadline = time.monotonic() + 60
        while proxy.seen["BatchWriteItem"] < 4:  # validated, the table created, the writers busy
            assert process.poll() is None and time.monotonic() < deadline, lines
            time.sleep(0.05)
        code, _, said = _sigint_and_wait(process, lines)
        reader.join(timeout=5)
    after = [line for at, line in said if at >= 0 and line]  # what it said once Ctrl-C was pressed
    text = "\n".join(after)
    assert code == 130 and "Traceback" not in text, text
    assert after[0] == STOPPING, text
    assert re.fullmatch(r"interrupted: \d+ of 6018 items written; run the command again to finish \(.*\)", after[-1]), text
