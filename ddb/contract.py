"""The machine-checkable data contract: JSON Schemas for fixture files and items.

The schemas live in `fixtures/schema/*.schema.json`; this module loads them once and
turns the first violation into one line: where in the document, and what is wrong.
"""

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "schema"
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit

_PATTERN_MEANING = {
    "uuid": "is not a lower-case canonical UUID",
    "handle": "is not a handle (1-32 of a-z, 0-9, _)",
    "text": "is blank",
    "display_name": "is blank",
}


@lru_cache(maxsize=None)
def schema(name: str) -> dict:
    """The parsed JSON Schema `fixtures/schema/<name>.schema.json`."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def _validator(name: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema(name))


def location(path) -> str:
    """A JSON path as people write it: `messages[3].minutes_ago` (`top level` if empty)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def _describe(error) -> str:
    if error.validator == "pattern":
        for ref, meaning in _PATTERN_MEANING.items():
            if error.schema == schema("conversation")["$defs"].get(ref):
                return f"{json.dumps(error.instance, ensure_ascii=False)[:60]} {meaning}"
    if error.validator == "minLength" and error.instance == "":
        return "is empty"
    if error.validator == "maxLength":
        return f"is {len(error.instance)} characters long, more than the limit of {error.validator_value}"
    if error.validator == "uniqueItems":
        return "names the same handle twice: a conversation needs two different users"
    return error.message


def first_problem(name: str, document) -> str | None:
    """`<place>: <what is wrong>` for the first violation of schema `name`, or None."""
    from .quickschema import plainly_valid

    if plainly_valid(schema(name), document):  # the common case, without importing jsonschema
        return None
    from jsonschema.exceptions import best_match

    error = best_match(_validator(name).iter_errors(document))
    if error is None:
        return None
    return f"{location(error.absolute_path)}: {_describe(error)}"


def item_problems(item: dict) -> list[str]:
    """Every way a plain item breaks the item contract (empty when it keeps it)."""
    problems = [f"{location(e.absolute_path)}: {e.message}" for e in _validator("item").iter_errors(item)]
    from .capacity import item_size

    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        problems.append(f"item is {size} bytes, over DynamoDB's {MAX_ITEM_BYTES}-byte limit")
    return problems
