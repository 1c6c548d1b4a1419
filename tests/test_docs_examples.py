"""Every example of the README and docs/ runs as written, against a local engine.

Each fenced `sh` block runs in bash (`-euo pipefail`), each file's `python` blocks run in
order in one Python process, in a copy of the project (so what they write, `backups/`
say, lands there), with `invoke setup` done first and the tasks pointed at the test's
engine (`INVOKE_DDB_*`, and `AWS_ENDPOINT_URL_DYNAMODB` for the SDK, as the README says to
set it locally). The one liberty taken with the text: `localhost:8000` and `localhost:5000`,
the documented local endpoints (DynamoDB Local, moto's server), are the test engine's address. A block that cannot run here says why in an
HTML comment on the line before it (`<!-- example: not run here: <reason> -->`), which this
test lists as skipped, so no example is left out silently.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .support import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\s*$")
_NOT_RUN = re.compile(r"^<!-- example: not run here: (.+) -->$")


def examples(path: Path) -> list[tuple[int, str, str, str | None]]:
    """(line, language, code, why it is not run) of each fenced sh or python block of `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, start, language = [], None, ""
    for number, line in enumerate(lines, 1):
        fence = _FENCE.match(line)
        if fence and start is None:
            start, language = number, fence.group(1)
        elif line.startswith("```") and start is not None:
            if language in ("sh", "python"):
                before = lines[start - 2] if start >= 2 else ""
                skip = _NOT_RUN.match(before)
                found.append((start, language, "\n".join(lines[start : number - 1]) + "\n", skip.group(1) if skip else None))
            start = None
    return found


def _cases(language: str):
    for path in DOCUMENTS:
        for line, lang, code, skip in examples(path):
            if lang == language:
                marks = [pytest.mark.skip(reason=skip)] if skip else []
                yield pytest.param(path, line, code, id=f"{path.name}:{line}", marks=marks)


def _project_copy(into: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def _run(args: list[str], env: dict, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=folder, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


def _local(code: str, host: str) -> str:
    return code.replace("localhost:8000", host).replace("localhost:5000", host)


@pytest.fixture
def ready(invoke, engine, tmp_path):
    """(environment, folder): a copy of the project, its table set up on the engine, tasks and SDK pointed there."""
    assert invoke("setup").code == 0
    env = invoke.environment()
    host = engine.split("://", 1)[1]
    env.update(
        AWS_ENDPOINT_URL_DYNAMODB=engine,
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        HOME=str(tmp_path / "home"),
        PYTHONPATH=str(tmp_path / "project"),
    )
    return env, _project_copy(tmp_path / "project"), host


@pytest.mark.parametrize(("path", "line", "code"), list(_cases("sh")))
def test_every_shell_example_runs_as_written(ready, path, line, code):
    env, folder, host = ready
    run = _run(["bash", "-euo", "pipefail", "-c", _local(code, host)], env, folder)
    assert run.returncode == 0, f"{path.name}:{line} exited {run.returncode}\n{run.stderr[-2000:]}"
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if any(lang == "python" for _, lang, _, _ in examples(p))])
def test_every_python_example_runs_as_written_in_order(ready, path):
    env, folder, host = ready
    code = "".join(code for _, language, code, skip in examples(path) if language == "python" and not skip)
    run = _run([sys.executable, "-c", _local(code, host)], env, folder)
    assert run.returncode == 0, run.stderr[-3000:]


def test_the_lambda_zips_size_the_readme_states_is_within_a_fifth_of_the_real_one(tmp_path):
    from ddb.deploy import package as lambda_package

    stated = re.search(r"About (\d+) KB\b", (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    assert stated, "docs/deploy.md states the zip's size as `About N KB`"
    real = lambda_package.build(tmp_path / "stream-lambda.zip").size / 1000
    assert abs(real - int(stated.group(1))) <= real / 5, (real, stated.group(1))


def test_every_example_either_runs_or_says_why_not():
    for path in DOCUMENTS:
        for line, language, _, skip in examples(path):
            assert skip is None or len(skip) > 10, f"{path.name}:{line}: say why the {language} example is not run"
    assert sum(1 for p in DOCUMENTS for e in examples(p) if e[3] is None) >= 5  # the examples that run
