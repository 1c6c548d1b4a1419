"""Deterministic stand-ins for the people in the table: handles, display names, message texts.

`Anonymizer(salt).item(typed)` returns a typed item whose `user_handle`,
`user_display_name` and `message` strings are replaced; every other attribute (keys,
times, uuids, claims) is kept as it is, so counts per conversation and per user, the
order of messages and every access pattern stay the same. A stand-in is derived from
HMAC-SHA256(salt, kind, value): the same value always gets the same stand-in (a handle
is replaced the same way in every item that names it), and different salts give
unrelated stand-ins.

- handle: the same length, of a-z and 0-9 (still a handle: 1-32 of a-z, 0-9, _);
- display name: the same length in characters; letters, with spaces where the original
  had whitespace, each word capitalised;
- message: the same length in characters; line feeds, tabs and spaces stay where they
  were (the shape of the text), every other character becomes a lower-case letter.

Stand-ins are pseudonyms, not encryption: someone who knows the salt and a list of
candidate handles can compute their stand-ins and match them. Keep a salt of your own
for data that leaves the team.
"""

import hashlib
import hmac
from functools import lru_cache

HANDLE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
FIELDS = ("user_handle", "user_display_name", "message")


class Anonymizer:
    """Replaces handles, display names and message texts with deterministic stand-ins."""

    def __init__(self, salt: str):
        self.key = salt.encode("utf-8")
        self.handle = lru_cache(maxsize=65536)(self._handle)
        self.display_name = lru_cache(maxsize=65536)(self._display_name)

    def _stream(self, kind: str, value: str, length: int) -> bytes:
        """`length` pseudo-random bytes determined by (salt, kind, value)."""
        seed = hmac.new(self.key, f"{kind}\x00{value}".encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        blocks: list[bytes] = []
        while len(blocks) * 32 < length:
            blocks.append(hashlib.sha256(seed + len(blocks).to_bytes(4, "big")).digest())
        return b"".join(blocks)[:length]

    def _handle(self, value: str) -> str:
        length = min(32, max(1, len(value)))
        return "".join(HANDLE_ALPHABET[b % len(HANDLE_ALPHABET)] for b in self._stream("handle", value, length))

    def _display_name(self, value: str) -> str:
        chosen = self._stream("display_name", value, len(value))
        out, start = [], True
        for character, byte in zip(value, chosen, strict=True):
            if character.isspace():
                out.append(" ")
                start = True
                continue
            letter = LETTERS[byte % len(LETTERS)]
            out.append(letter.upper() if start else letter)
            start = False
        return _not_blank("".join(out))

    def message(self, value: str) -> str:
        chosen = self._stream("message", value, len(value))
        out = [
            character if character in "\n\t " else (" " if character.isspace() else LETTERS[byte % len(LETTERS)])
            for character, byte in zip(value, chosen, strict=True)
        ]
        return _not_blank("".join(out))

    def item(self, typed: dict) -> dict:
        """A typed item with its people replaced (only string values of the three fields change)."""
        changed = None
        for name, stand_in in (("user_handle", self.handle), ("user_display_name", self.display_name), ("message", self.message)):
            value = typed.get(name)
            if isinstance(value, dict) and isinstance(value.get("S"), str):
                changed = changed or dict(typed)
                changed[name] = {"S": stand_in(value["S"])}
        return changed or typed


def _not_blank(text: str) -> str:
    """A stand-in for a blank original keeps its length but gets one letter, so the contract holds."""
    if text.strip() or not text:
        return text
    return "x" + text[1:]
