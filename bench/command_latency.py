"""`invoke patterns.list-conversations`, process start to exit, against its baselines.

Three commands run the same query (user mira's group items, newest first, 21 of them,
with consumed capacity) against the embedded engine, each as a fresh process, with its
output captured (piped, as a script would run it):

- the task:  `invoke patterns.list-conversations` (the venv's `invoke` script)
- bare:      a Python script that imports boto3, creates a client and runs the query
- AWS CLI:   `aws dynamodb query ...` (the CLI found on PATH)

Runs are interleaved (task, bare, CLI, task, bare, CLI, ...) after one warm-up round;
figures are medians. Python's bytecode cache is on (as it is by default), so the
project's modules are compiled once, like the installed libraries.

`--breakdown` then runs the task and the bare script again, interleaved, each in a
harness process that marks the end of every phase with `time.perf_counter()` (one
monotonic clock for the bench and its children): Python's start-up, the imports, invoke's
parsing and config, the task's own steps, the exit. The task's harness runs invoke's
`program.run()` as the `invoke` script does; it only watches (an audit hook sees tasks.py
execute and invoke.yaml open) and wraps the task's body and its steps to time them.

    python bench/command_latency.py [--repeat 21] [--breakdown]
"""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as common

MIRA = "c8d570ce-751b-4d03-85a6-4c0f876ca3ca"
TARGET = 1.25  # issue 26: the task at most 1.25 times the bare script

QUERY = f"""client.query(TableName={common.TABLE!r}, KeyConditionExpression="pk = :pk",
                        ExpressionAttributeValues={{":pk": {{"S": "GRP#{MIRA}"}}}},
                        ScanIndexForward=False, Limit=21, ReturnConsumedCapacity="TOTAL")"""
CLIENT = """boto3.client("dynamodb", region_name="us-east-1", endpoint_url=ENDPOINT,
                      aws_access_key_id="local", aws_secret_access_key="local")"""

BARE = f"""
import boto3
client = {CLIENT}
response = {QUERY}
for item in response["Items"]:
    print(item["user_handle"]["S"], item["sk"]["S"], item["message"]["S"])
"""

# The phases' marks: each names the phase that has just ended. The marks and the modules
# loaded go to the file named by argv[1], after the run.
MARKS = """
import time
marks = [("python start-up (interpreter, site)", time.perf_counter())]
import json, sys
into = sys.argv[1]
def mark(phase):
    marks.append((phase, time.perf_counter()))
def save():
    with open(into, "w") as out:
        json.dump({"marks": marks, "modules": sorted(sys.modules)}, out)
"""

BARE_MARKED = f"""{MARKS}
import boto3
mark("import boto3")
client = {CLIENT}
mark("boto3 client")
response = {QUERY}
mark("query")
for item in response["Items"]:
    print(item["user_handle"]["S"], item["sk"]["S"], item["message"]["S"])
sys.stdout.flush()
mark("render")
save()
"""

TASK_MARKED = f"""{MARKS}
import functools, os
from invoke.main import program
mark("import invoke")
ROOT = os.getcwd()
seen = set()

def around(function, entry=None, done=None, first=None):
    @functools.wraps(function)
    def timed(*args, **kwargs):
        if first:
            __import__(first)
            mark("import " + first)
        if entry:
            mark(entry)
        result = function(*args, **kwargs)
        if done:
            mark(done)
        return result
    return timed

def watch(event, args):  # sees tasks.py run and invoke.yaml open; changes nothing
    if event == "exec" and "tasks" not in seen and getattr(args[0], "co_filename", "") == os.path.join(ROOT, "tasks.py"):
        seen.add("tasks")
        mark("invoke: core flags, tasks.py found")
    elif event == "open" and "tasks" in seen and "config" not in seen and isinstance(args[0], str) \\
            and os.path.dirname(os.path.abspath(args[0])) == ROOT and os.path.basename(args[0]).startswith("invoke."):
        seen.add("config")
        mark("tasks.py: commands and ddb imports, namespace")
        steps = sys.modules["commands.pattern_tasks"]
        steps.list_conversations.body = around(steps.list_conversations.body, entry="invoke: config files, flags, context")
        steps.resolve_target = around(steps.resolve_target, "task: its imports, flag checks", "target from config, checked")
        steps.make_client = around(steps.make_client, first="boto3", done="boto3 client")
        steps.resolve_user = around(steps.resolve_user, done="user lookup (fixtures' users.json)")
        steps._show_page = around(steps._show_page, "query", "render")

sys.addaudithook(watch)
sys.argv = ["invoke", "patterns.list-conversations"]
program.run()
mark("invoke: after the task")
save()
"""


def run(command, env) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=common.ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{command[:3]} failed: {done.stderr.decode()[-400:]}")
    return elapsed


def phases(script: Path, env, into: Path) -> tuple[dict[str, float], list[str]]:
    """One marked run of `script`: seconds by phase (the last is the interpreter's exit), and the modules it loaded."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(script), str(into)], cwd=common.ROOT, env=env, capture_output=True)
    ended = time.perf_counter()
    if done.returncode or not into.exists():
        raise SystemExit(f"{script.name} failed: {done.stderr.decode()[-400:]}")
    report = json.loads(into.read_text())
    into.unlink()
    seconds, before = {}, started
    for phase, at in report["marks"]:
        seconds[phase], before = at - before, at
    seconds["interpreter exit"] = ended - before
    if min(seconds.values()) < 0:
        raise SystemExit("the harness's clock is not the bench's: no breakdown on this platform")
    return seconds, report["modules"]


def breakdown(endpoint: str, env, scratch: Path, repeat: int):
    """Print the task's and the bare script's phases side by side (medians), and the modules only the task loads."""
    scripts = {"task": scratch / "task_marked.py", "bare": scratch / "bare_marked.py"}
    scripts["task"].write_text(TASK_MARKED)
    scripts["bare"].write_text(BARE_MARKED.replace("ENDPOINT", repr(endpoint)))
    runs: dict[str, list[dict[str, float]]] = {"task": [], "bare": []}
    modules: dict[str, list[str]] = {}
    for _ in range(repeat + 1):  # the first round warms up
        for name, script in scripts.items():
            seconds, modules[name] = phases(script, env, scratch / f"{name}.json")
            runs[name].append(seconds)
    task, bare = ({p: common.median([r[p] for r in runs[n][1:]]) for p in runs[n][0]} for n in ("task", "bare"))
    print(f"\nwhere the time goes (medians of {repeat} marked runs each, interleaved; ms)")
    print(f"{'phase':<48} {'task':>7} {'bare':>7} {'extra':>7}")
    for phase in task | bare:
        ours, theirs = task.get(phase, 0.0), bare.get(phase, 0.0)
        print(f"{phase:<48} {ours * 1e3:>7.1f} {theirs * 1e3:>7.1f} {(ours - theirs) * 1e3:>+7.1f}")
    total_task, total_bare = sum(task.values()), sum(bare.values())
    print(
        f"{'sum of the medians':<48} {total_task * 1e3:>7.1f} {total_bare * 1e3:>7.1f} {(total_task - total_bare) * 1e3:>+7.1f}"
    )
    extra = sorted(set(modules["task"]) - set(modules["bare"]))
    packages: dict[str, int] = {}
    for module in extra:
        top = module.split(".")[0]
        packages[top] = packages.get(top, 0) + 1
    listed = ", ".join(f"{p} {n}" for p, n in sorted(packages.items(), key=lambda kv: -kv[1]))
    print(f"\nmodules the task loads beyond the bare script: {len(extra)} ({listed})")
    print("project modules: " + " ".join(m for m in extra if m.split(".")[0] in ("ddb", "commands", "tasks")))


def main():
    parser = common.arguments(__doc__.split("\n\n")[0], port=8220)
    parser.set_defaults(repeat=21)
    parser.add_argument("--breakdown", action="store_true", help="then time the phases of both, in harness processes")
    args = parser.parse_args()
    aws = shutil.which("aws")
    if not aws:
        raise SystemExit("the AWS CLI (aws) is not on PATH")
    version = subprocess.run([aws, "--version"], capture_output=True, text=True)
    print(f"machine: {common.machine()}")
    print(f"AWS CLI: {(version.stdout or version.stderr).strip()}")
    # `invoke` as a user types it: the console script beside this Python (else `python -m invoke`).
    script = Path(sys.executable).with_name("invoke")
    invoke_script = str(script) if script.exists() else None
    with common.engine(args.port, args.engine) as (endpoint, env, scratch):
        env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        common.invoke(env, "setup")
        bare = scratch / "bare_query.py"
        bare.write_text(BARE.replace("ENDPOINT", repr(endpoint)))
        task_command = [invoke_script] if invoke_script else [sys.executable, "-m", "invoke"]
        commands = {
            "task": [*task_command, "patterns.list-conversations"],
            "bare boto3": [sys.executable, str(bare)],
            "AWS CLI": [
                aws,
                "dynamodb",
                "query",
                "--region",
                "us-east-1",
                "--endpoint-url",
                endpoint,
                "--table-name",
                common.TABLE,
                "--key-condition-expression",
                "pk = :pk",
                "--expression-attribute-values",
                f'{{":pk": {{"S": "GRP#{MIRA}"}}}}',
                "--no-scan-index-forward",
                "--limit",
                "21",
                "--return-consumed-capacity",
                "TOTAL",
            ],
        }
        found = {
            "task": len(
                json.loads(subprocess.run(commands["task"] + ["--json"], cwd=common.ROOT, env=env, capture_output=True).stdout)[
                    "items"
                ]
            ),
            "bare boto3": len(subprocess.run(commands["bare boto3"], env=env, capture_output=True).stdout.splitlines()),
            "AWS CLI": json.loads(subprocess.run(commands["AWS CLI"], env=env, capture_output=True).stdout)["Count"],
        }
        print(f"conversations of mira found: {found}")
        if len(set(found.values())) != 1 or not found["task"]:
            raise SystemExit("the three commands do not see the same items")
        for command in commands.values():  # warm-up: file caches, bytecode
            run(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                times[name].append(run(command, env))
        if args.breakdown:
            breakdown(endpoint, env, scratch, args.repeat)
    print(f"\n{'command':<12} {'median s':>9} {'min s':>7} {'max s':>7}   ({args.repeat} runs each, interleaved)")
    for name, values in times.items():
        print(f"{name:<12} {common.median(values):>9.3f} {min(values):>7.3f} {max(values):>7.3f}")
    task, bare_s, cli = (common.median(times[n]) for n in commands)
    print()
    print(f"task / bare boto3 = {task / bare_s:.2f}  (target <= {TARGET})")
    print(f"task / AWS CLI    = {task / cli:.2f}  (target < 1)")


if __name__ == "__main__":
    main()
