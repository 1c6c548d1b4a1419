"""moto's DynamoDB server (`moto[server]`): on 127.0.0.1, in memory, so it forgets everything on stop.

The engine runs as `python .../ddb/engines/moto_server.py -H HOST -p PORT`: moto's own server
(`moto.server.main`), with moto's instance tracking turned off first and the changes of
`moto_speedups` made (the same answers, sooner). moto keeps every
model object it ever creates in a class-wide list (`instances_tracked`, for its
`/moto-api/data.json` dashboard): every item put, every copy a scan or query makes,
every dropped table with all its items. A long-lived engine grew by about 170 MB per
20,000-item seed and never gave it back (3.2 GB after a benchmark session), and Python's
collector walks all of it. Nothing the toolkit uses reads those lists.
"""

import sys
from pathlib import Path


def moto_command(host: str, port: int) -> list[str]:
    """The command line that runs moto's server, untracked: this file as a script, so any folder will do as cwd."""
    return [sys.executable, str(Path(__file__).resolve()), "-H", host, "-p", str(port)]


def moto_version() -> str:
    """The installed moto's version."""
    from importlib.metadata import version

    return version("moto")


def untrack() -> None:
    """Stop moto from keeping every model object it creates (see the module's docstring)."""
    from moto.core.common_models import BaseModel

    def unkept(cls: type, *args: object, **kwargs: object) -> object:
        return object.__new__(cls)

    BaseModel.__new__ = staticmethod(unkept)  # type: ignore[method-assign,assignment]


def main(argv: list[str]) -> None:
    """Run moto's server with `argv` (moto's own options), untracked and with `moto_speedups` applied."""
    from moto.server import main as moto_main

    from ddb.engines import moto_speedups

    untrack()
    made = moto_speedups.apply()
    # The engine's own log (local.start keeps it) says what this moto runs with.
    sys.stderr.write(f"cruddur-ddb: moto untracked; speed-ups: {', '.join(made) or 'none (this moto lacks what they replace)'}\n")
    moto_main(argv)


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        del sys.path[0]  # this folder, put first for a script: its modules (process, state, ...) must not shadow others
    sys.path.append(str(Path(__file__).resolve().parents[2]))  # the folder holding `ddb`, last: for moto_speedups
    main(sys.argv[1:])
