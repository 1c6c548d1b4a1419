"""The text rules of the contract, checked before any request.

Every text a caller can put into the table (a message, a handle, a display name, a
uuid) passes through here once, before the first request: the library's write patterns,
`User` and the fixture loader all use these functions, so nothing that DynamoDB cannot
store, or that the contract does not allow, ever reaches the engine.

- All of them must be Unicode text that UTF-8 can encode: no lone surrogates (what
  Python makes of bytes that are not UTF-8, or of `"\\ud800"` in JSON).
- Messages may hold line feeds and tabs; no other control character (C0, DEL, C1).
  Handles, uuids and display names hold none at all.
- Handles and uuids match their pattern over the whole string (`re.fullmatch`: `$`
  would let a trailing newline through); uuids are lower-case canonical.

Each `*_problem` function returns what is wrong as one line (`'eve\\n' is not a handle
(1-32 of a-z, 0-9, _)`), or None; `check` raises it as `InvalidInput` prefixed with the
field's name. Values are echoed as a short `repr`, so control characters show escaped
and no error line grows with its input.
"""

import re
from functools import cache

from ddb.core.errors import InvalidInput
from ddb.core.text import shown

HANDLE = re.compile(r"[a-z0-9_]{1,32}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_MESSAGE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # \t and \n are allowed
_SUSPECT = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")  # one search clears nearly every string of both


@cache
def _limit(definition: str, rule: str) -> int:
    from ddb.data import contract

    limit: int = contract.schema("item")["$defs"][definition][rule]
    return limit


def _not_string(value: object) -> str:
    return f"expected a string, found {shown(value)}"


def _not_text(value: object, controls: re.Pattern[str]) -> str | None:
    """What makes `value` no storable text: not a string, a lone surrogate, a control character."""
    if not isinstance(value, str):
        return _not_string(value)
    if not _SUSPECT.search(value):
        return None
    surrogate = _SURROGATE.search(value)
    if surrogate:
        point = ord(surrogate.group())
        if 0xDC80 <= point <= 0xDCFF:  # how Python carries a byte that is not UTF-8 (surrogateescape)
            return f"{shown(value)} holds the byte 0x{point - 0xDC00:02x}, which is not UTF-8: give UTF-8 text"
        return f"{shown(value)} holds a lone surrogate U+{point:04X}, which is not Unicode text and cannot be stored"
    control = controls.search(value)
    if control:
        return f"{shown(value)} holds the control character {control.group()!r} at position {control.start()}"
    return None


def _words_problem(value: object, controls: re.Pattern[str], definition: str) -> str | None:
    problem = _not_text(value, controls)
    if problem or not isinstance(value, str):  # _not_text refuses anything but a string
        return problem
    if not value:
        return "is empty"
    if not value.strip():
        return f"{shown(value)} is blank"
    limit = _limit(definition, "maxLength")
    if len(value) > limit:
        return f"is {len(value)} characters long, more than the limit of {limit}"
    return None


def text_problem(value: object) -> str | None:
    """What is wrong with a message text: not text, blank, too long, control characters but \\n and \\t."""
    return _words_problem(value, _CONTROL_IN_MESSAGE, "text")


def display_name_problem(value: object) -> str | None:
    """What is wrong with a display name: not text, blank, too long, any control character."""
    return _words_problem(value, _CONTROL, "display_name")


def plain_text_problem(value: object) -> str | None:
    """What makes a string no storable text of a field without rules of its own: a lone surrogate or any control character."""
    return _not_text(value, _CONTROL)


def handle_problem(value: object) -> str | None:
    """What is wrong with a handle (1-32 of a-z, 0-9, _), or None."""
    if not isinstance(value, str):
        return _not_string(value)
    if not HANDLE.fullmatch(value):
        return f"{shown(value)} is not a handle (1-32 of a-z, 0-9, _)"
    return None


def uuid_problem(value: object) -> str | None:
    """What is wrong with a uuid (lower-case canonical, 8-4-4-4-12 hex digits), or None."""
    if not isinstance(value, str):
        return _not_string(value)
    if not UUID.fullmatch(value):
        return f"{shown(value)} is not a lower-case canonical UUID"
    return None


def check(field: str, problem: str | None) -> None:
    """Raise `InvalidInput("<field>: <problem>")` when there is a problem."""
    if problem:
        raise InvalidInput(f"{field}: {problem}")


def text(value: object, field: str = "message") -> None:
    """Refuse a message text the table cannot hold (InvalidInput naming `field`)."""
    check(field, text_problem(value))


def uuid(value: object, field: str) -> None:
    """Refuse anything but a lower-case canonical uuid (InvalidInput naming `field`)."""
    check(field, uuid_problem(value))


def user(value: object, role: str = "") -> None:
    """Refuse a user whose uuid, handle or display name breaks the contract (`sender.handle: …`)."""
    prefix = f"{role}." if role else ""
    check(f"{prefix}uuid", uuid_problem(getattr(value, "uuid", None)))
    check(f"{prefix}handle", handle_problem(getattr(value, "handle", None)))
    check(f"{prefix}display_name", display_name_problem(getattr(value, "display_name", None)))
