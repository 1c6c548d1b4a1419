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
from collections.abc import Callable
from functools import lru_cache
from typing import Any

Schema = dict[str, Any]  # a JSON Schema, or one of its parts
Refs = dict[str, Any]  # a `$ref` -> its Check (None while that is being compiled)

# Keywords that only annotate: they never make a document invalid.
_ANNOTATIONS = {"$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default"}
_TYPES: dict[str, Callable[[Any], bool]] = {
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
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _resolve(root: Schema, ref: str) -> Schema:
    if not ref.startswith("#/"):
        raise _Unsure(ref)
    node: Schema = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


Check = Callable[[Any], bool]


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]
    return lambda value: all(check(value) for check in checks)


def _of_type(kind: Callable[[Any], bool], check: Check) -> Check:
    """A keyword that only speaks about values of one JSON type: any other value passes it."""
    return lambda value: not kind(value) or check(value)


def _unique_strings(value: list[Any]) -> bool:
    if not all(type(v) is str for v in value):
        raise _Unsure("uniqueItems")
    return len(set(value)) == len(value)


def _keyword(root: Schema, schema: Schema, keyword: str, rule: Any, refs: Refs) -> Check | None:
    """The check of one keyword (None: it only annotates); _Unsure for a keyword this module does not read."""
    is_str, is_number = _TYPES["string"], _TYPES["number"]
    is_object, is_array = _TYPES["object"], _TYPES["array"]
    if keyword in _ANNOTATIONS:
        return None
    if keyword == "$ref":
        if rule not in refs:
            refs[rule] = None  # a reference to itself is resolved when first used
            refs[rule] = _compile(root, _resolve(root, rule), refs)
        return refs[rule] or (lambda value: refs[rule](value))  # the check itself, once compiled
    if keyword == "type":
        kinds = [_TYPES[k] for k in (rule if isinstance(rule, list) else [rule])]
        return kinds[0] if len(kinds) == 1 else lambda value: any(kind(value) for kind in kinds)
    if keyword == "minLength":
        return _of_type(is_str, lambda value: len(value) >= rule)
    if keyword == "maxLength":
        return _of_type(is_str, lambda value: len(value) <= rule)
    if keyword == "pattern":
        search = _regex(rule).search
        return _of_type(is_str, lambda value: search(value) is not None)
    if keyword in ("minimum", "maximum"):
        if keyword == "minimum":
            return _of_type(is_number, lambda value: value >= rule)
        return _of_type(is_number, lambda value: value <= rule)
    if keyword == "required":
        return _of_type(is_object, lambda value: all(name in value for name in rule))
    if keyword == "properties":
        checks = {name: _compile(root, sub, refs) for name, sub in rule.items()}
        return _of_type(is_object, lambda value: all(checks[k](v) for k, v in value.items() if k in checks))
    if keyword == "additionalProperties":
        if set(schema) & {"patternProperties", "unevaluatedProperties"}:
            raise _Unsure(keyword)
        known = set(schema.get("properties", {}))
        if rule is False:
            return _of_type(is_object, lambda value: known.issuperset(value))
        extra = _compile(root, rule, refs)
        return _of_type(is_object, lambda value: all(extra(v) for k, v in value.items() if k not in known))
    if keyword == "items":
        each = _compile(root, rule, refs)
        return _of_type(is_array, lambda value: all(each(v) for v in value))
    if keyword == "minItems":
        return _of_type(is_array, lambda value: len(value) >= rule)
    if keyword == "maxItems":
        return _of_type(is_array, lambda value: len(value) <= rule)
    if keyword == "uniqueItems":
        return _of_type(is_array, _unique_strings) if rule else None
    raise _Unsure(keyword)


def _closed_object(root: Schema, schema: Schema, refs: Refs) -> Check:
    """The common object schema (type object, required, properties, additionalProperties false) in one pass."""
    required = tuple(schema["required"])
    known = {name: _compile(root, sub, refs) for name, sub in schema["properties"].items()}

    def check(value: Any) -> bool:
        if type(value) is not dict or any(name not in value for name in required):
            return False
        for name, item in value.items():
            each = known.get(name)
            if each is None or not each(item):
                return False
        return True

    return check


def _string(schema: Schema) -> Check:
    """The common string schema (type string, and any of minLength, maxLength, pattern) in one function."""
    shortest, longest = schema.get("minLength", 0), schema.get("maxLength")
    search = _regex(schema["pattern"]).search if "pattern" in schema else None
    if type(shortest) is not int or (longest is not None and type(longest) is not int):
        raise _Unsure("minLength/maxLength")

    def check(value: Any) -> bool:
        return (
            type(value) is str
            and shortest <= len(value)
            and (longest is None or len(value) <= longest)
            and (search is None or search(value) is not None)
        )

    return check


def _compile(root: Schema, schema: Any, refs: Refs) -> Check:
    """`schema` as one function of a value, True when the value certainly keeps it (its keywords in order)."""
    if schema is True:
        return lambda value: True
    if not isinstance(schema, dict):
        raise _Unsure(schema)
    rules = set(schema) - _ANNOTATIONS
    if rules == {"type", "required", "properties", "additionalProperties"} and (
        schema["type"] == "object" and schema["additionalProperties"] is False
    ):
        return _closed_object(root, schema, refs)
    if schema.get("type") == "string" and rules <= {"type", "minLength", "maxLength", "pattern"}:
        return _string(schema)
    checks = [c for c in (_keyword(root, schema, k, rule, refs) for k, rule in schema.items()) if c is not None]
    return _all(checks) if checks else (lambda value: True)


_COMPILED: dict[int, tuple[Schema, Check | None]] = {}  # id(schema) -> (the schema, kept alive; its check or None)


def _checker(schema: Schema) -> Check | None:
    """The compiled check of a root schema, made once (None: the schema uses something this module does not read)."""
    if id(schema) not in _COMPILED or _COMPILED[id(schema)][0] is not schema:
        try:
            _COMPILED[id(schema)] = (schema, _compile(schema, schema, {}))
        except (_Unsure, KeyError, TypeError, re.error, RecursionError):
            _COMPILED[id(schema)] = (schema, None)
    return _COMPILED[id(schema)][1]


def plainly_valid(schema: Schema, document: Any) -> bool:
    """True only when `document` certainly keeps `schema`; False means "ask jsonschema"."""
    check = _checker(schema)
    if check is None:
        return False
    try:
        return check(document)
    except (_Unsure, KeyError, TypeError, re.error, RecursionError):
        return False
