"""model.cost on the command line: --chart never replaces a file or follows a link unless told, refusals are one line.

The library side of the traffic file is in test_cost_input.py.
"""

import subprocess
import sys

import pytest

from ddb.core.errors import DdbError
from ddb.modeling import chart as cost_chart

from .support import ROOT, fake_aws_environment

# ------------------------------------------------------------------ --chart


def test_chart_is_not_written_over_an_existing_file_without_force(invoke_alone, tmp_path):
    chart = tmp_path / "cost.svg"
    chart.write_text("mine")
    run = invoke_alone("model.cost", "--traffic", "docs/traffic.example.yaml", "--from-fixtures", "--chart", str(chart))
    assert (run.code, run.out, run.err) == (1, "", f"error: {chart} exists: give --force to replace it\n")
    assert chart.read_text() == "mine"


def test_chart_with_force_replaces_an_existing_file(invoke_alone, tmp_path):
    chart = tmp_path / "cost.svg"
    chart.write_text("mine")
    run = invoke_alone(
        "model.cost", "--traffic", "docs/traffic.example.yaml", "--from-fixtures", "--chart", str(chart), "--force"
    )
    assert run.code == 0, run
    assert run.err == f"wrote {chart}\n" and chart.read_text().startswith("<svg")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.parametrize("force", [False, True])
def test_chart_never_writes_through_a_link_planted_at_its_name(invoke_alone, tmp_path, force):
    victim, chart = tmp_path / "victim.txt", tmp_path / "cost.svg"
    victim.write_text("precious")
    chart.symlink_to(victim)
    args = ["model.cost", "--traffic", "docs/traffic.example.yaml", "--from-fixtures", "--chart", str(chart)]
    run = invoke_alone(*args, *(["--force"] if force else []))
    assert victim.read_text() == "precious"
    if force:
        assert run.code == 0, run
        assert not chart.is_symlink() and chart.read_text().startswith("<svg")
    else:
        assert (run.code, run.err) == (1, f"error: {chart} exists: give --force to replace it\n")
        assert chart.is_symlink()


def test_chart_writer_refuses_an_existing_file_and_replaces_only_when_told(tmp_path):
    chart = tmp_path / "deeper" / "cost.svg"
    cost_chart.write(chart, "<svg/>\n")
    with pytest.raises(cost_chart.ChartExists) as refused:
        cost_chart.write(chart, "<svg>2</svg>\n")
    assert str(refused.value) == f"{chart} exists"
    cost_chart.write(chart, "<svg>3</svg>\n", replace=True)
    assert chart.read_text() == "<svg>3</svg>\n"
    assert sorted(p.name for p in chart.parent.iterdir()) == ["cost.svg"]  # no temporary file left
    with pytest.raises(DdbError) as failed:
        cost_chart.write(tmp_path, "<svg/>\n", replace=True)
    assert str(failed.value) == f"cannot write {tmp_path}: Is a directory"


# ------------------------------------------------------------------ command line


@pytest.mark.parametrize(
    "content, line",
    [
        ("patterns: {create-message: .inf}\n", "patterns.create-message: inf is not a finite number"),
        ("patterns: {create-message: 1e308}\n", "patterns.create-message: 1e+308 is out of range: from 0 to 1e+12"),
        ("patterns: {stream: " + "7" * 300 + "}\n", "patterns.stream: a 300-digit number is out of range: from 0 to 1e+12"),
        ("patterns:\n  stream: 1\n  stream: 2\n", "line 3 column 3: duplicate key 'stream' (first on line 2)"),
        ("patterns: {stream: '" + "x" * 5000 + "'}\n", "patterns.stream: " + repr("x" * 40) + "… is not a number"),
    ],
)
def test_model_cost_refuses_what_it_cannot_price_in_one_line_and_exit_1(invoke_alone, tmp_path, content, line):
    path = tmp_path / "traffic.yaml"
    path.write_text(content)
    run = invoke_alone("model.cost", "--traffic", str(path), "--from-fixtures")
    assert (run.code, run.out, run.err) == (1, "", f"error: {path}: {line}\n")


def test_model_cost_refuses_a_price_in_the_config_that_is_not_finite(invoke_alone):
    run = invoke_alone(
        "model.cost", "--traffic", "docs/traffic.example.yaml", "--from-fixtures", env={"INVOKE_DDB_PRICES_RCU_HOUR": "inf"}
    )
    assert (run.code, run.out, run.err) == (
        1,
        "",
        "error: ddb.prices.rcu_hour must be a price in USD from 0 to 1e+06, not 'inf'\n",
    )


def test_a_10_mb_traffic_file_is_refused_in_a_process_of_bounded_memory(tmp_path):
    path = tmp_path / "traffic.yaml"
    path.write_text("patterns: [" + "1, " * (10 * 1024 * 1024 // 3) + "]\n")
    launcher = (
        "import resource, subprocess, sys; c = subprocess.call(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(c)"
    )
    args = [
        sys.executable,
        "-c",
        launcher,
        sys.executable,
        "-m",
        "invoke",
        "model.cost",
        "--traffic",
        str(path),
        "--from-fixtures",
    ]
    done = subprocess.run(args, cwd=ROOT, env=fake_aws_environment(), capture_output=True, text=True, timeout=120)
    refusal, peak_kb = done.stderr.splitlines()
    assert (done.returncode, done.stdout, refusal) == (1, "", f"error: {path}: more than 64 KB: a traffic file is a few lines")
    assert int(peak_kb) < 200 * 1024
