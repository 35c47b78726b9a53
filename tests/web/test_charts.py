"""Charts drawn on the server (web/charts.py): the SVG parses as XML, is an image named by its
title and description, names every category and value in text, escapes what it is given,
draws "No data" rather than dividing by zero, keeps its colours' contrast, and comes with the
table a screen reader reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.dashboard import Count, Dashboard, SchoolSeats, Timeliness, dashboard
from app.principal import Principal
from store.engine import engine_for
from tests.support.reports import YEAR, paramount_year
from web.charts import (
    BACKGROUND,
    LABEL_CHARS,
    SERIES_COLOURS,
    TEXT,
    Chart,
    DataTable,
    Group,
    bar_chart,
    dashboard_charts,
    grouped_bar_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parsed(chart: Chart) -> ET.Element:
    root = ET.fromstring(chart.svg)
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    """What the chart writes on the picture, in order."""
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_a_bar_chart_is_a_named_image_with_every_label_and_value_written() -> None:
    chart = bar_chart("Requests by outcome", [Count("approved", "Approved", 12),
                                              Count("denied", "Denied", 3),
                                              Count("pending", "Pending", 0)])
    root = parsed(chart)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert title.text == "Requests by outcome"
    assert desc.text == "Requests by outcome: Approved 12; Denied 3; Pending 0."
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert texts(root) == ["Approved", "12", "Denied", "3", "Pending", "0"]
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")][1:]  # after the ground
    assert widths[0] > widths[1] > widths[2] == 0  # proportional: the largest is the longest
    assert widths[0] == 4 * widths[1]


def test_the_table_beside_it_holds_the_same_figures() -> None:
    chart = bar_chart("Denial reasons", [Count("no_space", "No space", 2)],
                      label_header="Reason", value_header="Requests")
    assert chart.table == DataTable("Denial reasons", ("Reason", "Requests"),
                                    (("No space", "2"),))


def test_a_school_with_markup_in_its_name_is_written_as_text() -> None:
    name = 'Evil <script>alert("x")</script> & Sons'
    chart = grouped_bar_chart(f"Seats at {name}", [Group(name, (1, 4))],
                              ("filled", "designated"))
    assert "<script>" not in chart.svg
    root = parsed(chart)
    assert texts(root)[0] == name[:LABEL_CHARS - 1] + "\u2026"  # cut on the picture...
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles[0] == f"Seats at {name}"
    assert name in titles  # ...whole in the bar's title, and in the table
    assert root.find(f"{SVG}script") is None and not list(root.iter(f"{SVG}script"))
    assert chart.table.rows == ((name, "1", "4"),)


def test_no_data_says_so_instead_of_dividing_by_zero() -> None:
    for chart in (bar_chart("Denial reasons", []),
                  bar_chart("Denial reasons", [Count("no_space", "No space", 0)]),
                  grouped_bar_chart("Seats", [Group("Norris", (0, None))],
                                    ("filled", "designated"))):
        root = parsed(chart)
        assert texts(root) == ["No data"]
        assert root.find(f"{SVG}desc") is not None
        assert "No data" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    assert bar_chart("Denial reasons", []).table.rows == ()


def test_a_grouped_bar_names_its_series_on_each_bar_not_by_colour_alone() -> None:
    chart = grouped_bar_chart("Seats filled by school",
                              [Group("Norris Elementary School", (2, 8)),
                               Group("Gaines Elementary School", (1, None))],
                              ("filled", "designated"), label_header="School")
    root = parsed(chart)
    assert texts(root) == ["Norris Elementary School", "2 filled", "8 designated",
                           "Gaines Elementary School", "1 filled"]
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect")][1:]
    assert fills == [SERIES_COLOURS[0], SERIES_COLOURS[1], SERIES_COLOURS[0]]
    assert chart.table.headers == ("School", "filled", "designated")
    assert chart.table.rows == (("Norris Elementary School", "2", "8"),
                                ("Gaines Elementary School", "1", ""))


def _luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour ``#rrggbb``."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_keep_their_contrast_against_the_ground() -> None:
    assert contrast(TEXT, BACKGROUND) >= 4.5  # 1.4.3, text
    for colour in SERIES_COLOURS:
        assert contrast(colour, BACKGROUND) >= 3  # 1.4.11, a graphical object
    assert contrast("#777777", BACKGROUND) < 4.5  # the measure tells a light grey apart
    chart = grouped_bar_chart("Seats", [Group("Norris", (2, 8))], ("filled", "designated"))
    used = {r.get("fill") for r in parsed(chart).iter(f"{SVG}rect")} - {BACKGROUND}
    assert used == set(SERIES_COLOURS)


def test_the_dashboards_five_charts_each_parse_and_have_their_table() -> None:
    figures = Dashboard(
        district="paramount", district_name="Paramount Unified School District",
        school_year="2027-2028", requests=3,
        by_stage=(Count("interdistrict.approved", "Interdistrict: approved", 2),
                  Count("interdistrict.denied", "Interdistrict: denied", 1)),
        by_outcome=(Count("approved", "Approved", 2), Count("denied", "Denied", 1)),
        denial_reasons=(),
        decisions=Timeliness(on_time=2, late=1, deemed_denied=0, overdue=0),
        seats=(SchoolSeats("keppel", "Mark Keppel Elementary School", 1, None),),
    )
    charts = dashboard_charts(figures)
    assert len(charts) == 5
    ids = []
    for chart in charts:
        root = parsed(chart)
        title = root.find(f"{SVG}title")
        assert title is not None and title.text == chart.table.caption
        assert title.text.endswith("Paramount Unified School District, 2027-2028")
        ids.append(title.get("id"))
    assert len(set(ids)) == 5  # one page holds them all: their ids differ
    assert texts(parsed(charts[2])) == ["No data"]  # no denial reasons this year
    assert "On time" in texts(parsed(charts[3])) and "Late" in texts(parsed(charts[3]))
    assert texts(parsed(charts[4])) == ["Mark Keppel Elementary School", "1 filled"]


def test_a_filled_stores_dashboard_drawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """From the records store to the picture: Paramount's year of known shape
    (tests/support/reports.py), as the console will draw it."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(data))
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
    engine = engine_for(f"sqlite:///{data / 'records.sqlite3'}")
    paramount_year(engine)
    engine.dispose()
    charts = dashboard_charts(dashboard(Principal("avalos"), "paramount", YEAR))
    outcome, reasons, decisions = (texts(parsed(c)) for c in charts[1:4])
    assert outcome == ["Approved", "2", "Denied", "2", "Pending", "2", "Deemed denied", "1"]
    assert reasons == ["No space", "2", "Overcrowding", "1"]
    assert decisions == ["On time", "3", "Late", "1", "Deemed denied", "1",
                         "Overdue, undecided", "1"]
    assert charts[3].table.rows == (("On time", "3"), ("Late", "1"), ("Deemed denied", "1"),
                                    ("Overdue, undecided", "1"))
