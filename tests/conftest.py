"""Fixtures: fake AWS credentials, moto-backed clients, loopback engines, task runners.

Helpers live in `tests/support.py`; this file holds fixtures only. Nothing here reaches
the network: unit tests run inside `moto.mock_aws`; end-to-end tests run the real
`invoke` tasks (in process through invoke's `Program`, or in a subprocess where the
process is the point) against a `ThreadedMotoServer` on 127.0.0.1, and, for the tests
marked `each_engine`, against AWS's DynamoDB Local too (one process for the session, in
memory, on a free port; skipped, with the reason, when Java 17+ or its jar is missing:
`python -m invoke local.install` fetches the jar). The instance-metadata probe is off.
"""

import copy
import os
import subprocess
import time

import boto3
import pytest
from hypothesis import HealthCheck, settings
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.server import ThreadedMotoServer

from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding

from .support import (
    AWS_VARIABLES,
    ENGINES,
    FIXTURES,
    NOW,
    TABLE,
    TaskRunner,
    delete_all_tables,
    die_with_parent,
    dynamodb_local_or_skip,
    fake_aws_environment,
    free_port,
    local_client,
    reset_moto,
)

# Property tests (hypothesis): "ci", the default, is derandomized (a fixed seed) and small
# enough that all of them together take about 30 s at most; HYPOTHESIS_PROFILE=long tries
# many more examples. They share one moto table per test function across examples.
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    """Every test runs with fake credentials only."""
    for name, value in fake_aws_environment().items():
        monkeypatch.setenv(name, value)
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# One boto3 session for the test session: a client from it skips reloading botocore's
# service models and endpoints (most of a client's cost), while each `client` is new.
_boto: dict[str, boto3.session.Session] = {}


@pytest.fixture
def client(aws_credentials):
    """A DynamoDB client inside moto's mock (created inside it, as moto requires)."""
    with mock_aws():
        session = _boto.setdefault("session", boto3.session.Session())
        yield session.client("dynamodb", region_name="us-east-1")


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


# moto's tables just after `seeded` seeded them the first time: later tests get a copy,
# the same state in a twentieth of the time (mutation runs repeat these tests thousands of times).
_seeded_tables: dict = {}


@pytest.fixture
def seeded(client, table, repo_fixtures):
    """The repository's fixtures seeded at the fixed time NOW."""
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    if _seeded_tables:
        backend.tables = copy.deepcopy(_seeded_tables)
        return repo_fixtures
    plan = seeding.plan(client, table, repo_fixtures, NOW)
    seeding.run(client, table, plan)
    _seeded_tables.update(copy.deepcopy(backend.tables))
    return repo_fixtures


# ------------------------------------------------------------------ engines


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
        process = subprocess.Popen(
            dynamodb_local_command(java, local, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=local.directory,
            preexec_fn=die_with_parent,
        )
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


@pytest.fixture
def dynamodb_local(dynamodb_local_server):
    """A client for the session's DynamoDB Local, with no tables."""
    delete_all_tables(dynamodb_local_server)
    return local_client(dynamodb_local_server)


@pytest.fixture
def seeded_local(dynamodb_local, repo_fixtures):
    """The repository's fixtures seeded into DynamoDB Local at the fixed time NOW."""
    schema.load(dynamodb_local, TABLE)
    seeding.run(dynamodb_local, TABLE, seeding.plan(dynamodb_local, TABLE, repo_fixtures, NOW), writers=1)
    return repo_fixtures


def pytest_generate_tests(metafunc):
    """A test marked `each_engine` runs once per engine; any other test that needs an engine runs on moto."""
    if "engine" in metafunc.fixturenames and metafunc.definition.get_closest_marker("each_engine"):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def engine(request):
    """The engine under test, emptied before the test; its endpoint.

    moto (the session's server) unless the test is marked `each_engine`: then moto and
    DynamoDB Local in turn.
    """
    name = getattr(request, "param", "moto")
    if name == "moto":
        server = request.getfixturevalue("moto_server")
        reset_moto(server)
        return server
    server = request.getfixturevalue("dynamodb_local_server")
    delete_all_tables(server)
    return server


@pytest.fixture
def engine_client(engine):
    return local_client(engine)


# ------------------------------------------------------------------ running tasks


@pytest.fixture
def invoke(engine, tmp_path):
    """Run `invoke ARGS...` in process against the engine under test; returns a TaskRun(code, out, err)."""
    return TaskRunner(engine, free_port(), tmp_path / "state")


@pytest.fixture
def invoke_process(engine, tmp_path):
    """Run `python -m invoke ARGS...` in a subprocess against the engine: for what only a process shows."""
    return TaskRunner(engine, free_port(), tmp_path / "state", in_process=False)


@pytest.fixture
def invoke_alone(tmp_path):
    """Run `invoke ARGS...` in process with no engine running; `.endpoint` is where local.start would put one."""
    port = free_port()
    return TaskRunner(f"http://127.0.0.1:{port}", port, tmp_path / "state")


@pytest.fixture
def invoke_alone_process(tmp_path):
    """`invoke_alone` in a subprocess: for local.* (detached engines) and what only a process shows."""
    port = free_port()
    return TaskRunner(f"http://127.0.0.1:{port}", port, tmp_path / "state", in_process=False)
