"""The traffic file of model.cost, read with bounds: what it holds, and what it may not.

The file (YAML) gives requests per second per pattern, by task name:

    patterns: {list-conversations: 50, get-conversation: 200, create-message: 20, create-conversation: 1}
    page_sizes: {list-conversations: 20, get-conversation: 20}   # optional, default 20
    peak_factor: 3      # optional: the peak rate over the average (provisioned capacity and partitions hold the peak)
    hot_share: 0.1      # optional: the share of a pattern's requests that meet one partition key
    storage_gb: 12      # optional: else the data's own size

`stream` (pattern E) runs once per message written into an existing conversation: it
defaults to the create-message rate.

A traffic file is a few lines, so anything far past one is refused before it costs time
or memory, each time as one `InvalidInput` line naming the file and the place:
- at most `MAX_BYTES` are read (one more, to tell that there is more);
- YAML anchors and aliases (`&name`, `*name`) are refused where they stand, so a "billion
  laughs" never expands;
  the document holds at most `MAX_NODES` values, nested at most `MAX_DEPTH` deep;
- a key given twice is refused with its line (YAML would keep the last silently);
- an integer of more than `MAX_DIGITS` characters is never converted (a 5,000-digit one
  would be a ValueError); `1e6` is a number, as in YAML 1.2, not the text YAML 1.1 makes it;
- every number is finite and in its range (`RANGES`), so the month's price is finite;
- a value is shown as a short excerpt (`ddb.core.text.shown`), never whole.
"""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ddb.core.errors import InvalidInput
from ddb.core.text import escaped, shown
from ddb.data import model

MAX_BYTES = 64 * 1024  # docs/traffic.example.yaml is under 1 KB
MAX_NODES = 200  # keys and values; a file that sets every key has about 30
MAX_DEPTH = 4  # the document, a mapping such as `patterns`, a number (or a list, refused naming its key), its items
MAX_DIGITS = 32
MAX_PROBLEM = 80  # characters of a YAML parser's own message

KEYS = ("patterns", "page_sizes", "peak_factor", "hot_share", "storage_gb")
PAGED = ("get-conversation", "list-conversations")
# Where each number must lie: requests per second, items per page, the peak over the average,
# a share of the requests, GB stored.
RANGES = {
    "patterns": (0.0, 1e12),
    "page_sizes": (1.0, 1000.0),
    "peak_factor": (1.0, 1000.0),
    "hot_share": (0.0, 1.0),
    "storage_gb": (0.0, 1e9),
}


@dataclass(frozen=True)
class Traffic:
    """Requests per second per pattern letter, and how the traffic peaks."""

    rates: dict[str, float]
    page_sizes: dict[str, int] = field(default_factory=dict)
    peak_factor: float = 1.0
    hot_share: float = 0.1
    storage_gb: float | None = None

    def scaled(self, factor: float) -> "Traffic":
        return Traffic(
            {k: v * factor for k, v in self.rates.items()}, self.page_sizes, self.peak_factor, self.hot_share, self.storage_gb
        )


class LongNumber:
    """An integer of more digits than any traffic figure, kept unconverted."""

    def __init__(self, digits: int):
        self.digits = digits

    def __repr__(self) -> str:
        return f"a {self.digits}-digit number"


def _loader() -> type:
    """A SafeLoader that refuses aliases, depth, length and duplicate keys, each as InvalidInput naming the place.

    Made when a file is read: PyYAML is imported then, not with the library.
    """
    import yaml

    class TrafficLoader(yaml.SafeLoader):
        def __init__(self, text: str, name: str):
            super().__init__(text)
            self.name, self.depth, self.nodes = name, 0, 0

        def refuse(self, problem: str, mark) -> InvalidInput:  # noqa: ANN001
            return InvalidInput(f"{self.name}: line {mark.line + 1} column {mark.column + 1}: {problem}")

        def compose_node(self, parent, index):  # noqa: ANN001
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise self.refuse("anchors and aliases are not allowed in a traffic file", event.start_mark)
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise self.refuse(f"more than {MAX_NODES} values: a traffic file has about 30", event.start_mark)
            if self.depth >= MAX_DEPTH:
                raise self.refuse("nested deeper than a traffic file goes (a mapping of mappings of numbers)", event.start_mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node, deep=False):  # noqa: ANN001
            if isinstance(node, yaml.MappingNode):
                first: dict = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        before = first.setdefault(key, key_node)
                    except TypeError:  # unhashable: PyYAML's own construct_mapping refuses it below
                        continue
                    if before is not key_node:
                        line = before.start_mark.line + 1
                        raise self.refuse(f"duplicate key {shown(key)} (first on line {line})", key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):  # noqa: ANN001
            if len(node.value) > MAX_DIGITS:
                return LongNumber(len(node.value))
            return super().construct_yaml_int(node)

    TrafficLoader.add_constructor("tag:yaml.org,2002:int", TrafficLoader.construct_yaml_int)
    TrafficLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789")
    )
    return TrafficLoader


def _excerpt(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, float):
        return f"{value:.6g}"
    return shown(value)


def _key(name: object) -> str:
    """A key as a place in an error line: as written if it is a short plain word, else an excerpt."""
    return name if isinstance(name, str) and re.fullmatch(r"[A-Za-z0-9_-]{1,40}", name) else shown(name)


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, LongNumber):
        raise InvalidInput(f"{where}: {value!r} is out of range: from {low:g} to {high:g}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(f"{where}: {_excerpt(value)} is not a number")
    number = float(value)  # at most MAX_DIGITS digits: never an OverflowError
    if not math.isfinite(number):
        raise InvalidInput(f"{where}: {_excerpt(value)} is not a finite number")
    if not low <= number <= high:
        raise InvalidInput(f"{where}: {_excerpt(value)} is out of range: from {low:g} to {high:g}")
    return number


def _document(path: str | Path) -> object:
    import yaml

    name = str(path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{name}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{name}: more than {MAX_BYTES // 1024} KB: a traffic file is a few lines")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{name}: is not UTF-8 text") from None
    loader = None
    try:
        loader = _loader()(text, name)  # PyYAML's reader checks the characters here
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        raise InvalidInput(f"{name}: character {exc.position + 1}: invalid YAML: {exc.reason} (#x{exc.character:04x})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        problem, context = getattr(exc, "problem", None), getattr(exc, "context", None)
        if problem and context and problem.startswith("but "):  # "expected a single document in the stream but found another"
            problem = f"{context} {problem}"
        problem = escaped(str(problem or context or type(exc).__name__))
        problem = problem if len(problem) <= MAX_PROBLEM else problem[:MAX_PROBLEM] + "…"
        raise InvalidInput(f"{name}: {place}invalid YAML: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_traffic(path: str | Path) -> Traffic:
    """The traffic file at `path`, checked whole; InvalidInput names the file and the place of the first problem."""
    name = str(path)
    document = _document(path)
    if not isinstance(document, dict) or not isinstance(document.get("patterns"), dict):
        raise InvalidInput(f"{name}: expected a mapping with `patterns: {{<pattern>: <requests per second>, ...}}`")
    unknown = [key for key in document if key not in KEYS]
    if unknown:
        raise InvalidInput(f"{name}: unknown key {shown(unknown[0])}: the keys are {', '.join(KEYS)}")
    known = {p.name: p.letter for p in model.PATTERNS}
    rates: dict[str, float] = {}
    for pattern, rate in document["patterns"].items():
        if pattern not in known:
            raise InvalidInput(f"{name}: patterns.{_key(pattern)}: unknown pattern: the patterns are {', '.join(known)}")
        rates[known[pattern]] = _number(rate, f"{name}: patterns.{pattern}", *RANGES["patterns"])
    rates.setdefault("E", rates.get("C", 0.0))
    given = document.get("page_sizes") or {}
    if not isinstance(given, dict):
        raise InvalidInput(f"{name}: page_sizes: expected a mapping of {{<pattern>: <items per page>}}")
    pages: dict[str, int] = {}
    for pattern, size in given.items():
        if pattern not in PAGED:
            raise InvalidInput(f"{name}: page_sizes.{_key(pattern)}: only {' and '.join(PAGED)} page")
        number = _number(size, f"{name}: page_sizes.{pattern}", *RANGES["page_sizes"])
        if not number.is_integer():
            raise InvalidInput(f"{name}: page_sizes.{pattern}: {_excerpt(size)} is not a whole number")
        pages[known[pattern]] = int(number)
    storage = document.get("storage_gb")
    return Traffic(
        rates,
        pages,
        _number(document.get("peak_factor", 1.0), f"{name}: peak_factor", *RANGES["peak_factor"]),
        _number(document.get("hot_share", 0.1), f"{name}: hot_share", *RANGES["hot_share"]),
        None if storage is None else _number(storage, f"{name}: storage_gb", *RANGES["storage_gb"]),
    )
