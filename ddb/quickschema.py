"""A fast, conservative check that a document plainly keeps a JSON Schema.

Importing jsonschema costs more than the rest of a read command (about 50 ms of a
~300 ms `invoke patterns.list-conversations`), and validating tens of thousands of
synthetic messages with it is slow. `plainly_valid` answers True only when a document
certainly keeps the schema, using a strict reading of the few keywords the project's
schemas use. Anything else (a violation, an unknown keyword, a value it is unsure of,
such as the integer 1.0) answers False, and the caller asks jsonschema, which stays the
judge and words every error. So for every document: plainly_valid(...) implies jsonschema
finds no error; never the other way round.
"""

import re
from functools import lru_cache
from typing import Any

# Keywords that only annotate: they never make a document invalid.
_ANNOTATIONS = {"$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default"}
_TYPES = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": lambda v: type(v) is int,  # 1.0 is an integer to jsonschema: it decides that one
    "number": lambda v: type(v) in (int, float),
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


class _Unsure(Exception):
    """The schema uses something this checker does not read: let jsonschema judge."""


@lru_cache(maxsize=256)
def _regex(pattern: str):
    return re.compile(pattern)


def _resolve(root: dict, ref: str) -> dict:
    if not ref.startswith("#/"):
        raise _Unsure(ref)
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _ok(root: dict, schema: Any, value: Any) -> bool:
    if schema is True:
        return True
    if not isinstance(schema, dict):
        raise _Unsure(schema)
    for keyword, rule in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "$ref":
            if not _ok(root, _resolve(root, rule), value):
                return False
        elif keyword == "type":
            kinds = rule if isinstance(rule, list) else [rule]
            if not any(_TYPES[k](value) for k in kinds):
                return False
        elif keyword in ("minLength", "maxLength", "pattern"):
            if type(value) is not str:
                continue
            if keyword == "minLength" and len(value) < rule:
                return False
            if keyword == "maxLength" and len(value) > rule:
                return False
            if keyword == "pattern" and not _regex(rule).search(value):
                return False
        elif keyword in ("minimum", "maximum"):
            if type(value) not in (int, float):
                continue
            if (value < rule) if keyword == "minimum" else (value > rule):
                return False
        elif keyword in ("required", "properties", "additionalProperties"):
            if type(value) is not dict:
                continue
            if keyword == "required" and any(name not in value for name in rule):
                return False
            if keyword == "properties" and not all(_ok(root, rule[k], v) for k, v in value.items() if k in rule):
                return False
            if keyword == "additionalProperties":
                if set(schema) & {"patternProperties", "unevaluatedProperties"}:
                    raise _Unsure(keyword)
                known = schema.get("properties", {})
                if not all(_ok(root, rule, v) if rule is not False else False for k, v in value.items() if k not in known):
                    return False
        elif keyword in ("items", "minItems", "maxItems", "uniqueItems"):
            if type(value) is not list:
                continue
            if keyword == "items" and not all(_ok(root, rule, v) for v in value):
                return False
            if keyword == "minItems" and len(value) < rule:
                return False
            if keyword == "maxItems" and len(value) > rule:
                return False
            if keyword == "uniqueItems" and rule:
                if not all(type(v) is str for v in value):
                    raise _Unsure(keyword)
                if len(set(value)) != len(value):
                    return False
        else:
            raise _Unsure(keyword)
    return True


def plainly_valid(schema: dict, document: Any) -> bool:
    """True only when `document` certainly keeps `schema`; False means "ask jsonschema"."""
    try:
        return _ok(schema, schema, document)
    except (_Unsure, KeyError, TypeError, re.error, RecursionError):
        return False
