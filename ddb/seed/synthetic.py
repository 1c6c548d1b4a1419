"""Synthetic fixture directories: N messages across M conversations between K users.

The output is an ordinary fixture directory (`users.json`, `conversations/*.json`) that
`ddb.seed.fixtures.load` accepts, so benchmarks and scale tests go through the same contract
as the real fixtures. Everything derives from `seed`: the same arguments write the same
files, byte for byte, and sets of one seed agree on who is who (user i has one uuid, a
pair of users one conversation uuid), so seeding one set over another stays consistent.

- users `u0001`… with generated display names and uuids;
- conversations between distinct pairs of users (never two for one pair), spread so that
  every user takes part about equally;
- messages split as evenly as possible across conversations (each has at least one),
  listed oldest first with `minutes_ago` within the last few weeks, text from a small
  word list (the project's own).
"""

import json
import random
import uuid as uuidlib
from dataclasses import dataclass
from pathlib import Path

from ddb.core.errors import DdbError

MAX_MINUTES_AGO = 5_256_000  # the conversation schema's limit (ten years)

_FIRST = (
    "Ada",
    "Bea",
    "Cal",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hal",
    "Ivy",
    "Jon",
    "Kit",
    "Lou",
    "Max",
    "Nia",
    "Oto",
    "Pia",
    "Quin",
    "Rae",
    "Sol",
    "Tia",
    "Uma",
    "Vic",
    "Wes",
    "Xia",
    "Yul",
    "Zoe",
)
_LAST = (
    "Abbot",
    "Brook",
    "Castell",
    "Dorn",
    "Ekwe",
    "Frost",
    "Gale",
    "Hart",
    "Iver",
    "Juno",
    "Kade",
    "Lund",
    "Marsh",
    "Nolan",
    "Orr",
    "Pike",
    "Quill",
    "Reyes",
    "Stone",
    "Thorn",
    "Usher",
    "Vale",
    "Wren",
    "Yates",
)
_WORDS = (
    "the",
    "a",
    "we",
    "you",
    "I",
    "it",
    "that",
    "this",
    "and",
    "but",
    "so",
    "if",
    "then",
    "maybe",
    "really",
    "meeting",
    "coffee",
    "review",
    "deploy",
    "train",
    "bakery",
    "draft",
    "photos",
    "weekend",
    "plan",
    "tomorrow",
    "tonight",
    "later",
    "soon",
    "again",
    "finally",
    "almost",
    "ready",
    "late",
    "early",
    "done",
    "check",
    "send",
    "bring",
    "fix",
    "merge",
    "call",
    "read",
    "book",
    "lunch",
    "walk",
    "ticket",
    "sprint",
    "garden",
    "recipe",
    "concert",
    "station",
    "table",
    "schema",
    "index",
    "page",
    "cursor",
    "stream",
)
_ENDINGS = (".", ".", ".", "!", "?", "...")


@dataclass(frozen=True)
class SyntheticSet:
    """What `generate` wrote."""

    directory: Path
    users: int
    conversations: int
    messages: int


def _check(messages: int, conversations: int, users: int):
    if users < 2:
        raise DdbError(f"--users must be at least 2 (a conversation is between two users), not {users}")
    pairs = users * (users - 1) // 2
    if not 1 <= conversations <= pairs:
        raise DdbError(
            f"--conversations must be from 1 to {pairs} ({users} users make {pairs} distinct pairs), not {conversations}"
        )
    if messages < conversations:
        raise DdbError(
            f"--messages must be at least --conversations ({conversations}): each conversation needs a message, not {messages}"
        )


_NAMESPACE = uuidlib.UUID("0b7c4be2-52f4-4a4e-9d0c-8f1d2a6f3e55")


def _uuid(seed: int, name: str) -> str:
    """A uuid fixed by the seed and what it names: user i, or the pair (i, j)'s conversation."""
    return str(uuidlib.uuid5(_NAMESPACE, f"synthetic/{seed}/{name}"))


def _pairs(users: int, count: int):
    """`count` distinct pairs (i, j), i != j, dealt round-robin so users take part evenly."""
    seen = set()
    distance = 1
    while True:
        for i in range(users):
            j = (i + distance) % users
            pair = (min(i, j), max(i, j))
            if pair not in seen:
                seen.add(pair)
                yield (i, j)
                if len(seen) == count:
                    return
        distance += 1


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(4, 28))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(_ENDINGS)


def _conversation(rng: random.Random, group: str, between: tuple[str, str], count: int) -> dict:
    most_gap = max(0, min(20, (MAX_MINUTES_AGO - 100_000) // count))
    gaps = [rng.randint(0, most_gap) for _ in range(count)]
    minutes = rng.randint(0, 60 * 24 * 30) + sum(gaps)
    messages = []
    for gap in gaps:
        minutes -= gap
        messages.append({"from": between[rng.getrandbits(1)], "minutes_ago": minutes, "message": _sentence(rng)})
    return {"message_group_uuid": group, "between": list(between), "messages": messages}


def _clear(root: Path, force: bool):
    existing = ([root / "users.json"] if (root / "users.json").exists() else []) + sorted((root / "conversations").glob("*.json"))
    if existing and not force:
        raise DdbError(f"{root}: already holds fixture files: pass --force to replace them, or choose another directory")
    for path in existing:
        path.unlink()


def generate(
    directory: str | Path,
    *,
    messages: int = 20_000,
    conversations: int = 200,
    users: int = 100,
    seed: int = 0,
    force: bool = False,
) -> SyntheticSet:
    """Write a fixture directory of `messages` messages across `conversations` between `users`.

    Refuses (DdbError) to overwrite fixture files already in `directory` unless `force`;
    with `force` it replaces only users.json and conversations/*.json.
    """
    _check(messages, conversations, users)
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise DdbError(f"{root}: is not a directory")
    try:
        return _write(root, messages, conversations, users, seed, force)
    except OSError as exc:
        raise DdbError(f"{exc.filename or root}: cannot write: {exc.strerror}") from None


def _write(root: Path, messages: int, conversations: int, users: int, seed: int, force: bool) -> SyntheticSet:
    rng = random.Random(seed)
    _clear(root, force)
    (root / "conversations").mkdir(parents=True, exist_ok=True)
    width = len(str(users))
    people = [
        {
            "uuid": _uuid(seed, f"user/{i}"),
            "handle": f"u{i:0{width}d}",
            "display_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        }
        for i in range(1, users + 1)
    ]
    (root / "users.json").write_text(json.dumps(people, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    per, extra = divmod(messages, conversations)
    cwidth = max(4, len(str(conversations)))
    for index, (i, j) in enumerate(_pairs(users, conversations)):
        document = _conversation(
            rng, _uuid(seed, f"pair/{min(i, j)}/{max(i, j)}"), (people[i]["handle"], people[j]["handle"]), per + (index < extra)
        )
        path = root / "conversations" / f"c{index:0{cwidth}d}.json"
        path.write_text(json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    return SyntheticSet(root, users, conversations, messages)
