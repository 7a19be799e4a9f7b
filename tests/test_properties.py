"""Property-based tests (hypothesis) and a fuzz test of ingestion with random bytes."""

from __future__ import annotations

import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.chunk import chunk_documents
from assistant.clean import clean_report
from assistant.config import Settings
from assistant.errors import BadQuestion, BadReport
from assistant.ingest import document_from_bytes, make_document
from assistant.question import analyze, clean_question
from assistant.sentences import sentence_spans
from assistant.vietnamese import bm25_tokens, fold, nfc

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
words = st.text(alphabet=VIETNAMESE + VIETNAMESE.upper(), min_size=1, max_size=8)
numbers = st.from_regex(r"\d{1,3}(\.\d{3})?(,\d)?%?", fullmatch=True)
tokens = st.one_of(words, words, words, numbers, st.sampled_from([",", ".", ";", ":", "-", "“", "”", "(", ")"]))
sentence = st.lists(tokens, min_size=1, max_size=25).map(lambda xs: " ".join(xs))
report = st.lists(
    st.one_of(sentence, sentence.map(lambda s: s + "."), st.just(""), st.just("Đang truy cập 57"), st.just("1 2 3")),
    min_size=1,
    max_size=40,
).map("\n".join)
anything = st.text(max_size=3000)
fast = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(anything)
def test_cleaning_never_fails_and_returns_nfc_text(raw):
    cleaned = clean_report(raw)
    assert cleaned.text == nfc(cleaned.text)
    assert clean_report(cleaned.text).text == cleaned.text  # idempotent


@fast
@given(report)
def test_cleaning_keeps_every_sentence_line(raw):
    text = clean_report(raw).text
    for line in raw.split("\n"):
        line = " ".join(line.split())
        if line.endswith(".") and len(line.split()) >= 3 and raw.count(line) == 1:
            assert line in text


@fast
@given(report, st.integers(100, 1200), st.integers(0, 99))
def test_chunks_round_trip_and_cover_the_text(raw, size, overlap_pct):
    try:
        doc = make_document(raw, "x.txt")
    except BadReport:
        return
    s = Settings(chunk_size=size, chunk_overlap=size * overlap_pct // 200)
    chunks = chunk_documents([doc], s)
    covered = [False] * len(doc.text)
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
        assert len(c.text) <= size
        for i in range(c.start, c.end):
            covered[i] = True
    # Only whitespace may fall between chunks.
    assert all(covered[i] or doc.text[i].isspace() for i in range(len(doc.text)))


@fast
@given(anything)
def test_tokens_are_lowercase_nfc_and_numbers_stay_whole(text):
    for token in bm25_tokens(text):
        assert token == token.lower() or not token.isalpha()
        assert unicodedata.is_normalized("NFC", token)
    for number in ["12.029", "102,9%"]:
        assert number in bm25_tokens(f"{text} {number} ")


@fast
@given(anything)
def test_sentence_spans_are_ordered_and_inside_the_text(text):
    last = 0
    for a, b in sentence_spans(text):
        assert last <= a < b <= len(text)
        assert text[a:b].strip() == text[a:b]
        last = b


@fast
@given(anything)
def test_question_handling_raises_only_bad_question(text):
    try:
        q, notice = clean_question(text, 200)
    except BadQuestion:
        return
    assert q and len(q) <= 200 and q == q.strip()
    info = analyze(q)
    assert info.kind in {"count", "date", "person", "list", "other"}
    assert fold(q) == fold(fold(q))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000), st.sampled_from(["r.txt", "r.md", "r.html", "r.pdf", "r.docx"]))
def test_random_bytes_never_crash_ingestion(data, name):
    try:
        doc = document_from_bytes(name, data, Settings())
    except BadReport as bad:
        assert bad.file == name and bad.reason
        return
    assert doc.text and doc.text == nfc(doc.text)
