"""The `model.*` tasks: the data model as a document, as a NoSQL Workbench model, and its monthly price."""

from invoke import task

from .exits import reports_errors
from .flags import PROD, target_flags
from .output import print_json, status_line
from .targeting import config, project_path


def _fixture_items(c):
    from ddb.seed import fixtures, stamping

    return stamping.sample_items(fixtures.load(project_path(config(c).fixtures)))


def _write(path, text):
    from pathlib import Path

    from ddb.core.errors import DdbError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DdbError(f"cannot write {path}: {exc.strerror}") from None


@task(help={"check": "write nothing; exit 1 if docs/data-model.md is not what the declarations give"})
@reports_errors
def doc(c, check=False):
    """Write docs/data-model.md from the declarations and the fixtures."""
    from ddb.modeling import document as model_doc
    from ddb.seed import fixtures

    text = model_doc.render(fixtures.load(project_path(config(c).fixtures)), config(c).table)
    path = project_path(model_doc.DOC_PATH)
    if check:
        model_doc.check(path, text)
        status_line(f"{model_doc.DOC_PATH} is up to date")
        return
    _write(path, text)
    status_line(f"wrote {model_doc.DOC_PATH}")


@task(help={"out": "the file to write (e.g. cruddur-messages.workbench.json)"})
@reports_errors
def workbench(c, out):
    """Write a NoSQL Workbench data model (format 3.0) with the fixture items."""
    import json

    from ddb.modeling import workbench as nosql_workbench

    model = nosql_workbench.workbench_model(config(c).table, _fixture_items(c), config(c).billing)
    _write(out, json.dumps(model, indent=2, ensure_ascii=False) + "\n")
    status_line(
        f"wrote {out}: {len(model['DataModel'][0]['TableData'])} items, {len(model['DataModel'][0]['TableFacets'])} facets"
    )


# The highest price model.cost takes from the config: far above any DynamoDB price, and low
# enough that a month at the traffic file's highest rates stays a finite number.
MAX_PRICE = 1e6


def _prices(c):
    import math

    from ddb.core.errors import InvalidInput
    from ddb.core.text import shown
    from ddb.modeling import pricing

    given = config(c).prices
    values = {}
    for name in ("read_request_million", "write_request_million", "rcu_hour", "wcu_hour", "storage_gb_month"):
        try:
            values[name] = float(given[name])
        except (KeyError, TypeError, ValueError):
            values[name] = math.nan
        if not 0 <= values[name] <= MAX_PRICE:  # NaN and inf too
            raise InvalidInput(f"ddb.prices.{name} must be a price in USD from 0 to {MAX_PRICE:g}, not {shown(given.get(name))}")
    return pricing.Prices(**values, taken=str(given.get("taken", "?")), region=str(given.get("region", "?")))


@target_flags(
    traffic="YAML file of requests per second per pattern (see docs/traffic.example.yaml)",
    from_fixtures="measure item sizes on the fixtures instead of the table's items",
    chart="also write the month's cost against traffic, on demand vs provisioned, as an SVG image (a new file)",
    force="with --chart: replace the file if it exists (a link at that name is replaced, never followed)",
    prod=PROD + "; reads only",
)
@reports_errors
def cost(c, traffic, from_fixtures=False, chart=None, force=False, json_=False, prod=False, endpoint_url=None):
    """Price a month of traffic: units per pattern, on demand vs provisioned, hot partitions."""
    from ddb.core.errors import DdbError
    from ddb.modeling import chart as cost_chart
    from ddb.modeling import pricing
    from ddb.modeling import traffic as traffic_file

    from .cost_view import cost_lines

    prices = _prices(c)
    wanted = traffic_file.read_traffic(traffic)
    if from_fixtures:
        found = _fixture_items(c)
    else:
        from ddb.bulk.scan import scan_items

        from .targeting import make_client, resolve_target

        target = resolve_target(c, prod, endpoint_url)
        found = list(scan_items(make_client(target), target.table))
    answer = pricing.price(found, wanted, prices)
    if chart:
        drawn = cost_chart.svg(cost_chart.points(found, wanted, prices), f"cruddur-messages: a month at 0.25x to 10x {traffic}")
        try:
            cost_chart.write(chart, drawn, replace=force)
        except cost_chart.ChartExists as exc:
            raise DdbError(f"{exc}: give --force to replace it") from None
    if json_:
        print_json(answer)
    else:
        import sys

        sys.stdout.write("\n".join(cost_lines(answer)) + "\n")
    if chart:
        status_line(f"wrote {chart}")
