"""Seed's write rate against the engine's own ceiling and against a put_item loop.

On a synthetic fixture set (20,000 messages by default) and the embedded engine:

- ceiling: the best rate of raw concurrent BatchWriteItem calls (25 items each, the
  typed requests built beforehand, unprocessed items re-sent at once) over the writer
  counts tried;
- seed: the write phase of seed, `ddb.seed.seeding.run` on the seed plan, with the same writer
  counts (it builds the requests, paces, retries with backoff, tallies capacity);
- naive: the same items written one put_item at a time, in one thread.

Every run starts on a freshly created table; runs are interleaved (ceiling, seed for each
writer count, then naive) and repeated; figures are medians. After every seed run the
table is counted: seed must have stored every item.

    python bench/seed_throughput.py [--messages 20000] [--writers 1,2,4,8] [--repeat 5]
"""

import sys
import time

import _common as common

from ddb.bulk import batch
from ddb.data import items
from ddb.seed import fixtures, seeding, synthetic


def ceiling_run(client, table, requests, writers) -> float:
    return len(requests) / common.ceiling_seconds(client, table, requests, writers)


def seed_run(client, table, plan, writers) -> float:
    result = seeding.run(client, table, plan, writers=writers)
    return (result.written.put + result.written.deleted) / result.seconds


def naive_run(client, table, plain_items) -> float:
    started = time.perf_counter()
    for item in plain_items:
        client.put_item(TableName=table, Item=items.to_typed(item))
    return len(plain_items) / (time.perf_counter() - started)


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8210)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--writers", default="1,2,4,8", help="writer counts to try, comma-separated")
    parser.add_argument(
        "--naive-items",
        type=int,
        default=2_000,
        help="how many of the items the put_item loop writes (0: all); its rate is items/s either way",
    )
    parser.set_defaults(repeat=5)
    args = parser.parse_args()
    writer_counts = [int(w) for w in args.writers.split(",")]
    print(f"machine: {common.machine()}")
    with common.engine(args.port, args.engine) as (endpoint, _env, scratch):
        data = synthetic.generate(
            scratch / "fixtures", messages=args.messages, conversations=args.conversations, users=args.users
        )
        loaded = fixtures.load(data.directory)
        client = common.client(endpoint)
        table = common.TABLE
        common.fresh_table(client, table)
        plan = seeding.plan(client, table, loaded, items.utc_now())  # an empty table: every item is a put
        total = len(plan.puts)
        requests = [batch.put_request(i) for i in plan.puts]
        naive_items = plan.puts[: args.naive_items or None]
        print(
            f"data: {args.messages} messages in {args.conversations} conversations of {args.users} users = {total} items; "
            f"{args.repeat} runs each, medians"
        )
        ceiling: dict[int, list[float]] = {w: [] for w in writer_counts}
        seeded: dict[int, list[float]] = {w: [] for w in writer_counts}
        naive: list[float] = []
        for run in range(args.repeat):
            for w in writer_counts:
                order = [("ceiling", ceiling), ("seed", seeded)] if run % 2 == 0 else [("seed", seeded), ("ceiling", ceiling)]
                for kind, bucket in order:
                    common.fresh_table(client, table)
                    if kind == "ceiling":
                        bucket[w].append(ceiling_run(client, table, requests, w))
                    else:
                        bucket[w].append(seed_run(client, table, plan, w))
                        stored = common.count_items(client, table)
                        if stored != total:
                            sys.exit(f"seed lost items: {stored} of {total} stored")
                print(
                    f"  run {run + 1}, {w} writers: ceiling {ceiling[w][-1]:.0f} items/s, seed {seeded[w][-1]:.0f} items/s",
                    flush=True,
                )
            common.fresh_table(client, table)
            naive.append(naive_run(client, table, naive_items))
            print(f"  run {run + 1}, put_item loop ({len(naive_items)} items): {naive[-1]:.0f} items/s", flush=True)
        common.fresh_table(client, table)
    print()
    print(f"{'writers':>8} {'ceiling items/s':>16} {'seed items/s':>13} {'seed/ceiling':>13}")
    for w in writer_counts:
        c, s = common.median(ceiling[w]), common.median(seeded[w])
        print(f"{w:>8} {c:>16.0f} {s:>13.0f} {s / c:>13.2f}")
    best_ceiling_w = max(writer_counts, key=lambda w: common.median(ceiling[w]))
    best_seed_w = max(writer_counts, key=lambda w: common.median(seeded[w]))
    best_ceiling, best_seed, naive_rate = (
        common.median(ceiling[best_ceiling_w]),
        common.median(seeded[best_seed_w]),
        common.median(naive),
    )
    print(f"put_item loop: {naive_rate:.0f} items/s")
    print()
    print(
        f"seed / ceiling       = {best_seed / best_ceiling:.2f}  (seed {best_seed:.0f} items/s with {best_seed_w} writers; "
        f"ceiling {best_ceiling:.0f} items/s with {best_ceiling_w} writers; target >= 0.9)"
    )
    paired = [s / c for w in writer_counts for s, c in zip(seeded[w], ceiling[w], strict=True)]
    print(
        f"seed / ceiling, run by run at the same writer count: median {common.median(paired):.2f} "
        f"(of {len(paired)} side-by-side pairs; a check on the noise of this machine)"
    )
    print(f"seed / put_item loop = {best_seed / naive_rate:.1f}  (target >= 10)")


if __name__ == "__main__":
    main()
