"""Shared fixtures: fake AWS credentials, moto-backed clients, a loopback moto server.

Nothing here reaches the network: unit tests run inside `moto.mock_aws`, end-to-end
tests run the real `invoke` tasks in a subprocess against a `ThreadedMotoServer` on
127.0.0.1, and the instance-metadata probe is switched off.
"""

import os
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from ddb import fixtures, schema
from ddb import seed as seeding

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TABLE = "cruddur-messages"
NOW = datetime(2026, 11, 25, 16, 20, tzinfo=timezone.utc)

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


@pytest.fixture(scope="session")
def moto_server():
    """One moto server on a free loopback port for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def engine(moto_server):
    """The moto server, emptied before the test."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=5).read()
    return moto_server


@pytest.fixture
def engine_client(engine):
    return boto3.client("dynamodb", region_name="us-east-1", endpoint_url=engine,
                        aws_access_key_id="local", aws_secret_access_key="local")


class TaskRun:
    def __init__(self, completed: subprocess.CompletedProcess):
        self.code = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr

    def __repr__(self):
        return f"TaskRun(code={self.code}, out={self.out[-800:]!r}, err={self.err[-800:]!r})"


@pytest.fixture
def invoke(engine, tmp_path):
    """Run `invoke ARGS...` in the repository against the moto server; returns a TaskRun."""

    def run(*args, env=None, timeout=120, endpoint=engine):
        full_env = fake_aws_environment()
        full_env.update(INVOKE_DDB_ENDPOINT_URL=endpoint, INVOKE_DDB_STATE_DIR=str(tmp_path / "state"))
        full_env.update(env or {})
        completed = subprocess.run(
            [sys.executable, "-m", "invoke", *args], cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=timeout,
        )
        return TaskRun(completed)

    return run
