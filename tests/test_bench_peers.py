"""`bench/peers.py` runs end to end: its quick smoke test of the cheap jobs prints the table.

Only that it runs and prints each row is asserted, never a ratio: speed is `bench/`'s to measure.
The cheap jobs (one pattern command, scan to JSON) need DynamoDB Local and no peer to install;
without the AWS CLI their CLI rows say they were skipped.
"""

import subprocess
import sys

from .support import ROOT, dynamodb_local_or_skip, fake_aws_environment, free_port


def test_the_peers_benchmark_prints_a_row_for_each_quick_job():
    dynamodb_local_or_skip()
    run = subprocess.run(
        [sys.executable, "bench/peers.py", "--quick", "--jobs", "pattern,scan", "--port", str(free_port())],
        cwd=ROOT,
        env=fake_aws_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith(("one pattern command", "scan to JSON"))]
    assert [row.split("  ")[0] for row in rows] == ["one pattern command"] * 2 + ["scan to JSON"] * 2
    assert all(row.rstrip().endswith(("pass", "FAIL")) or "skipped" in row for row in rows)
    assert "the engine holds 0 stream records at the end" in run.stdout
