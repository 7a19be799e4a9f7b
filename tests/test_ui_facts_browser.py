"""The Số liệu tab and the report overview in a real browser (Debian's Chromium driven by Playwright) against
the served chat over the seed index. What the page shows is checked against `assistant facts --csv` run on
the same index, and every quote against the report text at its offsets.

Screenshots are saved in tests/artifacts/.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys

import pytest

from . import test_ui_browser
from .conftest import LAI_CHAU, ROOT

pytestmark = pytest.mark.slow

ARTIFACTS = test_ui_browser.ARTIFACTS
page = test_ui_browser.page  # the chat's browser page fixture; module-scoped, so this module gets its own

# 14 figures, among them 146.205, "trên 500" and "trên 99,6%": sorting strings or reading "146.205" as a
# decimal would misorder them
SUBJECT, PROVINCE, YEAR = "lượt", "Trà Vinh", "2023"
ROWS_JS = """() => [...document.querySelectorAll('#facts-table [role=row][data-index]')]
    .sort((a, b) => a.dataset.index - b.dataset.index)
    .map(r => [...r.querySelectorAll('[role=gridcell]')].map(c => c.innerText.trim()))"""
# the table's columns (ui.render.FACT_HEADERS)
PROVINCE_COL, YEAR_COL, VALUE_COL, QUOTE_COL, FILE_COL, START_COL, END_COL = 0, 1, 2, 5, 6, 7, 8


def cli_csv(settings, *args: str) -> str:
    """`assistant facts ... --csv` on the served index, as bytes decoded (the CSV's own line ends kept)."""
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "facts", *args, "--csv", "--index", str(settings.index)],
        capture_output=True,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr.decode()
    return out.stdout.decode("utf-8")


def parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def table(page) -> list[list[str]]:
    """The table's rows as shown, in display order."""
    return page.evaluate(ROWS_JS)


def wait_count(page, start: str) -> None:
    page.wait_for_function(
        "([t]) => document.querySelector('#facts-count')?.innerText.trim().startsWith(t)", arg=[start], timeout=60000
    )


def pick(page, elem_id: str, option: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.click()
    # Options are looked up in this dropdown's own list: the list of the dropdown picked just before may
    # still be open (Gradio 6.31 closes it late), and its "Tất cả" is a different option.
    listbox = box.get_attribute("aria-controls")
    scope = page.locator(f"[id='{listbox}']") if listbox else page
    scope.get_by_role("option", name=option, exact=True).click()


def vn_value(shown: str) -> float:
    """The number inside a figure as shown ("trên 99,6%" -> 99.6, "146.205" -> 146205)."""
    number = re.search(r"\d[\d.,]*", shown).group()
    return float(number.replace(".", "").replace(",", "."))


def sort_values(page, direction: str) -> list[float]:
    """Sort by the Số liệu column from its header menu; returns the column as shown, in display order."""
    header = page.locator("#facts-table [data-testid=header-2]")
    header.hover()
    header.locator("button[aria-label='Open cell menu']").click()
    page.get_by_text(f"Sort {direction}", exact=True).click()
    page.locator(f"#facts-table [aria-label='Sorted {direction}']").wait_for(timeout=10000)
    return [vn_value(row[VALUE_COL]) for row in table(page)]


def documents_by_file(seed_documents) -> dict:
    return {d.file: d for d in seed_documents}


def test_filter_by_subject_province_and_year(page, served_app):
    _, settings = served_app
    page.get_by_role("tab", name="Số liệu").click()
    every = parse(cli_csv(settings))
    wait_count(page, f"{len(every)} số liệu")
    page.locator("#facts-subject textarea").fill(SUBJECT)
    page.locator("#facts-subject textarea").press("Enter")
    pick(page, "facts-province", PROVINCE)
    pick(page, "facts-year", "2020")
    wait_count(page, "Không có số liệu phù hợp.")
    assert table(page) == [] and page.locator("#facts-csv").is_disabled()

    pick(page, "facts-year", YEAR)
    expected = parse(cli_csv(settings, SUBJECT, "--province", PROVINCE, "--year", YEAR))
    assert len(expected) >= 5  # enough rows for sorting to mean something
    wait_count(page, f"{len(expected)} số liệu trong 1 báo cáo")
    rows = table(page)
    assert {(r[PROVINCE_COL], r[YEAR_COL]) for r in rows} == {(PROVINCE, YEAR)}
    shown = sorted((r[FILE_COL], int(r[START_COL]), int(r[END_COL]), vn_value(r[VALUE_COL])) for r in rows)
    wanted = sorted((e["file"], int(e["start"]), int(e["end"]), float(e["value"])) for e in expected)
    assert shown == wanted
    # figures as the report writes them: Vietnamese separators, with their qualifier and percent sign
    assert {"146.205", "42.128", "trên 500", "trên 99,6%"} <= {r[VALUE_COL] for r in rows}
    page.screenshot(path=str(ARTIFACTS / "facts-1-filtered.png"), full_page=True)


def test_sort_the_table_by_the_figures(page):
    ascending = sort_values(page, "ascending")
    assert ascending == sorted(ascending) and len(set(ascending)) > 2
    descending = sort_values(page, "descending")
    assert descending == sorted(ascending, reverse=True) and descending[0] == 146205


def test_a_row_opens_its_quote_highlighted_in_the_report(page, seed_documents):
    row = table(page)[0]  # the largest figure, after the sort above
    page.locator("#facts-table [role=row][data-index='0'] [role=gridcell]").first.click()
    mark = page.locator("#facts-quote mark.quote")
    mark.wait_for(timeout=30000)
    document = documents_by_file(seed_documents)[row[FILE_COL]]
    start, end = int(row[START_COL]), int(row[END_COL])
    assert mark.inner_text() == document.text[start:end] == row[QUOTE_COL]
    assert mark.locator("b.answer-span").inner_text() == row[VALUE_COL] == "146.205"
    panel = page.locator("#facts-quote").inner_text()
    assert f"ký tự {start}–{end}" in panel and document.title in panel
    assert document.text[max(0, start - 30) : start].strip() in panel  # shown inside the text around it
    page.screenshot(path=str(ARTIFACTS / "facts-2-quote.png"), full_page=True)


def test_the_csv_download_holds_the_filtered_rows(page, served_app, seed_documents):
    _, settings = served_app
    with page.expect_download(timeout=30000) as info:
        page.locator("#facts-csv").click()
    download = info.value
    assert download.suggested_filename == "so-lieu.csv"
    with open(download.path(), "rb") as fh:
        raw = fh.read()
    assert raw.startswith("\ufeff".encode())  # spreadsheet programs read it as UTF-8
    text = raw.decode("utf-8-sig")
    assert text == cli_csv(settings, SUBJECT, "--province", PROVINCE, "--year", YEAR)
    rows = parse(text)
    documents = documents_by_file(seed_documents)
    assert rows and len(rows) == len(table(page))
    for r in rows:
        assert (r["province"], r["year"]) == (PROVINCE, YEAR)
        assert float(r["value"]) > 0
        assert documents[r["file"]].text[int(r["start"]) : int(r["end"])] == r["quote"]
    assert max(float(r["value"]) for r in rows) == 146205


def bar_tooltip(page, bar) -> str:
    bar.hover()
    tip = page.locator("#vg-tooltip-element")
    tip.wait_for(state="visible", timeout=10000)
    return tip.inner_text()


def test_the_chart_compares_one_subject_across_provinces(page, served_app):
    _, settings = served_app
    page.locator("#facts-subject textarea").fill("lớp")
    pick(page, "facts-year", "Tất cả")
    pick(page, "facts-province", "Tất cả")
    every = parse(cli_csv(settings, "lớp"))
    wait_count(page, f"{len(every)} số liệu")
    assert page.locator("#facts-series input").input_value() == "lớp"
    # the oracle: the largest count of "lớp" in each province, from the CLI's rows
    largest: dict[str, float] = {}
    for r in every:
        if r["unit"].lower() == "lớp":
            largest[r["province"]] = max(largest.get(r["province"], 0), float(r["value"]))
    # (a report another test uploads may still be there: the seed provinces are checked by name)
    assert {p: largest.get(p) for p in ("Lai Châu", "Trà Vinh")} == {"Lai Châu": 211, "Trà Vinh": 11}
    bars = page.locator("#facts-chart svg .mark-rect path")
    bars.first.wait_for(timeout=30000)
    assert bars.count() == len(largest)
    chart = page.locator("#facts-chart").inner_text()
    assert "lớp: số lớn nhất của mỗi tỉnh/thành" in chart and all(p in chart for p in largest)
    for i in range(bars.count()):
        tip = bar_tooltip(page, bars.nth(i))
        province = next(p for p in largest if p in tip)
        assert re.search(rf"\b{int(largest[province])}\b", tip)
    page.screenshot(path=str(ARTIFACTS / "facts-3-chart.png"), full_page=True)


def test_the_report_overview_shows_figures_and_people_with_their_quotes(page, served_app, seed_documents):
    _, settings = served_app
    page.get_by_role("tab", name="Báo cáo").click()
    page.locator("#overview-report input").click()
    page.get_by_role("option", name=re.compile(re.escape(LAI_CHAU))).click()
    page.wait_for_function(
        "() => document.querySelector('#overview')?.innerText.includes('Người được nêu tên')", timeout=30000
    )
    overview = page.locator("#overview")
    figures = parse(cli_csv(settings, "--province", "Lai Châu"))
    assert f"Số liệu chính ({len(figures)})" in overview.inner_text()
    assert "Lê Văn Lương" in overview.inner_text() and "211" in overview.inner_text()
    document = documents_by_file(seed_documents)[LAI_CHAU]
    cards = overview.locator(".source")
    assert cards.count() >= len({(f["start"], f["end"]) for f in figures})
    for i in range(cards.count()):
        card = cards.nth(i)
        start, end = map(int, re.search(r"ký tự (\d+)–(\d+)", card.inner_text()).groups())
        assert card.locator("mark.quote").inner_text() == document.text[start:end]
    page.screenshot(path=str(ARTIFACTS / "facts-4-overview.png"), full_page=True)


def test_the_facts_pages_made_no_outside_requests(page):
    assert page.outside_requests == []
