"""The short answer inside a quote: the number, date or name a count, date or person question asks for.

Candidate phrases are found by their shape (a number with what it counts, a date, a capitalized name);
which one answers is decided by a small logistic model trained with the evidence scorer
(evals/train_scorer.py) from where the gold answers sit in the training quotes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .question import QuestionInfo
from .records import AnswerSpan, Citation
from .unittext import SURNAMES
from .vietnamese import TOKEN_RE, fold, is_number

SPAN_KINDS = ("count", "date", "person")
SPAN_FEATURES: tuple[str, ...] = (
    "near",  # idf-free share of question words within 6 tokens
    "noun_match",  # the counted noun follows the number
    "in_question",  # the phrase is already in the question (rarely the answer)
    "position",
    "log_len",
    "shape_number",
    "shape_date",
    "shape_name",
    "vn_name",
    "org_word",  # a capitalized run opening with a word that names a body, not a person
    "kind_count",
    "kind_date",
    "kind_person",
    "first_of_shape",
)

_NUM = r"\d+(?:[.,]\d+)*%?"
_QUALIFIER = r"(?:(?:gần|trên|hơn|khoảng|đạt|vượt|hàng|gồm|có)\s+)?"
# A number with up to two words of what it counts, chained by "/" ("211 lớp/12.029 học viên").
_COUNT = re.compile(
    rf"{_QUALIFIER}{_NUM}(?:\s+[^\W\d_]+){{0,2}}(?:\s*/\s*{_NUM}(?:\s+[^\W\d_]+){{0,2}})*", re.IGNORECASE
)
_DATE = re.compile(
    r"(?:ngày\s+)?\d{1,2}\s+tháng\s+\d{1,2}(?:\s+năm\s+\d{4})?|(?:tháng\s+)\d{1,2}(?:\s+năm\s+\d{4})?|"
    r"(?:ngày\s+)?\d{1,2}/\d{1,2}(?:/\d{4})?|\d{1,2}/\d{4}|(?:năm\s+)?(?:1[0-9]|20)\d\d(?:\s*-\s*(?:1[0-9]|20)\d\d)?|"
    r"thế kỷ\s+(?:thứ\s+)?[\wIVXLC]+",
    re.IGNORECASE,
)
_ORG_WORDS = frozenset(
    fold(w)
    for w in (
        "Ban Bộ Sở Tỉnh Huyện Xã Thành Đảng Hội Ủy Trung Nghị Chỉ Kết Quyết Kế Thông Báo Cuộc Giải Đại Văn "
        "Nhà Trường Viện Công Ty Tập Liên Quốc Chính Mặt Đoàn Cục Phòng Khối Chi Hội"
    ).split()
)
_HONORIFIC = re.compile(r"^(đồng chí|ông|bà|anh|chị)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class SpanCandidate:
    start: int  # offsets into the quote
    end: int
    shape: str  # "number" | "date" | "name"


def _names(text: str) -> list[SpanCandidate]:
    """Runs of two or more capitalized words (an honorific before them is left out)."""
    out = []
    tokens = list(re.finditer(r"[^\W\d_]+(?:-[^\W\d_]+)*", text))
    run: list[re.Match[str]] = []
    for m in [*tokens, None]:
        if m is not None and m.group()[:1].isupper() and (not run or text[run[-1].end() : m.start()].strip() == ""):
            run.append(m)
            continue
        if len(run) >= 2:
            out.append(SpanCandidate(run[0].start(), run[-1].end(), "name"))
        run = [m] if m is not None and m.group()[:1].isupper() else []
    return out


def span_candidates(info: QuestionInfo, text: str) -> list[SpanCandidate]:
    """Phrases of the shape the question asks for."""
    if info.kind == "count":
        dates = [(m.start(), m.end()) for m in re.finditer(r"\d{1,2}/\d{1,2}(?:/\d{4})?", text)]
        out = []
        for m in _COUNT.finditer(text):
            number = re.search(_NUM, m.group())
            at = m.start() + number.start()
            if any(a <= at < b for a, b in dates) or re.fullmatch(r"(19|20)\d\d", number.group()):
                continue
            if number.group() in info.stated_numbers:  # "Trong 211 lớp ...": "211 lớp" does not answer
                continue
            out.append(SpanCandidate(m.start(), m.end(), "number"))
        return out
    if info.kind == "date":
        return [SpanCandidate(m.start(), m.end(), "date") for m in _DATE.finditer(text)]
    if info.kind == "person":
        return _names(text)
    return []


def span_features(info: QuestionInfo, text: str, cands: list[SpanCandidate]) -> np.ndarray:
    """(len(cands), len(SPAN_FEATURES)) for the candidates of one quote."""
    col = {name: i for i, name in enumerate(SPAN_FEATURES)}
    out = np.zeros((len(cands), len(SPAN_FEATURES)), dtype=np.float64)
    q_words = {t if is_number(t) else fold(t) for t in TOKEN_RE.findall(info.text)}
    q_fold = fold(info.text)
    head = info.count_noun[0] if info.count_noun else None
    seen_shapes: set[str] = set()
    for i, c in enumerate(cands):
        phrase = text[c.start : c.end]
        before = [fold(t) for t in TOKEN_RE.findall(text[: c.start])][-6:]
        after = [fold(t) for t in TOKEN_RE.findall(text[c.end :])][:6]
        window = set(before + after)
        words = [fold(t) for t in TOKEN_RE.findall(phrase)]
        f = out[i]
        f[col["near"]] = len(window & q_words) / max(1, len(q_words))
        f[col["noun_match"]] = float(head is not None and head in words)
        f[col["in_question"]] = float(fold(phrase) in q_fold)
        f[col["position"]] = c.start / max(1, len(text))
        f[col["log_len"]] = math.log(max(1, c.end - c.start))
        f[col[f"shape_{c.shape}"]] = 1.0
        if c.shape == "name":
            name = _HONORIFIC.sub("", phrase)
            first = fold(name.split()[0]) if name.split() else ""
            f[col["vn_name"]] = float(first in SURNAMES)
            f[col["org_word"]] = float(first in _ORG_WORDS)
        for kind in SPAN_KINDS:
            f[col[f"kind_{kind}"]] = float(info.kind == kind)
        f[col["first_of_shape"]] = float(c.shape not in seen_shapes)
        seen_shapes.add(c.shape)
    return out


def find_span(info: QuestionInfo, citation: Citation, params: dict | None) -> AnswerSpan | None:
    """The phrase of the quote that answers a count, date or person question, or None.

    `params` is the span model of the scorer file (mean, scale, coef, intercept, threshold).
    """
    if params is None or info.kind not in SPAN_KINDS:
        return None
    cands = span_candidates(info, citation.quote)
    if not cands:
        return None
    X = span_features(info, citation.quote, cands)
    z = ((X - np.asarray(params["mean"])) / np.asarray(params["scale"])) @ np.asarray(params["coef"])
    probs = 1.0 / (1.0 + np.exp(-(z + float(params["intercept"]))))
    best = int(np.argmax(probs))
    if probs[best] < float(params["threshold"]):
        return None
    c = cands[best]
    a, b = citation.start + c.start, citation.start + c.end
    return AnswerSpan(citation.n, a, b, citation.quote[c.start : c.end])
