"""A month of traffic priced: on demand and provisioned, the cheaper mode, and the hottest partition.

The traffic comes from a traffic file (`ddb.modeling.traffic`, read with bounds) or from code
(`Traffic`). The formula (README, docs/data-model.md):

    on demand   = H * 3600 * sum(rate * read units) / 1e6 * read price
                + H * 3600 * sum(rate * write units) / 1e6 * write price + storage
    provisioned = H * (ceil(peak * sum(rate * read units)) per table and GSI) * RCU-hour price
                + H * (ceil(peak * sum(rate * write units)) per table and GSI) * WCU-hour price + storage

with H = 730 hours, units the mean per request over the data's runs (`ddb.modeling.cost`). A month
that is not a finite number (traffic built in code past any file's ranges) is InvalidInput.
"""

import math
from dataclasses import asdict, dataclass

from ddb.core.errors import InvalidInput
from ddb.data import capacity, model
from ddb.modeling import cost
from ddb.modeling.traffic import Traffic
from ddb.modeling.traffic import read_traffic as read_traffic

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
class TransferPrices:
    """USD per GB of AWS's own data movement: export to S3 (full; incremental, per GB of changes processed), import from S3."""

    export_gb: float
    incremental_export_gb: float
    import_gb: float
    taken: str
    region: str


def transfer_cost(size_bytes: int, per_gb: float) -> float:
    """The price of moving `size_bytes` at `per_gb` USD a GB (GB of 1024^3 bytes, as storage is counted above)."""
    return max(0, size_bytes) / 1024**3 * per_gb


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


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise InvalidInput(f"the month's {what} is not a finite number: lower the rates or the peak")
    return value


def monthly(costs: list[PatternCost], traffic: Traffic, prices: Prices, stored_gb: float) -> dict:
    """The month's price on demand and provisioned by the formula above, and the cheaper mode."""
    seconds = HOURS_PER_MONTH * 3600
    gb = traffic.storage_gb if traffic.storage_gb is not None else stored_gb
    storage = gb * prices.storage_gb_month
    read_units = sum(c.rate * c.read_units for c in costs) * seconds
    write_units = sum(c.rate * c.write_units for c in costs) * seconds
    on_demand = read_units / 1e6 * prices.read_request_million + write_units / 1e6 * prices.write_request_million + storage

    def provisioned_units(unit: str) -> int:
        peak = _finite(traffic.peak_factor * sum(c.rate * getattr(c, unit) for c in costs), "provisioned capacity")
        return max(1, math.ceil(round(peak, 9)))

    capacity_units = {
        "table_rcu": provisioned_units("table_read_units"),
        "index_rcu": provisioned_units("index_read_units"),
        "table_wcu": provisioned_units("table_write_units"),
        "index_wcu": provisioned_units("index_write_units"),
    }
    rcu = capacity_units["table_rcu"] + capacity_units["index_rcu"]
    wcu = capacity_units["table_wcu"] + capacity_units["index_wcu"]
    provisioned = HOURS_PER_MONTH * (rcu * prices.rcu_hour + wcu * prices.wcu_hour) + storage
    _finite(on_demand, "price on demand")
    _finite(provisioned, "price provisioned")
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
