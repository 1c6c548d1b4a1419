"""DynamoDB Local's stream history: consecutive `invoke setup` runs on one engine, and the raw writer that slows down.

DynamoDB Local keeps every stream record it has written, even those of dropped tables,
and every write into a stream-enabled table gets slower with them. `setup` seeds its new
table before turning the stream on, so its seed adds no records. On one fresh DynamoDB
Local (in memory, started with `invoke local.start --engine dynamodb-local` on --port),
each round measures, one after the other:

- setup: the whole `invoke setup --fixtures SET` process (drop, create, seed a synthetic
  set, turn the stream on), start to exit; items/s = items written / wall time. The
  table is counted afterwards (outside the timing): every item must be there;
- baseline: what a seed into a stream-enabled table meets, as the issue measured it:
  raw BatchWriteItem calls from 8 threads (25 items each, prebuilt, unprocessed items
  re-sent at once) of the first --baseline-items of the same items into a second table
  with the declared schema *and its stream*, then dropped. Its records stay in the
  engine, so every later round (setup included) runs with more history than the last.

It prints each round, then fifth/first (last/first) for both; the target is setup's
ratio >= 0.8. `--repeat N` runs the whole sequence on N fresh engines (medians).

    python bench/stream_history.py [--port 8270] [--messages 20000] [--rounds 5] [--baseline-items 5000]
"""

import contextlib
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common as common

from ddb import schema, synthetic

BASELINE_TABLE = "cruddur-messages-stream-baseline"
BATCH = 25


@contextlib.contextmanager
def dynamodb_local(port: int):
    """A fresh in-memory DynamoDB Local on `port` for the duration; yields (endpoint, env, scratch dir)."""
    with tempfile.TemporaryDirectory(prefix="ddb-bench-") as scratch:
        env = common.environment(port, Path(scratch) / "state")
        started = common.invoke(env, "local.start", "--engine", "dynamodb-local")
        print(started.err.strip().splitlines()[-1])
        try:
            yield f"http://127.0.0.1:{port}", env, Path(scratch)
        finally:
            common.invoke(env, "local.stop", check=False)


def typed_items(client, table: str) -> list[dict]:
    """Every item of `table` as DynamoDB sends it (typed), page by page."""
    found, request = [], {"TableName": table}
    while True:
        page = client.scan(**request)
        found += page["Items"]
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def raw_writer_rate(client, items: list[dict], writers: int = 8) -> float:
    """Items/s of raw concurrent BatchWriteItem of `items` into a new stream-enabled table (dropped afterwards)."""
    schema.drop(client, BASELINE_TABLE)
    schema.load(client, BASELINE_TABLE)
    requests = [{"PutRequest": {"Item": item}} for item in items]
    chunks = [requests[i : i + BATCH] for i in range(0, len(requests), BATCH)]

    def send(chunk):
        while chunk:
            chunk = (
                client.batch_write_item(RequestItems={BASELINE_TABLE: chunk}).get("UnprocessedItems", {}).get(BASELINE_TABLE, [])
            )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(send, chunks))
    rate = len(requests) / (time.perf_counter() - started)
    schema.drop(client, BASELINE_TABLE)
    return rate


def one_engine(args) -> tuple[list[float], list[float]]:
    """One fresh engine, `args.rounds` rounds of setup then baseline; both rates per round."""
    setup_rates: list[float] = []
    baseline_rates: list[float] = []
    with dynamodb_local(args.port) as (endpoint, env, scratch):
        data = synthetic.generate(
            scratch / "fixtures", messages=args.messages, conversations=args.conversations, users=args.users
        )
        expected = args.messages + 3 * args.conversations  # two group items and a group claim each
        client = common.client(endpoint)
        baseline_items: list[dict] = []
        kept = 0  # stream records the engine holds before the round (the setups add none)
        print(f"{'round':>5} {'stream records kept':>20} {'setup items/s':>14} {'setup s':>8} {'baseline items/s':>17}")
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
            baseline_rates.append(raw_writer_rate(client, baseline_items))
            print(
                f"{round_number:>5} {kept:>20,} {setup_rates[-1]:>14,.0f} {seconds:>8.1f} {baseline_rates[-1]:>17,.0f}",
                flush=True,
            )
            kept += len(baseline_items)
    return setup_rates, baseline_rates


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8270)
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the synthetic set (default 20,000)")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="consecutive setups on one engine (default 5)")
    parser.add_argument(
        "--baseline-items", type=int, default=5_000, help="items the raw writer puts each round (default 5,000; the issue: 9,000)"
    )
    parser.set_defaults(repeat=1)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2")
    print(f"machine: {common.machine()}")
    setup_ratios, baseline_ratios = [], []
    for repeat in range(args.repeat):
        if args.repeat > 1:
            print(f"-- engine {repeat + 1} of {args.repeat}")
        setup_rates, baseline_rates = one_engine(args)
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
