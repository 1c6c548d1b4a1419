"""The peers `bench/peers.py` measures against: hand-written boto3 scripts, dynamodump, the AWS CLI; and process timing.

Peers are tools, not dependencies: dynamodump goes into a virtual environment of its own
under `.local/peers/` (made with pip on first use), and the AWS CLI is the one on PATH.
"""

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import _common as common

PEERS_DIR = common.ROOT / ".local" / "peers"

# Raw concurrent BatchWriteItem of the items of an export folder (DynamoDB JSON Lines, gzip),
# 25 a call, unprocessed items re-sent at once: the write ceiling a hand-written script reaches.
# With a CreateTable request (a JSON file) it creates the table first, as a restore must.
RAW_WRITER = """
import gzip, json, pathlib, sys
from concurrent.futures import ThreadPoolExecutor
import boto3
endpoint, table, folder, writers, create = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
requests = []
for path in sorted(pathlib.Path(folder).rglob("*.json.gz")):
    with gzip.open(path, "rt", encoding="utf-8") as file:
        requests.extend({"PutRequest": {"Item": json.loads(line)["Item"]}} for line in file)
if create != "-":
    client.create_table(**json.loads(pathlib.Path(create).read_text()))
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})

def send(chunk):
    while chunk:
        chunk = client.batch_write_item(RequestItems={table: chunk}).get("UnprocessedItems", {}).get(table, [])

with ThreadPoolExecutor(max_workers=writers) as pool:
    list(pool.map(send, [requests[i : i + 25] for i in range(0, len(requests), 25)]))
print(len(requests))
"""

# A bare paginated scan written as JSON Lines: to a file ({"Item": ...} lines, a backup), or to stdout (raw items).
BARE_SCAN = """
import json, sys
import boto3
endpoint, table, out = sys.argv[1], sys.argv[2], sys.argv[3]
client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
file = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")
count = 0
for page in client.get_paginator("scan").paginate(TableName=table):
    for item in page["Items"]:
        file.write(json.dumps(item if out == "-" else {"Item": item}) + "\\n")
    count += len(page["Items"])
if out != "-":
    file.close()
    print(count)
"""

# The pattern command's query (a user's conversations, newest first, a page of 20 and one more), printed.
BARE_QUERY = """
import sys
import boto3
endpoint, table, user = sys.argv[1], sys.argv[2], sys.argv[3]
client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint,
                      aws_access_key_id="local", aws_secret_access_key="local")
response = client.query(TableName=table, KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={":pk": {"S": "GRP#" + user}},
                        ScanIndexForward=False, Limit=21, ReturnConsumedCapacity="TOTAL")
for item in response["Items"]:
    print(item["user_handle"]["S"], item["sk"]["S"], item["message"]["S"])
"""


def scripts(scratch: Path) -> dict[str, Path]:
    """The bare scripts, written into `scratch`: {"raw writer", "bare scan", "bare query"}."""
    found = {}
    for name, text in (("raw writer", RAW_WRITER), ("bare scan", BARE_SCAN), ("bare query", BARE_QUERY)):
        found[name] = scratch / (name.replace(" ", "_") + ".py")
        found[name].write_text(text)
    return found


def dynamodump() -> tuple[str | None, str]:
    """dynamodump's command in its own venv under .local/peers (made with pip on first use): (path or None, why not)."""
    venv = PEERS_DIR / "venv"
    command = venv / "bin" / "dynamodump"
    if command.exists():
        return str(command), ""
    try:
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "dynamodump"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"dynamodump: no venv under {venv} ({exc})"
    if done.returncode or not command.exists():
        return None, f"dynamodump: pip could not install it ({(done.stderr.strip().splitlines() or ['?'])[-1]})"
    return str(command), ""


def dynamodump_args(command: str, endpoint: str) -> list[str]:
    """dynamodump's command line for a local engine."""
    from urllib.parse import urlsplit

    where = urlsplit(endpoint)
    local = ["--accessKey", "local", "--secretKey", "local", "--log", "WARNING"]
    return [command, "-r", "us-east-1", "--host", str(where.hostname), "--port", str(where.port), *local]


def aws_cli() -> tuple[str | None, str]:
    """The AWS CLI on PATH and its version line, or (None, why not)."""
    aws = shutil.which("aws")
    if not aws:
        return None, "the AWS CLI (aws) is not on PATH"
    said = subprocess.run([aws, "--version"], capture_output=True, text=True)
    return aws, (said.stdout or said.stderr).strip()


def _watch_peak(pid: int, peak: list[int]):
    """The process's peak RSS (VmHWM, kB), read from /proc every 50 ms until it ends.

    Not wait4's ru_maxrss: a child counts the pages of this (larger) process it shared before exec.
    """
    while True:
        try:
            with open(f"/proc/{pid}/status") as lines:
                hwm = next((int(line.split()[1]) for line in lines if line.startswith("VmHWM:")), None)
        except OSError:
            return
        if hwm is None:  # a zombie: the program has ended
            return
        peak[0] = max(peak[0], hwm)
        time.sleep(0.05)


def measure(command: list[str], env: dict, count_lines: bool = False, timeout: float = 3600) -> tuple[float, float, str, str]:
    """One process, spawn to exit: (seconds, peak RSS in MB, stdout or its line count, stderr); SystemExit if it fails.

    With `count_lines` stdout is read as it comes and only its lines counted (a scan's output). A process
    still running after `timeout` seconds is killed (a peer whose worker thread died can wait forever).
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=common.ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    peak = [0]
    watcher = threading.Thread(target=_watch_peak, args=(process.pid, peak), daemon=True)
    watcher.start()
    assert process.stdout is not None and process.stderr is not None
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    if count_lines:
        lines = 0
        for chunk in iter(lambda: process.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
            lines += chunk.count(b"\n")
        err = process.stderr.read()
        process.wait()
        out = str(lines)
    else:
        raw_out, err = process.communicate()
        out = raw_out.decode()
    seconds = time.perf_counter() - started
    killer.cancel()
    watcher.join()
    if process.returncode:
        raise SystemExit(f"{' '.join(command[:4])} … failed ({process.returncode}): {err.decode().strip()[-500:]}")
    return seconds, peak[0] / 1024, out, err.decode()
