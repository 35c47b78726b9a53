"""Charts drawn on the server as SVG (docs/cross-cutting.md "Exports and the dashboard"): no
script, no web font, nothing fetched. Each chart comes with the table that goes beside it, so
a screen reader reads the same figures as a table (WCAG 2.1 1.1.1). Pure functions: numbers
in, markup and rows out; the templates put them on the page (the SVG as it is, the table as
a ``<table>`` with its caption and headers).

What makes them accessible: the ``<svg>`` is ``role="img"`` and named by its ``<title>`` and
``<desc>``; every bar carries its label and its value as text, so no figure is told by colour
alone (1.4.1); the bars' colours reach 3:1 against the white ground (1.4.11) and the text
4.5:1 (1.4.3). Every text is escaped: a school named ``<script>`` is drawn as those
characters."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from app.dashboard import Count, Dashboard

WIDTH = 720
LABEL_WIDTH = 290  # the labels' column, right-aligned against the bars
VALUE_WIDTH = 110  # room after the longest bar for its value (and its series' name)
BAR = 22
GAP = 12
TOP = 12
LABEL_CHARS = 34  # a longer label is cut with an ellipsis; its whole text is the bar's title
FONT = 'font-family="system-ui, sans-serif" font-size="14"'
TEXT = "#1a1a1a"  # on white: 17.4:1
BACKGROUND = "#ffffff"
# On white: #1f4e79 8.6:1, #8a4b08 6.7:1, both above 3:1 for a graphical object and 4.5:1 for
# text; they differ in lightness too, and a grouped bar names its series in its own text.
SERIES_COLOURS = ("#1f4e79", "#8a4b08")


@dataclass(frozen=True)
class DataTable:
    """The chart's figures as a table: its caption, column headers and rows (as text)."""

    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    """The SVG (markup to insert as it is) and the table that goes beside it."""

    svg: str
    table: DataTable


@dataclass(frozen=True)
class Group:
    """One category of a grouped chart and its value in each series (None: not applicable,
    drawn as no bar and written as an empty cell)."""

    label: str
    values: tuple[int | None, ...]


def bar_chart(
    title: str, bars: Sequence[Count], description: str = "",
    label_header: str = "Category", value_header: str = "Count", no_data: str = "No data",
) -> Chart:
    """Horizontal bars, one per count, each labelled with its name and its value."""
    groups = [Group(bar.label, (bar.value,)) for bar in bars]
    return grouped_bar_chart(title, groups, (value_header,), description, label_header,
                             no_data)


def grouped_bar_chart(
    title: str, groups: Sequence[Group], series: Sequence[str], description: str = "",
    label_header: str = "Category", no_data: str = "No data",
) -> Chart:
    """Horizontal bars grouped by category, one bar per series (two at most), each with its
    value as text, and its series' name after it when there are two; ``no_data`` is what
    a chart with nothing to draw says, in the page's language."""
    if not 1 <= len(series) <= len(SERIES_COLOURS):
        raise ValueError(f"a chart draws 1 to {len(SERIES_COLOURS)} series, not {len(series)}")
    table = DataTable(
        caption=title,
        headers=(label_header, *series),
        rows=tuple((g.label, *("" if v is None else str(v) for v in g.values)) for g in groups),
    )
    values = [v for g in groups for v in g.values if v is not None]
    most = max(values, default=0)
    chart_id = _identifier(title)
    if most <= 0:  # nothing to scale against: say so rather than draw empty bars
        summary = description or f"{title}: {no_data}."
        return Chart(_no_data(chart_id, title, summary, no_data), table)
    summary = description or _summary(title, groups, series)
    body, height = _bars(groups, series, most)
    svg = _frame(chart_id, title, summary, height, body)
    return Chart(svg, table)


def _bars(groups: Sequence[Group], series: Sequence[str], most: int) -> tuple[list[str], int]:
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    named = len(series) > 1
    parts: list[str] = []
    y = TOP
    for group in groups:
        label = group.label if len(group.label) <= LABEL_CHARS else (
            group.label[: LABEL_CHARS - 1] + "\u2026")
        rows = len(group.values)
        middle = y + (rows * BAR) / 2
        parts.append(f'<g><title>{escape(group.label)}</title>'
                     f'<text x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
                     f'dominant-baseline="middle" fill="{TEXT}">{escape(label)}</text></g>')
        for index, value in enumerate(group.values):
            if value is None:
                continue
            width = round(span * value / most, 1)
            top = y + index * BAR
            words = f"{value} {series[index]}" if named else str(value)
            parts.append(
                f'<g><title>{escape(f"{group.label}, {series[index]}: {value}")}</title>'
                f'<rect x="{LABEL_WIDTH}" y="{top + 2}" width="{width}" height="{BAR - 4}" '
                f'fill="{SERIES_COLOURS[index]}"/>'
                f'<text x="{LABEL_WIDTH + width + 6}" y="{top + BAR / 2:.1f}" '
                f'dominant-baseline="middle" fill="{TEXT}">{escape(words)}</text></g>'
            )
        y += rows * BAR + GAP
    return parts, y


def _frame(chart_id: str, title: str, summary: str, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" {FONT}>'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(summary)}</desc>'
        f'<rect width="{WIDTH}" height="{height}" fill="{BACKGROUND}"/>'
        + "".join(body) + "</svg>"
    )


def _no_data(chart_id: str, title: str, summary: str, words: str) -> str:
    height = 48
    text = (f'<text x="{WIDTH / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle" '
            f'dominant-baseline="middle" fill="{TEXT}">{escape(words)}</text>')
    return _frame(chart_id, title, summary, height, [text])


def _summary(title: str, groups: Sequence[Group], series: Sequence[str]) -> str:
    """The figures in one sentence: what a screen reader says for the picture."""
    def one(group: Group) -> str:
        if len(series) == 1:
            return f"{group.label} {group.values[0]}"
        return f"{group.label} " + ", ".join(
            f"{name} {value}" for name, value in zip(series, group.values, strict=True)
            if value is not None)
    return f"{title}: " + "; ".join(one(g) for g in groups) + "."


def _identifier(title: str) -> str:
    """An id for the chart's title and description, from its title (unique on a page whose
    charts have different titles)."""
    return "chart-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "untitled")


# ---- the dashboard's charts (app/dashboard.py) -------------------------------------------


def _same(text: str) -> str:
    return text


def dashboard_charts(
    figures: Dashboard, gettext: Callable[[str], str] = _same,
    name: Callable[[str, str], str] = lambda key, label: label,
) -> tuple[Chart, ...]:
    """The dashboard's five charts, in the order of the page; ``gettext`` translates their
    words and ``name`` gives each figure's words from its key (web/labels.py)."""
    _ = gettext

    def named(counts: Sequence[Count]) -> tuple[Count, ...]:
        return tuple(Count(c.key, name(c.key, c.label), c.value) for c in counts)

    year = {"year": f"{figures.district_name}, {figures.school_year}"}
    none = _("No data")
    seats = [Group(s.name, (s.filled, s.designated)) for s in figures.seats]
    return (
        bar_chart(_("Requests by stage, %(year)s") % year, named(figures.by_stage),
                  label_header=_("Stage"), value_header=_("Requests"), no_data=none),
        bar_chart(_("Requests by outcome, %(year)s") % year, named(figures.by_outcome),
                  label_header=_("Outcome"), value_header=_("Requests"), no_data=none),
        bar_chart(_("Denial reasons, %(year)s") % year, named(figures.denial_reasons),
                  label_header=_("Reason"), value_header=_("Requests"), no_data=none),
        bar_chart(_("Decisions against their due date, %(year)s") % year,
                  named(figures.decisions.counts()),
                  label_header=_("Decision"), value_header=_("Requests"), no_data=none),
        grouped_bar_chart(_("Seats filled by school, %(year)s") % year, seats,
                          (_("filled"), _("designated")), label_header=_("School"),
                          no_data=none),
    )
