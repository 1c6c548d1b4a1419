"""The migrations folder: ordered Python modules, loaded by path and checked before anything runs.

A migration is a file `m<4 digits>_<name>.py` (e.g. `m0001_message_count.py`) with:

- `VERSION`: a whole number, the file's four digits (1 for m0001);
- `DESCRIPTION`: one line saying what it does to the items;
- `up(client, table, progress)` and `down(client, table, progress)`: the change and its
  undoing, over a boto3 DynamoDB client; `progress` is a `ddb.migrations.Progress`,
  whose `resume` is where an interrupted run stopped and whose `checkpoint()` records
  how far this run got (call it after each page of a backfill);
- optionally `preview(client, table) -> str`: what `up` would change, read only (shown by --dry-run).

Both functions must be safe to run again on items they already changed (a condition
such as `attribute_not_exists(...)`): a run resumed from its last checkpoint repeats at
most the page it was on.
"""

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ddb.core.errors import InvalidInput

FILE_NAME = re.compile(r"m(\d{4})_[a-z0-9_]+\.py")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    path: Path
    module: ModuleType

    @property
    def name(self) -> str:
        return self.path.stem


def _load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"cruddur_migrations.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise InvalidInput(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise InvalidInput(f"{path}: fails to load: {type(exc).__name__}: {exc}") from exc
    return module


def _checked(path: Path, module: ModuleType, number: int) -> Migration:
    version = getattr(module, "VERSION", None)
    if not isinstance(version, int) or isinstance(version, bool) or version != number:
        raise InvalidInput(f"{path}: VERSION must be {number}, the number in the file name, not {version!r}")
    description = getattr(module, "DESCRIPTION", None)
    if not isinstance(description, str) or not description.strip() or "\n" in description:
        raise InvalidInput(f"{path}: DESCRIPTION must be one line of text")
    for name in ("up", "down"):
        if not callable(getattr(module, name, None)):
            raise InvalidInput(f"{path}: needs a function {name}(client, table, progress)")
    return Migration(version, description.strip(), path, module)


def load(folder: str | Path) -> list[Migration]:
    """Every migration of `folder`, checked, in version order; InvalidInput (naming the file) on the first problem.

    Other `.py` files (`__init__.py`, helpers starting with `_`) are not migrations; a
    file that looks like one but is misnamed (`m1_x.py`) is an error, not skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInput(f"the migrations folder {folder} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        match = FILE_NAME.fullmatch(path.name)
        if match is None:
            raise InvalidInput(f"{path}: not a migration name: use m<4 digits>_<lower-case name>.py, e.g. m0002_add_x.py")
        number = int(match.group(1))
        if number == 0:
            raise InvalidInput(f"{path}: versions start at 1 (0 means no migration applied)")
        if number in found:
            raise InvalidInput(f"{path}: version {number} is taken by {found[number].path.name}")
        found[number] = _checked(path, _load_module(path), number)
    return [found[number] for number in sorted(found)]
