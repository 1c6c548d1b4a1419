"""What the tests and the benchmarks share: paths, fake AWS, loopback engines, task runners.

Fixtures live in `conftest.py`; everything they and the tests call lives here, so a test
imports helpers from `tests.support`, never from `conftest`. The benchmarks (`bench/`)
import it too. Nothing here reaches the network: every engine and endpoint is on loopback.
"""

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3

from ddb.bulk.scan import scan_items
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TABLE = "cruddur-messages"
NOW = datetime(2026, 11, 25, 16, 20, tzinfo=UTC)
ENGINES = ["moto", "dynamodb-local"]
# Where the tasks look for DynamoDB Local by default (invoke.yaml: ddb.dynamodb_local_dir).
DYNAMODB_LOCAL_DIR = ROOT / (os.environ.get("INVOKE_DDB_DYNAMODB_LOCAL_DIR") or ".local/dynamodb-local")
# The backoff of the tasks under test: the same policy as invoke.yaml's, with waits of
# milliseconds instead of up to 5 s (a test that measures the backoff sets its own).
QUICK_BACKOFF = {"INVOKE_DDB_RETRY_BASE_DELAY": "0.01", "INVOKE_DDB_RETRY_MAX_DELAY": "0.2"}

AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


def fake_aws_environment(base=None) -> dict:
    """An environment with fake credentials, a region, and no way to find real AWS."""
    env = dict(os.environ if base is None else base)
    for name in AWS_VARIABLES:
        env.pop(name, None)
    for name in [n for n in env if n.startswith("INVOKE_")]:
        env.pop(name)
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        # The prod prompt asks STS for the account: never of AWS (port 9 on loopback refuses at once).
        AWS_ENDPOINT_URL_STS="http://127.0.0.1:9",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    return env


def all_items(client, table=TABLE) -> list[dict]:
    return list(scan_items(client, table))


def all_keys(client, table=TABLE) -> set[tuple[str, str]]:
    return {(i["pk"], i["sk"]) for i in all_items(client, table)}


# ------------------------------------------------------------------ loopback engines


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def local_client(endpoint, service="dynamodb"):
    """A DynamoDB client (or `service`'s, such as "dynamodbstreams") for a local engine, with the tasks' dummy credentials."""
    return boto3.client(
        service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="local", aws_secret_access_key="local"
    )


def dynamodb_local_or_skip():
    """(java, DynamoDB Local) checked as the tasks check them; pytest.skip saying why if unusable."""
    import pytest  # here, not at the top: the benchmarks import this module without pytest

    from ddb.core.errors import EngineError
    from ddb.engines.dynamodb_local import check_dynamodb_local, find_java

    try:
        java = find_java()
        local = check_dynamodb_local(DYNAMODB_LOCAL_DIR, java)
    except EngineError as exc:
        pytest.skip(f"DynamoDB Local cannot run here: {exc}")
    if local is None:
        pytest.skip(
            f"DynamoDB Local is not installed in {DYNAMODB_LOCAL_DIR}: run `python -m invoke local.install` (.ci/run does)"
        )
    return java, local


def die_with_parent():
    """In the child: get SIGTERM when the test process dies, so no engine outlives a killed run."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def reset_moto(endpoint):
    """Forget every table of the moto server at `endpoint`."""
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=5).read()


def delete_all_tables(endpoint):
    client = local_client(endpoint)
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            client.delete_table(TableName=name)


def seed_table(client, fixture_dir=FIXTURES, table=TABLE, now=NOW):
    """The declared table, created if missing and seeded with `fixture_dir`, through the library (no task)."""
    schema.load(client, table)
    loaded = fixtures.load(fixture_dir)
    return seeding.run(client, table, seeding.plan(client, table, loaded, now))


# ------------------------------------------------------------------ running tasks


@dataclass
class TaskRun:
    """What one `invoke ...` did: its exit code, its stdout and its stderr."""

    code: int
    out: str
    err: str

    def __repr__(self):
        return f"TaskRun(code={self.code}, out={self.out[-800:]!r}, err={self.err[-800:]!r})"


def task_environment(endpoint, state_dir, engine_port, env=None, base=None) -> dict:
    """The environment a task runs with under test: fake AWS, the engine's endpoint, a state dir of its own.

    `env` overrides any of it; a value of None unsets the variable.
    """
    full_env = fake_aws_environment(base)
    # local.start never lands on the default port 8000: it gets engine_port unless told otherwise.
    full_env.update(
        INVOKE_DDB_ENDPOINT_URL=endpoint,
        INVOKE_DDB_STATE_DIR=str(state_dir),
        # export --anonymize makes its installation secret here, never in the real ~/.config
        INVOKE_DDB_ANONYMIZE_SECRET_FILE=str(Path(state_dir) / "anonymize-secret"),
        INVOKE_DDB_ENGINE_PORT=str(engine_port),
        INVOKE_DDB_DYNAMODB_LOCAL_DIR=str(DYNAMODB_LOCAL_DIR),
        **QUICK_BACKOFF,
    )
    full_env.update(env or {})
    for name in [n for n, value in full_env.items() if value is None]:
        del full_env[name]
    return full_env


def run_task_process(args, env, timeout=120) -> TaskRun:
    """`python -m invoke ARGS` in the project folder, in a process of its own, stdin closed."""
    completed = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return TaskRun(completed.returncode, completed.stdout, completed.stderr)


def run_task_in_process(args, env) -> TaskRun:
    """`invoke ARGS` run by invoke's own `Program` in this process, as the `invoke` command runs it.

    The program loads tasks.py and its invoke.yaml from the project folder (invoke's
    FilesystemLoader, as from the command line) and reads INVOKE_DDB_* from `env`, which
    stands in for the environment during the run. stdin is empty and not a terminal (as
    with stdin=DEVNULL); stdout and stderr are captured, not terminals. An `Exit` becomes
    SystemExit with its code, which is the run's code, as the process's would be.
    Everything swapped is put back afterwards, so runs share no state.
    """
    from invoke import Program, __version__

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd, saved_stdin, saved_bytecode = dict(os.environ), os.getcwd(), sys.stdin, sys.dont_write_bytecode
    code = 0
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(ROOT)
        sys.stdin = io.StringIO("")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                Program(name="Invoke", binary="inv[oke]", binary_names=["invoke", "inv"], version=__version__).run(
                    ["invoke", *args], exit=True
                )
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)
        sys.stdin, sys.dont_write_bytecode = saved_stdin, saved_bytecode
    return TaskRun(code, out.getvalue(), err.getvalue())


class TaskRunner:
    """Call it with the arguments of `invoke`; it returns a TaskRun.

    In process by default (invoke's Program, see run_task_in_process); `in_process=False`
    starts `python -m invoke` instead, for what only a process shows. `endpoint` is the
    engine the tasks use; `port` is where `local.start` would put one.
    """

    def __init__(self, endpoint, port, state_dir, in_process=True):
        self.endpoint, self.port, self.state_dir, self.in_process = endpoint, port, state_dir, in_process

    def environment(self, env=None, endpoint=None) -> dict:
        return task_environment(endpoint or self.endpoint, self.state_dir, self.port, env)

    def __call__(self, *args, env=None, timeout=120, endpoint=None) -> TaskRun:
        full_env = self.environment(env, endpoint)
        if self.in_process:
            return run_task_in_process(args, full_env)
        return run_task_process(args, full_env, timeout=timeout)


# boto3 and what it needs at run time, as `pip show boto3 botocore s3transfer` lists them.
BOTO3_CLOSURE = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"]


def link_boto3_closure(folder: Path) -> Path:
    """A new folder of links to boto3 and what it needs at run time, and nothing else: put it on a
    path (or in a `.pth` file) to give a clean environment boto3 alone."""
    import importlib.util

    folder.mkdir()
    for name in BOTO3_CLOSURE:
        spec = importlib.util.find_spec(name)
        assert spec and spec.origin, name
        origin = Path(spec.origin)
        path = origin.parent if origin.name == "__init__.py" else origin
        (folder / path.name).symlink_to(path)
    return folder


def typed_items(client, table=TABLE) -> list[dict]:
    """Every item exactly as stored (typed, DynamoDB JSON), sorted by key."""
    from ddb.bulk.scan import typed_pages

    found = [item for page in typed_pages(client, table) for item in page]
    return sorted(found, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def atomic_requests(worker, lock):
    """Make each request of the client `worker` atomic against other threads' (holding `lock`), as DynamoDB's are.

    moto applies a transaction without isolation from other threads (a failed one restores
    a snapshot of the table taken before it began, undoing what another thread wrote in
    between), so races on moto run at request granularity: the racers still interleave
    between their reads and their conditional writes.
    """
    make_api_call = worker._make_api_call

    def locked(*args, **kwargs):
        with lock:
            return make_api_call(*args, **kwargs)

    worker._make_api_call = locked
    return worker


def start_task_process(args, env, **popen) -> subprocess.Popen:
    """`python -m invoke ARGS` in the background, stdin closed, stdout and stderr piped (text).

    Ctrl-C reaches it as at a terminal, even when the tests themselves run in the
    background of a shell that ignores SIGINT (Python keeps an inherited SIG_IGN).
    """
    import signal

    def default_sigint():
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=default_sigint,
        **options,
    )


# The fields of a pattern B item, as the app reads them.
INBOX_FIELDS = {"message_group_uuid", "user_uuid", "user_handle", "user_display_name", "message", "last_message_at"}


def write_export(folder: Path, lines, *, description: dict | None = None, item_count: int | None = None) -> Path:
    """Write an export folder in DynamoDB's layout holding one data file of `lines` (typed items, or raw str/bytes lines).

    The manifests match the file (MD5, counts), so only what a test puts in the lines (or
    `item_count`, the count the manifests claim) is wrong. Returns the export folder.
    """
    import base64
    import gzip
    import hashlib
    import json

    export = folder / "AWSDynamoDB" / "01764000000000-0000abcd"
    (export / "data").mkdir(parents=True)
    raw = b"".join(
        line if isinstance(line, bytes) else ((line if isinstance(line, str) else json.dumps({"Item": line})) + "\n").encode()
        for line in lines
    )
    data = export / "data" / "crafted.json.gz"
    data.write_bytes(gzip.compress(raw, mtime=0))
    digest = hashlib.md5(data.read_bytes()).digest()
    count = len(lines) if item_count is None else item_count
    entry = {"itemCount": count, "md5Checksum": base64.b64encode(digest).decode(), "etag": digest.hex()}
    entry["dataFileS3Key"] = f"AWSDynamoDB/{export.name}/data/{data.name}"
    (export / "manifest-files.json").write_text(json.dumps(entry) + "\n")
    summary = {"version": "2020-06-30", "outputFormat": "DYNAMODB_JSON", "exportType": "FULL_EXPORT", "itemCount": count}
    (export / "manifest-summary.json").write_text(json.dumps(summary))
    if description is not None:
        (export / "table-description.json").write_text(json.dumps({"Table": description}))
    return export
