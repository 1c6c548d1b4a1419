"""Mutation testing: run mutmut over the modules of `[tool.mutmut]` and print each module's kill rate.

    python bench/mutation.py                 # the last commit (git archive HEAD), 2 workers
    python bench/mutation.py --worktree      # the working tree as it is, uncommitted changes included

It copies the project into `.local/mutation/` (git-ignored; by default the last commit, so
edits in progress elsewhere in the tree do not change the figure), runs `mutmut run` there
(which copies the code again into `mutants/`, mutates the files of `only_mutate`, and runs
for each mutant the tests of `pytest_add_cli_args_test_selection` that reach the mutated
function), then reads mutmut's results and prints, per module: the mutants, those killed
(a test failed, or timed out), those that survived, and those listed in `EQUIVALENT` below:
mutants that change no behaviour anyone can observe, each with the reason. The rate is
killed / (mutants checked - equivalent); a run stopped early leaves some unchecked. A survivor's diff: `cd .local/mutation && mutmut show NAME`.
Exit code 1 when a module is below `--min-rate` (90 by default).
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".local" / "mutation"

KILLED = {"killed", "timeout", "caught by type check"}
# Mutants that change no behaviour: the mutant's name (mutmut's) -> why no test can tell.
_THREAD_NAME = "the read-back threads' name: seen only in a debugger, no behaviour depends on it"
_READERS_DEFAULT = "a default every caller overrides (importing passes readers=)"
_COUNT_ALWAYS = "every Scan answer has Count: the default is never used"
_KEYWORD_CASE = "DynamoDB's expression keywords are case-insensitive"
EQUIVALENT: dict[str, str] = {
    "ddb.readback.x_each_stored__mutmut_1": _READERS_DEFAULT,
    "ddb.readback.x_count_stored__mutmut_1": _READERS_DEFAULT,
    "ddb.readback.x_each_stored__mutmut_11": _THREAD_NAME,
    "ddb.readback.x_each_stored__mutmut_13": _THREAD_NAME,
    "ddb.readback.x_each_stored__mutmut_14": _THREAD_NAME,
    "ddb.readback.x_each_stored__mutmut_15": _THREAD_NAME,
    "migrations.m0001_message_count.x__remove_one__mutmut_21": _KEYWORD_CASE,
    "migrations.m0001_message_count.x_preview__mutmut_14": _KEYWORD_CASE,
    "migrations.m0001_message_count.x_preview__mutmut_31": _COUNT_ALWAYS,
    "migrations.m0001_message_count.x_preview__mutmut_33": _COUNT_ALWAYS,
    "migrations.m0001_message_count.x_preview__mutmut_37": _COUNT_ALWAYS,
}


def _copy_commit(target: Path) -> None:
    archive = subprocess.run(["git", "archive", "--format=tar", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def _copy_worktree(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def results(work: Path, modules: list[str]) -> tuple[dict[str, Counter], dict[str, str]]:
    """(module path -> Counter of "killed", "equivalent" and mutmut's other statuses, mutant -> status of those left).

    Read from mutmut's `.meta` files. Left: survived, no tests, not checked, suspicious.
    """
    from mutmut.stats import status_by_exit_code

    counts: dict[str, Counter] = {}
    left: dict[str, str] = {}
    for module in modules:
        meta = json.loads((work / "mutants" / (module + ".meta")).read_text())
        tally: Counter = Counter()
        for name, code in meta["exit_code_by_key"].items():
            status = status_by_exit_code[code]
            if status in KILLED:
                tally["killed"] += 1
            elif name in EQUIVALENT:
                tally["equivalent"] += 1
            else:
                tally[status] += 1
                left[name] = status
        counts[module] = tally
    return counts, left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worktree", action="store_true", help="the working tree as it is, instead of the last commit")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--min-rate", type=float, default=90.0, help="the lowest acceptable rate, in %% (default 90)")
    parser.add_argument("--report-only", action="store_true", help="print the last run's figures, run nothing")
    args = parser.parse_args()

    modules = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    if not args.report_only:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        (_copy_worktree if args.worktree else _copy_commit)(WORK)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INVOKE_"))}
        run = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
            cwd=WORK,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
            print(f"mutmut run failed (exit {run.returncode}); its output: cd {WORK} && mutmut run", file=sys.stderr)
            return 2
    counts, left = results(WORK, modules)
    print(f"{'module':36} {'mutants':>7} {'checked':>7} {'killed':>6} {'left':>5} {'equivalent':>10} {'rate':>6}")
    worst = 100.0
    for module in modules:
        tally = counts[module]
        total = sum(tally.values())
        checked = total - tally["not checked"]
        survived = checked - tally["killed"] - tally["equivalent"]
        rate = 100.0 * tally["killed"] / max(1, checked - tally["equivalent"])
        worst = min(worst, rate)
        row = f"{module:36} {total:>7} {checked:>7} {tally['killed']:>6} {survived:>5} {tally['equivalent']:>10} {rate:>5.1f}%"
        print(row)
    left = {name: status for name, status in left.items() if status != "not checked"}
    if left:
        print(f"\nnot killed (`cd {WORK.relative_to(ROOT)} && mutmut show NAME` shows one):")
        for name, status in sorted(left.items()):
            print(f"  {name}  ({status})")
    return 0 if worst >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
