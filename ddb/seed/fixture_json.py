"""Fixture files as JSON: read, parsed strictly and checked against their JSON Schema.

`parse` refuses in one line what `json.loads` would let through or choke on: bytes that
are not UTF-8, an empty file, a key given twice in one object (plain JSON keeps the last),
nesting far deeper than a fixture's, and a document that breaks its schema
(`ddb.data.contract`).
"""

import json
from pathlib import Path
from typing import Any

from ddb.core.errors import FixtureError
from ddb.data import contract
from ddb.data.quickschema import plainly_valid

# Fixture files nest 4 levels; anything far deeper is refused before a recursive check could overflow.
MAX_DEPTH = 64


class _KeyTwice(dict):
    """A JSON object that names a key twice (plain JSON would silently keep the last)."""

    key = ""


def _object(pairs: list[tuple[str, Any]]):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            twice = _KeyTwice(pairs)
            twice.key = key
            return twice
        seen.add(key)
    return dict(pairs)


def _key_twice(node: Any, path: tuple[str | int, ...] = ()):
    """The path of the first key given twice in one object, or None."""
    if isinstance(node, _KeyTwice):
        return (*path, node.key)
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for step, child in children:
        found = _key_twice(child, (*path, step))
        if found:
            return found
    return None


def _depth_exceeds(document: Any, limit: int) -> bool:
    """True when arrays and objects nest more than `limit` deep (walked without recursion)."""
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def read_bytes(path: Path, shown: str) -> bytes:
    """The bytes of a fixture file, or one line saying why it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FixtureError(f"{shown}: cannot read: {exc.strerror}") from None


def read_json(path: Path, shown: str, schema_name: str) -> Any:
    """The checked JSON document of a fixture file (`parse`)."""
    return parse(read_bytes(path, shown), shown, schema_name)


def parse(raw: bytes, shown: str, schema_name: str) -> Any:
    """The JSON document in `raw`, refused in one line when it is not UTF-8, not JSON, too deep, names a key twice
    or breaks the JSON Schema `schema_name`."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")  # a byte order mark is allowed (RFC 8259)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise FixtureError(
            f"{shown}: line {line} column {column}: byte 0x{raw[exc.start]:02x} is not UTF-8: save the file as UTF-8"
        ) from None
    if not text.strip():
        raise FixtureError(f"{shown}: top level: the file is empty, expected JSON")
    too_deep = f"{shown}: top level: nested more than {MAX_DEPTH} levels deep: a fixture file has 4"
    try:
        document = json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{shown}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise FixtureError(too_deep) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise FixtureError(f"{shown}: top level: invalid JSON: {str(exc).split(':')[0]}") from None
    if plainly_valid(contract.schema(schema_name), document):
        # The common case, checked once: a document that keeps the schema is 4 levels deep at most
        # and names no key twice (an object that does is no plain dict to quickschema).
        return document
    if _depth_exceeds(document, MAX_DEPTH):
        raise FixtureError(too_deep)
    twice = _key_twice(document)
    if twice:
        raise FixtureError(f"{shown}: {contract.location(twice)}: is given twice in one object: keep one")
    _check(schema_name, document, shown)
    return document


def _check(schema_name: str, document: Any, shown: str):
    problem = contract.first_problem(schema_name, document)
    if problem:
        raise FixtureError(f"{shown}: {problem}")
