"""`invoke stream.process` on DynamoDB Local: records applied per second by the whole process, against the goal.

Each run starts a fresh in-memory DynamoDB Local (`invoke local.start --engine dynamodb-local`
on --port: DynamoDB Local keeps every stream record, of dropped tables too, and slows with
them), creates the table with its stream (`invoke schema-load`), seeds a synthetic set
into it (`invoke seed`: 20,000 messages in 100 conversations by default, every write a
stream record), then times one `invoke stream.process` process from spawn to exit, which
must drain the stream in one go (exit 0, "the stream is drained"). Records/s = the
records it applied / its wall time; the goal is 1,000 records/s. The group items are
checked afterwards: each sits at its conversation's newest message.

    python bench/stream_process.py [--port 8280] [--messages 20000] [--conversations 100] [--repeat 3]
"""

import json
import sys
import time

import _common as common

GOAL = 1000  # records/s through stream.process on DynamoDB Local


def one_run(args) -> tuple[int, float]:
    with common.engine(args.port, "dynamodb-local") as (endpoint, env, scratch):
        common.seed_synthetic(env, scratch, args.messages, args.conversations, args.users)
        started = time.perf_counter()
        run = common.invoke(env, "stream.process", "--json")
        seconds = time.perf_counter() - started
        applied = json.loads(run.out)
        if applied["remaining"] or applied["failed"] or applied["messages"] != args.messages:
            raise SystemExit(f"stream.process did not apply every message at once: {run.out.strip()[:500]}")
        _check_groups(common.client(endpoint))
        return applied["records"], seconds


def _check_groups(client):
    """Every group item sits at its conversation's newest message."""
    from ddb.bulk.scan import scan_items

    newest: dict[str, str] = {}
    groups = []
    for item in scan_items(client, common.TABLE):
        if item["pk"].startswith("MSG#"):
            group = item["pk"][4:]
            newest[group] = max(newest.get(group, ""), item["sk"])
        elif item["pk"].startswith("GRP#"):
            groups.append(item)
    behind = [g for g in groups if g["sk"] != newest[g["message_group_uuid"]]]
    if behind:
        raise SystemExit(f"{len(behind)} group items are not at their conversation's newest message")


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8280)
    parser.add_argument("--messages", type=int, default=20_000, help="messages in the synthetic set (default 20,000)")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    print(f"{'run':>3} {'records':>8} {'seconds':>8} {'records/s':>10} {'/ goal':>7}")
    rates = []
    for number in range(1, args.repeat + 1):
        records, seconds = one_run(args)
        rates.append(records / seconds)
        print(f"{number:>3} {records:>8,} {seconds:>8.2f} {rates[-1]:>10,.0f} {rates[-1] / GOAL:>7.2f}", flush=True)
    median = common.median(rates)
    print(f"stream.process on DynamoDB Local: median {median:,.0f} records/s, {median / GOAL:.2f} x the goal of {GOAL:,}/s")
    return 0 if median >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
