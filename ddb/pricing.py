"""A month of traffic priced: on demand and provisioned, the cheaper mode, and the hottest partition.

The traffic file (YAML) gives requests per second per pattern, by task name:

    patterns: {list-conversations: 50, get-conversation: 200, create-message: 20, create-conversation: 1}
    page_sizes: {list-conversations: 20, get-conversation: 20}   # optional, default 20
    peak_factor: 3      # optional: the peak rate over the average (provisioned capacity and partitions hold the peak)
    hot_share: 0.1      # optional: the share of a pattern's requests that meet one partition key
    storage_gb: 12      # optional: else the data's own size

`stream` (pattern E) runs once per message written into an existing conversation: it
defaults to the create-message rate. The formula (README, docs/data-model.md):

    on demand   = H * 3600 * sum(rate * read units) / 1e6 * read price
                + H * 3600 * sum(rate * write units) / 1e6 * write price + storage
    provisioned = H * (ceil(peak * sum(rate * read units)) per table and GSI) * RCU-hour price
                + H * (ceil(peak * sum(rate * write units)) per table and GSI) * WCU-hour price + storage

with H = 730 hours, units the mean per request over the data's runs (`ddb.cost`).
"""

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import capacity, cost, model
from .errors import InvalidInput

HOURS_PER_MONTH = 730
PARTITION_RCU = 3000  # what one partition serves per second
PARTITION_WCU = 1000
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds per item (and per index entry) for storage


@dataclass(frozen=True)
class Prices:
    """Prices in USD: per million request units, per capacity-unit hour, per GB-month; and when they were taken."""

    read_request_million: float
    write_request_million: float
    rcu_hour: float
    wcu_hour: float
    storage_gb_month: float
    taken: str
    region: str


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


def _number(value: object, where: str, low: float = 0.0, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high or math.isnan(value):
        raise InvalidInput(f"{where}: {value!r} is not a number from {low:g} to {high:g}")
    return float(value)


def read_traffic(path: str | Path) -> Traffic:
    """The traffic file at `path`, checked whole; InvalidInput names the file and the place of the first problem."""
    import yaml

    shown = str(path)
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{shown}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{shown}: is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1} column {mark.column + 1}: " if mark else ""
        raise InvalidInput(f"{shown}: {place}invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("patterns"), dict):
        raise InvalidInput(f"{shown}: expected a mapping with `patterns: {{<pattern>: <requests per second>, ...}}`")
    known = {p.name: p.letter for p in model.PATTERNS}
    unknown = set(document) - {"patterns", "page_sizes", "peak_factor", "hot_share", "storage_gb"}
    if unknown:
        raise InvalidInput(
            f"{shown}: unknown key {sorted(unknown)[0]!r}: the keys are patterns, page_sizes, peak_factor, hot_share, storage_gb"
        )
    rates: dict[str, float] = {}
    for name, rate in document["patterns"].items():
        if name not in known:
            raise InvalidInput(f"{shown}: patterns.{name}: unknown pattern: the patterns are {', '.join(known)}")
        rates[known[name]] = _number(rate, f"{shown}: patterns.{name}")
    rates.setdefault("E", rates.get("C", 0.0))
    pages: dict[str, int] = {}
    for name, size in (document.get("page_sizes") or {}).items():
        if name not in ("get-conversation", "list-conversations"):
            raise InvalidInput(f"{shown}: page_sizes.{name}: only get-conversation and list-conversations page")
        pages[known[name]] = int(_number(size, f"{shown}: page_sizes.{name}", 1, 1000))
    storage = document.get("storage_gb")
    return Traffic(
        rates,
        pages,
        _number(document.get("peak_factor", 1.0), f"{shown}: peak_factor", 1.0),
        _number(document.get("hot_share", 0.1), f"{shown}: hot_share", 0.0, 1.0),
        None if storage is None else _number(storage, f"{shown}: storage_gb"),
    )


@dataclass(frozen=True)
class PatternCost:
    """One pattern's mean units per request on the data, and its rate."""

    letter: str
    name: str
    rate: float
    runs: int
    table_read_units: float
    index_read_units: float
    table_write_units: float
    index_write_units: float

    @property
    def read_units(self) -> float:
        return self.table_read_units + self.index_read_units

    @property
    def write_units(self) -> float:
        return self.table_write_units + self.index_write_units


def pattern_costs(data: cost.Data, traffic: Traffic) -> tuple[list[PatternCost], dict[str, list[list[cost.Request]]]]:
    """Every pattern's mean units per request over the runs the data offers (and those runs)."""
    found, every = [], {}
    for declared in model.PATTERNS:
        runs = cost.runs(declared.letter, data, traffic.page_sizes.get(declared.letter, declared.page_size or 20))
        every[declared.letter] = runs
        count = max(1, len(runs))

        def mean(unit: str, runs: list[list[cost.Request]] = runs, count: int = count) -> float:
            return sum(getattr(r, unit) for run in runs for r in run) / count

        found.append(
            PatternCost(
                declared.letter,
                declared.name,
                traffic.rates.get(declared.letter, 0.0),
                len(runs),
                mean("table_read_units"),
                mean("index_read_units"),
                mean("table_write_units"),
                mean("index_write_units"),
            )
        )
    return found, every


def storage_gb(found: list[dict]) -> float:
    """The table's and the GSI's stored size: item sizes plus 100 bytes each (an index entry again, if in the GSI)."""
    total = sum(capacity.item_size(i) + INDEX_ENTRY_OVERHEAD for i in found)
    total += sum(capacity.item_size(i) + INDEX_ENTRY_OVERHEAD for i in found if "message_group_uuid" in i)
    return total / 1024**3


def monthly(costs: list[PatternCost], traffic: Traffic, prices: Prices, stored_gb: float) -> dict:
    """The month's price on demand and provisioned by the formula above, and the cheaper mode."""
    seconds = HOURS_PER_MONTH * 3600
    gb = traffic.storage_gb if traffic.storage_gb is not None else stored_gb
    storage = gb * prices.storage_gb_month
    read_units = sum(c.rate * c.read_units for c in costs) * seconds
    write_units = sum(c.rate * c.write_units for c in costs) * seconds
    on_demand = read_units / 1e6 * prices.read_request_million + write_units / 1e6 * prices.write_request_million + storage

    def provisioned_units(unit: str) -> int:
        return max(1, math.ceil(round(traffic.peak_factor * sum(c.rate * getattr(c, unit) for c in costs), 9)))

    capacity_units = {
        "table_rcu": provisioned_units("table_read_units"),
        "index_rcu": provisioned_units("index_read_units"),
        "table_wcu": provisioned_units("table_write_units"),
        "index_wcu": provisioned_units("index_write_units"),
    }
    rcu = capacity_units["table_rcu"] + capacity_units["index_rcu"]
    wcu = capacity_units["table_wcu"] + capacity_units["index_wcu"]
    provisioned = HOURS_PER_MONTH * (rcu * prices.rcu_hour + wcu * prices.wcu_hour) + storage
    return {
        "hours": HOURS_PER_MONTH,
        "storage_gb": gb,
        "storage": storage,
        "read_request_units": read_units,
        "write_request_units": write_units,
        "on_demand": on_demand,
        "provisioned_capacity": capacity_units,
        "provisioned": provisioned,
        "cheaper": "on demand" if on_demand <= provisioned else "provisioned",
    }


def hot_partitions(runs: dict[str, list[list[cost.Request]]], traffic: Traffic) -> list[dict]:
    """Per kind of partition, the peak load on the one key that gets `hot_share` of each pattern's requests."""
    load: dict[str, list[float]] = {}
    for letter, pattern_runs in runs.items():
        share = traffic.rates.get(letter, 0.0) * traffic.peak_factor * traffic.hot_share / max(1, len(pattern_runs))
        for run in pattern_runs:
            for request in run:
                if request.operation == "Query":
                    load.setdefault(request.partition, [0.0, 0.0])[0] += share * request.read_units
                factor = capacity.TRANSACTION_FACTOR if request.transaction else 1
                for written in request.written:
                    where = model.item_type(written.item_type).pk.split("<")[0]
                    load.setdefault(where, [0.0, 0.0])[1] += share * factor * written.table_units
                    if written.index_units:
                        load.setdefault("GSI", [0.0, 0.0])[1] += share * written.index_units
    return [
        {
            "partition": where,
            "rcu": rcu,
            "wcu": wcu,
            "rcu_share": rcu / PARTITION_RCU,
            "wcu_share": wcu / PARTITION_WCU,
            "hot": rcu > PARTITION_RCU or wcu > PARTITION_WCU,
        }
        for where, (rcu, wcu) in sorted(load.items())
    ]


def price(found: list[dict], traffic: Traffic, prices: Prices) -> dict:
    """The whole answer of model.cost: per pattern, the month in both modes, the partitions, the prices used."""
    data = cost.Data.of(found)
    costs, runs = pattern_costs(data, traffic)
    return {
        "patterns": [
            {
                **asdict(c),
                "read_units": c.read_units,
                "write_units": c.write_units,
                "on_demand": c.rate
                * HOURS_PER_MONTH
                * 3600
                / 1e6
                * (c.read_units * prices.read_request_million + c.write_units * prices.write_request_million),
            }
            for c in costs
        ],
        "month": monthly(costs, traffic, prices, storage_gb(found)),
        "partitions": hot_partitions(runs, traffic),
        "peak_factor": traffic.peak_factor,
        "hot_share": traffic.hot_share,
        "prices": asdict(prices),
    }
