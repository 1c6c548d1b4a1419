"""The stream Lambda's deployment zip: the modules of `ddb` the handler imports, reproducibly.

The zip holds, at its root so Lambda finds the handler as `ddb.stream.lambda_handler`,
the handler's module and every module of `ddb` it imports, directly or through another,
at the top of a module or inside a function (`handler_modules`: read from the sources'
import statements, so a lazy import is packed too), with their package data; nothing
else: no local engines, deploy, backup, seed or modeling code. boto3 and botocore,
`ddb`'s only run-time dependency, come with Lambda's Python runtime.

The same sources give the same bytes: entries sorted by name, every timestamp
1980-01-01 00:00 (the earliest a zip can hold), every file mode 0644 with a Unix
"made by", one compression level, no directory entries, no `__pycache__`. So the
sha256 names the code, and an unchanged package is never uploaded twice.
"""

import ast
import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import DdbError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the ddb folder
# Package data beside the modules: the same patterns as pyproject.toml's [tool.setuptools.package-data].
PACKAGE_DATA = ("py.typed", "data/schemas/*.schema.json")
HANDLER = "ddb.stream.lambda_handler"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # a regular file, rw-r--r--
_UNIX = 3  # ZipInfo.create_system: the external attributes are Unix mode bits


@dataclass(frozen=True)
class Package:
    """A built zip: where it is, its size in bytes, its sha256 (hex) and its entries."""

    path: Path
    size: int
    sha256: str
    entries: tuple[str, ...]

    def as_json(self) -> dict:
        return {
            "path": str(self.path),
            "size": self.size,
            "sha256": self.sha256,
            "entries": len(self.entries),
            "handler": HANDLER,
        }


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of module `dotted` (relative to the package, "" for the package itself) under `root`, if there is one."""
    path = root.joinpath(*dotted.split(".")) if dotted else root
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if dotted and path.with_suffix(".py").is_file() else None


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` but those under `if TYPE_CHECKING:` (imports for the type checker only)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            test = child.test if isinstance(child, ast.If) else None
            checking = isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            checking = checking or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
            todo.extend(child.orelse if checking and isinstance(child, ast.If) else [child])


def _imported(root: Path, source: Path) -> set[str]:
    """The package's modules `source` imports (dotted, relative to the package): each import statement, anywhere in it."""
    here = source.relative_to(root).with_suffix("").parts
    package = list(here[:-1])
    names: set[str] = set()
    for node in _runtime_nodes(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".", 1)[1] for a in node.names if a.name.startswith(root.name + "."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                module = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and (node.module == root.name or node.module.startswith(root.name + ".")):
                module = node.module.split(".", 1)[1] if "." in node.module else ""
            else:
                continue
            names.add(module)
            names.update(f"{module}.{a.name}" if module else a.name for a in node.names)  # a name may be a submodule
    return names


def handler_modules(root: Path = PACKAGE_ROOT, handler: str = HANDLER) -> set[Path]:
    """The files of the handler's module and of every module of the package it imports, transitively, with their packages."""
    start = handler.split(".")[1:-1]  # ddb.stream.lambda_handler -> stream
    todo, found = [".".join(start)], set()
    while todo:
        dotted = todo.pop()
        parts = dotted.split(".") if dotted else []
        for depth in range(len(parts) + 1):  # the module and the __init__ of every package above it
            path = _module_file(root, ".".join(parts[:depth]))
            if path is not None and path not in found:
                found.add(path)
                todo.extend(_imported(root, path))
    return found


def package_files(root: Path = PACKAGE_ROOT) -> list[tuple[str, Path]]:
    """(name in the zip, file) for the handler's modules and the package data under `root`, sorted by name."""
    files = handler_modules(root)
    for pattern in PACKAGE_DATA:
        files.update(root.glob(pattern))
    prefix = root.name
    named = [(f"{prefix}/{p.relative_to(root).as_posix()}", p) for p in files if p.is_file()]
    return sorted(named)


def zip_bytes(files: list[tuple[str, Path]]) -> bytes:
    """The zip of `files`, the same bytes for the same names and contents."""
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, path in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.create_system = _UNIX
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def build(out: Path, root: Path = PACKAGE_ROOT) -> Package:
    """Write the Lambda zip of the package under `root` to `out`; its size and sha256."""
    files = package_files(root)
    if not any(name.endswith("/stream/handler.py") for name, _ in files):
        raise DdbError(f"no stream handler module under {root}: is it the ddb package?")
    data = zip_bytes(files)
    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        partial.write_bytes(data)
        partial.replace(out)  # a reader never sees half a zip
    except OSError as exc:
        raise DdbError(f"cannot write the package to {out}: {exc.strerror or exc}") from None
    return Package(out, len(data), hashlib.sha256(data).hexdigest(), tuple(name for name, _ in files))
