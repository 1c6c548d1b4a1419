"""`stream.follow` under a burst: does the follower keep up with the engine's write rate, and how soon do inboxes move?

Every configuration (--workers x --batch-size, comma-separated lists; by default one
worker and stream.follow's default workers, at its default batch size) runs on a fresh
engine of its own (`invoke local.start`, DynamoDB Local by default), back to back,
--rounds times: DynamoDB Local slows as it keeps stream records, even of dropped tables,
so configurations never share one. In each: the table with its stream (`invoke
schema-load`), a synthetic set of conversations seeded (`invoke seed`), then the follower
(`ddb.stream.follower.follow` with that batch size and workers) started in this process
and left to apply the seed. Then:

- **burst**: --messages MSG# items (10,000 by default) over every conversation, written by
  another process as fast as the engine takes them (raw BatchWriteItem calls of 25,
  --writers at once). Printed: the engine's write rate (messages / write time), the
  follower's apply rate (burst records / the time it spent applying batches), their ratio
  (target >= 1: it keeps up), and the lag at the end: from the last write answered to the
  batch holding the last burst message applied (both inboxes of every conversation current);
  and where the time went: the follower's requests by operation, count x mean latency
  (summed over its workers, so more than the wall time when they overlap);
- **single messages**: --singles messages written one at a time, each only once the last
  was applied; printed: the latency from the write to the batch applied (goal: under 1 s).

Every group item is checked at the end: each sits at its conversation's newest message.

    python bench/stream_follow.py [--engine dynamodb-local] [--port 8290] [--messages 10000] [--conversations 100]
        [--workers 1,4] [--batch-size 10000] [--rounds 1]
"""

import multiprocessing
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta

import _common as common


def _write_burst(endpoint: str, requests: list[dict], writers: int) -> tuple[float, float]:
    """In a process of its own: write the burst; (wall time it started, wall time the last write was answered)."""
    started = time.time()
    common.ceiling_seconds(common.raw_client(endpoint), common.TABLE, requests, writers)
    return started, time.time()


class Watch:
    """The follower's batches as they are applied: burst messages seen, time spent applying, when each message landed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.applied_at: dict[str, float] = {}  # message uuid -> wall time its batch was applied
        self.busy = 0.0
        self.batches = 0
        self.last_batch = time.monotonic()

    def on_batch(self, shard, records, applied):
        now = time.time()
        with self.lock:
            self.last_batch = time.monotonic()
            self.batches += 1
            for record in records[: applied.through]:
                image = record.get("dynamodb", {}).get("NewImage", {})
                if record.get("eventName") == "INSERT" and image.get("pk", {}).get("S", "").startswith("MSG#"):
                    self.applied_at[image["message_uuid"]["S"]] = now

    def idle_for(self, seconds: float) -> bool:
        with self.lock:
            return time.monotonic() - self.last_batch >= seconds


def _timed_apply(watch: Watch):
    """follower.apply_batch, its time added to `watch.busy`."""
    from ddb.stream import batches

    apply_batch = batches.apply_batch

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return apply_batch(*args, **kwargs)
        finally:
            watch.busy += time.perf_counter() - started

    return timed


def _streams_client(endpoint: str):
    from ddb.core.target import client, local_target

    return client(local_target(common.TABLE, "us-east-1", endpoint), "dynamodbstreams")


def _burst_items(loaded, count: int, tag: str, start: datetime | None = None) -> list:
    """`count` messages over every conversation in turn, a millisecond apart from `start` (5 s from now)."""
    from ddb.data import items

    base = start or datetime.now(UTC) + timedelta(seconds=5)
    conversations = loaded.conversations
    made = []
    for n in range(count):
        conversation = conversations[n % len(conversations)]
        sender = loaded.users[conversation.between[n % 2]]
        uuid = f"{tag}-4000-8000-{n:012d}"
        when = items.iso_time(base + timedelta(milliseconds=n))
        made.append(items.message_item(conversation.message_group_uuid, uuid, sender, f"burst message {n}", when))
    return made


def _check_groups(client):
    from ddb.bulk.scan import scan_items

    newest: dict[str, str] = {}
    groups = []
    for item in scan_items(client, common.TABLE):
        if item["pk"].startswith("MSG#"):
            newest[item["pk"][4:]] = max(newest.get(item["pk"][4:], ""), item["sk"])
        elif item["pk"].startswith("GRP#"):
            groups.append(item)
    behind = [g for g in groups if g["sk"] != newest[g["message_group_uuid"]]]
    if behind:
        raise SystemExit(f"{len(behind)} of {len(groups)} group items are not at their conversation's newest message")
    return len(groups)


class Calls:
    """Time spent in each kind of request (summed over threads), timed by botocore's before-call and after-call events."""

    def __init__(self, *clients):
        self.lock = threading.Lock()
        self.seconds: dict[str, float] = {}
        self.count: dict[str, int] = {}
        for client in clients:
            client.meta.events.register("before-call.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)

    def _before(self, context, **_):
        context["bench_started"] = time.perf_counter()

    def _after(self, context, model, **_):
        took = time.perf_counter() - context.get("bench_started", time.perf_counter())
        with self.lock:
            self.seconds[model.name] = self.seconds.get(model.name, 0.0) + took
            self.count[model.name] = self.count.get(model.name, 0) + 1

    def reset(self):
        with self.lock:
            self.seconds.clear()
            self.count.clear()

    def line(self) -> str:
        with self.lock:
            ranked = sorted(self.seconds, key=self.seconds.__getitem__, reverse=True)
            return "; ".join(
                f"{name} {self.count[name]:,} x {self.seconds[name] / self.count[name] * 1000:.1f} ms = {self.seconds[name]:.1f} s"
                for name in ranked
            )


def run_one(args, workers: int, batch_size: int) -> dict:
    """One configuration on a fresh engine of its own (see the module's docstring): its figures."""
    from ddb.data import items
    from ddb.seed import fixtures, synthetic
    from ddb.stream import follower

    with common.engine(args.port, args.engine) as (endpoint, env, scratch):
        data = synthetic.generate(
            scratch / "fixtures", messages=args.conversations, conversations=args.conversations, users=args.users
        )
        common.invoke(env, "schema-load")
        common.invoke(env, "seed", "--fixtures", str(data.directory))
        loaded = fixtures.load(data.directory)
        client = common.client(endpoint)
        streams = _streams_client(endpoint)
        watch, stop, calls = Watch(), threading.Event(), Calls(client, streams)
        follower.apply_batch = _timed_apply(watch)
        settings = follower.FollowSettings(batch_size=batch_size, workers=workers)
        thread = threading.Thread(
            target=follower.follow,
            args=(client, streams, common.TABLE, scratch / "checkpoint.json", scratch / "dead.jsonl", stop),
            kwargs={"on_batch": watch.on_batch, "settings": settings},
            daemon=True,
        )
        thread.start()
        while not watch.idle_for(1.5):  # the seed's records first
            time.sleep(0.1)
        watch.busy, watch.batches = 0.0, 0
        calls.reset()

        burst = _burst_items(loaded, args.messages, "0000b000-0000")
        requests = [{"PutRequest": {"Item": items.to_typed(item)}} for item in burst]
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:  # no fork beside threads
            write_start, write_end = pool.submit(_write_burst, endpoint, requests, args.writers).result()
        if args.progress:
            print(f"  burst written in {write_end - write_start:.1f} s", flush=True)
        uuids = [item["message_uuid"] for item in burst]
        deadline = time.time() + 900
        while len([u for u in uuids if u in watch.applied_at]) < len(uuids) and time.time() < deadline:
            time.sleep(0.01)
            if args.progress and int(time.time() * 100) % 500 == 0:
                print(f"  {len([u for u in uuids if u in watch.applied_at]):,} applied, {watch.busy:.1f} s busy", flush=True)
        if len([u for u in uuids if u in watch.applied_at]) < len(uuids):
            raise SystemExit("the follower did not apply the burst within 15 minutes")
        caught_up = max(watch.applied_at[u] for u in uuids)
        breakdown, batches, busy = calls.line(), watch.batches, watch.busy
        moves = calls.count.get("TransactWriteItems", 0)

        latencies = []
        for item in _burst_items(loaded, args.singles, "0000c000-0000", start=datetime.now(UTC) + timedelta(seconds=10)):
            written = time.time()
            client.put_item(TableName=common.TABLE, Item=items.to_typed(item))
            while item["message_uuid"] not in watch.applied_at:
                time.sleep(0.002)
            latencies.append(watch.applied_at[item["message_uuid"]] - written)
        stop.set()
        thread.join(60)
        groups = _check_groups(client)
    write_rate, apply_rate = len(burst) / (write_end - write_start), len(burst) / busy
    return {
        "workers": workers,
        "batch_size": batch_size,
        "groups": groups,
        "write_rate": write_rate,
        "apply_rate": apply_rate,
        "busy": busy,
        "batches": batches,
        "moves": moves,
        "lag": caught_up - write_end,
        "latencies": latencies,
        "breakdown": breakdown,
    }


def _say(args, run: dict) -> None:
    print(
        f"workers {run['workers']}, batches of up to {run['batch_size']:,}: "
        f"engine write rate {run['write_rate']:,.0f} msg/s, follower apply rate {run['apply_rate']:,.0f} msg/s "
        f"({run['busy']:.2f} s applying {run['batches']} batches: {run['moves']:,} group-item moves, "
        f"{run['moves'] / run['busy']:.0f} a second), ratio {run['apply_rate'] / run['write_rate']:.2f}; "
        f"lag at the end {run['lag']:.2f} s; single messages median {common.median(run['latencies']) * 1000:.0f} ms, "
        f"max {max(run['latencies']) * 1000:.0f} ms; {run['groups']} group items checked",
        flush=True,
    )
    print(f"  where the burst's time went (requests of the follower, summed over its threads): {run['breakdown']}", flush=True)


def run(args) -> int:
    configurations = [(w, b) for b in _numbers(args.batch_size) for w in _numbers(args.workers)]
    print(
        f"engine: {args.engine}, a fresh one per configuration (DynamoDB Local slows as it keeps stream records, "
        f"even of dropped tables); burst of {args.messages:,} messages over {args.conversations} conversations, "
        f"written by {args.writers} BatchWriteItem writers of 25; {args.rounds} round(s), configurations back to back",
        flush=True,
    )
    runs = []
    for _ in range(args.rounds):
        for workers, batch_size in configurations:
            runs.append(run_one(args, workers, batch_size))
            _say(args, runs[-1])
    if args.rounds > 1:
        print("medians:")
        for workers, batch_size in configurations:
            mine = [r for r in runs if (r["workers"], r["batch_size"]) == (workers, batch_size)]
            ratio = common.median([r["apply_rate"] / r["write_rate"] for r in mine])
            lag = common.median([r["lag"] for r in mine])
            print(f"  workers {workers}, batches of up to {batch_size:,}: ratio {ratio:.2f}, lag {lag:.2f} s")
    last = runs[-1]
    return 0 if last["apply_rate"] >= last["write_rate"] and max(last["latencies"]) < 1 else 1


def _numbers(text: str) -> list[int]:
    return [int(part) for part in str(text).split(",") if part.strip()]


def main():
    from ddb.stream.follower import BATCH_SIZE, WORKERS

    parser = common.arguments(__doc__.split("\n\n")[0], port=8290)
    parser.set_defaults(engine="dynamodb-local")
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the burst (default 10,000)")
    parser.add_argument("--conversations", type=int, default=100, help="conversations the burst spreads over (default 100)")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--writers", type=int, default=4, help="concurrent BatchWriteItem writers of the burst (default 4)")
    parser.add_argument(
        "--batch-size", default=str(BATCH_SIZE), help=f"the follower's batch sizes, comma-separated (default {BATCH_SIZE})"
    )
    parser.add_argument(
        "--workers",
        default=f"1,{WORKERS}",
        help=f"the follower's workers, comma-separated (default 1,{WORKERS}: one, and stream.follow's)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of every configuration, back to back (default 1)")
    parser.add_argument("--progress", action="store_true", help="say every 5 s how many burst messages were applied")
    parser.add_argument("--singles", type=int, default=20, help="single messages timed one by one after the burst (default 20)")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
