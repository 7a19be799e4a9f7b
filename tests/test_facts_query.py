"""Browsing the facts table (assistant.facts_query) and showing it (the Số liệu tab's pure helpers): literal
records where the rule is the point, a FactStore written from the seed reports where the data is."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from assistant.facts import FactStore, Person, Quantity, extract_people, extract_quantities
from assistant.facts_query import (
    QUANTITY_COLUMNS,
    amount,
    chart_series,
    csv_text,
    facets,
    report_events,
    report_facts,
    series_bars,
    vn_number,
)
from assistant.records import Document
from ui.facts_view import chart_frame, write_csv
from ui.render import fact_row_key, render_fact, render_facts_count, render_facts_table, render_overview

from .conftest import LAI_CHAU


def _q(province: str, subject: str, value: float, unit: str | None = None, qualifier: str | None = None) -> Quantity:
    number = vn_number(value) + ("%" if unit == "%" else "")
    quote = f"đã mở {number} {subject}"
    unit = unit or subject.split()[0]
    return Quantity("d-" + province, f"{province}.txt", province, 2023, subject, value, unit, qualifier, None,
                    number, quote, 10, 10 + len(quote))  # fmt: skip


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory, seed_documents):
    """facts.sqlite of the five seed reports, written as a build writes it (no embedding needed)."""
    return FactStore(FactStore.write(tmp_path_factory.mktemp("facts"), seed_documents))


def test_vietnamese_numbers():
    assert [vn_number(v) for v in (12029.0, 102.9, 3.0, 1650.0, 0.5, 1234567.25, 99.6, 0.0)] == [
        "12.029", "102,9", "3", "1.650", "0,5", "1.234.567,25", "99,6", "0",
    ]  # fmt: skip


def test_amount_keeps_the_qualifier_and_the_percent_sign():
    assert amount(_q("Bắc Giang", "hội nghị", 40, qualifier="gần")) == "gần 40"
    assert amount(_q("Lai Châu", "kế hoạch", 102.9, unit="%", qualifier="đạt")) == "đạt 102,9%"
    assert amount(_q("Lai Châu", "học viên", 12029)) == "12.029"


def test_csv_has_the_cli_columns_and_round_trips():
    facts = [_q("Lai Châu", "lớp", 211), _q("Trà Vinh", "lớp học tập", 11, qualifier="hơn")]
    rows = list(csv.DictReader(io.StringIO(csv_text(facts))))
    assert tuple(rows[0]) == QUANTITY_COLUMNS
    assert [(r["province"], float(r["value"]), r["qualifier"]) for r in rows] == [
        ("Lai Châu", 211.0, ""),
        ("Trà Vinh", 11.0, "hơn"),
    ]
    assert csv_text([]) == ",".join(QUANTITY_COLUMNS) + "\r\n"


def test_a_series_gathers_one_counted_noun_and_keeps_percentages_apart():
    facts = [
        _q("Lai Châu", "lớp", 211),
        _q("Lai Châu", "học viên", 12029),
        _q("Trà Vinh", "lớp học tập", 11),
        _q("Trà Vinh", "Lớp bồi dưỡng lý luận chính trị", 3),
        _q("Trà Vinh", "đảng viên", 5033),
        _q("Trà Vinh", "đảng viên", 99, unit="%"),
    ]
    series = chart_series(facts)
    assert series[0].label == "lớp"  # the only one reaching two provinces
    assert [(q.province, q.value) for q in series_bars(facts, series[0])] == [("Lai Châu", 211), ("Trà Vinh", 11)]
    # what was searched comes first, and 99% of đảng viên is not drawn beside 5.033 of them
    searched = chart_series(facts, "dang vien")
    assert [s.label for s in searched[:2]] == ["đảng viên", "đảng viên (%)"]
    assert [q.value for q in series_bars(facts, searched[0])] == [5033]
    assert chart_series([]) == []


def test_facets_and_one_reports_facts_on_the_seed_reports(seed_store, seed_documents):
    provinces, years = facets(seed_store)
    assert provinces == sorted({d.province for d in seed_documents if d.province})
    assert years == sorted({q.year for q in seed_store.quantities() if q.year}, reverse=True)
    lai_chau = next(d for d in seed_documents if d.file == LAI_CHAU)
    quantities, people = report_facts(seed_store, lai_chau.doc_id)
    assert quantities == sorted(extract_quantities(lai_chau), key=lambda q: (q.start, q.end))
    assert people == sorted(extract_people(lai_chau), key=lambda p: (p.start, p.end))
    assert any(q.value == 211 and q.unit == "lớp" for q in quantities)
    assert all(lai_chau.text[x.start : x.end] == x.quote for x in [*quantities, *people])
    assert report_facts(seed_store, "no-such-report") == ([], [])


def test_the_table_sorts_raw_numbers_and_shows_them_as_written():
    facts = [_q("Lai Châu", "học viên", 12029), _q("Lai Châu", "kế hoạch", 102.9, unit="%", qualifier="đạt")]
    table = render_facts_table(facts)
    assert [row[2] for row in table["data"]] == [12029, 102.9]
    assert [row[2] for row in table["metadata"]["display_value"]] == ["12.029", "đạt 102,9%"]
    assert len(table["headers"]) == len(table["data"][0]) == len(table["metadata"]["display_value"][0])
    # a selected row (its raw values) leads back to its figure
    assert [fact_row_key(row) for row in table["data"]] == [(q.file, q.start, q.end, q.value) for q in facts]
    assert render_facts_table([])["data"] == []


def test_counts_and_the_empty_result_are_said_in_vietnamese():
    assert render_facts_count([]) == "Không có số liệu phù hợp."
    assert render_facts_count([_q("Lai Châu", "lớp", 211), _q("Trà Vinh", "lớp", 11)]).startswith(
        "2 số liệu trong 2 báo cáo."
    )


def test_a_fact_opens_highlighted_in_its_report(seed_store, seed_documents):
    lai_chau = next(d for d in seed_documents if d.file == LAI_CHAU)
    q = next(q for q in report_facts(seed_store, lai_chau.doc_id)[0] if q.value == 211)
    html = render_fact(q, lai_chau)
    a = q.quote.index(q.number_text)
    marked = f"{q.quote[:a]}<b class='answer-span'>{q.number_text}</b>{q.quote[a + len(q.number_text) :]}"
    assert f"<mark class='quote'>{marked}</mark>" in html
    assert f"ký tự {q.start}–{q.end}" in html and "Tỉnh/thành: Lai Châu" in html
    before = lai_chau.text[q.start - 40 : q.start]
    assert before.replace("\n", "<br>") in html  # shown inside the text around it


def test_the_overview_lists_figures_and_people_or_says_there_are_none(seed_store, seed_documents):
    ha_nam = next(d for d in seed_documents if d.province == "Hà Nam")
    quantities, people = report_facts(seed_store, ha_nam.doc_id)
    html = render_overview(ha_nam, quantities, people)
    assert not quantities and "Báo cáo này không nêu số liệu nào." in html
    assert "<b>Lê Thị Thanh Hà</b>" in html and f"ký tự {people[0].start}–{people[0].end}" in html
    lai_chau = next(d for d in seed_documents if d.file == LAI_CHAU)
    html = render_overview(lai_chau, *report_facts(seed_store, lai_chau.doc_id))
    # one card per quote: the three figures of "211 lớp/12.029 học viên đạt 102,9% kế hoạch" share theirs
    assert "<b>211</b> lớp" in html and "<b>12.029</b> học viên" in html and "<b>đạt 102,9%</b> kế hoạch" in html
    assert html.count("lớp/12.029 học viên đạt 102,9% kế hoạch") == 1
    assert "Sự kiện có ngày" not in html  # Lai Châu's article states no dated event


def test_the_overview_lists_dated_events_with_their_quotes(seed_store, seed_documents):
    ha_nam = next(d for d in seed_documents if d.province == "Hà Nam")
    events = report_events(seed_store, ha_nam.doc_id)
    assert [e.date for e in events] == ["07/7/2022"] and events[0].iso == "2022-07-07"
    assert ha_nam.text[events[0].start : events[0].end] == events[0].quote
    html = render_overview(ha_nam, *report_facts(seed_store, ha_nam.doc_id), events)
    assert "Sự kiện có ngày (1)" in html and "<b>07/7/2022</b> — sơ kết công tác tuyên giáo" in html
    assert f"ký tự {events[0].start}–{events[0].end}" in html


def test_the_figure_in_bold_is_the_number_itself():
    q = replace(_q("Trà Vinh", "và đặc biệt", 8), quote="Năm 2018, Trung ương 6, 7, 8 và đặc biệt")
    assert "7, <b class='answer-span'>8</b> và" in render_fact(q, None)


def test_people_without_a_role_show_the_name_alone():
    text = "bà Lê Thị Thanh Hà phát biểu"
    person = Person("d", "f.txt", "Hà Nam", "Lê Thị Thanh Hà", None, text, 0, len(text))
    html = render_overview(Document("d", "f.txt", "Báo cáo", text, province="Hà Nam"), [], [person])
    assert "<div class='source-title'><b>Lê Thị Thanh Hà</b></div>" in html


def test_csv_file_is_named_by_its_content_and_opens_in_spreadsheets(tmp_path):
    text = csv_text([_q("Lai Châu", "lớp", 211)])
    path = write_csv(text, tmp_path)
    assert path.name == "so-lieu.csv" and write_csv(text, tmp_path) == path
    assert path.read_bytes().startswith("\ufeff".encode()) and path.read_bytes().decode("utf-8-sig") == text
    assert write_csv(csv_text([]), tmp_path) != path


def test_the_chart_frame_is_numeric_even_when_empty():
    frame = chart_frame([_q("Lai Châu", "học viên", 12029)])
    assert frame.iloc[0].tolist() == ["Lai Châu", 12029.0, "12.029", "học viên", "2023"]
    assert str(chart_frame([])["Số liệu"].dtype) == "float64"
