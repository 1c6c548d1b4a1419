"""Each job of issue 26 against the peers a user would pick, on one DynamoDB Local, interleaved; medians.

Every run starts a fresh in-memory DynamoDB Local (`invoke local.start --engine
dynamodb-local`), sets the table up with `invoke setup --fixtures SET` (a synthetic set of
`--items` items; setup leaves no stream record), exports it once with `invoke export` and
`dynamodump -m backup` (the restores' inputs), then runs the jobs in a rotating order,
each contender as a process of its own, timed from spawn to exit, on a table of its own
(dropped afterwards, counted first):

- restore:   `invoke import EXPORT --table NEW` (created without its stream, which is turned on
             after the load; every item checked) / `dynamodump -m restore` into a new table / a raw 6-thread
             BatchWriteItem script that reads the same export files and creates its table;
- backup:    `invoke export` (default flags) / a bare boto3 scan to JSON Lines / `dynamodump -m backup`;
- seed:      `invoke seed` into an empty table of the declared schema without a stream /
             the raw 6-thread writer into another such table;
- seed-live: `invoke seed` into an empty table with its stream on / the raw 6-thread writer
             into a table of the same schema, stream on (6 threads is its fastest there too,
             `bench/stream_cost.py`), each on a fresh DynamoDB Local of its own (port + 1): an engine that holds stream records
             slows every write into a stream-enabled table, so on a shared engine whichever
             went second would lose;
- pattern:   `invoke patterns.list-conversations --handle H` / a bare boto3 query script /
             `aws dynamodb query` (the CLI on PATH); `--pattern-samples` of each a run;
- scan:      `invoke scan --json` / a bare boto3 scan printing JSON Lines / `aws dynamodb scan`.

Ratios are peer seconds / our seconds (> 1: this project is faster), of the medians. The
stream records the engine holds (of dropped tables: `ddb.engines.stream_history`) are
printed before every restore, and with the table. Every contender runs with Python's bytecode
cache on, as a user's machine has it (`cached`). dynamodump goes into `.local/peers/`
(pip, on first use); without it, its rows say why. `--quick` is a smoke test: 2,000
items, one run.

    python bench/peers.py [--items 51500] [--repeat 3] [--jobs restore,backup,seed,seed-live,pattern,scan] [--quick]
"""

import json
import sys

import _common as common
import _peer_tools as tools

from ddb.engines.stream_history import closed_streams
from ddb.schema import declaration as schema
from ddb.seed import synthetic

JOBS = ("restore", "backup", "seed", "seed-live", "pattern", "scan")
# (job, our contender, peer, target ratio peer seconds / ours): the rows
ROWS = (
    ("restore into a new table", "import", "dynamodump -m restore", 1.1),
    ("restore: raw ceiling", "import", "raw 6-thread BatchWriteItem", 0.9),
    ("backup", "export", "bare boto3 scan to JSON Lines", 0.95),
    ("backup", "export", "dynamodump -m backup", 1.0),
    ("seed into an empty table", "seed", "raw 6-thread writer", 0.9),
    ("seed into a live table, stream on", "seed-live", "raw 6-thread writer, stream on", 0.9),
    ("one pattern command", "pattern", "bare boto3 script", 0.8),
    ("one pattern command", "pattern", "aws dynamodb query", 1.0),
    ("scan to JSON", "scan", "bare boto3 scan", 0.9),
    ("scan to JSON", "scan", "aws dynamodb scan", 1.0),
)
OURS = {
    "import": "invoke import",
    "export": "invoke export",
    "seed": "invoke seed",
    "seed-live": "invoke seed",
    "pattern": "invoke patterns.list-conversations",
    "scan": "invoke scan --json",
}


def held(endpoint: str) -> int:
    """Stream records the engine keeps of dropped tables (every measured table is dropped after its run)."""
    import boto3

    streams = boto3.client(
        "dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return closed_streams(streams).records


def cached(env: dict) -> dict:
    """The environment with Python's bytecode cache on, as a user has it: every contender then loads compiled modules.

    An inherited PYTHONDONTWRITEBYTECODE would have every task process compile each module edited since its
    cached copy anew (tens of ms each), a cost no user pays and no bare script, one small file, shows.
    """
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


class Run:
    """One run: a fresh engine with the set-up table, its exports, and the contenders' timings."""

    def __init__(self, args, number, data, peers, times, notes):
        self.args, self.number, self.data, self.peers, self.times, self.notes = args, number, data, peers, times, notes

    def record(self, name: str, seconds: float, extra: str = ""):
        self.times.setdefault(name, []).append(seconds)
        print(f"  run {self.number + 1}: {name:<34} {seconds:7.2f} s{extra}", flush=True)

    def check_count(self, table: str, who: str, drop: bool = True, endpoint: str | None = None):
        client = common.client(endpoint or self.endpoint)
        stored = client.describe_table(TableName=table)["Table"]["ItemCount"]
        if stored != self.total:
            raise SystemExit(f"{who}: table {table} holds {stored} items, expected {self.total}")
        if drop:
            schema.drop(client, table)

    def go(self):
        with common.engine(self.args.port, "dynamodb-local") as (endpoint, env, scratch):
            self.endpoint, self.env, self.scratch = endpoint, cached(env), scratch
            self.client = common.client(endpoint)
            self.script = tools.scripts(scratch)
            self.total = self.data.total
            common.invoke(self.env, "setup", "--fixtures", str(self.data.directory))  # also compiles what a seed loads
            self.check_count(common.TABLE, "setup", drop=False)
            self.export = scratch / "export"
            if {"restore", "seed", "seed-live"} & set(self.args.jobs):  # the raw writers read its files
                common.invoke(self.env, "export", "--out", str(self.export))
            if self.peers["dynamodump"] and "restore" in self.args.jobs:
                tools.measure([*self.dump_args(), "-m", "backup", "-s", common.TABLE, "--dumpPath", str(scratch / "dump")], env)
            jobs = list(self.args.jobs)
            shift = self.number % len(jobs)
            for job in jobs[shift:] + jobs[:shift]:
                getattr(self, job.replace("-", "_"))()
            print(f"  run {self.number + 1}: the engine holds {held(endpoint):,} stream records at the end", flush=True)

    def dump_args(self) -> list[str]:
        return tools.dynamodump_args(self.peers["dynamodump"], self.endpoint)

    def contenders(self, named: dict):
        """Run the contenders (name -> callable), in an order that rotates with the run."""
        order = list(named.items())
        shift = self.number % len(order)
        for _, measure in order[shift:] + order[:shift]:
            measure()

    def restore(self):
        n = self.number
        spec = self.scratch / "spec.json"
        spec.write_text(
            json.dumps({k: v for k, v in schema.table_spec(f"restore-raw-{n}").items() if k != "StreamSpecification"})
        )

        def ours():
            before = held(self.endpoint)
            seconds, *_ = tools.measure(self.invoke("import", str(self.export), "--table", f"restore-ours-{n}"), self.env)
            stream = (schema.describe(self.client, f"restore-ours-{n}") or {}).get("StreamSpecification", {})
            if not stream.get("StreamEnabled"):
                raise SystemExit("import: the restored table has no stream")
            self.check_count(f"restore-ours-{n}", "import")
            self.record("invoke import", seconds, f"  (the engine held {before:,} stream records)")

        def dump():
            args = [*self.dump_args(), "-m", "restore", "-s", common.TABLE, "-d", f"restore-dd-{n}"]
            seconds, *_ = tools.measure([*args, "--dumpPath", str(self.scratch / "dump"), "--noConfirm"], self.env)
            self.check_count(f"restore-dd-{n}", "dynamodump restore")
            self.record("dynamodump -m restore", seconds)

        def raw():
            command = [sys.executable, str(self.script["raw writer"]), self.endpoint, f"restore-raw-{n}", str(self.export), "6"]
            seconds, *_ = tools.measure([*command, str(spec)], self.env)
            self.check_count(f"restore-raw-{n}", "raw writer")
            self.record("raw 6-thread BatchWriteItem", seconds)

        self.contenders({"ours": ours, "raw": raw, **({"dump": dump} if self.peers["dynamodump"] else {})})

    def backup(self):
        n = self.number

        def ours():
            out = self.scratch / f"backup-ours-{n}"
            seconds, *_ = tools.measure(self.invoke("export", "--out", str(out)), self.env)
            summary = json.loads(next(out.rglob("manifest-summary.json")).read_text())
            if summary["itemCount"] != self.total:
                raise SystemExit(f"export wrote {summary['itemCount']} items, expected {self.total}")
            self.record("invoke export", seconds)

        def bare():
            out = str(self.scratch / f"backup-bare-{n}.jsonl")
            seconds, _, said, _ = tools.measure(
                [sys.executable, str(self.script["bare scan"]), self.endpoint, common.TABLE, out], self.env
            )
            if int(said) != self.total:
                raise SystemExit(f"bare scan wrote {said.strip()} items, expected {self.total}")
            self.record("bare boto3 scan to JSON Lines", seconds)

        def dump():
            args = [*self.dump_args(), "-m", "backup", "-s", common.TABLE, "--dumpPath", str(self.scratch / f"dump-{n}")]
            seconds, *_ = tools.measure(args, self.env)
            self.record("dynamodump -m backup", seconds)

        self.contenders({"ours": ours, "bare": bare, **({"dump": dump} if self.peers["dynamodump"] else {})})

    def seed(self):
        self._seeds("seed", stream=False)

    def seed_live(self):
        self._seeds("seed-live", stream=True)

    def _seeds(self, job: str, stream: bool):
        n = self.number
        ours_table, raw_table = f"{job}-ours-{n}", f"{job}-raw-{n}"

        def on_engine(measure):
            if not stream:
                return measure(self.endpoint, self.env)
            with common.engine(self.args.port + 1, "dynamodb-local") as (endpoint, env, _):
                return measure(endpoint, cached(env))

        def ours(endpoint, env):
            schema.load(common.client(endpoint), ours_table, stream=stream)
            command = self.invoke("seed", "--fixtures", str(self.data.directory), "--yes")
            seconds, _, _, err = tools.measure(command, {**env, "INVOKE_DDB_TABLE": ours_table})
            self.check_count(ours_table, "seed", endpoint=endpoint)
            self.record(f"invoke seed ({job})", seconds, f"  {err.strip().splitlines()[-1]}")

        def raw(endpoint, env, threads=6):
            schema.load(common.client(endpoint), raw_table, stream=stream)
            command = [sys.executable, str(self.script["raw writer"]), endpoint, raw_table, str(self.export), str(threads), "-"]
            seconds, *_ = tools.measure(command, env)
            self.check_count(raw_table, "raw writer", endpoint=endpoint)
            self.record(f"raw {threads}-thread writer ({job})", seconds)

        self.contenders({"ours": lambda: on_engine(ours), "raw": lambda: on_engine(raw)})

    def pattern(self):
        user = self.data.user
        handle, uuid = user["handle"], user["uuid"]
        aws = self.peers["aws"]
        commands = {
            "invoke patterns.list-conversations": self.invoke("patterns.list-conversations", "--handle", handle),
            "bare boto3 query script": [sys.executable, str(self.script["bare query"]), self.endpoint, common.TABLE, uuid],
        }
        if aws:
            commands["aws dynamodb query"] = [aws, "dynamodb", "query", "--region", "us-east-1", "--endpoint-url", self.endpoint]
            commands["aws dynamodb query"] += ["--table-name", common.TABLE, "--key-condition-expression", "pk = :pk"]
            commands["aws dynamodb query"] += ["--expression-attribute-values", json.dumps({":pk": {"S": f"GRP#{uuid}"}})]
            commands["aws dynamodb query"] += ["--no-scan-index-forward", "--limit", "21", "--return-consumed-capacity", "TOTAL"]
        env = dict(self.env)
        env["INVOKE_DDB_FIXTURES"] = str(self.data.directory)
        for command in commands.values():  # warm-up: file caches, bytecode
            tools.measure(command, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(self.args.pattern_samples):
            for name, command in commands.items():
                samples[name].append(tools.measure(command, env)[0])
        for name, values in samples.items():
            self.record(name, common.median(values), f"  (median of {len(values)})")

    def scan(self):
        aws = self.peers["aws"]
        commands = {
            "invoke scan --json": self.invoke("scan", "--json"),
            "bare boto3 scan": [sys.executable, str(self.script["bare scan"]), self.endpoint, common.TABLE, "-"],
        }
        if aws:
            commands["aws dynamodb scan"] = [aws, "dynamodb", "scan", "--region", "us-east-1", "--endpoint-url", self.endpoint]
            commands["aws dynamodb scan"] += ["--table-name", common.TABLE]

        def one(name, command):
            seconds, peak, lines, _ = tools.measure(command, self.env, count_lines=True)
            if name != "aws dynamodb scan" and int(lines) != self.total:
                raise SystemExit(f"{name}: printed {lines} items, expected {self.total}")
            self.notes.setdefault(f"peak {name}", []).append(peak)
            self.record(name, seconds, f"  (peak {peak:.0f} MB)")

        self.contenders({name: (lambda n=name, c=command: one(n, c)) for name, command in commands.items()})

    def invoke(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "invoke", *args]


class DataSet:
    """The synthetic fixture set of about `items` items (messages + 3 per conversation), and one of its users."""

    def __init__(self, directory, items: int):
        conversations = max(2, round(items / 103))
        messages = max(conversations, items - 3 * conversations)
        users = min(200, max(4, conversations))
        synthetic.generate(directory, messages=messages, conversations=conversations, users=users)
        self.directory, self.total = directory, messages + 3 * conversations
        self.user = json.loads((directory / "users.json").read_text())[0]


def table(times: dict, notes: dict, peers: dict, args) -> None:
    print(f"\n{'job':<34} {'this project':<42} {'peer':<40} {'ratio':>6} {'target':>7}  result")
    for job, ours_key, peer, target in ROWS:
        name = {"import": "invoke import", "export": "invoke export", "pattern": "invoke patterns.list-conversations"}
        name.update({"seed": "invoke seed (seed)", "seed-live": "invoke seed (seed-live)", "scan": "invoke scan --json"})
        peer_name = {
            "raw 6-thread writer": "raw 6-thread writer (seed)",
            "raw 6-thread writer, stream on": "raw 6-thread writer (seed-live)",
            "bare boto3 script": "bare boto3 query script",
        }.get(peer, peer)
        ours, theirs = times.get(name[ours_key]), times.get(peer_name)
        if not ours:
            continue
        ours_s = common.median(ours)
        left = f"{OURS[ours_key]}: {ours_s:.2f} s"
        if not theirs:
            why = peers["why dynamodump"] if "dynamodump" in peer else peers["why aws"]
            print(f"{job:<34} {left:<42} {peer + ': skipped':<40} {'-':>6} {target:>7.2f}  n/a ({why})")
            continue
        ratio = common.median(theirs) / ours_s
        right = f"{peer}: {common.median(theirs):.2f} s"
        print(
            f"{job:<34} {left:<42} {right:<40} {ratio:>6.2f} {'>= ' + f'{target:.2f}':>7}  {'pass' if ratio >= target else 'FAIL'}"
        )
    print(
        f"(ratio: the peer's seconds / this project's, medians of {args.repeat} run(s), interleaved; > 1: this project is faster)"
    )
    for name, peaks in notes.items():
        if name.startswith("peak"):
            print(f"{name}: {common.median(peaks):.0f} MB")


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8288)
    parser.set_defaults(engine="dynamodb-local")
    parser.add_argument("--items", type=int, default=51_500, help="items in the table (default 51,500, as the issue)")
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated, of {', '.join(JOBS)} (default all)")
    parser.add_argument("--pattern-samples", type=int, default=5, help="samples of each pattern command a run (default 5)")
    parser.add_argument("--quick", action="store_true", help="a smoke test: 2,000 items, one run, 2 pattern samples")
    args = parser.parse_args()
    if args.engine != "dynamodb-local":
        parser.error(
            "the peers are measured on DynamoDB Local only: its engine serves segments and writers in parallel as AWS does"
        )
    if args.quick:
        args.items, args.repeat, args.pattern_samples = min(args.items, 2_000), 1, 2
    args.jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    if unknown := [j for j in args.jobs if j not in JOBS]:
        parser.error(f"unknown job(s) {', '.join(unknown)}; known: {', '.join(JOBS)}")
    print(f"machine: {common.machine()}")
    peers: dict = {}
    wanted = {"restore", "backup"} & set(args.jobs)
    peers["dynamodump"], peers["why dynamodump"] = tools.dynamodump() if wanted else (None, "not needed")
    peers["aws"], said = tools.aws_cli()
    peers["why aws"] = "" if peers["aws"] else said
    print(f"peers: dynamodump {peers['dynamodump'] or peers['why dynamodump']}; AWS CLI {said}")
    import tempfile
    from pathlib import Path

    times: dict[str, list[float]] = {}
    notes: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="ddb-peers-") as scratch:
        data = DataSet(Path(scratch) / "fixtures", args.items)
        print(f"data: {data.total:,} items; jobs {', '.join(args.jobs)}; {args.repeat} run(s), each on a fresh DynamoDB Local")
        for number in range(args.repeat):
            Run(args, number, data, peers, times, notes).go()
    table(times, notes, peers, args)
    print(f"machine after: {common.machine()}")


if __name__ == "__main__":
    main()
