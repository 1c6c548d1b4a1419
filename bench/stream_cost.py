"""Where a write into a stream-enabled table goes on DynamoDB Local: the stream, the writers, the records held.

The same prebuilt items (a synthetic set, typed as seed types them) are written with raw
concurrent BatchWriteItem calls of 25 (unprocessed items re-sent at once), each
measurement on a fresh in-memory DynamoDB Local (`invoke local.start --engine
dynamodb-local`), so no earlier run's stream records weigh on it. For each writer count
(`--writers 1,2,6` by default), one engine, in this order:

- no stream:  into a new table of the declared schema without its stream (no record kept);
- stream:     into a new table of the same schema with its stream on (the engine holds none);
- held N:     into another new stream-enabled table, the engine now holding the N records
              of the write before (and 2N for the next `--history` round, and so on).

Each line gives the whole write's items/s and the rate of each quarter of it, so a rate
that falls as the records pile up during one write shows. The stream's cost is stream
items/s / no-stream items/s at the same writer count.

    python bench/stream_cost.py [--port 8286] [--messages 10000] [--writers 1,2,6] [--history 1] [--repeat 1]
"""

import itertools
import time
from concurrent.futures import ThreadPoolExecutor

import _common as common

from ddb.bulk import batch
from ddb.data import items
from ddb.engines.stream_history import closed_streams
from ddb.schema import declaration as schema
from ddb.seed import fixtures, seeding, synthetic


def quarters_write(client, table: str, requests: list[dict], writers: int) -> tuple[float, list[float]]:
    """Raw concurrent BatchWriteItem of `requests` (chunks of 25, in order): (items/s, items/s of each quarter)."""
    chunks = [requests[i : i + 25] for i in range(0, len(requests), 25)]
    done_at: list[float] = [0.0] * len(chunks)

    def send(index: int):
        chunk = chunks[index]
        while chunk:
            chunk = client.batch_write_item(RequestItems={table: chunk}).get("UnprocessedItems", {}).get(table, [])
        done_at[index] = time.perf_counter()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(send, range(len(chunks))))
    seconds = time.perf_counter() - started
    bounds = [started] + [max(done_at[: max(1, len(chunks) * q // 4)]) for q in (1, 2, 3, 4)]
    per = [len(requests) / 4 / max(b - a, 1e-9) for a, b in itertools.pairwise(bounds)]
    return len(requests) / seconds, per


def held_records(endpoint: str) -> int:
    """Stream records the engine keeps of dropped tables (every table here is dropped after its write)."""
    import boto3

    streams = boto3.client(
        "dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return closed_streams(streams).records


def one_engine(args, writers: int, requests: list[dict], run: int) -> list[tuple[str, int, float, list[float]]]:
    rows = []
    with common.engine(args.port, "dynamodb-local") as (endpoint, _env, _scratch):
        client = common.client(endpoint)
        plan = [("no stream", False)] + [("stream", True)] * (1 + args.history)
        for number, (label, stream) in enumerate(plan):
            table = f"cost-{run}-{writers}-{number}"
            held = held_records(endpoint)
            schema.load(client, table, stream=stream)
            rate, per = quarters_write(client, table, requests, writers)
            if common.count_items(client, table) != len(requests):
                raise SystemExit(f"{table}: items lost")
            schema.drop(client, table)
            rows.append((label, held, rate, per))
            quarters = ", ".join(f"{p:,.0f}" for p in per)
            print(
                f"  writers {writers}, {label:<9}, engine holding {held:>7,} records: {rate:>6,.0f} items/s "
                f"(quarters {quarters})",
                flush=True,
            )
    return rows


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8286)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--writers", default="1,2,6", help="writer counts, comma-separated (default 1,2,6)")
    parser.add_argument("--history", type=int, default=1, help="stream-enabled writes after the first, on the same engine")
    parser.set_defaults(repeat=1)
    args = parser.parse_args()
    counts = [int(w) for w in args.writers.split(",")]
    print(f"machine: {common.machine()}")
    with common.engine(args.port, "dynamodb-local") as (endpoint, _env, scratch):
        data = synthetic.generate(
            scratch / "fixtures", messages=args.messages, conversations=args.conversations, users=args.users
        )
        client = common.client(endpoint)
        schema.load(client, common.TABLE, stream=False)
        loaded = fixtures.load(data.directory)
        requests = [batch.put_request(i) for i in seeding.plan(client, common.TABLE, loaded, items.utc_now(), "empty").puts]
    print(f"{len(requests):,} items a write; a fresh engine for each writer count and run; {args.repeat} run(s)", flush=True)
    results: dict[tuple[int, str, int], list[float]] = {}
    for run in range(args.repeat):
        for writers in counts if run % 2 == 0 else counts[::-1]:
            for label, held, rate, _ in one_engine(args, writers, requests, run):
                results.setdefault((writers, label, held), []).append(rate)
    print(f"\n{'writers':>7} {'table':<10} {'records held':>13} {'items/s':>9} {'/ no stream':>12}")
    for (writers, label, held), rates in sorted(results.items()):
        base = common.median(results[(writers, "no stream", 0)])
        rate = common.median(rates)
        print(f"{writers:>7} {label:<10} {held:>13,} {rate:>9,.0f} {rate / base:>12.2f}")
    print(f"machine after: {common.machine()}")


if __name__ == "__main__":
    main()
