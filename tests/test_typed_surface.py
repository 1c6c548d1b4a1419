"""The app's surface is typed: `mypy --strict` passes on it, and its TypedDicts name what the patterns return.

The surface is what `ddb/__init__.py` names (patterns, messaging, stream, items, errors).
The check runs as a process because mypy is one; `.ci/run` runs the same command.
"""

import subprocess
import sys

from ddb.app import patterns
from ddb.data import items

from .support import ROOT, TABLE

SURFACE = ["ddb/__init__.py", "ddb/app", "ddb/stream", "ddb/data/items.py", "ddb/core/errors.py"]


def test_mypy_strict_passes_on_the_app_surface(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy-cache"), *SURFACE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Success"), done.stdout


def test_the_ci_runs_the_same_strict_check():
    assert f"python -m mypy --strict {' '.join(SURFACE)}" in (ROOT / ".ci" / "run").read_text()


def test_the_typed_rows_name_exactly_the_fields_the_patterns_return(client, seeded):
    inbox = patterns.list_conversations(client, TABLE, seeded.users["mira"].uuid, limit=1)
    chat = patterns.list_messages(client, TABLE, inbox.items[0]["message_group_uuid"], limit=1)
    assert set(inbox.items[0]) == items.ConversationRow.__required_keys__
    assert set(chat.items[0]) == items.MessageRow.__required_keys__
    assert set(inbox.as_json()) == set(chat.as_json()) == items.PageJson.__required_keys__
    assert set(inbox.consumed_capacity) == set(items.Capacity.__annotations__)
