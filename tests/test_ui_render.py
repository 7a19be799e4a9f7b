"""The web chat's pure parts: rendering and follow-up questions, with exact strings on the seeds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.followup import Context, resolve
from ui.app import load_credentials
from ui.render import render_answer, render_reports_table, render_sources, render_status

from .conftest import BAC_GIANG, DESIGN_QUESTION

FIRST = DESIGN_QUESTION


def test_province_follow_up():
    r = resolve("Còn Lai Châu thì sao?", Context(FIRST))
    assert (r.searched, r.followup) == ("Lai Châu tổ chức bao nhiêu hội nghị năm 2023?", True)


def test_year_follow_up_chains_on_the_rewritten_question():
    second = resolve("Còn Lai Châu thì sao?", Context(FIRST)).searched
    assert resolve("Năm 2022 thì sao?", Context(second)).searched == "Lai Châu tổ chức bao nhiêu hội nghị năm 2022?"


def test_entity_follow_up_carries_place_and_time():
    assert resolve("Ai chủ trì hội nghị đó?", Context(FIRST)).searched == "Ai chủ trì hội nghị ở Bắc Giang năm 2023?"


def test_unaccented_and_multi_province_follow_ups():
    assert resolve("con ha nam thi sao", Context(FIRST)).searched == "Hà Nam tổ chức bao nhiêu hội nghị năm 2023?"
    assert (
        resolve("Còn Lai Châu thì sao?", Context("Bắc Giang và Hà Nam tổ chức bao nhiêu hội nghị năm 2023?")).searched
        == "Lai Châu tổ chức bao nhiêu hội nghị năm 2023?"
    )
    assert resolve("Vậy còn năm 2021?", Context("Lai Châu mở bao nhiêu lớp?")).searched == (
        "Lai Châu mở bao nhiêu lớp năm 2021?"
    )


def test_a_new_question_is_not_a_follow_up():
    r = resolve("Trà Vinh có bao nhiêu đảng viên dự thi?", Context(FIRST))
    assert (r.searched, r.followup) == ("Trà Vinh có bao nhiêu đảng viên dự thi?", False)
    assert resolve("Còn Lai Châu thì sao?", None) == resolve("Còn Lai Châu thì sao?", None)
    assert not resolve("Còn Lai Châu thì sao?", None).followup


@pytest.mark.slow
def test_render_answer_and_sources_on_the_design_question(seed_assistant):
    answer = seed_assistant.ask(DESIGN_QUESTION)
    span = answer.answer_span
    assert render_answer(answer) == (f"**{span.text}** [{span.n}]\n\n" if span else "") + answer.answer
    html = render_sources(answer, seed_assistant.data.documents)
    c = answer.citations[0]
    if span is not None and span.n == c.n:
        a, b = span.start - c.start, span.end - c.start
        marked = f"{c.quote[:a]}<b class='answer-span'>{span.text}</b>{c.quote[b:]}"
        assert f"<mark class='quote'>{marked}</mark>" in html
    else:
        assert f"<mark class='quote'>{c.quote}</mark>" in html
    assert f"Tệp: {BAC_GIANG}" in html and "Tỉnh/thành: Bắc Giang" in html
    assert f"ký tự {c.start}–{c.end}" in html
    assert "Các đoạn khác được tìm thấy" in html
    # The quote sits inside its surrounding text: some characters before and after it are shown.
    doc = seed_assistant.data.documents[c.doc_id]
    assert doc.text[c.start - 40 : c.start].replace("\n", "<br>") in html


@pytest.mark.slow
def test_render_abstention_and_follow_up_searched(seed_assistant):
    asked = seed_assistant.ask("Giá vàng hôm nay là bao nhiêu?")
    assert asked.abstained
    answer = replace(asked, citations=(), caveat=None)  # a plain abstention, without a near miss to show
    assert render_answer(answer) == (
        "**Không tìm thấy thông tin này trong các báo cáo.**\n\n"
        "Các đoạn gần nhất được liệt kê ở khung Nguồn để bạn tự kiểm tra."
    )
    assert "<h3>Các đoạn gần nhất</h3>" in render_sources(answer, seed_assistant.data.documents)
    follow = seed_assistant.ask("Còn Lai Châu thì sao?", searched="Lai Châu tổ chức bao nhiêu hội nghị năm 2023?")
    assert render_answer(follow).startswith("_Đã tìm: Lai Châu tổ chức bao nhiêu hội nghị năm 2023?_\n\n")


def test_sources_escape_html():
    from assistant.records import Answer, Citation, Document

    doc = Document("d1", "x.txt", "<b>T</b>", "a <script>alert(1)</script> b")
    answer = Answer("q", "a [1]", False, (Citation(1, "d1", "x.txt", "<b>T</b>", None, "<script>", 2, 10, 1.0),))
    html = render_sources(answer, {"d1": doc})
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.slow
def test_reports_table_and_status(seed_assistant):
    manifest = seed_assistant.data.manifest
    rows = render_reports_table(manifest)
    assert len(rows) == 5 and rows[-1][:4] == [
        "Bắc Giang: Nâng cao chất lượng công tác tuyên giáo",
        "Bắc Giang",
        "",
        BAC_GIANG,
    ]
    assert f"**Số báo cáo:** 5 · **Số đoạn:** {manifest['chunk_count']}" in render_status(manifest)


def test_credentials_from_env_and_file(tmp_path):
    from assistant.errors import BadSettings

    logins = tmp_path / "logins"
    logins.write_text("# staff\nan:mat-khau\nbinh:123:456\n", encoding="utf-8")
    assert load_credentials({"ASSISTANT_AUTH": "admin:secret"}) == [("admin", "secret")]
    assert load_credentials({"ASSISTANT_AUTH_FILE": str(logins)}) == [("an", "mat-khau"), ("binh", "123:456")]
    with pytest.raises(BadSettings):
        load_credentials({"ASSISTANT_AUTH": "no-colon"})


# Literal records for the short answer and the near miss. Offsets are into LAI_CHAU_TEXT and checked below.
LAI_CHAU_TEXT = (
    "Báo cáo của Lai Châu.\nNăm 2022, toàn tỉnh mở 211 lớp/12.029 học viên bồi dưỡng lý luận chính trị.\nHết."
)
QUOTE = "Năm 2022, toàn tỉnh mở 211 lớp/12.029 học viên bồi dưỡng lý luận chính trị."
NOT_FOUND_TEXT = "Không tìm thấy thông tin này trong các báo cáo."
CAVEAT = "Báo cáo của Lai Châu (năm 2022) không nêu số liệu năm 2023. Gần nhất: [1]"


def _records():
    from assistant.records import AnswerSpan, Citation, Document

    doc = Document("lc", "lc.txt", "Lai Châu: bồi dưỡng chính trị", LAI_CHAU_TEXT, province="Lai Châu")
    cite = Citation(1, "lc", "lc.txt", "Lai Châu: bồi dưỡng chính trị", "Lai Châu", QUOTE, 22, 97, 0.9)
    span = AnswerSpan(1, 45, 68, "211 lớp/12.029 học viên")
    return doc, cite, span


def test_fixture_offsets_are_verbatim():
    doc, cite, span = _records()
    assert doc.text[cite.start : cite.end] == cite.quote
    assert doc.text[span.start : span.end] == span.text
    assert cite.quote[span.start - cite.start : span.end - cite.start] == span.text


def test_short_answer_in_bold_first_then_the_quotes():
    from assistant.records import Answer

    doc, cite, span = _records()
    answer = Answer("Lai Châu mở bao nhiêu lớp năm 2022?", f"{QUOTE} [1]", False, (cite,), answer_span=span)
    assert render_answer(answer) == f"**211 lớp/12.029 học viên** [1]\n\n{QUOTE} [1]"
    # Without a span the message is the answer alone, as before.
    assert render_answer(Answer(answer.question, answer.answer, False, (cite,))) == f"{QUOTE} [1]"


def test_short_answer_with_markdown_characters_cannot_break_the_bold():
    from assistant.records import Answer, AnswerSpan, Citation

    quote = "Chỉ tiêu *KPI_2023* đạt 95%\\ kế hoạch."
    cite = Citation(1, "d", "d.txt", "T", None, quote, 100, 100 + len(quote), 0.5)
    span = AnswerSpan(1, 109, 128, quote[9:28])
    assert span.text == "*KPI_2023* đạt 95%\\"
    answer = Answer("q", f"{quote} [1]", False, (cite,), answer_span=span)
    assert render_answer(answer).split("\n\n")[0] == "**\\*KPI\\_2023\\* đạt 95%\\\\** [1]"


def test_answer_span_is_bold_inside_the_highlighted_quote():
    from assistant.records import Answer

    doc, cite, span = _records()
    answer = Answer("q", f"{QUOTE} [1]", False, (cite,), answer_span=span)
    html = render_sources(answer, {"lc": doc})
    assert (
        "<mark class='quote'>Năm 2022, toàn tỉnh mở <b class='answer-span'>211 lớp/12.029 học viên</b> "
        "bồi dưỡng lý luận chính trị.</mark>"
    ) in html
    assert html.count("answer-span") == 1
    # The same without the document (the quote alone).
    assert "mở <b class='answer-span'>211 lớp/12.029 học viên</b> bồi" in render_sources(answer, {})
    # A span of another citation, or one whose text is not at its offsets, is not marked.
    from assistant.records import AnswerSpan

    for other in (AnswerSpan(2, 45, 68, span.text), AnswerSpan(1, 44, 67, span.text)):
        assert "answer-span" not in render_sources(Answer("q", "a [1]", False, (cite,), answer_span=other), {"lc": doc})


def test_answer_span_pieces_are_html_escaped():
    from assistant.records import Answer, AnswerSpan, Citation, Document

    text = "x <a> có 3 <người> & y"
    doc = Document("d", "d.txt", "T", text)
    cite = Citation(1, "d", "d.txt", "T", None, text[2:], 2, len(text), 1.0)
    span = AnswerSpan(1, 9, 18, "3 <người>")
    assert text[span.start : span.end] == span.text
    html = render_sources(Answer("q", "a [1]", False, (cite,), answer_span=span), {"d": doc})
    assert "<mark class='quote'>&lt;a&gt; có <b class='answer-span'>3 &lt;người&gt;</b> &amp; y</mark>" in html


def test_near_miss_shows_the_caveat_and_the_nearest_quote():
    from assistant.records import Answer

    doc, cite, _ = _records()
    answer = Answer("Lai Châu mở bao nhiêu lớp năm 2023?", NOT_FOUND_TEXT, True, (cite,), caveat=CAVEAT)
    assert render_answer(answer) == f"**{NOT_FOUND_TEXT}**\n\n{CAVEAT}\n\n“{QUOTE}” [1]"
    html = render_sources(answer, {"lc": doc})
    assert f"<div class='caveat'>{CAVEAT}</div><div class='source' data-n='1'>" in html
    assert f"<mark class='quote'>{QUOTE}</mark>" in html and "ký tự 22–97" in html
    # Abstaining without a caveat keeps the line about the closest passages and no note.
    from assistant.records import Chunk, Hit

    chunk = Chunk("lc-0", "lc", "lc.txt", "T", 0, len(LAI_CHAU_TEXT), LAI_CHAU_TEXT)
    plain = Answer("q", NOT_FOUND_TEXT, True, (), (Hit(1, chunk, 0.1),))
    assert render_answer(plain) == (
        f"**{NOT_FOUND_TEXT}**\n\nCác đoạn gần nhất được liệt kê ở khung Nguồn để bạn tự kiểm tra."
    )
    assert "caveat" not in render_sources(plain, {"lc": doc})
