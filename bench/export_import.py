"""`invoke export` and `invoke import` at scale: peak memory, and rates against their baselines.

A synthetic set of 100,000 messages (103,000 items with group items and group claims) is
seeded into the embedded engine. Then, interleaved and repeated, each as its own process
(peak memory is the process's ru_maxrss, from wait4):

- bare scan:  a boto3 script that scans the whole table page by page and counts the items
              (no retries policy, no output): the rate a scan can reach on this engine;
- export:     `invoke export --out DIR` (the same scan, plus typing, gzip, manifests);
- import:     `invoke import DIR --table <fresh>` (validate every file, create the table,
              batch writes, every key read back at the end); its summary lines give the
              validation time, the rate of its write phase and the read-back time, the
              process's wall time the rate of the whole command;
- ceiling:    raw concurrent BatchWriteItem calls of the same typed items (25 a call,
              prebuilt, unprocessed items re-sent at once) into a fresh table, in this
              process, with the same number of writers as import: the engine's write ceiling.

Figures are medians of the side-by-side pairs (each import with the ceiling of the same
run). Targets: export peak RSS < 150 MB; export rate >= 0.8 x bare scan; import rate
>= 0.9 x ceiling: the write phase's (what the batch writer controls), printed first; the
whole command's (what the user waits for, with validation and the read-back of every
key) is printed beside it with its phases.

    python bench/export_import.py [--messages 100000] [--repeat 1] [--writers 4] [--import-only]

`--import-only` exports once (for the data) and repeats only the import / ceiling pairs.
"""

import json
import os
import re
import resource
import subprocess
import sys
import time

import _common as common

from ddb.core.target import client as make_client
from ddb.core.target import local_target
from ddb.schema import declaration as schema

BARE_SCAN = """
import sys
import boto3
client = boto3.client("dynamodb", region_name="us-east-1", endpoint_url={endpoint!r},
                      aws_access_key_id="local", aws_secret_access_key="local")
count, request = 0, {{"TableName": {table!r}}}
while True:
    page = client.scan(**request)
    count += len(page["Items"])
    if "LastEvaluatedKey" not in page:
        break
    request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
print(count)
"""


class _Popen(subprocess.Popen):
    """Popen that keeps the child's resource usage (wait4) when it is reaped."""

    def _try_wait(self, wait_flags):
        pid, status, self.rusage = os.wait4(self.pid, wait_flags)
        return pid, status


def measure(command, env):
    """(seconds, peak RSS in MB, stdout, stderr) of one process."""
    started = time.perf_counter()
    process = _Popen(
        command, cwd=common.ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    usage = getattr(process, "rusage", None)
    peak = usage.ru_maxrss / 1024 if usage else float("nan")
    if process.returncode:
        raise SystemExit(f"{command} failed with exit code {process.returncode}: {err.strip()[-500:]}")
    return elapsed, peak, out, err


# The ceiling runs in a process of its own: holding every request would grow this process,
# and a child's ru_maxrss never shows less than its parent's size at the fork.
CEILING = """
import gc, gzip, json, pathlib, sys, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, {root!r})
from ddb.core.target import client as make_client, local_target
client = make_client(local_target({table!r}, "us-east-1", {endpoint!r}, read_timeout=60.0))
requests = []
for path in sorted(pathlib.Path({folder!r}).rglob("*.json.gz")):
    with gzip.open(path, "rt", encoding="utf-8") as file:
        requests.extend({{"PutRequest": {{"Item": json.loads(line)["Item"]}}}} for line in file)
chunks = [requests[i : i + 25] for i in range(0, len(requests), 25)]
gc.freeze()  # the requests never become garbage: no collection should walk them while timing

def send(chunk):
    while chunk:
        chunk = client.batch_write_item(RequestItems={{{table!r}: chunk}}).get("UnprocessedItems", {{}}).get({table!r}, [])

started = time.perf_counter()
with ThreadPoolExecutor(max_workers={writers}) as pool:
    list(pool.map(send, chunks))
print(len(requests) / (time.perf_counter() - started))
"""


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8240)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=1_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--import-only", action="store_true", help="no bare scan; export once; repeat import and ceiling")
    parser.set_defaults(repeat=1)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    with common.engine(args.port, args.engine) as (endpoint, env, scratch):
        total = common.seed_synthetic(env, scratch, args.messages, args.conversations, args.users)
        # a COUNT scan page of a large table can take moto longer than the default 10 s on a loaded machine
        client = make_client(local_target(common.TABLE, "us-east-1", endpoint, read_timeout=300.0))
        bare_script = scratch / "bare_scan.py"
        bare_script.write_text(BARE_SCAN.format(endpoint=endpoint, table=common.TABLE))
        results: dict[str, list[float]] = {"bare scan": [], "export": [], "import": [], "ceiling": []}
        write_rates: list[int] = []
        phases: dict[str, list[float]] = {"validation": [], "read-back": [], "whole": []}
        peaks: dict[str, list[float]] = {"export": [], "import": [], "bare scan": []}
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"table: {total} items; {args.repeat} run(s) each, medians; this process peaked at {own:.0f} MB "
            "(a floor under the children's figures)",
            flush=True,
        )
        for run in range(args.repeat):
            if not args.import_only:
                seconds, peak, out, _ = measure([sys.executable, str(bare_script)], env)
                if int(out) != total:
                    raise SystemExit(f"bare scan counted {out.strip()} items, the table holds {total}")
                results["bare scan"].append(total / seconds)
                peaks["bare scan"].append(peak)
                print(
                    f"  run {run + 1}, bare scan: {seconds:.1f} s, {total / seconds:.0f} items/s, peak {peak:.0f} MB", flush=True
                )
            if not args.import_only or run == 0:
                out_dir = scratch / f"export-{run}"
                seconds, peak, _, _ = measure([sys.executable, "-m", "invoke", "export", "--out", str(out_dir)], env)
                folder = out_dir / "AWSDynamoDB"
                summary = json.loads(next(folder.rglob("manifest-summary.json")).read_text())
                if summary["itemCount"] != total:
                    raise SystemExit(f"export wrote {summary['itemCount']} items, the table holds {total}")
                results["export"].append(total / seconds)
                peaks["export"].append(peak)
                print(f"  run {run + 1}, export: {seconds:.1f} s, {total / seconds:.0f} items/s, peak {peak:.0f} MB", flush=True)

            def import_run(run=run, out_dir=out_dir):
                copy = f"bench-copy-{run}"
                schema.drop(client, copy)
                seconds, peak, _, err = measure(
                    [sys.executable, "-m", "invoke", "import", str(out_dir), "--table", copy, "--writers", str(args.writers)], env
                )
                line = err.strip().splitlines()[-1]
                match = re.search(
                    r"imported (\d+) items .*?, (\d+) items/s; all (\d+) read back from the table in ([\d.]+) s", line
                )
                if not match or int(match.group(1)) != total or int(match.group(3)) != total:
                    raise SystemExit(f"import did not store every item: {line}")
                timed = re.search(r"^validated .* in ([\d.]+) s$", err, re.M)
                if not timed:
                    raise SystemExit(f"import printed no validation time: {err.strip()[:300]}")
                validated = float(timed.group(1))
                results["import"].append(total / seconds)
                write_rates.append(int(match.group(2)))
                phases["validation"].append(validated)
                phases["read-back"].append(float(match.group(4)))
                phases["whole"].append(seconds)
                peaks["import"].append(peak)
                print(
                    f"  run {run + 1}, import: {seconds:.1f} s in all, {total / seconds:.0f} items/s (validation {validated:.1f} s, "
                    f"write phase {total / int(match.group(2)):.1f} s at {match.group(2)} items/s, read-back {match.group(4)} s); "
                    f"peak {peak:.0f} MB",
                    flush=True,
                )
                schema.drop(client, copy)

            def ceiling_run(run=run, out_dir=out_dir):
                ceiling_table = f"bench-ceiling-{run}"
                schema.drop(client, ceiling_table)
                schema.load(client, ceiling_table)
                script = scratch / "ceiling.py"
                script.write_text(
                    CEILING.format(
                        root=str(common.ROOT), table=ceiling_table, endpoint=endpoint, folder=str(out_dir), writers=args.writers
                    )
                )
                rate = float(measure([sys.executable, str(script)], env)[2])
                if common.count_items(client, ceiling_table) != total:
                    raise SystemExit("the ceiling run lost items")
                results["ceiling"].append(rate)
                schema.drop(client, ceiling_table)
                print(f"  run {run + 1}, ceiling ({args.writers} writers): {rate:.0f} items/s", flush=True)

            # alternate which goes first, so neither always runs on an engine the other has just worked
            for measured in (import_run, ceiling_run) if run % 2 == 0 else (ceiling_run, import_run):
                measured()
            print(
                f"  run {run + 1}, this pair: write phase {write_rates[-1] / results['ceiling'][-1]:.2f}, "
                f"whole import {results['import'][-1] / results['ceiling'][-1]:.2f} of the ceiling",
                flush=True,
            )
    m = {name: common.median(values) for name, values in results.items() if values}
    write = common.median(write_rates)
    pairs = [w / c for w, c in zip(write_rates, results["ceiling"], strict=True)]
    whole_pairs = [i / c for i, c in zip(results["import"], results["ceiling"], strict=True)]
    p = {name: common.median(values) for name, values in phases.items()}
    print()
    print(
        f"export peak memory = {common.median(peaks['export']):.0f} MB for {total} items (target < 150 MB); "
        f"import peak memory = {common.median(peaks['import']):.0f} MB"
    )
    if results["bare scan"]:
        print(
            f"export / bare scan = {m['export'] / m['bare scan']:.2f}  (export {m['export']:.0f} items/s, "
            f"bare boto3 scan {m['bare scan']:.0f} items/s; target >= 0.8)"
        )
    print(
        f"import write phase / ceiling = {common.median(pairs):.2f} median of the pairs {_listed(pairs)}  "
        f"(import writes {write:.0f} items/s, ceiling {m['ceiling']:.0f} items/s with {args.writers} writers; target >= 0.9)"
    )
    print(
        f"import whole command / ceiling = {common.median(whole_pairs):.2f} median of the pairs {_listed(whole_pairs)}  "
        f"({m['import']:.0f} items/s; of its {p['whole']:.1f} s: validation {p['validation']:.1f} s, "
        f"the read-back of every key {p['read-back']:.1f} s, the writes, start-up and table creation the rest)"
    )


def _listed(values) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in values) + ")"


if __name__ == "__main__":
    main()
