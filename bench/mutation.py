"""Mutation testing: run mutmut over the modules of each group below and print each module's kill rate.

    python bench/mutation.py                     # every group, the last commit (git archive HEAD), 2 workers
    python bench/mutation.py --modules import    # one group (or several, comma-separated), or module paths
    python bench/mutation.py --worktree          # the working tree as it is, uncommitted changes included
    python bench/mutation.py --report-only       # the last run's figures

Mutation time is test time: each group names its modules and the smallest selection of
tests that holds them (fast, in-process tests with moto), so each mutant runs only the
tests of its group that reach the mutated function. Per group, it copies the project into
`.local/mutation/<group>/` (git-ignored; by default the last commit, so edits in progress
elsewhere in the tree do not change the figure), writes the group's modules and tests
into that copy's `[tool.mutmut]` (the rest of it comes from `pyproject.toml`), runs
`mutmut run` there, then reads mutmut's results and prints, per module: the mutants,
those checked, killed (a test failed, or timed out), left (survived), and those listed in
`EQUIVALENT` below: mutants that change no behaviour anyone can observe, each with the
reason. The rate is killed / (checked - equivalent). A survivor's diff:
`cd .local/mutation/<group> && mutmut show NAME`.
Exit code 1 when a module is below `--min-rate` (90 by default).
"""

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
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
_EXACT_LENGTH = "zip's strict: _stream gives exactly len(value) bytes, so the lengths always match"
_CLEANUP_FOLDERS = "the cleanup makes a missing folder only to remove it at once: the same end state (None is False)"
_LACKING_NONE = "lacking never holds None as a key, and 0 and None are both false: the same history item"
_NO_HOST = "a made-up fallback is no DynamoDB Local ARN region and no AWS host either: the same engine"
_SPEC_NAME = "the declared table's stream does not depend on the name it is asked for under"
_ERROR_ALWAYS = "botocore's ClientError always carries an Error object"
EQUIVALENT: dict[str, str] = {
    "ddb.backup.anonymize.xǁAnonymizerǁ_display_name__mutmut_14": _EXACT_LENGTH,
    "ddb.backup.anonymize.xǁAnonymizerǁtext__mutmut_20": _EXACT_LENGTH,
    "ddb.backup.anonymize.xǁAnonymizerǁtext__mutmut_23": _EXACT_LENGTH,
    "ddb.backup.anonymize.xǁAnonymizerǁtext__mutmut_24": _EXACT_LENGTH,
    **{f"ddb.backup.progress.xǁProgressǁremove__mutmut_{n}": _CLEANUP_FOLDERS for n in (5, 9, 15, 19, 25, 29)},
    "ddb.backup.rules.x_restored_history__mutmut_15": _LACKING_NONE,
    "ddb.backup.rules.x_restored_history__mutmut_17": _LACKING_NONE,
    "ddb.backup.rules.x_restored_history__mutmut_19": _LACKING_NONE,
    "ddb.backup.source.x__dump_page__mutmut_10": "reading 2 bytes past the limit instead of 1 still finds a page too large",
    "ddb.backup.source.x__dump_page__mutmut_17": "Python's codec names are case-insensitive",
    "ddb.backup.importing.x_creation__mutmut_9": "a table's capacity does not depend on its name",
    "ddb.backup.readback.x_each_stored__mutmut_1": _READERS_DEFAULT,
    "ddb.backup.readback.x_count_stored__mutmut_1": _READERS_DEFAULT,
    "ddb.backup.readback.x_each_stored__mutmut_11": _THREAD_NAME,
    "ddb.backup.readback.x_each_stored__mutmut_13": _THREAD_NAME,
    "ddb.backup.readback.x_each_stored__mutmut_14": _THREAD_NAME,
    "ddb.backup.readback.x_each_stored__mutmut_15": _THREAD_NAME,
    "ddb.backup.segments.x_default_segments__mutmut_15": "a size of 1 byte is one segment, as a size of 0 is",
    **{f"ddb.backup.segments.x_engine_of__mutmut_{n}": _NO_HOST for n in (8, 18, 19)},
    **{f"ddb.backup.stream_later.x_wanted__mutmut_{n}": _SPEC_NAME for n in (3, 4, 5)},
    **{f"ddb.backup.stream_later.x_turn_on__mutmut_{n}": _ERROR_ALWAYS for n in (27, 29)},
    "ddb.backup.stream_later.x_turn_on__mutmut_41": "the waiter's pace only: every engine answers ACTIVE at the first look",
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
        path = work / "mutants" / (module + ".meta")
        if not path.exists():  # not in the last run of its group
            continue
        meta = json.loads(path.read_text())
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


# Each group: the modules mutated together and the tests that hold them (pytest arguments).
# End-to-end tests that run the tasks are left out unless a module needs them.
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "import": (
        [
            "ddb/backup/rules.py",
            "ddb/backup/importing.py",
            "ddb/backup/live.py",
            "ddb/backup/source.py",
            "ddb/schema/description.py",
            "ddb/backup/layout.py",
        ],
        [
            "tests/test_import_rules.py",
            "tests/test_validate_split.py",
            "tests/test_import_live.py",
            "tests/test_export_import.py",
            "tests/test_import_pipeline.py",
            "tests/test_readback_faults.py",
            "--deselect",
            "tests/test_readback_faults.py::test_invoke_import_reads_back_every_item_when_half_of_every_batch_get_comes_back_unprocessed",
        ],
    ),
    "export": (
        [
            "ddb/backup/anonymize.py",
            "ddb/backup/progress.py",
            "ddb/backup/exporting.py",
            "ddb/backup/export_files.py",
            "ddb/backup/anonymize_secret.py",
        ],
        ["tests/test_export_safety.py", "tests/test_anonymize.py", "tests/test_export_import.py"],
    ),
    "restore": (
        ["ddb/backup/countcheck.py", "ddb/backup/stream_later.py", "ddb/backup/segments.py", "ddb/backup/aws_job.py"],
        [
            "tests/test_stream_later.py",
            "tests/test_restore_stream.py",
            "tests/test_export_segments.py",
            "tests/test_native_export_import.py",
        ],
    ),
    "migrate": (
        ["ddb/backup/readback.py", "ddb/migrate/migrations.py", "ddb/migrate/files.py", "migrations/m0001_message_count.py"],
        [
            "tests/test_migrations.py",
            "tests/test_import_pipeline.py",
            "tests/test_readback_faults.py",
            "--deselect",
            "tests/test_readback_faults.py::test_invoke_import_reads_back_every_item_when_half_of_every_batch_get_comes_back_unprocessed",
        ],
    ),
}


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def _configure(work: Path, modules: list[str], tests: list[str]) -> None:
    """The copy's `[tool.mutmut]` mutates `modules` and selects `tests`; the rest stays as in pyproject.toml."""
    path = work / "pyproject.toml"
    text = path.read_text()
    for key, values in (("only_mutate", modules), ("pytest_add_cli_args_test_selection", tests)):
        line = f"{key} = {_toml_list(values)}".replace("\\", "\\\\")
        text, found = re.subn(rf"^{key} = \[.*?\]", line, text, count=1, flags=re.M | re.S)
        if not found:
            raise SystemExit(f"pyproject.toml: [tool.mutmut] has no {key}")
    path.write_text(text)


def _groups(chosen: str | None) -> dict[str, tuple[list[str], list[str]]]:
    if not chosen:
        return GROUPS
    picked: dict[str, tuple[list[str], list[str]]] = {}
    for name in chosen.split(","):
        if name in GROUPS:
            picked[name] = GROUPS[name]
            continue
        owner = [group for group, (modules, _) in GROUPS.items() if name in modules]
        if not owner:
            raise SystemExit(f"--modules: {name!r} is no group ({', '.join(GROUPS)}) and no module of one")
        modules, tests = picked.get(owner[0], ([], GROUPS[owner[0]][1]))
        picked[owner[0]] = ([*modules, name], tests)
    return picked


def _run_group(work: Path, modules: list[str], tests: list[str], args: argparse.Namespace) -> bool:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (_copy_worktree if args.worktree else _copy_commit)(work)
    _configure(work, modules, tests)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "INVOKE_"))}
    run = subprocess.run(
        [sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if run.returncode != 0:
        print(run.stderr[-3000:], file=sys.stderr)
        print(f"mutmut run failed (exit {run.returncode}); its output: cd {work} && mutmut run", file=sys.stderr)
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", help=f"groups ({', '.join(GROUPS)}) or module paths, comma-separated (default: all)")
    parser.add_argument("--worktree", action="store_true", help="the working tree as it is, instead of the last commit")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--min-rate", type=float, default=90.0, help="the lowest acceptable rate, in %% (default 90)")
    parser.add_argument("--report-only", action="store_true", help="print the last run's figures, run nothing")
    args = parser.parse_args()

    groups = _groups(args.modules)
    if not args.report_only:
        for name, (modules, tests) in groups.items():
            if not _run_group(WORK / name, modules, tests, args):
                return 2
    print(f"{'module':36} {'mutants':>7} {'checked':>7} {'killed':>6} {'left':>5} {'equivalent':>10} {'rate':>6}")
    worst = 100.0
    left: dict[str, str] = {}
    for name, (modules, _) in groups.items():
        work = WORK / name
        if not (work / "mutants").is_dir():
            print(f"{name}: not run yet (python bench/mutation.py --modules {name})")
            continue
        counts, group_left = results(work, modules)
        left |= {f"{name}: {mutant}": status for mutant, status in group_left.items() if status != "not checked"}
        for module in modules:
            if module not in counts:
                print(f"{module:36} not run yet")
                continue
            tally = counts[module]
            total = sum(tally.values())
            checked = total - tally["not checked"]
            if not checked:
                print(f"{module:36} {total:>7} not checked yet")
                continue
            survived = checked - tally["killed"] - tally["equivalent"]
            rate = 100.0 * tally["killed"] / max(1, checked - tally["equivalent"])
            worst = min(worst, rate)
            row = (
                f"{module:36} {total:>7} {checked:>7} {tally['killed']:>6} {survived:>5} {tally['equivalent']:>10} {rate:>5.1f}%"
            )
            print(row)
    if left:
        print(f"\nnot killed (`cd {WORK.relative_to(ROOT)}/<group> && mutmut show NAME` shows one):")
        for name, status in sorted(left.items()):
            print(f"  {name}  ({status})")
    return 0 if worst >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
