"""Extractive answers: pick verbatim source sentences (or clauses) that answer the question."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .config import Settings
from .errors import QuoteMismatch
from .question import QuestionInfo
from .records import Citation, Document, Hit
from .sentences import sentence_spans
from .store import IndexData, chunk_term_counts
from .vietnamese import fold, folded_terms, is_number

NOT_FOUND = "Không tìm thấy thông tin này trong các báo cáo."

_DATE = re.compile(
    r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b(ngày|chiều|sáng|tối|trưa|dịp|hôm)\s+(ngày\s+)?\d{1,2}/\d{1,2}\b|"
    r"\b(ngày|tháng)\s+\d{1,2}\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"^(19|20)\d\d$")
_HONORIFIC = re.compile(r"\b(đồng chí|ông|bà|anh|chị)\s+(\w)", re.IGNORECASE)
_LIST = re.compile(r"(Một là|Hai là|Thứ nhất|Thứ hai|gồm|bao gồm|:)")
_ENUM_START = re.compile(
    r"^(Một là|Hai là|Ba là|Bốn là|Năm là|Sáu là|Bảy là|Thứ nhất|Thứ hai|Thứ ba|Thứ tư|Thứ năm|[-+•*]\s)"
)
# Byline labels: "Tác giả: Thanh Sơn", "Nguồn: Báo ...".
_LABEL = re.compile(r"^(Tác giả|Nguồn|Theo|Tin, ảnh|Bài, ảnh|Bài và ảnh|Ảnh):\s*\S", re.IGNORECASE)
_ROMAN = re.compile(r"\b[IVXLC]{1,6}\b")


def _has_person(text: str) -> bool:
    """A title + capitalized name ("đồng chí Lê Văn Lương"), or three capitalized syllables in a row
    that do not start the sentence (a full name)."""
    if any(m.group(2).isupper() for m in _HONORIFIC.finditer(text)):
        return True
    words = text.split()
    run = 0
    for i, w in enumerate(words):
        w = w.strip("“”\"'(),;:.")
        if i > 0 and w[:1].isupper() and w[1:].islower():
            run += 1
            if run >= 3:
                return True
        else:
            run = 0
    return False


def _counted_numbers(text: str, toks: list[str]) -> list[int]:
    """Positions in toks of numbers that count something: not years, not parts of dates."""
    date_parts = set()
    for m in _DATE.finditer(text):
        date_parts.update(re.findall(r"\d+", m.group()))
    return [i for i, t in enumerate(toks) if t[0].isdigit() and not _YEAR.match(t) and t not in date_parts]


@dataclass(frozen=True)
class Draft:
    """An answer before it is wrapped with passages and timings."""

    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    reason: str | None = None
    support: float = 0.0


class Answerer(Protocol):
    """Produces an answer from a question and its retrieved passages."""

    def answer(self, info: QuestionInfo, hits: Sequence[Hit]) -> Draft: ...


@dataclass
class _Candidate:
    doc: Document
    start: int
    end: int
    rank: int
    score: float = 0.0
    support: float = 0.0
    covered: set[str] = field(default_factory=set)
    bonus: float = 0.0

    @property
    def text(self) -> str:
        return self.doc.text[self.start : self.end]


class ExtractiveAnswerer:
    """Scores the sentences of the top passages against the question; no model, no guessing."""

    def __init__(self, data: IndexData, settings: Settings):
        self.data = data
        self.settings = settings
        # The index stores how many chunks hold each term (computed at build time); only an index from
        # an older version needs the pass over every chunk here.
        self._df = data.term_df if data.term_df is not None else chunk_term_counts(c.text for c in data.chunks)
        self._n = max(1, len(data.chunks))
        self._sentences: dict[str, list[tuple[int, int]]] = {}

    def idf(self, term: str) -> float:
        df = self._df.get(term, 0)
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def _doc_sentences(self, doc: Document) -> list[tuple[int, int]]:
        spans = self._sentences.get(doc.doc_id)
        if spans is None:
            spans = self._sentences[doc.doc_id] = sentence_spans(doc.text)
        return spans

    # -- scoring -------------------------------------------------------------------------

    def _question_terms(self, info: QuestionInfo) -> dict[str, float]:
        terms: dict[str, float] = {}
        for key in info.terms:
            t = key if is_number(key) else fold(key.rstrip("12345"))
            terms[t] = self.idf(t)
        return terms

    def _score(self, cand: _Candidate, info: QuestionInfo, terms: dict[str, float], bigrams: set[str]) -> None:
        text = cand.text
        toks = folded_terms(text)
        doc = cand.doc
        # The report's province and years hold for each of its sentences; its title only supports.
        place_time = set(folded_terms(doc.province or "")) | {str(y) for y in doc.years}
        present = set(toks) | place_time
        context = present | set(folded_terms(doc.title))
        total = sum(terms.values()) or 1.0
        in_sentence = {t for t in terms if t in present}
        in_context = {t for t in terms if t in context}
        cov_sentence = sum(terms[t] for t in in_sentence) / total
        cov_context = sum(terms[t] for t in in_context) / total
        sent_bigrams = {f"{a}_{b}" for a, b in zip(toks, toks[1:])}
        cov_bigram = len(bigrams & sent_bigrams) / len(bigrams) if bigrams else 0.0

        bonus, fits = self._kind_fit(info, text, toks)
        label = _LABEL.match(text)
        if label and len(text) < 120 and set(folded_terms(label.group(1))) <= set(folded_terms(info.text)):
            # "Tác giả: ...", "Nguồn: ..." answer questions that name the label.
            bonus, fits = 0.5, True
            cov_sentence = cov_context = max(cov_context, 0.75)
        cand.covered = in_context
        cand.bonus = bonus
        cand.support = cov_context * (1.0 if fits else 0.6)
        cand.score = 0.6 * cov_sentence + 0.4 * cov_context + 0.3 * cov_bigram + bonus + 0.05 / cand.rank

    @staticmethod
    def _kind_fit(info: QuestionInfo, text: str, toks: list[str]) -> tuple[float, bool]:
        """A bonus for sentences holding what the question asks for, and whether they hold it."""
        if info.kind == "count":
            numbers = _counted_numbers(text, toks)
            if not numbers:
                if "lan thu" in fold(info.text) and _ROMAN.search(text):
                    return 0.2, True
                return -0.3, False
            if info.count_noun:
                head = info.count_noun[0]
                near = sum(1 for i in numbers if head in toks[i + 1 : i + 4])
                if near:
                    return 0.35 + 0.05 * min(near, 3), True
            wants_percent = any(w in ("ty", "ti", "phan") for w in folded_terms(info.text))
            if wants_percent:
                return (0.3, True) if "%" in text else (-0.1, False)
            return 0.1, True
        if info.kind == "date":
            return (0.3, True) if _DATE.search(text) else (-0.15, False)
        if info.kind == "person":
            if any(m.group(2).isupper() for m in _HONORIFIC.finditer(text)):
                return 0.4, True
            return (0.2, True) if _has_person(text) else (-0.15, False)
        if info.kind == "list":
            if _ENUM_START.match(text) or text.rstrip().endswith(":"):
                return 0.2, True
            return (0.1, True) if text.count(";") >= 2 or text.count(",") >= 3 or _LIST.search(text) else (0.0, True)
        return 0.0, True

    # -- composing -----------------------------------------------------------------------

    def _candidates(self, hits: Sequence[Hit]) -> list[_Candidate]:
        seen: set[tuple[str, int]] = set()
        out = []
        for hit in hits[: self.settings.answer_passages]:
            doc = self.data.documents[hit.chunk.doc_id]
            for a, b in self._doc_sentences(doc):
                inside = a < hit.chunk.end and b > hit.chunk.start
                # "Tác giả: ...", "Nguồn: ..." lines of a retrieved report answer questions about it.
                label = _LABEL.match(doc.text[a:b]) and b - a < 120
                if not (inside or label) or (doc.doc_id, a) in seen:
                    continue
                seen.add((doc.doc_id, a))
                out.append(_Candidate(doc, a, b, hit.rank))
        return out

    def _fit_length(
        self, cand: _Candidate, terms: dict[str, float], limit: int, info: QuestionInfo | None = None
    ) -> _Candidate:
        """Shorten a long sentence to the window of clauses that covers the most question terms
        (and holds the asked-for number, date or name when the question wants one)."""
        if cand.end - cand.start <= limit:
            return cand
        text = cand.doc.text
        cuts = [cand.start] + [cand.start + m.end() for m in re.finditer(r"[;,:]\s+", cand.text)] + [cand.end]
        best: tuple[float, int, int] | None = None
        for i in range(len(cuts) - 1):
            for j in range(i + 1, len(cuts)):
                a, b = cuts[i], cuts[j]
                while b > a and text[b - 1] in " ,;:":
                    b -= 1
                if b - a > limit:
                    break
                toks = folded_terms(text[a:b])
                present = set(toks)
                value = sum(w for t, w in terms.items() if t in present) + 0.001 * (b - a) / limit
                if info is not None and self._kind_fit(info, text[a:b], toks)[0] > 0:
                    value += sum(terms.values())
                if best is None or value > best[0]:
                    best = (value, a, b)
        if best is None:  # one clause longer than the limit: cut at a word boundary
            b = text.rfind(" ", cand.start, cand.start + limit)
            best = (0.0, cand.start, b if b > cand.start else cand.start + limit)
        return _Candidate(cand.doc, best[1], best[2], cand.rank, cand.score, cand.support, cand.covered, cand.bonus)

    def _following_items(self, best: _Candidate) -> list[_Candidate]:
        """Enumerated items ("Một là...", "Hai là...") right after a list lead or item."""
        spans = self._doc_sentences(best.doc)
        text = best.doc.text
        out = []
        after = [sp for sp in spans if sp[0] >= best.end]
        for a, b in after:
            between = text[best.end if not out else out[-1].end : a]
            if "\n\n" in between or not _ENUM_START.match(text[a:b]):
                break
            out.append(_Candidate(best.doc, a, b, best.rank, best.score, best.support, best.covered, best.bonus))
        return out

    def answer(self, info: QuestionInfo, hits: Sequence[Hit], limit: int | None = None) -> Draft:
        """Choose quotes for the question, or abstain when the evidence is weak.

        Args:
            info: the analyzed question.
            hits: retrieved passages, best first.
            limit: the most characters of quotes (settings.answer_max_chars by default).
        """
        s = self.settings
        terms = self._question_terms(info)
        if not hits or not terms:
            return Draft(NOT_FOUND, True, reason="no passage" if not hits else "no content word in the question")
        keys = [t if is_number(t) else fold(t.rstrip("12345")) for t in info.terms]
        bigrams = {f"{a}_{b}" for a, b in zip(keys, keys[1:])}
        cands = self._candidates(hits)
        for c in cands:
            self._score(c, info, terms, bigrams)
        if info.provinces:
            # A question about a named province is answered from that province's reports only.
            cands = [c for c in cands if c.doc.province in info.provinces]
        if info.years:
            wanted = {str(y) for y in info.years}
            cands = [c for c in cands if wanted & ({str(y) for y in c.doc.years} | set(folded_terms(c.doc.text)))]
        cands.sort(key=lambda c: (-c.score, c.rank, c.start))
        # The decision rests on the sentence that would be quoted, not on any sentence at all.
        if not cands or cands[0].support < s.abstain_threshold:
            return Draft(NOT_FOUND, True, reason="weak evidence", support=cands[0].support if cands else 0.0)
        cands = [c for c in cands if c.support >= s.abstain_threshold]

        limit = limit or s.answer_max_chars
        best = cands[0]
        if len(info.provinces) >= 2:
            # One quote per named province ("Lai Châu và Trà Vinh ...").
            firsts = [next((c for c in cands if c.doc.province == p), None) for p in info.provinces]
            picks = [c for c in firsts if c is not None]
            share = limit // max(1, len(picks))
            chosen = [self._fit_length(c, terms, share, info) for c in picks]
        else:
            chosen = [self._fit_length(best, terms, limit, info)]
            items = self._following_items(best) if info.kind == "list" else []
            if items and best.text.rstrip().endswith(":"):
                # The lead only announces the list: quote the items themselves.
                chosen = [self._fit_length(items.pop(0), terms, limit, info)]
            used = len(chosen[0].text)
            for item in items:
                if used + len(item.text) > limit or len(chosen) >= 4:
                    break
                chosen.append(item)
                used += len(item.text)
            covered = set(best.covered)
            max_quotes = 3 if info.kind == "list" else 2
            for c in cands[1:]:
                if len(chosen) >= max_quotes:
                    break
                if c.score < 0.8 * best.score:
                    break
                if info.kind in ("count", "date", "person") and c.bonus < best.bonus:
                    continue  # a second quote must hold the asked-for number, date or name too
                adds = (c.covered - covered) or (info.kind in ("list", "count") and c.doc.doc_id == best.doc.doc_id)
                if not adds or any(
                    c.doc.doc_id == x.doc.doc_id and c.start < x.end and x.start < c.end for x in chosen
                ):
                    continue
                fitted = self._fit_length(c, terms, limit - used, info)
                # A fragment cut to fit would be a misleading quote: take whole clauses or nothing.
                if len(fitted.text) < min(60, len(c.text)) or used + len(fitted.text) > limit:
                    continue
                chosen.append(fitted)
                covered |= c.covered
                used += len(fitted.text)

        # Quotes from one report in reading order, reports in order of relevance.
        doc_order: dict[str, int] = {}
        for c in chosen:
            doc_order.setdefault(c.doc.doc_id, len(doc_order))
        chosen.sort(key=lambda c: (doc_order[c.doc.doc_id], c.start))
        citations = tuple(
            Citation(
                n, c.doc.doc_id, c.doc.file, c.doc.title, c.doc.province, c.text, c.start, c.end, c.score, c.doc.date
            )
            for n, c in enumerate(chosen, start=1)
        )
        verify_citations(citations, {c.doc.doc_id: c.doc for c in chosen})
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Draft(text, False, citations, support=best.support)


def verify_citations(citations: Sequence[Citation], documents: dict[str, Document]) -> None:
    """Raise QuoteMismatch unless every quote is verbatim at its offsets in its stored report."""
    for c in citations:
        doc = documents.get(c.doc_id)
        if doc is None or doc.text[c.start : c.end] != c.quote:
            raise QuoteMismatch(f"Quote [{c.n}] is not verbatim in {c.file} at {c.start}:{c.end}.")


def remarks(answer) -> list[str]:
    """What a reader should know besides the answer (shown by the CLI and the web chat)."""
    out = []
    if answer.notice:
        out.append(answer.notice)
    if answer.searched and answer.searched != answer.question:
        out.append(f"Đã tìm: {answer.searched}")
    if answer.fallback:
        out.append(f"Không dùng câu trả lời của mô hình: {answer.fallback}. Dưới đây là câu trích nguyên văn.")
    return out
