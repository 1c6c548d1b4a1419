"""`invoke scan --json` over a large table: peak memory, and the parallel scan's speed-up.

A synthetic set of 100,000 messages (103,000 items with the group items and group claims) is written
into the embedded engine. Then, interleaved and repeated, each as its own process with
stdout read (and its lines counted) by this script:

- streamed:    `invoke scan --json` (one page at a time);
- bare boto3:  a script that pages through the same scan with a boto3 client's paginator and
               writes each raw item as a JSON line: the least a scan can do;
- baseline:    the same scan holding every item before printing them (a script that
               does `items = list(scan_items(...))`, then prints them as JSON Lines);
- segments:    `invoke scan --json --segments N` (default 4).

Peak memory is the process's maximum resident set size (wait4's ru_maxrss); the rate
ratio is bare-boto3 time / streamed time (>= 0.9 wanted); the speed-up is streamed time /
segments time. Figures are medians. `--engine dynamodb-local` measures on a fresh
in-memory DynamoDB Local instead of moto.

    python bench/scan_scale.py [--engine moto|dynamodb-local] [--messages 100000] [--segments 4] [--repeat 3]
"""

import os
import resource
import subprocess
import sys
import time

import _common as common

HOLD_ALL = """
import json, sys
sys.path.insert(0, {root!r})
from ddb.bulk.scan import scan_items
from ddb.core.target import client, local_target
everything = list(scan_items(client(local_target({table!r}, "us-east-1", {endpoint!r}, read_timeout=60.0)), {table!r}))
for item in everything:
    sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\\n")
"""

BARE_BOTO3 = """
import json, sys
import boto3
client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url={endpoint!r})
write = sys.stdout.write
for page in client.get_paginator("scan").paginate(TableName={table!r}):
    for item in page["Items"]:
        write(json.dumps(item) + "\\n")
"""


def measure(command, env):
    """(seconds, peak RSS in MB, lines printed) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=common.ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    lines = 0
    assert process.stdout is not None
    out = process.stdout
    for chunk in iter(lambda: out.read(1 << 16), b""):
        lines += chunk.count(b"\n")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{command} failed with exit code {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024, lines


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8230)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--segments", type=int, default=4)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    with common.engine(args.port, args.engine) as (endpoint, env, scratch):
        # The data goes in through `invoke seed` in its own process: this process stays small,
        # and a child's ru_maxrss never shows less than its parent's size at the fork.
        total = common.seed_synthetic(env, scratch, args.messages, args.conversations, args.users)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"table: {total} items; {args.repeat} runs each, medians; this process peaked at {own:.0f} MB "
            "(a floor under the children's figures)"
        )
        hold_all = scratch / "hold_all.py"
        hold_all.write_text(HOLD_ALL.format(root=str(common.ROOT), table=common.TABLE, endpoint=endpoint))
        bare = scratch / "bare_boto3.py"
        bare.write_text(BARE_BOTO3.format(table=common.TABLE, endpoint=endpoint))
        commands = {
            "streamed": [sys.executable, "-m", "invoke", "scan", "--json"],
            "bare boto3": [sys.executable, str(bare)],
            "baseline": [sys.executable, str(hold_all)],
            f"segments {args.segments}": [sys.executable, "-m", "invoke", "scan", "--json", "--segments", str(args.segments)],
        }
        results: dict[str, list] = {name: [] for name in commands}
        for run in range(args.repeat):
            for name, command in commands.items():
                seconds, peak, lines = measure(command, env)
                if lines != total:
                    raise SystemExit(f"{name}: printed {lines} items, the table holds {total}")
                results[name].append((seconds, peak))
                print(f"  run {run + 1}, {name}: {seconds:.1f} s, peak {peak:.0f} MB", flush=True)
    print(f"\n{'scan':<12} {'median s':>9} {'peak MB':>8}")
    medians = {}
    for name, values in results.items():
        medians[name] = (common.median(v[0] for v in values), common.median(v[1] for v in values))
        print(f"{name:<12} {medians[name][0]:>9.1f} {medians[name][1]:>8.0f}")
    streamed, bare_scan, baseline, parallel = medians.values()
    print()
    print(
        f"invoke scan --json rate / bare boto3 scan rate = {bare_scan[0] / streamed[0]:.2f} (target >= 0.9; "
        f"{total / streamed[0]:,.0f} vs {total / bare_scan[0]:,.0f} items/s, whole processes)"
    )
    print(
        f"streamed peak memory = {streamed[1]:.0f} MB for {total} items (target < 150 MB); "
        f"streamed / holding every item = {streamed[1] / baseline[1]:.2f}"
    )
    print(f"segments {args.segments} peak memory = {parallel[1]:.0f} MB")
    print(
        f"speed-up of --segments {args.segments} = {streamed[0] / parallel[0]:.2f} (streamed time / segments time; "
        "moto serves one request at a time and reads the whole table for every page, so it shows none there)"
    )


if __name__ == "__main__":
    main()
