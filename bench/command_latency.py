"""`invoke patterns.list-conversations`, process start to exit, against its baselines.

Three commands run the same query (user mira's group items, newest first, 21 of them,
with consumed capacity) against the embedded engine, each as a fresh process, with its
output captured (piped, as a script would run it):

- the task:  `invoke patterns.list-conversations` (the venv's `invoke` script)
- bare:      a Python script that imports boto3, creates a client and runs the query
- AWS CLI:   `aws dynamodb query ...` (the CLI found on PATH)

Runs are interleaved (task, bare, CLI, task, bare, CLI, ...) after one warm-up round;
figures are medians. Python's bytecode cache is on (as it is by default), so the
project's modules are compiled once, like the installed libraries.

    python bench/command_latency.py [--repeat 21]
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as common

MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"

BARE = f"""
import boto3
client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url={{endpoint!r}},
                      aws_access_key_id="local", aws_secret_access_key="local")
response = client.query(TableName={common.TABLE!r}, KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={{{{":pk": {{{{"S": "GRP#{MIRA}"}}}}}}}},
                        ScanIndexForward=False, Limit=21, ReturnConsumedCapacity="TOTAL")
for item in response["Items"]:
    print(item["user_handle"]["S"], item["sk"]["S"], item["message"]["S"])
"""


def run(command, env) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=common.ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{command[:3]} failed: {done.stderr.decode()[-400:]}")
    return elapsed


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8220)
    parser.set_defaults(repeat=21)
    args = parser.parse_args()
    aws = shutil.which("aws")
    if not aws:
        raise SystemExit("the AWS CLI (aws) is not on PATH")
    version = subprocess.run([aws, "--version"], capture_output=True, text=True)
    print(f"machine: {common.machine()}")
    print(f"AWS CLI: {(version.stdout or version.stderr).strip()}")
    # `invoke` as a user types it: the console script beside this Python (else `python -m invoke`).
    script = Path(sys.executable).with_name("invoke")
    invoke_script = str(script) if script.exists() else None
    with common.engine(args.port, args.engine) as (endpoint, env, scratch):
        env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        common.invoke(env, "setup")
        bare = scratch / "bare_query.py"
        bare.write_text(BARE.format(endpoint=endpoint))
        task_command = [invoke_script] if invoke_script else [sys.executable, "-m", "invoke"]
        commands = {
            "task": [*task_command, "patterns.list-conversations"],
            "bare boto3": [sys.executable, str(bare)],
            "AWS CLI": [
                aws,
                "dynamodb",
                "query",
                "--region",
                "us-east-1",
                "--endpoint-url",
                endpoint,
                "--table-name",
                common.TABLE,
                "--key-condition-expression",
                "pk = :pk",
                "--expression-attribute-values",
                f'{{":pk": {{"S": "GRP#{MIRA}"}}}}',
                "--no-scan-index-forward",
                "--limit",
                "21",
                "--return-consumed-capacity",
                "TOTAL",
            ],
        }
        found = {
            "task": len(
                json.loads(subprocess.run(commands["task"] + ["--json"], cwd=common.ROOT, env=env, capture_output=True).stdout)[
                    "items"
                ]
            ),
            "bare boto3": len(subprocess.run(commands["bare boto3"], env=env, capture_output=True).stdout.splitlines()),
            "AWS CLI": json.loads(subprocess.run(commands["AWS CLI"], env=env, capture_output=True).stdout)["Count"],
        }
        print(f"conversations of mira found: {found}")
        if len(set(found.values())) != 1 or not found["task"]:
            raise SystemExit("the three commands do not see the same items")
        for command in commands.values():  # warm-up: file caches, bytecode
            run(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                times[name].append(run(command, env))
    print(f"\n{'command':<12} {'median s':>9} {'min s':>7} {'max s':>7}   ({args.repeat} runs each, interleaved)")
    for name, values in times.items():
        print(f"{name:<12} {common.median(values):>9.3f} {min(values):>7.3f} {max(values):>7.3f}")
    task, bare_s, cli = (common.median(times[n]) for n in commands)
    print()
    print(f"task / bare boto3 = {task / bare_s:.2f}  (target <= 1.5)")
    print(f"task / AWS CLI    = {task / cli:.2f}  (target < 1)")


if __name__ == "__main__":
    main()
