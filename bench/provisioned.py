"""Seed into a provisioned table at its limit: the whole `invoke seed` process against the provisioned rate.

The embedded engine sits behind a proxy (`tests/faultproxy.py`) that admits `--rate` write
units a second, as a provisioned table does: a token bucket holding `--burst` seconds of
them; a BatchWriteItem beyond it gets part of its items back as UnprocessedItems, or
ProvisionedThroughputExceededException when none fit. The table is created, then given
`--rate` WCU, so DescribeTable says what the proxy enforces.

- seed: the whole `invoke seed --json` process, start to exit, through the proxy; its
  rate is every item stored / the process's wall time; the table is counted afterwards
  (on the engine, not through the proxy): nothing may be lost;
- greedy: raw concurrent BatchWriteItem calls of the same items through the same proxy,
  resending whatever comes back at once: what the bucket admits to a client that never
  waits (the rate plus what the burst holds).

Runs alternate (seed, greedy) on a fresh table each; figures are medians.

    python bench/provisioned.py [--rate 300] [--messages 3000] [--repeat 3] [--port 8240]
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import _common as common

from ddb.bulk import batch
from ddb.data.items import utc_now
from ddb.seed import fixtures, seeding, synthetic
from tests.faultproxy import FaultProxy


def provisioned_table(client, rate: int):
    common.fresh_table(client)
    client.update_table(TableName=common.TABLE, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": rate})


def seed_run(env, proxy_endpoint, folder) -> tuple[float, dict]:
    started = time.perf_counter()
    run = common.invoke({**env, "INVOKE_DDB_ENDPOINT_URL": proxy_endpoint}, "seed", "--fixtures", str(folder), "--json")
    return time.perf_counter() - started, json.loads(run.out)


def greedy_run(proxy_endpoint, requests, writers=4) -> float:
    from botocore.exceptions import ClientError

    client = common.client(proxy_endpoint)
    chunks = [requests[i : i + batch.BATCH_SIZE] for i in range(0, len(requests), batch.BATCH_SIZE)]

    def send(chunk):
        while chunk:
            try:
                answer = client.batch_write_item(RequestItems={common.TABLE: chunk})
            except ClientError:
                continue
            chunk = answer.get("UnprocessedItems", {}).get(common.TABLE, [])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(send, chunks))
    return time.perf_counter() - started


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8240)
    parser.add_argument("--rate", type=int, default=300, help="write units a second the table admits (default 300)")
    parser.add_argument("--burst", type=float, default=1.0, help="seconds of the rate the table saves up (default 1)")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    print(common.machine(), flush=True)
    with common.engine(args.port) as (endpoint, env, scratch):
        client = common.client(endpoint)
        data = synthetic.generate(scratch / "fx", messages=args.messages, conversations=args.conversations, users=args.users)
        plan = None  # the greedy client's items: the seed's plan, made once on an empty table
        expected = args.messages + 3 * args.conversations
        seed_rates, shares, greedy_rates = [], [], []
        for run in range(args.repeat):
            provisioned_table(client, args.rate)
            with FaultProxy(endpoint, write_units_per_second=args.rate, burst_seconds=args.burst) as proxy:
                seconds, summary = seed_run(env, proxy.endpoint, data.directory)
            stored = common.count_items(client)
            if stored != expected or summary["put"] != expected:
                raise SystemExit(f"seed stored {stored} items ({summary['put']} put), expected {expected}")
            seed_rates.append(stored / seconds)
            shares.append(summary["share_of_provisioned"])
            print(
                f"  run {run + 1}, seed: {stored} items in {seconds:.1f} s, {stored / seconds:.0f} items/s "
                f"({stored / seconds / args.rate:.2f} of {args.rate}); write phase {summary['share_of_provisioned']:.2f} "
                f"of the provisioned WCU; throttled {summary['throttled']} times, paced to {summary['paced_rate']} WCU/s",
                flush=True,
            )
            provisioned_table(client, args.rate)
            if plan is None:
                plan = seeding.plan(client, common.TABLE, fixtures.load(data.directory), utc_now())
            requests = [batch.put_request(i) for i in plan.puts]
            with FaultProxy(endpoint, write_units_per_second=args.rate, burst_seconds=args.burst) as proxy:
                greedy_seconds = greedy_run(proxy.endpoint, requests)
            greedy_rates.append(len(requests) / greedy_seconds)
            print(f"  run {run + 1}, greedy: {len(requests) / greedy_seconds:.0f} items/s", flush=True)
    seed, greedy = common.median(seed_rates), common.median(greedy_rates)
    print(
        f"seed (whole process) / provisioned rate: {seed / args.rate:.2f} ({seed:.0f} items/s vs {args.rate} WCU/s, "
        f"{expected} items, nothing lost; target >= 0.8)\n"
        f"seed's write phase / provisioned WCU (the summary's share): {common.median(shares):.2f}\n"
        f"seed / greedy client through the same bucket: {seed / greedy:.2f} (greedy {greedy:.0f} items/s)"
    )


if __name__ == "__main__":
    main()
