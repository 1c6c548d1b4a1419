"""The layers of `ddb` (ARCHITECTURE.md): no import cycle, no upward import, no private name across modules.

The import graph is read from the sources (every import statement, at the top of a module,
inside a function or under TYPE_CHECKING), so a lazy import counts like any other.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "ddb"

# Each subsystem and its layer: a module may import its own subsystem and those of lower layers only.
LAYERS = {
    "core": 0,
    "schema": 1,
    "engines": 1,
    "data": 2,
    "app": 3,
    "bulk": 3,
    "stream": 4,
    "seed": 4,
    "migrate": 5,
    "modeling": 5,
    "deploy": 5,
    "backup": 6,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(modules: dict[str, Path], name: str) -> list[tuple[str, list[str]]]:
    """(module of ddb imported, names taken from it) for every import statement of module `name`."""
    path = modules[name]
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names if alias.name.split(".")[0] == "ddb"]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(name, path.name == "__init__.py", node)
            if module.split(".")[0] != "ddb":
                continue
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.append((submodule, []) if submodule in modules else (module, [alias.name]))
    return found


def graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ddb it imports (a package's __init__ counts as the package)."""
    return {name: {target for target, _ in imports_of(modules, name) if target != name} & set(modules) for name in modules}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def subsystem(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Each import of a module from a subsystem of the same or a higher layer than its own (other than itself)."""
    wrong = []
    for module, targets in sorted(edges.items()):
        own = subsystem(module)
        if own is None:  # ddb/__init__.py names the surface: it may reach any layer
            continue
        for target in sorted(targets):
            theirs = subsystem(target)
            if theirs is not None and theirs != own and LAYERS[theirs] >= LAYERS[own]:
                wrong.append(f"{module} ({own}, layer {LAYERS[own]}) imports {target} ({theirs}, layer {LAYERS[theirs]})")
    return wrong


def private_names(modules: dict[str, Path]) -> list[str]:
    """Each `_name` one module takes from another (a module's private names are its own)."""
    return [
        f"{name} takes {taken} from {target}"
        for name in modules
        for target, names in imports_of(modules, name)
        if target != name
        for taken in names
        if taken.startswith("_")
    ]


def test_every_module_belongs_to_a_subsystem_with_a_layer():
    modules = _modules()
    loose = [name for name in modules if subsystem(name) is None and name != "ddb"]
    assert loose == []
    assert {subsystem(name) for name in modules} - {None} == set(LAYERS)


def test_ddb_has_no_import_cycle():
    assert cycles(graph(_modules())) == []


def test_no_module_imports_from_its_own_or_a_higher_layer():
    assert upward(graph(_modules())) == []


def test_no_module_takes_another_modules_private_names():
    assert private_names(_modules()) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({"ddb.a.x": {"ddb.a.y"}, "ddb.a.y": {"ddb.a.x"}}, [["ddb.a.x", "ddb.a.y"]]),
        ({"ddb.a.x": {"ddb.a.y"}, "ddb.a.y": {"ddb.a.z"}, "ddb.a.z": {"ddb.a.x"}}, [["ddb.a.x", "ddb.a.y", "ddb.a.z"]]),
        ({"ddb.a.x": {"ddb.a.y"}, "ddb.a.y": set()}, []),
    ],
)
def test_the_cycle_finder_finds_a_loop_of_two_and_of_three(edges, expected):
    assert cycles(edges) == expected


def test_the_layer_check_names_an_upward_and_a_sideways_import():
    edges = {"ddb.core.errors": {"ddb.bulk.batch"}, "ddb.app.patterns": {"ddb.bulk.scan", "ddb.core.errors"}}
    assert upward(edges) == [
        "ddb.app.patterns (app, layer 3) imports ddb.bulk.scan (bulk, layer 3)",
        "ddb.core.errors (core, layer 0) imports ddb.bulk.batch (bulk, layer 3)",
    ]
