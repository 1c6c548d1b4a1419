"""`invoke import s3://…` against the same import from a local folder, and its peak memory as the export grows.

For each size, a synthetic set is seeded into the engine (DynamoDB Local by default) and
exported twice with `invoke export`: into a folder, and into S3 (a moto server on loopback,
found the SDK's way through AWS_ENDPOINT_URL_S3, as a user's stand-in would be). Then,
interleaved and repeated, each as a process of its own into a fresh table:

- folder: `invoke import DIR --table <fresh>`
- s3:     `invoke import s3://bench/<size> --table <fresh>` (streamed from GetObject, never downloaded)

Figures are medians; the ratio is the S3 import's rate over the folder's (target >= 0.9).
Peak RSS is the import process's ru_maxrss (wait4); flat memory means the figure at the
largest size stays near the smallest's.

    python bench/s3_import.py [--sizes 10000,100000] [--repeat 3] [--engine dynamodb-local]
"""

import logging
import os
import statistics
import subprocess
import sys
import time

import _common as common
import boto3
from moto.server import ThreadedMotoServer

from ddb.core.target import client as make_client
from ddb.core.target import local_target
from ddb.schema import declaration as schema


class _Popen(subprocess.Popen):
    """Popen that keeps the child's resource usage (wait4) when it is reaped."""

    def _try_wait(self, wait_flags):
        pid, status, self.rusage = os.wait4(self.pid, wait_flags)
        return pid, status


def measure(args, env) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, stderr) of `python -m invoke ARGS`; exits when it fails."""
    started = time.perf_counter()
    process = _Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=common.ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, err = process.communicate()
    elapsed = time.perf_counter() - started
    usage = getattr(process, "rusage", None)
    if process.returncode:
        raise SystemExit(f"invoke {' '.join(args)} failed ({process.returncode}): {err.strip()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024 if usage else float("nan"), err


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8250)
    parser.set_defaults(engine="dynamodb-local")
    parser.add_argument("--sizes", default="10000,100000", help="messages of each synthetic set (comma-separated)")
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"machine: {common.machine()}")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the S3 stand-in's request log
    s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    s3_server.start()
    host, port = s3_server.get_host_and_port()
    s3_endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3", region_name="us-east-1", endpoint_url=s3_endpoint, aws_access_key_id="local", aws_secret_access_key="local"
    ).create_bucket(Bucket="bench")
    rows = []
    try:
        with common.engine(args.port, args.engine) as (endpoint, env, scratch):
            env = {**env, "AWS_ENDPOINT_URL_S3": s3_endpoint}
            client = make_client(local_target(common.TABLE, "us-east-1", endpoint, read_timeout=300.0))
            for size in sizes:
                schema.drop(client, common.TABLE)
                total = common.seed_synthetic(env, scratch / f"set-{size}", size, max(10, size // 100), 200)
                folder = scratch / f"export-{size}"
                measure(["export", "--out", str(folder)], env)
                measure(["export", "--out", f"s3://bench/{size}"], env)
                print(f"{total} items: exported into {folder} and s3://bench/{size}", flush=True)
                seconds: dict[str, list[float]] = {"folder": [], "s3": []}
                peaks: dict[str, list[float]] = {"folder": [], "s3": []}
                for run in range(args.repeat):
                    order = [("folder", str(folder)), ("s3", f"s3://bench/{size}")]
                    for kind, source in order if run % 2 == 0 else order[::-1]:
                        copy = f"bench-{kind}-{size}-{run}"
                        schema.drop(client, copy)
                        elapsed, peak, err = measure(["import", source, "--table", copy, "--writers", str(args.writers)], env)
                        if f"all {total} read back" not in err:
                            raise SystemExit(f"import from {source} did not store every item: {err.strip()[-300:]}")
                        seconds[kind].append(elapsed)
                        peaks[kind].append(peak)
                        print(f"  run {run + 1}, {kind}: {elapsed:.1f} s, {total / elapsed:.0f} items/s, peak {peak:.0f} MB")
                        schema.drop(client, copy)
                folder_s, s3_s = statistics.median(seconds["folder"]), statistics.median(seconds["s3"])
                rows.append((size, total, folder_s, s3_s, max(peaks["folder"]), max(peaks["s3"])))
    finally:
        s3_server.stop()
    print(f"\nimport into {args.engine}, {args.writers} writers, medians of {args.repeat} interleaved run(s):")
    print("  items     folder s   s3 s   s3 rate / folder rate   peak RSS folder / s3")
    for _, total, folder_s, s3_s, folder_peak, s3_peak in rows:
        print(
            f"  {total:>7}   {folder_s:7.1f}   {s3_s:5.1f}   {folder_s / s3_s:21.2f}   {folder_peak:6.0f} MB / {s3_peak:.0f} MB"
        )
    if len(rows) > 1:
        print(f"  peak RSS of the s3 import, largest over smallest set: {rows[-1][5] / rows[0][5]:.2f}")


if __name__ == "__main__":
    main()
