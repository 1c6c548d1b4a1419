"""Shared helpers of the benchmarks: the engine, fresh tables, medians, the machine.

Every benchmark starts its own embedded engine with `invoke local.start` on a port of
its own (8200-8299 by default, never 8000), measures the figure and its baseline side
by side, interleaved, in the same run, and stops the engine on the way out.
"""

import argparse
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import ROOT, TABLE, TaskRun, fake_aws_environment, run_task_process

__all__ = ["ROOT", "TABLE"]


def arguments(description: str, port: int) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=port, help=f"port of the engine (default {port})")
    parser.add_argument(
        "--engine", choices=("moto", "dynamodb-local"), default="moto", help="the local engine to measure on (default moto)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; medians are reported")
    return parser


def environment(port: int, state_dir) -> dict:
    """The environment the tasks run with: the bench engine, the tests' fake credentials, no IMDS.

    Unlike the tests' task runner, it keeps invoke.yaml's retry backoff: that is what is measured.
    """
    env = fake_aws_environment({k: v for k, v in os.environ.items() if not k.startswith("AWS_")})
    env.update(
        INVOKE_DDB_ENGINE_PORT=str(port), INVOKE_DDB_ENDPOINT_URL=f"http://127.0.0.1:{port}", INVOKE_DDB_STATE_DIR=str(state_dir)
    )
    return env


def invoke(env, *args, check=True, timeout=None) -> TaskRun:
    """`python -m invoke ARGS` in a process of its own (the tests' runner), with no time limit by default."""
    run = run_task_process(args, env, timeout=timeout)
    if check and run.code:
        raise SystemExit(f"invoke {' '.join(args)} failed ({run.code}): {run.err.strip()}")
    return run


@contextlib.contextmanager
def engine(port: int, kind: str = "moto"):
    """`invoke local.start --engine KIND` on `port` for the duration; yields (endpoint, env, scratch dir).

    DynamoDB Local runs in memory, so every run starts on a fresh engine with no stream history.
    """
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the engine (finally below)
    with tempfile.TemporaryDirectory(prefix="ddb-bench-") as scratch:
        env = environment(port, Path(scratch) / "state")
        invoke(env, "local.start", "--engine", kind)
        try:
            yield f"http://127.0.0.1:{port}", env, Path(scratch)
        finally:
            invoke(env, "local.stop", check=False)


def client(endpoint: str):
    from ddb.core.target import client as make_client
    from ddb.core.target import local_target

    return make_client(local_target(TABLE, "us-east-1", endpoint))


def raw_client(endpoint: str):
    """A plain `boto3.client("dynamodb")` with boto3's defaults, as a hand-written script makes it: the ceilings' writer."""
    import boto3

    return boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )


def raw_keys_seconds(client, table: str = TABLE) -> tuple[float, list[dict]]:
    """Seconds for a plain consistent paginated scan of every key, and the keys."""
    started = time.perf_counter()
    keys = [
        key
        for page in pages(client, TableName=table, ProjectionExpression="pk, sk", ConsistentRead=True)
        for key in page["Items"]
    ]
    return time.perf_counter() - started, keys


def pages(client, **request):
    """Every page of a plain paginated scan (boto3's client alone, not the toolkit's reader)."""
    while True:
        page = client.scan(**request)
        yield page
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def seed_synthetic(env, scratch, messages: int, conversations: int, users: int) -> int:
    """Create the table and seed a synthetic set into it with `invoke seed` (a process of its own); the item count."""
    from ddb.seed import synthetic

    data = synthetic.generate(scratch / "fixtures", messages=messages, conversations=conversations, users=users)
    invoke(env, "schema-load")
    seeded = invoke(env, "seed", "--fixtures", str(data.directory), "--writers", "4")
    print(seeded.err.strip().splitlines()[-1])
    return messages + 3 * conversations  # two group items and a group claim each


def fresh_table(client, table=TABLE, stream=True):
    """Drop and create the table; `stream=False` creates it without its stream, as `setup` seeds it.

    On DynamoDB Local every write into a table whose name has had a stream pays for every
    stream record the engine keeps, so a comparison there runs on stream-less tables only.
    """
    from ddb.schema import declaration as schema

    schema.drop(client, table)
    schema.load(client, table, stream=stream)


def ceiling_seconds(client, table: str, requests: list[dict], writers: int = 4) -> float:
    """Seconds to send prebuilt put requests as raw concurrent BatchWriteItem calls of 25, unprocessed items re-sent at once."""
    chunks = [requests[i : i + 25] for i in range(0, len(requests), 25)]

    def send(chunk):
        while chunk:
            chunk = client.batch_write_item(RequestItems={table: chunk}).get("UnprocessedItems", {}).get(table, [])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(send, chunks))
    return time.perf_counter() - started


def count_items(client, table=TABLE) -> int:
    return sum(page["Count"] for page in pages(client, TableName=table, Select="COUNT"))


def median(values) -> float:
    return statistics.median(values)


def timed(function, *args, **kw) -> float:
    started = time.perf_counter()
    function(*args, **kw)
    return time.perf_counter() - started


def machine() -> str:
    from importlib.metadata import version

    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores ({model}), {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"boto3 {version('boto3')}, moto {version('moto')}; load average {load}"
    )
