"""A pytest plugin for mutation runs only (`[tool.mutmut]` in pyproject.toml loads it with `-p`): fastest tests first.

mutmut runs each mutant's tests with `-x`, so a mutant is killed by the first test that
fails. While mutmut collects its stats (`MUTANT_UNDER_TEST=stats`) this plugin writes how
long each test took, fixtures included, to `mutation-durations.json`; in the mutant runs
after it, it orders the tests fastest first, so a killed mutant costs its quickest killer.
The ordinary test runs never load this plugin.
"""

import json
import os
from pathlib import Path

_FILE = "mutation-durations.json"
_durations: dict[str, float] = {}


def _collecting_stats() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


def pytest_runtest_logreport(report):
    if _collecting_stats():
        _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    if _collecting_stats() and _durations:
        path = Path(session.config.rootpath) / _FILE
        known = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps(known | _durations))


def pytest_collection_modifyitems(session, config, items):
    path = Path(config.rootpath) / _FILE
    if _collecting_stats() or not path.exists():
        return
    durations = json.loads(path.read_text())
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
