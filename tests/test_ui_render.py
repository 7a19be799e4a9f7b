"""The web chat's pure parts: rendering and follow-up questions, with exact strings on the seeds."""

from __future__ import annotations

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
    assert render_answer(answer) == answer.answer
    html = render_sources(answer, seed_assistant.data.documents)
    c = answer.citations[0]
    assert f"<mark class='quote'>{c.quote}</mark>" in html
    assert f"Tệp: {BAC_GIANG}" in html and "Tỉnh/thành: Bắc Giang" in html
    assert f"ký tự {c.start}–{c.end}" in html
    assert "Các đoạn khác được tìm thấy" in html
    # The quote sits inside its surrounding text: some characters before and after it are shown.
    doc = seed_assistant.data.documents[c.doc_id]
    assert doc.text[c.start - 40 : c.start].replace("\n", "<br>") in html


@pytest.mark.slow
def test_render_abstention_and_follow_up_searched(seed_assistant):
    answer = seed_assistant.ask("Giá vàng hôm nay là bao nhiêu?")
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
