"""The machine-checkable data contract: JSON Schemas for fixture files and items.

The schemas are package data, `ddb/data/schemas/*.schema.json`; this module loads them once and
turns the first violation into one line: where in the document, and what is wrong.
"""

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ddb.core.text import escaped

if TYPE_CHECKING:
    from jsonschema import ValidationError

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit

_PATTERN_MEANING = {
    "uuid": "is not a lower-case canonical UUID",
    "handle": "is not a handle (1-32 of a-z, 0-9, _)",
    "text": "is blank",
    "display_name": "is blank",
}


@cache
def schema(name: str) -> dict[str, Any]:
    """The parsed JSON Schema `ddb/data/schemas/<name>.schema.json` (package data: no repository files needed)."""
    loaded: dict[str, Any] = json.loads(
        resources.files("ddb.data").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    )
    return loaded


@cache
def _branch(name: str, branch: str | None) -> dict[str, Any]:
    """Schema `name`, or only its `$defs/<branch>` (one item type of the item schema)."""
    root = schema(name)
    return {"$defs": root["$defs"], "$ref": f"#/$defs/{branch}"} if branch else root


@cache
def _validator(name: str, branch: str | None = None) -> Any:  # a jsonschema Draft202012Validator
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_branch(name, branch))


def location(path: Iterable[str | int]) -> str:
    """A JSON path as people write it: `messages[3].minutes_ago` (`top level` if empty).

    A key is shown with its control characters escaped and cut to 40 characters: it may
    come from any file.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
            continue
        name = escaped(part[:40]) + ("…" if len(part) > 40 else "")
        text += f".{name}" if text else name
    return text or "top level"


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))


def _a(kind: str) -> str:
    """`an array`, `a string`, `null`: a JSON type with its article."""
    return kind if kind == "null" else ("an " if kind[0] in "aeiou" else "a ") + kind


def _shown(value: object) -> str:
    return escaped(json.dumps(value, ensure_ascii=False))[:60]


def _found(value: object) -> str:
    """`the string "285"`, `the boolean true`, `an object`: what a document holds, briefly."""
    kind = next((name for cls, name in _JSON_TYPES if isinstance(value, cls)), "null")
    return _a(kind) if kind in ("array", "object", "null") else f"the {kind} {_shown(value)}"


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _place(error: "ValidationError") -> list[str | int]:
    """The path of the error; a missing or unknown field is named itself (`messages[1].from`)."""
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        path.append(next(name for name in error.validator_value if name not in error.instance))
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        path.append(next(name for name in error.instance if name not in error.schema.get("properties", {})))
    return path


def _describe(error: "ValidationError") -> str:
    if error.validator == "pattern":
        for ref, meaning in _PATTERN_MEANING.items():
            if error.schema == schema("conversation")["$defs"].get(ref):
                return f"{_shown(error.instance)} {meaning}"
        return f"{_shown(error.instance)} is not in the expected format"
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"expected {' or '.join(_a(kind) for kind in expected)}, found {_found(error.instance)}"
    if error.validator == "required":
        return "is required but missing"
    if error.validator == "additionalProperties":
        return f"unknown field: the known fields are {', '.join(error.schema.get('properties', {}))}"
    if error.validator == "minItems":
        have = f"has {_entries(len(error.instance))}" if error.instance else "is empty"
        return f"{have}: needs at least {_entries(error.validator_value)}"
    if error.validator == "maxItems":
        return f"has {_entries(len(error.instance))}: at most {_entries(error.validator_value)} allowed"
    if error.validator == "minLength" and error.instance == "":
        return "is empty"
    if error.validator == "maxLength":
        return f"is {len(error.instance)} characters long, more than the limit of {error.validator_value}"
    if error.validator == "uniqueItems":
        return "names the same handle twice: a conversation needs two different users"
    if error.validator == "minimum":
        return f"{_shown(error.instance)} is less than the minimum of {error.validator_value}"
    if error.validator == "maximum":
        return f"{_shown(error.instance)} is greater than the maximum of {error.validator_value}"
    return escaped(error.message)[:120]  # jsonschema's own words embed the value: keep them short


def first_problem(name: str, document: Any, branch: str | None = None) -> str | None:
    """`<place>: <what is wrong>` for the first violation of schema `name` (or of its `$defs/<branch>`), or None."""
    from ddb.data.quickschema import plainly_valid

    if plainly_valid(_branch(name, branch), document):  # the common case, without importing jsonschema
        return None
    try:
        from jsonschema.exceptions import best_match
    except ImportError:  # the library installed with boto3 alone: still one line, without the place
        return f"top level: breaks {name}.schema.json (install jsonschema, as `pip install 'cruddur-ddb[tasks]'` does, to be told where)"

    error = best_match(_validator(name, branch).iter_errors(document))
    if error is None:
        return None
    return f"{location(_place(error))}: {_describe(error)}"


def item_problems(item: Mapping[str, Any]) -> list[str]:
    """Every way a plain item breaks the item contract (empty when it keeps it)."""
    problem = first_problem("item", item)
    if problem is None:
        problems = []
    else:
        try:
            problems = [f"{location(e.absolute_path)}: {e.message}" for e in _validator("item").iter_errors(item)]
        except ImportError:  # boto3 alone: the one line first_problem gives
            problems = [problem]
    from ddb.data.capacity import item_size

    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        problems.append(f"item is {size} bytes, over DynamoDB's {MAX_ITEM_BYTES}-byte limit")
    return problems
