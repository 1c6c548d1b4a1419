"""Shared fixtures: fake AWS credentials, moto-backed clients, loopback engines.

Nothing here reaches the network: unit tests run inside `moto.mock_aws`; end-to-end
tests run the real `invoke` tasks in a subprocess against each engine in turn, a
`ThreadedMotoServer` on 127.0.0.1 and AWS's DynamoDB Local (one process for the session,
in memory, on a free port; it is skipped, with the reason, when Java 17+ or its jar
is missing: `python -m invoke local.install` fetches the jar). The instance-metadata
probe is switched off.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws
from moto.server import ThreadedMotoServer

from ddb import fixtures, schema
from ddb import seeding

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TABLE = "cruddur-messages"
NOW = datetime(2026, 11, 25, 16, 20, tzinfo=timezone.utc)
ENGINES = ["moto", "dynamodb-local"]
# Where the tasks look for DynamoDB Local by default (invoke.yaml: ddb.dynamodb_local_dir).
DYNAMODB_LOCAL_DIR = ROOT / (os.environ.get("INVOKE_DDB_DYNAMODB_LOCAL_DIR") or ".local/dynamodb-local")

# Property tests (hypothesis): "ci", the default, is derandomized (a fixed seed) and small
# enough that all of them together take about 30 s at most; HYPOTHESIS_PROFILE=long tries
# many more examples. They share one moto table per test function across examples.
settings.register_profile("ci", derandomize=True, max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("long", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_AWS_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB",
                  "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def fake_aws_environment(base=None) -> dict:
    """An environment with fake credentials, a region, and no way to find real AWS."""
    env = dict(os.environ if base is None else base)
    for name in _AWS_VARIABLES:
        env.pop(name, None)
    for name in [n for n in env if n.startswith("INVOKE_")]:
        env.pop(name)
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    return env


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    """Every test runs with fake credentials only."""
    for name, value in fake_aws_environment().items():
        monkeypatch.setenv(name, value)
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def client(aws_credentials):
    """A DynamoDB client inside moto's mock (created inside it, as moto requires)."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1")


@pytest.fixture
def sent(client) -> list[str]:
    """The names of the requests `client` sends from now on (e.g. ["Query", "PutItem"])."""
    names: list[str] = []
    client.meta.events.register("before-call.dynamodb", lambda model, **_: names.append(model.name))
    return names


@pytest.fixture
def table(client):
    """The declared table, created in the mock."""
    schema.load(client, TABLE)
    return TABLE


@pytest.fixture(scope="session")
def repo_fixtures():
    return fixtures.load(FIXTURES)


@pytest.fixture
def seeded(client, table, repo_fixtures):
    """The repository's fixtures seeded at the fixed time NOW."""
    plan = seeding.plan(client, table, repo_fixtures, NOW)
    seeding.run(client, table, plan)
    return repo_fixtures


def all_items(client, table=TABLE) -> list[dict]:
    from ddb.scan import scan_items

    return list(scan_items(client, table))


def all_keys(client, table=TABLE) -> set[tuple[str, str]]:
    return {(i["pk"], i["sk"]) for i in all_items(client, table)}


# ------------------------------------------------------------------ end to end


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_client(endpoint):
    """A DynamoDB client for a local engine, with the tasks' dummy credentials."""
    return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id="local", aws_secret_access_key="local")


def dynamodb_local_or_skip():
    """(java, DynamoDB Local) checked as the tasks check them; pytest.skip saying why if unusable."""
    from ddb.engines.dynamodb_local import check_dynamodb_local, find_java
    from ddb.errors import EngineError

    try:
        java = find_java()
        local = check_dynamodb_local(DYNAMODB_LOCAL_DIR, java)
    except EngineError as exc:
        pytest.skip(f"DynamoDB Local cannot run here: {exc}")
    if local is None:
        pytest.skip(f"DynamoDB Local is not installed in {DYNAMODB_LOCAL_DIR}: run `python -m invoke local.install` (.ci/run does)")
    return java, local


def _die_with_parent():
    """In the child: get SIGTERM when the test process dies, so no engine outlives a killed run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@pytest.fixture(scope="session")
def moto_server():
    """One moto server on a free loopback port for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def dynamodb_local_server(tmp_path_factory):
    """One DynamoDB Local for the whole session: in memory, shared db, no telemetry, a free port."""
    from ddb.engines.dynamodb_local import dynamodb_local_command
    from ddb.engines.process import answers

    java, local = dynamodb_local_or_skip()
    port = free_port()
    log_path = tmp_path_factory.mktemp("dynamodb-local") / "engine.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(dynamodb_local_command(java, local, port), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=local.directory, preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + 60
        while not answers("127.0.0.1", port, timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"DynamoDB Local did not come up on port {port}: {log_path.read_text()[-1000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _delete_all_tables(endpoint):
    client = local_client(endpoint)
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            client.delete_table(TableName=name)


@pytest.fixture(params=ENGINES)
def engine(request):
    """Each engine in turn (moto, DynamoDB Local), emptied before the test; its endpoint."""
    if request.param == "moto":
        server = request.getfixturevalue("moto_server")
        urllib.request.urlopen(urllib.request.Request(f"{server}/moto-api/reset", method="POST"), timeout=5).read()
        return server
    server = request.getfixturevalue("dynamodb_local_server")
    _delete_all_tables(server)
    return server


@pytest.fixture
def engine_client(engine):
    return local_client(engine)


class TaskRun:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.code = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr

    def __repr__(self):
        return f"TaskRun(code={self.code}, out={self.out[-800:]!r}, err={self.err[-800:]!r})"


def _task_runner(tmp_path, default_endpoint, engine_port):
    def run(*args, env=None, timeout=120, endpoint=default_endpoint):
        full_env = fake_aws_environment()
        # local.start never lands on the default port 8000: it gets engine_port unless told otherwise.
        full_env.update(INVOKE_DDB_ENDPOINT_URL=endpoint, INVOKE_DDB_STATE_DIR=str(tmp_path / "state"),
                        INVOKE_DDB_ENGINE_PORT=str(engine_port), INVOKE_DDB_DYNAMODB_LOCAL_DIR=str(DYNAMODB_LOCAL_DIR))
        full_env.update(env or {})
        for name in [n for n, value in full_env.items() if value is None]:  # None: unset it
            del full_env[name]
        completed = subprocess.run(
            [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout,
        )
        return TaskRun(completed)

    return run


@pytest.fixture
def invoke(engine, tmp_path):
    """Run `invoke ARGS...` in the repository against the engine under test; returns a TaskRun."""
    return _task_runner(tmp_path, engine, free_port())


@pytest.fixture
def invoke_alone(tmp_path):
    """Run `invoke ARGS...` with no engine running; `run.endpoint` is where local.start would put one."""
    port = free_port()
    run = _task_runner(tmp_path, f"http://127.0.0.1:{port}", port)
    run.port, run.endpoint = port, f"http://127.0.0.1:{port}"
    return run
