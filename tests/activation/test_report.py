"""The segment report: one self-contained page whose sections are all there and whose figures
add up to what the warehouse holds, read the way a person reads it, in a real browser."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from activation.report import MAP_SAMPLE, build_report

CHROMIUM = Path("/usr/bin/chromium")
SECTION_IDS = ["sizes", "profiles", "rfm", "cluster-map", "lift", "transitions", "drift", "quality"]

# A developer without Debian's chromium skips the browser tests; CI has it, and there a missing
# browser must fail the run, not skip it silently.
needs_chromium = pytest.mark.skipif(
    not os.environ.get("CI") and not CHROMIUM.exists(),
    reason=f"no chromium at {CHROMIUM} (apt-get install chromium); required in CI",
)


def _section_ids(page_html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', page_html)


def test_missing_tables_leave_a_message_not_an_error(tmp_path: Path) -> None:
    """A warehouse with published segments and nothing else (and a name that is HTML) still
    gets every section: the ones without their table say which table is missing."""
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema segments")
        con.execute(
            """
            create table segments.customer_segments as
            select * from (values
                ('p1', 1, '<script>alert(1)</script> & co', 0.5, 'v1', date '2026-11-25'),
                ('p2', 1, '<script>alert(1)</script> & co', 0.7, 'v1', date '2026-11-25'),
                ('p3', 0, 'Not identified', null, 'v1', date '2026-11-25')
            ) as t(person_id, segment_id, segment_name, distance, model_version, as_of_date)
            """
        )
    before = warehouse.stat().st_mtime_ns
    report = tmp_path / "out" / "report.html"

    assert build_report(warehouse, report, tmp_path / "models") == report
    page = report.read_text(encoding="utf-8")

    assert _section_ids(page) == SECTION_IDS
    for table in [
        "segments.segment_profiles",
        "marts.customer_rfm",
        "marts.customer_features",
        "segments.model_runs",
        "segments.segment_transitions",
        "segments.feature_drift",
        "quality.expectation_results",
    ]:
        assert f"not available yet: {table} missing" in page
    assert 'data-people="2"' in page and 'data-people="1"' in page  # the sizes still drawn
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert warehouse.stat().st_mtime_ns == before  # read-only: the warehouse is untouched
    assert [p.name for p in report.parent.iterdir()] == ["report.html"]  # no partial left

    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table segments.customer_segments")
    build_report(warehouse, report, tmp_path / "models")  # rebuilt over the old page
    page = report.read_text(encoding="utf-8")
    assert _section_ids(page) == SECTION_IDS
    assert "No segments published yet" in page
    assert "not available yet: segments.customer_segments missing" in page


@pytest.fixture(scope="module")
def report(activated_settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    return build_report(
        activated_settings.warehouse_path, folder / "index.html", activated_settings.models_dir
    )


@pytest.fixture(scope="module")
def browser_page(report: Path) -> Iterator[tuple[object, list[str], list[str]]]:
    """The report open in chromium, with the console errors, page errors and any request for
    something outside the file that it made while loading."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "data:")) else outside.append(r.url),
        )
        page.goto(report.as_uri(), wait_until="load")
        yield page, errors, outside
        browser.close()


@pytest.fixture(scope="module")
def warehouse(activated_settings) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(activated_settings.warehouse_path), read_only=True) as con:
        yield con


@needs_chromium
def test_page_loads_cleanly_and_needs_nothing_outside(browser_page) -> None:
    page, errors, outside = browser_page
    assert errors == []
    assert outside == []  # no CDN, font or image: the page is the file
    assert page.locator("script").count() == 0


@needs_chromium
def test_every_section_is_there_and_shows_something(browser_page) -> None:
    page, _, _ = browser_page
    assert page.eval_on_selector_all("main > section", "els => els.map(e => e.id)") == SECTION_IDS
    for section_id in SECTION_IDS:
        section = page.locator(f"section#{section_id}")
        assert section.is_visible(), section_id
        assert section.locator("h2").inner_text().strip(), section_id
        heading = section.locator("h2").inner_text()
        assert len(section.inner_text().strip()) > len(heading) + 20, section_id
        # A full warehouse has every table the report reads.
        assert section.locator(".missing").count() == 0, section.inner_text()
    header = page.locator("#as-of")
    assert header.get_attribute("data-as-of") and header.get_attribute("data-model-version")


@needs_chromium
def test_sizes_list_every_segment_and_add_up(browser_page, warehouse) -> None:
    page, _, _ = browser_page
    expected = {
        name: people
        for name, people in warehouse.execute(
            "select segment_name, count(*) from segments.customer_segments group by all"
        ).fetchall()
    }
    [(rows,)] = warehouse.execute("select count(*) from segments.customer_segments").fetchall()
    bars = page.eval_on_selector_all(
        "#sizes g.bar", "els => els.map(e => [e.dataset.segmentName, Number(e.dataset.people)])"
    )
    assert {name: people for name, people in bars} == expected
    assert sum(people for _, people in bars) == rows
    sizes = page.locator("#sizes")
    for name in expected:
        assert sizes.locator("svg text", has_text=name).first.is_visible(), name


@needs_chromium
def test_cluster_map_draws_its_sample_with_the_saved_model(browser_page, warehouse) -> None:
    page, _, _ = browser_page
    [(clustered,)] = warehouse.execute(
        """
        select count(*) from segments.customer_segments as segments
        join marts.customer_features as features
            on features.person_id = segments.person_id
            and features.as_of_date = segments.as_of_date
        where segments.segment_id <> 0
        """
    ).fetchall()
    cluster_map = page.locator("#cluster-map")
    sample = int(cluster_map.locator("figure").get_attribute("data-sample"))
    assert sample == min(MAP_SAMPLE, clustered)
    assert cluster_map.locator("svg circle").count() == sample
    assert f"A sample of {sample:,}" in cluster_map.inner_text()
    assert "own view of them" in cluster_map.inner_text()  # projected with the saved model


@needs_chromium
def test_rfm_grid_adds_up_to_the_scored_buyers(browser_page, warehouse) -> None:
    page, _, _ = browser_page
    [(scored, everyone)] = warehouse.execute(
        """
        select count(*) filter (where frequency > 0 and r_score is not null
                                and f_score is not null),
               count(*)
        from marts.customer_rfm
        """
    ).fetchall()
    cells = page.eval_on_selector_all(
        "#rfm g.cell", "els => els.map(e => [e.dataset.r, e.dataset.f, Number(e.dataset.people)])"
    )
    assert len(cells) == 25 and len({(r, f) for r, f, _ in cells}) == 25
    assert sum(people for _, _, people in cells) == scored
    figure = page.locator("#rfm figure")
    assert (
        int(figure.get_attribute("data-scored")) + int(figure.get_attribute("data-unscored"))
        == everyone
    )
