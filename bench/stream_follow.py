"""`stream.follow` under a burst: does the follower keep up with the engine's write rate, and how soon do inboxes move?

One run on a fresh engine (`invoke local.start`, DynamoDB Local by default): the table with
its stream (`invoke schema-load`), a synthetic set of conversations seeded (`invoke seed`),
then the follower (`ddb.stream.follower.follow`, default settings: batches of 100 unless
--batch-size says otherwise, as `invoke stream.follow` runs it) started in this process and left to apply the seed. Then:

- **burst**: --messages MSG# items (10,000 by default) over every conversation, written by
  another process as fast as the engine takes them (raw BatchWriteItem calls of 25,
  --writers at once). Printed: the engine's write rate (messages / write time), the
  follower's apply rate (burst records / the time it spent applying batches), their ratio
  (target >= 1: it keeps up), and the lag at the end: from the last write answered to the
  batch holding the last burst message applied (both inboxes of every conversation current);
- **single messages**: --singles messages written one at a time, each only once the last
  was applied; printed: the latency from the write to the batch applied (goal: under 1 s).

Every group item is checked at the end: each sits at its conversation's newest message.

    python bench/stream_follow.py [--engine dynamodb-local] [--port 8290] [--messages 10000] [--conversations 100] [--batch-size 100]
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
        self.last_batch = time.monotonic()

    def on_batch(self, shard, records, applied):
        now = time.time()
        with self.lock:
            self.last_batch = time.monotonic()
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


def run(args) -> int:
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
        watch, stop = Watch(), threading.Event()
        follower.apply_batch = _timed_apply(watch)
        thread = threading.Thread(
            target=follower.follow,
            args=(client, streams, common.TABLE, scratch / "checkpoint.json", scratch / "dead.jsonl", stop),
            kwargs={"on_batch": watch.on_batch, "settings": follower.FollowSettings(batch_size=args.batch_size)},
            daemon=True,
        )
        thread.start()
        while not watch.idle_for(1.5):  # the seed's records first
            time.sleep(0.1)
        watch.busy = 0.0

        burst = _burst_items(loaded, args.messages, "0000b000-0000")
        requests = [{"PutRequest": {"Item": items.to_typed(item)}} for item in burst]
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:  # no fork beside threads
            write_start, write_end = pool.submit(_write_burst, endpoint, requests, args.writers).result()
        if args.progress:
            print(f"  burst written in {write_end - write_start:.1f} s", flush=True)
        uuids = [item["message_uuid"] for item in burst]
        deadline = time.time() + 600
        while len([u for u in uuids if u in watch.applied_at]) < len(uuids) and time.time() < deadline:
            time.sleep(0.01)
            if args.progress and int(time.time() * 100) % 500 == 0:
                print(f"  {len([u for u in uuids if u in watch.applied_at]):,} applied, {watch.busy:.1f} s busy", flush=True)
        if len([u for u in uuids if u in watch.applied_at]) < len(uuids):
            raise SystemExit("the follower did not apply the burst within 10 minutes")
        caught_up = max(watch.applied_at[u] for u in uuids)
        write_rate = len(burst) / (write_end - write_start)
        apply_rate = len(burst) / watch.busy
        lag = caught_up - write_end

        latencies = []
        for item in _burst_items(loaded, args.singles, "0000c000-0000", start=datetime.now(UTC) + timedelta(seconds=10)):
            written = time.time()
            client.put_item(TableName=common.TABLE, Item=items.to_typed(item))
            while item["message_uuid"] not in watch.applied_at:
                time.sleep(0.002)
            latencies.append(watch.applied_at[item["message_uuid"]] - written)
        stop.set()
        thread.join(30)
        groups = _check_groups(client)

    print(f"engine: {args.engine}; {args.conversations} conversations ({groups} group items), batches of {args.batch_size}")
    print(
        f"burst of {len(burst):,} messages: engine write rate {write_rate:,.0f} msg/s "
        f"({args.writers} writers of BatchWriteItem 25), follower apply rate {apply_rate:,.0f} msg/s "
        f"({watch.busy:.2f} s applying), ratio follower/write {apply_rate / write_rate:.2f} (target >= 1)"
    )
    print(f"lag at the end: {lag:.2f} s from the last write answered to every inbox current")
    print(
        f"single messages ({len(latencies)}): write to both inboxes moved, median {common.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms (goal: under 1 s)"
    )
    return 0 if apply_rate >= write_rate and max(latencies) < 1 else 1


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8290)
    parser.set_defaults(engine="dynamodb-local")
    parser.add_argument("--messages", type=int, default=10_000, help="messages in the burst (default 10,000)")
    parser.add_argument("--conversations", type=int, default=100, help="conversations the burst spreads over (default 100)")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--writers", type=int, default=4, help="concurrent BatchWriteItem writers of the burst (default 4)")
    parser.add_argument("--batch-size", type=int, default=100, help="the follower's batch size (default 100, as stream.follow)")
    parser.add_argument("--progress", action="store_true", help="say every 5 s how many burst messages were applied")
    parser.add_argument("--singles", type=int, default=20, help="single messages timed one by one after the burst (default 20)")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
