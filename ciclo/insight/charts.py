"""Charts drawn on the server as SVG: this module works out the geometry as plain data, the templates
(insight/_bars.html, _lines.html, _heat.html) draw it, escaped like any other page. No script, no CDN:
a viewBox that scales to a phone's width and prints as it is shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import formats

WIDTH = 640
LABEL_WIDTH = 190
BAR_HEIGHT = 22
BAR_GAP = 8
LINE_HEIGHT = 220
PAD = 30
SERIES = ("primary", "danger", "success", "warning")


def _fmt(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return formats.number_format(value, 1, use_l10n=True)
    return formats.number_format(int(value), use_l10n=True, force_grouping=True)


@dataclass
class Bar:
    label: str
    value: float
    text: str
    y: float
    width: float
    series: str = "primary"


@dataclass
class BarChart:
    title: str
    bars: list[Bar]
    height: float
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT
    legend: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any(b.value for b in self.bars)


def bars(title: str, items: Sequence[tuple[str, float | int | None]], *, suffix: str = "") -> BarChart:
    """Horizontal bars, one per (label, value), longest at the greatest value."""
    return grouped_bars(title, [(label, [value]) for label, value in items], [], suffix=suffix)


def grouped_bars(
    title: str,
    items: Sequence[tuple[str, Sequence[float | int | None]]],
    series: Sequence[str],
    *,
    suffix: str = "",
) -> BarChart:
    """Bars in groups: per label, one bar per series (two periods compared, say)."""
    top = max((float(v or 0) for _label, values in items for v in values), default=0.0) or 1.0
    room = WIDTH - LABEL_WIDTH - 60
    drawn: list[Bar] = []
    y = 0.0
    for label, values in items:
        for i, value in enumerate(values):
            v = float(value or 0)
            drawn.append(
                Bar(
                    label if i == 0 else "",
                    v,
                    _fmt(value) + (suffix if value is not None else ""),
                    y,
                    round(room * v / top, 1),
                    SERIES[i % len(SERIES)],
                )
            )
            y += BAR_HEIGHT + (BAR_GAP if i == len(values) - 1 else 2)
    legend = [(name, SERIES[i % len(SERIES)]) for i, name in enumerate(series)] if len(series) > 1 else []
    return BarChart(title, drawn, max(y, BAR_HEIGHT), legend=legend)


@dataclass
class Line:
    name: str
    series: str
    points: str  # "x,y x,y …" for <polyline>
    dots: list[tuple[float, float, str]]


@dataclass
class LineChart:
    title: str
    lines: list[Line]
    x_labels: list[tuple[float, str]]
    y_labels: list[tuple[float, str]]
    width: int = WIDTH
    height: int = LINE_HEIGHT
    pad: int = PAD

    @property
    def empty(self) -> bool:
        return not self.lines or all(not line.dots for line in self.lines)


def lines(title: str, x: Sequence[str], series: Sequence[tuple[str, Sequence[float | int]]]) -> LineChart:
    """One line per (name, values), the values over the labels of `x`."""
    top = max((float(v) for _name, values in series for v in values), default=0.0) or 1.0
    inner_w = WIDTH - 2 * PAD
    inner_h = LINE_HEIGHT - 2 * PAD
    step = inner_w / max(1, len(x) - 1)

    def at(i: int, v: float) -> tuple[float, float]:
        return round(PAD + i * step, 1), round(PAD + inner_h - inner_h * v / top, 1)

    drawn = []
    for n, (name, values) in enumerate(series):
        dots = [(*at(i, float(v)), f"{x[i]}: {_fmt(v)}") for i, v in enumerate(values)]
        drawn.append(Line(name, SERIES[n % len(SERIES)], " ".join(f"{a},{b}" for a, b, _t in dots), dots))
    every = max(1, len(x) // 6)
    x_labels = [(at(i, 0)[0], label) for i, label in enumerate(x) if i % every == 0]
    y_labels = [(at(0, v)[1], _fmt(v)) for v in (0, top / 2, top)]
    return LineChart(title, drawn, x_labels, y_labels)


@dataclass
class HeatCell:
    x: float
    value: int
    opacity: float


@dataclass
class HeatRow:
    label: str
    y: float
    cells: list[HeatCell]


@dataclass
class HeatStrip:
    title: str
    columns: list[tuple[float, str]]
    rows: list[HeatRow]
    height: float
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    cell_width: float = 0
    cell_height: int = 26

    @property
    def empty(self) -> bool:
        return not any(c.value for r in self.rows for c in r.cells)


def heat_strip(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Sequence[int]]]) -> HeatStrip:
    """A row of cells per label, each darker the more it holds (the aging of each phase)."""
    top = max((v for _label, values in rows for v in values), default=0) or 1
    cell_w = (WIDTH - LABEL_WIDTH) / max(1, len(columns))
    heat_rows = []
    for r, (label, values) in enumerate(rows):
        y = 20 + r * 30
        heat_rows.append(
            HeatRow(
                label,
                y,
                [
                    HeatCell(round(LABEL_WIDTH + i * cell_w, 1), v, round(0.08 + 0.92 * v / top, 2) if v else 0)
                    for i, v in enumerate(values)
                ],
            )
        )
    cols = [(round(LABEL_WIDTH + i * cell_w + cell_w / 2, 1), label) for i, label in enumerate(columns)]
    return HeatStrip(title, cols, heat_rows, 20 + 30 * len(rows), cell_width=round(cell_w - 2, 1))
