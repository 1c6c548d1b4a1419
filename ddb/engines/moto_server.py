"""moto's DynamoDB server (`moto[server]`): on 127.0.0.1, in memory, so it forgets everything on stop."""

import sys


def moto_command(host: str, port: int) -> list[str]:
    """The command line that runs moto's server."""
    return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]


def moto_version() -> str:
    """The installed moto's version."""
    from importlib.metadata import version

    return version("moto")
