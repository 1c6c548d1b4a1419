"""The whole `invoke seed` process (start to exit) against the engine's ceiling, and how seed grows with size.

Default mode, on a synthetic set (20,000 messages in 100 conversations by default),
each repeat interleaved (the order alternates):

- ceiling: raw concurrent BatchWriteItem (25 items a call) of the same typed items, built
  beforehand, into a fresh table of the same schema, from a plain `boto3.client("dynamodb")`
  as a hand-written script makes it, with the engine's fastest thread count (2 on moto,
  6 on DynamoDB Local: `commands.targeting.ENGINE_WRITERS`, what seed's `auto` uses); the
  same with 4 threads is printed beside it, and the same writes from the toolkit's client
  (`ddb.core.target.client`: no client-side parameter validation), so the share of the gain
  that is the client's configuration shows. One sample each per run: the fastest of
  several samples would be biased low on a machine this noisy;
- re-seed floor: after the ceiling's writes, a plain scan of every key and raw concurrent
  deletes of them: (puts + scan + deletes) / puts is what the engine alone charges a
  re-seed, which must read every key and delete every stale one, against a first seed;
- first seed: `invoke seed` as a process of its own into a fresh table, timed from spawn
  to exit (start-up, validation, lock, plan, writes, summary);
- re-seed: `invoke seed` of the same set again, into the table that now holds it.

On DynamoDB Local the tables are created without their stream (as `setup` seeds its new
table), so no run leaves stream records that would slow the next one.

It prints whole-process seed rate / ceiling rate, re-seed time / first seed time (medians
and run by run) and the seed process's peak RSS (VmHWM, polled from /proc). Every seed is
followed by a count of the table.

Growth mode (`--sizes 10000,100000,1000000`): for each size, a synthetic set (100
conversations) and one `invoke setup --fixtures` process (drop, create, seed), its
items/s and peak RSS.

    python bench/seed_process.py [--engine moto|dynamodb-local] [--port 8230] [--messages 20000] [--repeat 3]
    python bench/seed_process.py --sizes 10000,100000,1000000 [--engine ...]
"""

import subprocess
import sys
import threading
import time

import _common as common

from commands.targeting import ENGINE_WRITERS
from ddb.bulk import batch
from ddb.data import items
from ddb.seed import fixtures, seeding, synthetic


def process(env, *args) -> tuple[float, float, str]:
    """`python -m invoke ARGS` in a process of its own: (seconds from spawn to exit, peak RSS in MB, last stderr line)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "invoke", *args],
        cwd=common.ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    peak = [0]
    watcher = threading.Thread(target=_watch_peak, args=(child.pid, peak), daemon=True)
    watcher.start()
    err = child.stderr.read()  # until the child closes it, at exit
    child.wait()
    seconds = time.perf_counter() - started
    watcher.join()
    if child.returncode:
        raise SystemExit(f"invoke {' '.join(args)} failed ({child.returncode}): {err.strip()}")
    return seconds, peak[0] / 1024, (err.strip().splitlines() or [""])[-1]


def _watch_peak(pid: int, peak: list[int]):
    """The process's peak RSS (VmHWM, kB), read from /proc every 50 ms until it ends.

    Not getrusage: a forked child's ru_maxrss counts the parent's pages it shared before exec.
    VmHWM belongs to the program exec loaded, and only grows, so the last reading is its peak.
    """
    status = f"/proc/{pid}/status"
    while True:
        try:
            with open(status) as lines:
                hwm = next((int(line.split()[1]) for line in lines if line.startswith("VmHWM:")), None)
        except OSError:
            return
        if hwm is None:  # a zombie: the program has ended
            return
        peak[0] = max(peak[0], hwm)
        time.sleep(0.05)


def check_count(client, total: int, line: str):
    """The seed said it put every item, and the table holds that many (its ItemCount: moto and DynamoDB Local keep it live).

    The lock is gone at the end of a seed; a scan to count would cost moto O(table) per page.
    """
    stored = client.describe_table(TableName=common.TABLE)["Table"]["ItemCount"]
    if stored != total or f" {total} put," not in line:
        sys.exit(f"seed stored {stored} items, expected {total}: {line}")


def compare(args, endpoint, env, scratch):
    data = synthetic.generate(scratch / "fixtures", messages=args.messages, conversations=args.conversations, users=args.users)
    client = common.client(endpoint)
    loaded = fixtures.load(data.directory)
    common.fresh_table(client, stream=args.engine == "moto")
    requests = [batch.put_request(i) for i in seeding.plan(client, common.TABLE, loaded, items.utc_now(), "empty").puts]
    total = len(requests)
    del loaded
    print(f"data: {args.messages} messages in {args.conversations} conversations = {total} items; {args.repeat} runs, medians")
    raw = common.raw_client(endpoint)
    ceiling, toolkit, floor, first, again, rss, first_rss = [], [], [], [], [], [], []
    seed = ("seed", "--fixtures", str(data.directory), "--yes")
    best_writers = ENGINE_WRITERS[args.engine]
    four = []
    for run in range(args.repeat):
        order = ("ceiling", "toolkit", "seed") if run % 2 == 0 else ("seed", "ceiling", "toolkit")
        for kind in order:
            common.fresh_table(client, stream=args.engine == "moto")
            if kind == "toolkit":
                toolkit.append(common.ceiling_seconds(client, common.TABLE, requests, writers=best_writers))
                continue
            if kind == "ceiling":
                four.append(common.ceiling_seconds(raw, common.TABLE, requests, writers=4))
                common.fresh_table(client, stream=args.engine == "moto")
                ceiling.append(common.ceiling_seconds(raw, common.TABLE, requests, writers=best_writers))
                scan, keys = common.raw_keys_seconds(raw)
                deletes = common.ceiling_seconds(raw, common.TABLE, [{"DeleteRequest": {"Key": k}} for k in keys])
                floor.append((ceiling[-1] + scan + deletes) / ceiling[-1])
                continue
            seconds, peak, line = process(env, *seed)
            check_count(client, total, line)
            first.append(seconds)
            rss.append(peak)
            first_rss.append(peak)
            seconds, peak, again_line = process(env, *seed)
            check_count(client, total, again_line)
            again.append(seconds)
            rss.append(peak)
        print(
            f"  run {run + 1}: ceiling {ceiling[-1]:.2f} s ({total / ceiling[-1]:.0f} items/s, {best_writers} threads; "
            f"4 threads {four[-1]:.2f} s; toolkit's client {toolkit[-1]:.2f} s; "
            f"re-seed floor {floor[-1]:.2f}), first seed {first[-1]:.2f} s "
            f"({total / first[-1]:.0f} items/s), re-seed {again[-1]:.2f} s; peak RSS {max(rss[-2:]):.0f} MB",
            flush=True,
        )
        print(f"    first: {line}\n    again: {again_line}", flush=True)
    common.fresh_table(client, stream=args.engine == "moto")
    pairs = [c / f for c, f in zip(ceiling, first, strict=True)]
    reseed = [a / f for a, f in zip(again, first, strict=True)]
    print()
    print(
        f"whole-process seed / ceiling = {common.median(ceiling) / common.median(first):.2f}  (medians: seed "
        f"{common.median(first):.2f} s, ceiling {common.median(ceiling):.2f} s; run by run {', '.join(f'{p:.2f}' for p in pairs)}; "
        "target >= 0.9)"
    )
    print(
        f"  against the toolkit's client writing raw: {common.median(toolkit) / common.median(first):.2f} "
        f"(its ceiling {common.median(toolkit):.2f} s); against a raw writer of 4 threads: "
        f"{common.median(four) / common.median(first):.2f} ({common.median(four):.2f} s)"
    )
    print(
        f"re-seed / first seed        = {common.median(again) / common.median(first):.2f}  (re-seed {common.median(again):.2f} s; "
        f"run by run {', '.join(f'{r:.2f}' for r in reseed)}; target <= 2.5)"
    )
    print(
        f"  the engine's own floor for it: (puts + key scan + deletes) / puts = {common.median(floor):.2f} "
        f"(run by run {', '.join(f'{f:.2f}' for f in floor)})"
    )
    print(f"peak RSS of a seed process  = {max(first_rss):.0f} MB first seed, {max(rss):.0f} MB re-seed or first")


def growth(args, env, scratch):
    print(f"{'messages':>9} {'items':>9} {'setup s':>9} {'items/s':>9} {'peak RSS MB':>12}")
    rates = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        data = synthetic.generate(scratch / f"fixtures-{size}", messages=size, conversations=args.conversations, users=args.users)
        total = size + 3 * args.conversations
        seconds, peak, line = process(env, "setup", "--fixtures", str(data.directory), "--yes")
        check_count(common.client(env["INVOKE_DDB_ENDPOINT_URL"]), total, line)
        rates[size] = total / seconds
        print(f"{size:>9} {total:>9} {seconds:>9.1f} {rates[size]:>9.0f} {peak:>12.0f}    {line}", flush=True)
    sizes = sorted(rates)
    if len(sizes) > 1:
        print(f"items/s at {sizes[-1]} / items/s at {sizes[0]} = {rates[sizes[-1]] / rates[sizes[0]]:.2f}")


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8230)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--sizes", help="growth mode: message counts, comma-separated (e.g. 10000,100000,1000000)")
    args = parser.parse_args()
    print(f"machine: {common.machine()}; engine {args.engine}")
    with common.engine(args.port, args.engine) as (endpoint, env, scratch):
        # Python's bytecode cache on, as a user has it: an inherited PYTHONDONTWRITEBYTECODE would have every
        # seed process compile each module edited since its cached copy anew.
        env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if args.sizes:
            growth(args, env, scratch)
        else:
            compare(args, endpoint, env, scratch)


if __name__ == "__main__":
    main()
