"""DynamoDB Local's stream history: consecutive `invoke setup` runs, against the raw writer into a stream-enabled table.

DynamoDB Local keeps every stream record it has written, even those of dropped tables
(24 hours, as DynamoDB does), and a write into any table whose name has ever had a
stream on that engine pays for every record the engine holds. `setup` seeds its new table
before turning the stream on, so its seed adds no records. Two fresh DynamoDB Locals (in
memory, `invoke local.start --engine dynamodb-local` on --port and --port + 1), and each
round, one after the other:

- setup, on the first engine: the whole `invoke setup --fixtures SET` process (drop,
  create, seed a synthetic set, turn the stream on), start to exit; items/s = items
  written / wall time. The table is counted afterwards (outside the timing);
- baseline, on the second engine: what the seed met before, as the issue measured it:
  raw BatchWriteItem calls from 8 threads (25 items each, prebuilt, unprocessed items
  re-sent at once) of the first --baseline-items of the same items into a table of the
  same name, schema and stream, created for the round and dropped after it, as setup
  did. Its records stay in that engine, so each round meets more than the last.

It prints each round, then last/first (fifth/first by default) for both; the target is
setup's ratio >= 0.8. `--history-items N` first leaves N stream records on the setup
engine (a stream-enabled table written and dropped), to show what records from other
writes cost setup. `--repeat N` runs it all N times on fresh engines (medians).

    python bench/stream_history.py [--port 8270] [--messages 20000] [--rounds 5] [--baseline-items 5000]
"""

import contextlib
import re
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import _common as common

from ddb.schema import declaration as schema
from ddb.seed import synthetic
from tests.support import typed_items

HISTORY_TABLE = "cruddur-messages-earlier"


@contextlib.contextmanager
def dynamodb_local(port: int):
    """A fresh in-memory DynamoDB Local on `port` for the duration; yields (endpoint, env, scratch dir)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the engine (finally below)
    with tempfile.TemporaryDirectory(prefix="ddb-bench-") as scratch:
        env = common.environment(port, Path(scratch) / "state")
        started = common.invoke(env, "local.start", "--engine", "dynamodb-local")
        print(started.err.strip().splitlines()[-1])
        try:
            yield f"http://127.0.0.1:{port}", env, Path(scratch)
        finally:
            common.invoke(env, "local.stop", check=False)


def raw_writer_rate(client, table: str, items: list[dict], writers: int = 8) -> float:
    """Items/s of raw concurrent BatchWriteItem of `items` into a new stream-enabled `table` (dropped afterwards)."""
    schema.drop(client, table)
    schema.load(client, table)
    requests = [{"PutRequest": {"Item": item}} for item in items]
    rate = len(requests) / common.ceiling_seconds(client, table, requests, writers)
    schema.drop(client, table)
    return rate


def history_items(count: int) -> list[dict]:
    """`count` small message items, for the stream records left on the setup engine by `--history-items`."""
    group = uuid.uuid4()
    return [{"pk": {"S": f"MSG#{group}"}, "sk": {"S": f"{n:09d}"}, "message": {"S": "earlier"}} for n in range(count)]


def one_run(args) -> tuple[list[float], list[float]]:
    """Two fresh engines, `args.rounds` rounds of setup (first engine) then baseline (second); both rates per round."""
    setup_rates: list[float] = []
    baseline_rates: list[float] = []
    with contextlib.ExitStack() as engines:
        endpoint, env, scratch = engines.enter_context(dynamodb_local(args.port))
        baseline_endpoint, _env, _scratch = engines.enter_context(dynamodb_local(args.port + 1))
        data = synthetic.generate(
            scratch / "fixtures", messages=args.messages, conversations=args.conversations, users=args.users
        )
        expected = args.messages + 3 * args.conversations  # two group items and a group claim each
        client, baseline_client = common.client(endpoint), common.client(baseline_endpoint)
        if args.history_items:
            raw_writer_rate(client, HISTORY_TABLE, history_items(args.history_items))
        baseline_items: list[dict] = []
        print(
            f"{'round':>5} {'setup engine records':>21} {'setup items/s':>14} {'setup s':>8} {'its write phase items/s':>24}"
            f" {'baseline engine records':>24} {'baseline items/s':>17}"
        )
        for round_number in range(1, args.rounds + 1):
            started = time.perf_counter()
            run = common.invoke(env, "setup", "--fixtures", str(data.directory))
            seconds = time.perf_counter() - started
            stored = common.count_items(client)
            if stored != expected:
                raise SystemExit(f"round {round_number}: setup left {stored} items, expected {expected}: {run.err.strip()}")
            if not baseline_items:
                baseline_items = typed_items(client, common.TABLE)[: args.baseline_items]
            setup_rates.append(expected / seconds)
            baseline_rates.append(raw_writer_rate(baseline_client, common.TABLE, baseline_items))
            print(
                f"{round_number:>5} {args.history_items:>21,} {setup_rates[-1]:>14,.0f} {seconds:>8.1f} "
                f"{_write_phase_rate(run.err):>24} {(round_number - 1) * len(baseline_items):>24,} {baseline_rates[-1]:>17,.0f}",
                flush=True,
            )
    return setup_rates, baseline_rates


def _write_phase_rate(said: str) -> str:
    """The write phase's own rate, from setup's summary line (`..., 1234 items/s, ...`)."""
    found = re.findall(r"(\d+) items/s", said)
    return f"{int(found[-1]):,}" if found else "?"


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8270)
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the synthetic set (default 20,000)")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="consecutive setups on one engine (default 5)")
    parser.add_argument(
        "--baseline-items", type=int, default=5_000, help="items the raw writer puts each round (default 5,000; the issue: 9,000)"
    )
    parser.add_argument(
        "--history-items", type=int, default=0, help="stream records to leave on the setup engine first (default 0)"
    )
    parser.set_defaults(repeat=1)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    print(f"machine: {common.machine()}")
    setup_ratios, baseline_ratios = [], []
    for repeat in range(args.repeat):
        if args.repeat > 1:
            print(f"-- run {repeat + 1} of {args.repeat}")
        setup_rates, baseline_rates = one_run(args)
        setup_ratios.append(setup_rates[-1] / setup_rates[0])
        baseline_ratios.append(baseline_rates[-1] / baseline_rates[0])
    median = "median " if args.repeat > 1 else ""
    print(
        f"setup, last/first (round {args.rounds} / round 1): {median}{common.median(setup_ratios):.2f} (target >= 0.8)\n"
        f"baseline raw writer into a stream-enabled table, last/first: {median}{common.median(baseline_ratios):.2f}"
    )
    return 0 if common.median(setup_ratios) >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
