"""The fast schema check only ever says "valid" when jsonschema agrees."""

import copy
import json
import random

import pytest
from jsonschema import Draft202012Validator

from ddb.data import contract
from ddb.data.quickschema import plainly_valid

from .support import FIXTURES


def _documents():
    yield "users", json.loads((FIXTURES / "users.json").read_text())
    for path in sorted((FIXTURES / "conversations").glob("*.json")):
        yield "conversation", json.loads(path.read_text())


def _jsonschema_valid(name, document) -> bool:
    return Draft202012Validator(contract.schema(name)).is_valid(document)


@pytest.mark.parametrize("name, document", list(_documents()))
def test_the_repository_fixtures_are_plainly_valid(name, document):
    assert plainly_valid(contract.schema(name), document)


_ODD_VALUES: list[object] = [
    None,
    True,
    1,
    1.0,
    -1,
    5256001,
    "",
    " ",
    "\n",
    "X",
    "a" * 4097,
    "UPPER",
    "0" * 8 + "-0000-0000-0000-" + "0" * 12,
    "C8D570CE-751B-4D03-85A6-4C0F876CA3CA",
    "mira\n",
    [],
    {},
    ["a", "a"],
    ["a", "b"],
    ["a", "b", "c"],
]


def _mutations(document, rng, count):
    """Random single changes anywhere in the document: replace, remove or add a value."""
    paths = []

    def walk(node, path):
        paths.append(path)
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in children:
            walk(child, [*path, key])

    walk(document, [])
    for _ in range(count):
        mutated = copy.deepcopy(document)
        path = rng.choice(paths)
        if not path:
            yield rng.choice(_ODD_VALUES)
            continue
        parent = mutated
        for key in path[:-1]:
            parent = parent[key]
        action = rng.choice(["replace", "replace", "remove", "add"])
        if action == "remove":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent["extra"] = rng.choice(_ODD_VALUES)
        elif action == "add":
            parent.append(copy.deepcopy(rng.choice([parent[0], *_ODD_VALUES])))
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(_ODD_VALUES))
        yield mutated


def test_plainly_valid_implies_valid_for_thousands_of_mutated_documents():
    rng = random.Random(5)
    checked = rejected = 0
    for name, document in _documents():
        for mutated in _mutations(document, rng, 400):
            truth = _jsonschema_valid(name, mutated)
            quick = plainly_valid(contract.schema(name), mutated)
            assert not quick or truth, (name, mutated)
            checked += 1
            rejected += not truth
    assert checked == 2000 and rejected > 1000


def test_unknown_keywords_leave_the_verdict_to_jsonschema():
    assert plainly_valid({"type": "string"}, "x")
    assert not plainly_valid({"type": "string", "format": "email", "oneOf": [{"type": "string"}]}, "x")
    assert not plainly_valid({"$ref": "https://example.com/elsewhere.json"}, "x")
    assert not plainly_valid({"type": "integer"}, 1.0)  # jsonschema decides that 1.0 is an integer


def test_errors_are_still_worded_by_jsonschema():
    users = json.loads((FIXTURES / "users.json").read_text())
    users[1]["handle"] = "Tomas!"
    assert contract.first_problem("users", users) == '[1].handle: "Tomas!" is not a handle (1-32 of a-z, 0-9, _)'
