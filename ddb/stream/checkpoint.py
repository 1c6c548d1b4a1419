"""How far a table's stream was applied: per shard, the sequence number of the last record dealt with.

The checkpoint file holds one JSON object, `{stream arn: {shard id: sequence number}}`,
for the table's current stream only (a new stream, after the table was dropped and
created again, starts afresh). `stream.process` and `stream.follow` share it, so either
goes on where the other stopped. It is replaced whole and atomically (a new file renamed
over the old), so a process killed while saving leaves the old checkpoint or the new one,
never half of one.
"""

import json
import os
import tempfile
from pathlib import Path

Checkpoint = dict[str, str]  # shard id -> the sequence number of the last record dealt with


def load_checkpoint(path: str | Path | None, arn: str) -> Checkpoint:
    """The checkpoint kept for the stream `arn` in the file at `path` (empty when none is kept or it is unreadable)."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    kept = data.get(arn, {}) if isinstance(data, dict) else {}
    if not isinstance(kept, dict):
        return {}
    return {shard: number for shard, number in kept.items() if isinstance(shard, str) and isinstance(number, str)}


def save_checkpoint(path: str | Path, arn: str, checkpoint: Checkpoint) -> None:
    """Remember how far the stream `arn` was applied (after its records were), replacing the file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps({arn: checkpoint}))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
