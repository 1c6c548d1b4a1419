"""Deterministic stand-ins for the people in the table, and for the account that holds it.

`Anonymizer(key).item(typed)` returns a typed item with every value that names or
describes a person replaced, consistently, so conversations, inboxes, the order of
messages, item sizes and every access pattern stay as they were:

- `user_handle`: the same length, of a-z and 0-9 (still a handle: 1-32 of a-z, 0-9, _);
- `user_display_name`: the same length in characters; letters, with spaces where the
  original had whitespace, each word capitalised;
- `message`: the same length in characters; line feeds, tabs and spaces stay where they
  were (the shape of the text), every other character becomes a lower-case letter;
- user uuids, wherever they are: `user_uuid`, the owner in a group item's pk
  (`GRP#<uuid>`), a group claim's `user_uuids` (kept sorted), the pair claim's pk
  (`CLAIM#PAIR#<a>#<b>`, sorted again so the pk stays the sorted pair), and the key in a
  migration's `checkpoint`: each becomes a uuid-shaped stand-in (lower-case canonical);
- a lock's `owner` and `host`: stand-ins of the same length.

Kept: `message_group_uuid`, `message_uuid` and group uuids in keys (they name no person),
times and sort keys, numbers, every attribute of any other item.

`description(saved)` replaces, in a saved DescribeTable answer (and `account`/`arn` in
the manifests), the 12-digit account id of every ARN with a stand-in 12-digit account,
and the TableId with a uuid-shaped stand-in.

Each stand-in is derived from HMAC-SHA256(key, kind, value): the same value always gets
the same stand-in, and a different key gives unrelated ones. The key is a secret of the
installation or a team's salt (`ddb.backup.anonymize_secret`); without it, stand-ins cannot be
recomputed from a list of candidate names. `fingerprint` names the key without revealing
it (a resumed export compares it).
"""

import hashlib
import hmac
import json
import re
import uuid
from functools import lru_cache

HANDLE_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
FIELDS = ("user_handle", "user_display_name", "message")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_ARN_ACCOUNT = re.compile(r"(arn:[^:\s\"]*:[^:\s\"]*:[^:\s\"]*:)([0-9]{12})(?=:)")
GROUP_PREFIX, PAIR_PREFIX, LOCK_PREFIX, MIGRATION_PK = "GRP#", "CLAIM#PAIR#", "LOCK#", "MIGRATION"
_FINGERPRINT_LABEL = b"cruddur-ddb anonymization fingerprint v1"


class Anonymizer:
    """Replaces people (handles, names, texts, user uuids) and account ids with deterministic stand-ins."""

    def __init__(self, key: str | bytes):
        self.key = key if isinstance(key, bytes) else key.encode("utf-8")
        self.handle = lru_cache(maxsize=65536)(self._handle)
        self.display_name = lru_cache(maxsize=65536)(self._display_name)
        self.user_uuid = lru_cache(maxsize=65536)(self._user_uuid)

    @property
    def fingerprint(self) -> str:
        """A short name of the key (HMAC of a fixed label): equal for equal keys, and never the key itself."""
        return hmac.new(self.key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]

    def _stream(self, kind: str, value: str, length: int) -> bytes:
        """`length` pseudo-random bytes determined by (key, kind, value)."""
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
        """A message text's stand-in: same length, whitespace where it was, lower-case letters elsewhere."""
        chosen = self._stream("message", value, len(value))
        out = [
            character if character in "\n\t " else (" " if character.isspace() else LETTERS[byte % len(LETTERS)])
            for character, byte in zip(value, chosen, strict=True)
        ]
        return _not_blank("".join(out))

    def _user_uuid(self, value: str) -> str:
        if not _UUID.match(value):  # not a uuid (a damaged item): still never kept
            return self.text(value, "user_uuid")
        return self._uuid("user_uuid", value.lower())

    def _uuid(self, kind: str, value: str) -> str:
        return str(uuid.UUID(bytes=self._stream(kind, value, 16), version=4))

    def text(self, value: str, kind: str = "text") -> str:
        """A stand-in of the same length: letters and digits, with `.`, `-`, `_` and whitespace kept where they were."""
        chosen = self._stream(kind, value, len(value))
        return "".join(
            c if c in ".-_" or c.isspace() else HANDLE_ALPHABET[b % len(HANDLE_ALPHABET)]
            for c, b in zip(value, chosen, strict=True)
        )

    def account(self, value: str) -> str:
        """A 12-digit account id's stand-in: 12 digits."""
        return "".join(DIGITS[b % 10] for b in self._stream("account", value, len(value)))

    def arn(self, value: str) -> str:
        """`value` with the account id of every ARN in it replaced by its stand-in."""
        return _ARN_ACCOUNT.sub(lambda m: m.group(1) + self.account(m.group(2)), value)

    def description(self, saved: dict, account: str | None = None) -> dict:
        """A saved DescribeTable answer (plain JSON) with every ARN's account (and `account` anywhere) and TableId replaced."""
        return {
            k: self._uuid("table_id", v) if k == "TableId" and isinstance(v, str) else self._walk(v, account)
            for k, v in saved.items()
        }

    def _walk(self, value: object, account: str | None) -> object:
        if isinstance(value, dict):
            return self.description(value, account)
        if isinstance(value, list):
            return [self._walk(v, account) for v in value]
        if isinstance(value, str):
            replaced = self.arn(value)
            return replaced.replace(account, self.account(account)) if account else replaced
        return value

    def _pk(self, pk: str) -> str:
        if pk.startswith(GROUP_PREFIX):
            return GROUP_PREFIX + self.user_uuid(pk[len(GROUP_PREFIX) :])
        if pk.startswith(PAIR_PREFIX):
            return PAIR_PREFIX + "#".join(sorted(self.user_uuid(u) for u in pk[len(PAIR_PREFIX) :].split("#")))
        return pk

    def item(self, typed: dict) -> dict:
        """A typed item with its people replaced (see the module's docstring); the input is not changed."""
        changed = dict(typed)
        for name, stand_in in (("user_handle", self.handle), ("user_display_name", self.display_name), ("message", self.message)):
            if _is_s(typed.get(name)):
                changed[name] = {"S": stand_in(typed[name]["S"])}
        if _is_s(typed.get("user_uuid")):
            changed["user_uuid"] = {"S": self.user_uuid(typed["user_uuid"]["S"])}
        uuids = typed.get("user_uuids")
        if isinstance(uuids, dict) and isinstance(uuids.get("L"), list):
            mapped = [self.user_uuid(v["S"]) if _is_s(v) else v for v in uuids["L"]]
            texts = sorted(v for v in mapped if isinstance(v, str))
            changed["user_uuids"] = {"L": [{"S": v} for v in texts] + [v for v in mapped if not isinstance(v, str)]}
        elif isinstance(uuids, dict) and isinstance(uuids.get("SS"), list):
            changed["user_uuids"] = {"SS": sorted(self.user_uuid(v) for v in uuids["SS"] if isinstance(v, str))}
        pk = typed.get("pk", {}).get("S") if _is_s(typed.get("pk")) else None
        if pk is not None:
            changed["pk"] = {"S": self._pk(pk)}
            if pk.startswith(LOCK_PREFIX):
                for name in ("owner", "host"):
                    if _is_s(typed.get(name)):
                        value = typed[name]["S"]
                        changed[name] = {"S": self.user_uuid(value) if _UUID.match(value) else self.text(value, name)}
            if pk == MIGRATION_PK and _is_s(typed.get("checkpoint")):
                changed["checkpoint"] = {"S": self._checkpoint(typed["checkpoint"]["S"])}
        return changed

    def _checkpoint(self, text: str) -> str:
        """A migration's checkpoint (a scan's last key, as DynamoDB JSON text) with the key's people replaced."""
        try:
            key = json.loads(text)
        except ValueError:
            return self.text(text, "checkpoint")
        if not isinstance(key, dict):
            return self.text(text, "checkpoint")
        return json.dumps(self.item(key), sort_keys=True)


def _is_s(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("S"), str)


def _not_blank(text: str) -> str:
    """A stand-in for a blank original keeps its length but gets one letter, so the contract holds."""
    if text.strip() or not text:
        return text
    return "x" + text[1:]
