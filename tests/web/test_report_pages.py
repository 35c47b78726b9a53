"""The dashboard and the exports in the console (in process): the charts with their tables
in the person's language, the CSV downloads for who may export, and nothing of another
district's."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support.console import PARAMOUNT_ID, signed_in, use_own_store, write_requests

NGUYEN, LACOE = "nguyen@paramount.example.org", "appeals@lacoe.example.org"
YEAR = "2027-2028"


@pytest.fixture(autouse=True)
def own_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_own_store(monkeypatch, tmp_path)
    write_requests()


def test_the_dashboard_draws_each_chart_with_its_table() -> None:
    with signed_in(NGUYEN) as http:
        page = http.get(f"/dashboard?district=paramount&year={YEAR}")
        assert page.status_code == 200
        html = page.text
        assert html.count("<svg") == 5 and html.count("<table>") == 5
        assert "Requests by stage, Paramount Unified School District, 2027-2028" in html
        assert "Interdistrict: Under review" in html  # the figure's words from its key
        svg = html[html.index("<svg"):html.index("</svg>") + len("</svg>")]
        assert ET.fromstring(svg).get("role") == "img"
        spanish = http.get(f"/dashboard?district=paramount&year={YEAR}",
                           headers={"Accept-Language": "es"}).text
        assert "Solicitudes por etapa" in spanish and "Interdistrital: " in spanish


def test_a_year_not_of_the_form_or_another_district_is_refused() -> None:
    with signed_in(NGUYEN) as http:
        assert http.get("/dashboard?district=paramount&year=2027").status_code == 400
        assert http.get(f"/dashboard?district=millard&year={YEAR}").status_code == 404
        assert http.get(f"/exports/requests.csv?district=millard&year={YEAR}").status_code == 404
        assert http.get(f"/exports/secrets.csv?district=paramount&year={YEAR}").status_code == 404


def test_the_requests_export_downloads_as_csv_for_a_director() -> None:
    with signed_in(NGUYEN) as http:
        got = http.get(f"/exports/requests.csv?district=paramount&year={YEAR}")
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/csv")
        assert got.headers["content-disposition"].startswith("attachment;")
        rows = list(csv.DictReader(io.StringIO(got.text)))
        assert [r["request_id"] for r in rows] == [PARAMOUNT_ID]


def test_the_county_office_may_not_export_a_districts_students() -> None:
    with signed_in(LACOE) as http:
        assert http.get("/exports").status_code == 200
        refused = http.get(f"/exports/requests.csv?district=paramount&year={YEAR}")
        assert refused.status_code == 403 and "student" not in refused.headers["content-type"]
