"""The month's price against traffic, on demand and provisioned, as an SVG line chart (no plotting library).

`write` puts the chart at a path without replacing what is there: the file is created
with O_CREAT|O_EXCL|O_NOFOLLOW, so an existing file, or a symbolic link planted at the
name, is refused (`ChartExists`), never written through. With `replace=True` the chart
goes to a new temporary file beside it (created the same way), renamed over the name:
rename replaces a link rather than following it.
"""

import os
import secrets
from html import escape
from pathlib import Path

from ddb.core.errors import DdbError
from ddb.modeling import cost, pricing

WIDTH, HEIGHT, MARGIN = 640, 360, 60
SCALES = tuple(round(0.25 * step, 2) for step in range(1, 41))  # 0.25x to 10x the traffic file's rates


def points(found: list[dict], traffic: pricing.Traffic, prices: pricing.Prices, scales: tuple[float, ...] = SCALES) -> list[dict]:
    """(scale, on demand, provisioned) for each multiple of the traffic."""
    data = cost.Data.of(found)
    costs, _ = pricing.pattern_costs(data, traffic)
    stored = pricing.storage_gb(found)
    result = []
    for scale in scales:
        scaled = [pricing.PatternCost(**{**c.__dict__, "rate": c.rate * scale}) for c in costs]
        month = pricing.monthly(scaled, traffic.scaled(scale), prices, stored)
        result.append({"scale": scale, "on_demand": month["on_demand"], "provisioned": month["provisioned"]})
    return result


def svg(series: list[dict], title: str) -> str:
    """The chart of `series` (from `points`): x the traffic multiple, y USD per month."""
    top = max(max(p["on_demand"], p["provisioned"]) for p in series) or 1.0
    right = max(p["scale"] for p in series)
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN

    def at(scale: float, value: float) -> str:
        return f"{MARGIN + inner_w * scale / right:.1f},{HEIGHT - MARGIN - inner_h * value / top:.1f}"

    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>',
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>',
    ]
    for step in range(5):
        value = top * step / 4
        y = HEIGHT - MARGIN - inner_h * step / 4
        lines.append(f'<text x="{MARGIN - 6}" y="{y + 4:.1f}" text-anchor="end">${value:,.0f}</text>')
        scale = right * step / 4
        lines.append(
            f'<text x="{MARGIN + inner_w * step / 4:.1f}" y="{HEIGHT - MARGIN + 18}" text-anchor="middle">{scale:g}x</text>'
        )
    for key, colour, label in (("on_demand", "#d62728", "on demand"), ("provisioned", "#1f77b4", "provisioned")):
        path = " ".join(at(p["scale"], p[key]) for p in series)
        lines.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"><title>{label}</title></polyline>'
        )
    lines += [
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 16}" text-anchor="middle">traffic, as a multiple of the traffic file</text>',
        f'<text x="16" y="{HEIGHT / 2}" transform="rotate(-90 16 {HEIGHT / 2})" text-anchor="middle">USD per month</text>',
        f'<text x="{MARGIN + 10}" y="{MARGIN + 4}" fill="#d62728">— on demand</text>',
        f'<text x="{MARGIN + 10}" y="{MARGIN + 20}" fill="#1f77b4">— provisioned</text>',
        "</svg>",
    ]
    return "\n".join(lines) + "\n"


class ChartExists(DdbError):
    """Something (a file, a folder, a link) is already at the chart's path, and it was not to be replaced."""


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, _NEW_FILE, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write(path: str | Path, text: str, replace: bool = False) -> None:
    """Write `text` to a new file at `path` (its folder made if missing); with `replace`, over whatever is there."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not replace:
            try:
                _write_new(path, text.encode("utf-8"))
            except FileExistsError:
                raise ChartExists(f"{path} exists") from None
            return
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        _write_new(temporary, text.encode("utf-8"))
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DdbError(f"cannot write {path}: {exc.strerror}") from None
