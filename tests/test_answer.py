"""Extractive answers on the real seeds with the real bundled model: exact facts, verbatim quotes."""

from __future__ import annotations

import pytest

from assistant.answer import NOT_FOUND
from assistant.errors import BadQuestion
from assistant.evalset import load_evalset
from assistant.evaluate import contains_all, judge, summarize

from .conftest import BAC_GIANG, DESIGN_QUESTION, LAI_CHAU, SEED_EVAL

pytestmark = pytest.mark.slow


def _assert_verbatim(answer, assistant):
    for c in answer.citations:
        doc = assistant.data.documents[c.doc_id]
        assert doc.text[c.start : c.end] == c.quote
        if answer.abstained:  # a near miss: the caveat points at the nearest quote
            assert answer.caveat and f"[{c.n}]" in answer.caveat
        else:
            assert f"[{c.n}]" in answer.answer and c.quote in answer.answer


def test_design_card_question(seed_assistant):
    answer = seed_assistant.ask(DESIGN_QUESTION)
    assert not answer.abstained
    assert contains_all(answer.answer, ["2", "40", "150"])
    assert answer.citations[0].file == BAC_GIANG and answer.citations[0].province == "Bắc Giang"
    assert "gần 40 hội nghị thông tin chuyên đề" in answer.citations[0].quote
    assert len(answer.answer) <= 420
    _assert_verbatim(answer, seed_assistant)


def test_design_card_question_without_diacritics_finds_the_same_report(seed_assistant):
    answer = seed_assistant.ask("bac giang to chuc bao nhieu hoi nghi nam 2023")
    assert not answer.abstained and answer.citations[0].file == BAC_GIANG
    assert contains_all(answer.answer, ["2", "40", "150"])


@pytest.mark.parametrize(
    "question",
    [
        "Thanh Hóa tổ chức bao nhiêu hội nghị tuyên giáo năm 2023?",
        "Giá vàng hôm nay là bao nhiêu?",
        "Bắc Giang tổ chức bao nhiêu hội nghị năm 2019?",
    ],
)
def test_unanswerable_questions_abstain_with_the_closest_passages(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert answer.abstained and answer.answer == NOT_FOUND and len(answer.passages) > 0
    # Nothing is cited unless a caveat says what differs from the question and points at the quote.
    assert answer.citations == () or (answer.caveat and "[1]" in answer.caveat)
    _assert_verbatim(answer, seed_assistant)


def test_answer_numbers_all_come_from_the_quotes(seed_assistant):
    import re

    for question in [DESIGN_QUESTION, "Năm 2022 Lai Châu mở bao nhiêu lớp bồi dưỡng lý luận chính trị?"]:
        answer = seed_assistant.ask(question)
        quoted = " ".join(c.quote for c in answer.citations)
        body = re.sub(r"\[\d+\]", "", answer.answer)
        for number in re.findall(r"\d+(?:[.,]\d+)*%?", body):
            assert number in quoted


def test_lai_chau_figures(seed_assistant):
    answer = seed_assistant.ask(
        "Năm 2022 Lai Châu mở bao nhiêu lớp bồi dưỡng lý luận chính trị, với bao nhiêu học viên?"
    )
    assert contains_all(answer.answer, ["211", "12.029"]) and answer.citations[0].file == LAI_CHAU


def test_list_question_quotes_the_items(seed_assistant):
    answer = seed_assistant.ask("Những nhiệm vụ trọng tâm thời gian tới của Ban Tuyên giáo Tỉnh ủy Đắk Lắk là gì?")
    starts = [c.quote[:6] for c in answer.citations]
    assert "Một là" in starts and "Hai là" in starts, starts


@pytest.mark.parametrize("question", ["", "   \n\t", "???", "\x00\x07"])
def test_bad_questions_are_refused_with_a_message(seed_assistant, question):
    with pytest.raises(BadQuestion):
        seed_assistant.ask(question)


def test_huge_question_is_truncated_with_a_notice(seed_assistant):
    answer = seed_assistant.ask(DESIGN_QUESTION + " hội nghị" * 2000)
    assert answer.notice and "quá dài" in answer.notice


def test_seed_eval_meets_the_targets(seed_assistant):
    docs = list(seed_assistant.data.documents.values())
    items = load_evalset(SEED_EVAL, docs)
    by_file = {d.file: d for d in docs}
    judgements = [judge(it, seed_assistant.ask(it.question), by_file) for it in items]
    for j in judgements:
        _assert_verbatim(j.answer, seed_assistant)
    summary = summarize(judgements)
    failures = [f"{j.item.id}: {j.reason}" for j in judgements if not j.passed]
    print("seed eval:", summary, failures)
    assert summary["answerable"] >= 40 and summary["unanswerable"] >= 6
    assert summary["answer_correct"] >= 0.90, failures
    # The trained answerer abstains on 7 of the 11 seed unanswerables (the hand-set one, fitted to this set,
    # on 9); on the independent held-out set it went from 3 to 6 of 12 (evals/floors_heldout.json).
    assert summary["abstain_recall"] >= 0.60, failures


@pytest.mark.parametrize("question", ["😀😀😀", "!!! ??? ...", "\u200b\u200b"])
def test_questions_without_words_are_refused(seed_assistant, question):
    with pytest.raises(BadQuestion, match="Câu hỏi"):
        seed_assistant.ask(question)


@pytest.mark.parametrize(
    "question", ["What is the capital of France?", "北京是中国的首都吗", "Москва — столица России?"]
)
def test_other_languages_get_an_honest_not_found(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert answer.abstained and answer.answer == NOT_FOUND


def test_control_characters_inside_a_question_are_ignored(seed_assistant):
    answer = seed_assistant.ask("Bắc\x00 Giang\x07 tổ chức bao nhiêu\u200b hội nghị năm 2023?")
    assert contains_all(answer.answer, ["2", "40", "150"])


def test_ten_thousand_characters_are_truncated_not_refused(seed_assistant):
    answer = seed_assistant.ask("Lai Châu mở bao nhiêu lớp bồi dưỡng lý luận chính trị? " + "x" * 10_000)
    assert answer.notice and "chỉ dùng" in answer.notice


@pytest.mark.parametrize(
    ("question", "phrase", "holding"),
    [
        # what the cleaned reports say: "lịch sử Đảng" in three reports, "Búa liềm vàng" in Hà Nam's only
        # (Lai Châu's raw page names it in the "Văn bản mới" sidebar that cleaning removes)
        ("Báo cáo của tỉnh nào nói về giáo dục lịch sử Đảng?", "lịch sử đảng", {"Lai Châu", "Đắk Lắk", "Bắc Giang"}),
        ("Những tỉnh nào có bài dự Giải Búa liềm vàng?", "búa liềm vàng", {"Hà Nam"}),
    ],
)
def test_which_provinces_question_names_each_province_with_its_own_quote(seed_assistant, question, phrase, holding):
    answer = seed_assistant.ask(question)
    assert not answer.abstained
    _assert_verbatim(answer, seed_assistant)
    assert {c.province for c in answer.citations} == holding
    for c in answer.citations:
        # each quote follows its own province's name
        assert answer.answer.index(f"{c.province}: ") < answer.answer.index(f"[{c.n}]")
    for province in holding:
        # and each province's quotes hold the asked-about thing (a second quote may add its context)
        assert any(phrase in c.quote.lower() for c in answer.citations if c.province == province), province
    not_found = answer.answer.split("Không tìm thấy nội dung này trong báo cáo của:")[1]
    assert all(p in not_found for p in {"Lai Châu", "Trà Vinh", "Hà Nam", "Đắk Lắk", "Bắc Giang"} - holding)


def test_which_provinces_words_do_not_decide_the_kind_of_answer():
    from assistant.eachprovince import asks_each_province, topic_question
    from assistant.question import analyze

    info = analyze("Báo cáo của những tỉnh nào nhắc đến Chỉ thị số 05?")
    assert asks_each_province(info) and info.kind == "list"
    topic = topic_question(info)
    assert topic.text == "nhắc đến Chỉ thị số 05?" and topic.kind == "other"
    assert asks_each_province(analyze("nhung bao cao nao co nhac den bao cao vien"))
    assert not asks_each_province(analyze("Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?"))
    assert not asks_each_province(analyze("Lai Châu có những tỉnh nào giáp ranh?"))  # names a province
