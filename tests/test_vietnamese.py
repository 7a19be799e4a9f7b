"""Tokens, keys, numbers, provinces and sentences: the Vietnamese handling in one place."""

from __future__ import annotations

from assistant.metadata import find_years, province_mentions
from assistant.question import analyze, clean_question
from assistant.sentences import sentence_spans
from assistant.vietnamese import bm25_tokens, fold, number_value, syllable_key, term_keys


def test_one_letter_syllables_and_whole_numbers_survive():
    tokens = bm25_tokens("Ở tỉnh có 12.029 học viên, đạt 102,9% ý kiến", bigrams=False)
    assert "ơ3" in tokens and "o" in tokens  # "ở" and its folded form
    assert "12.029" in tokens and "102,9%" in tokens
    assert "y1" in tokens  # "ý"


def test_folded_tokens_let_unaccented_text_match():
    accented = set(bm25_tokens("Bắc Giang"))
    unaccented = set(bm25_tokens("bac giang"))
    assert {"bac", "giang", "bac_giang"} <= accented & unaccented


def test_tone_placement_does_not_matter():
    assert syllable_key("hoá") == syllable_key("hóa")
    assert syllable_key("Uỷ") == syllable_key("ủy")
    assert term_keys("Thanh Hoá") == term_keys("thanh hóa")


def test_fold():
    assert fold("Đắk Lắk") == "dak lak"


def test_number_values():
    assert number_value("12.029") == 12029
    assert number_value("102,9%") == 102.9
    assert number_value("99,6%") == 99.6
    assert number_value("2023") == 2023


def test_provinces_with_and_without_accents():
    assert set(province_mentions("bac giang va lai chau")) == {"Bắc Giang", "Lai Châu"}
    assert set(province_mentions("Thanh Hoá, TP.HCM")) == {"Thanh Hóa", "Thành phố Hồ Chí Minh"}


def test_common_words_are_not_provinces():
    # "diễn biến" is not "Điện Biên"; "hòa bình" (peace) is not the province unless capitalized.
    assert province_mentions("âm mưu “Diễn biến hòa bình” và diễn biến phức tạp") == {}
    assert set(province_mentions("tỉnh Hòa Bình")) == {"Hòa Bình"}


def test_years_covered_ignore_single_far_mentions():
    assert find_years("Năm 2023 ngành Tuyên giáo", "năm 2022 ... năm 2022 ... tầm nhìn đến năm 2030") == (2022, 2023)


def test_sentences_do_not_split_numbers_codes_titles_or_dates():
    text = (
        "Theo TS. Nguyễn Văn An, tỉnh mở 211 lớp/12.029 học viên đạt 102,9% kế hoạch. "
        "Nghị quyết số 35-NQ/TW ngày 22/10/2018 được quán triệt. Hết"
    )
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Theo TS. Nguyễn Văn An, tỉnh mở 211 lớp/12.029 học viên đạt 102,9% kế hoạch.",
        "Nghị quyết số 35-NQ/TW ngày 22/10/2018 được quán triệt.",
        "Hết",
    ]


def test_enumerated_items_after_a_colon_are_their_own_units():
    text = "Nhiệm vụ trọng tâm: Một là, làm tốt việc này. Hai là, làm tốt việc kia."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Nhiệm vụ trọng tâm:",
        "Một là, làm tốt việc này.",
        "Hai là, làm tốt việc kia.",
    ]


def test_question_kinds():
    assert analyze("Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?").kind == "count"
    assert analyze("Hội nghị diễn ra khi nào?").kind == "date"
    assert analyze("Ai chủ trì hội nghị?").kind == "person"
    assert analyze("Những nhiệm vụ trọng tâm nào được đề ra?").kind == "list"
    info = analyze("bac giang to chuc bao nhieu hoi nghi nam 2023")
    assert info.kind == "count" and info.count_noun == ("hoi", "nghi")
    assert info.provinces == ("Bắc Giang",) and info.years == (2023,)


def test_clean_question_rejects_empty_and_truncates_long():
    import pytest

    from assistant.errors import BadQuestion

    for bad in ["", "   ", "\x00\x01", "?!...", "\u200b"]:
        with pytest.raises(BadQuestion):
            clean_question(bad, 100)
    text, notice = clean_question("hội nghị " * 100, 50)
    assert len(text) <= 50 and notice
