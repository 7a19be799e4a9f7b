"""Extractive answers: the units the trained scorer finds most likely to hold the answer, quoted verbatim.

Every decision comes from the scorer's probabilities and the values fitted with it
(evals/train_scorer.py): answer when the best unit clears the fitted threshold, add a second quote
when it is nearly as likely (the fitted ratio), otherwise abstain. Before answering, the question's
province and year are checked against the evidence (constraints.py): a near miss is not passed off as
the answer, it is shown as the nearest evidence with a caveat that names what differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import Settings
from .constraints import Mismatch, caveat_text
from .errors import QuoteMismatch
from .evidence import Evidence, EvidenceFinder
from .features import Candidate
from .question import QuestionInfo
from .records import AnswerSpan, Citation, Document, Hit
from .scorer import EvidenceModel
from .sentences import sentence_spans
from .span import find_span
from .store import IndexData
from .unittext import read_unit

NOT_FOUND = "Không tìm thấy thông tin này trong các báo cáo."
# Questions answered by a phrase (a number, a date, a name, a place): a quote announcing a list ("... như
# sau:") does not bring the list for them; its items answer another question.
PHRASE_KINDS = frozenset({"count", "date", "person", "place"})


@dataclass(frozen=True)
class Draft:
    """An answer before it is wrapped with passages and timings."""

    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    reason: str | None = None
    support: float = 0.0
    caveat: str | None = None
    answer_span: AnswerSpan | None = None
    table: dict | None = None  # a comparison across provinces (crossreport.py)


class EvidenceAnswerer:
    """Answers from scored units; abstains (with the nearest evidence when there is one) otherwise."""

    def __init__(self, data: IndexData, settings: Settings, model: EvidenceModel):
        self.data = data
        self.settings = settings
        self.model = model
        self.finder = EvidenceFinder(data, model)
        self.provinces = {d.province for d in data.documents.values() if d.province}

    def evidence(self, info: QuestionInfo, qvec: np.ndarray, hits: Sequence[Hit]) -> Evidence:
        return self.finder.score(info, qvec, hits[: self.settings.answer_passages])

    def answer(self, info: QuestionInfo, qvec: np.ndarray, hits: Sequence[Hit], limit: int | None = None) -> Draft:
        """Choose quotes for the question, or abstain.

        Args:
            info: the analyzed question.
            qvec: its embedding (query side).
            hits: retrieved passages, best first.
            limit: the most characters of quotes (settings.answer_max_chars by default).
        """
        if not hits:
            return Draft(NOT_FOUND, True, reason="no passage")
        if not info.terms:
            return Draft(NOT_FOUND, True, reason="no content word in the question")
        ev = self.evidence(info, qvec, hits)
        return self.compose(ev, limit or self.settings.answer_max_chars)

    def compose(self, ev: Evidence, limit: int, threshold: float | None = None) -> Draft:
        """The answer the scored evidence supports (answered when its confidence reaches `threshold`,
        the model's fitted threshold by default)."""
        info, cands, probs = ev.info, ev.candidates, ev.probs
        if not cands:
            return Draft(NOT_FOUND, True, reason="no sentence in the passages")
        if threshold is None:
            threshold = self.model.threshold
        order = [int(i) for i in np.argsort(-probs, kind="stable")]
        mismatches = ev.mismatches
        fitting = [i for i in order if not mismatches[i]]
        best = fitting[0] if fitting else None
        confidence = self._confidence(ev, best, fitting) if best is not None else 0.0
        if best is None or confidence < threshold:
            top = order[0]
            if mismatches[top] and self._confidence(ev, top, order) >= threshold:
                return self._near_miss(ev, top, mismatches[top])
            return Draft(NOT_FOUND, True, reason="weak evidence", support=confidence)

        chosen = [best]
        used = cands[best].end - cands[best].start
        # The same rule the ratio was fitted with (evals/train_scorer.py, composed()).
        floor = self.model.second_ratio * float(probs[best])
        for i in fitting[1:]:
            if len(chosen) >= self.settings.answer_max_quotes or probs[i] < floor:
                break
            size = cands[i].end - cands[i].start
            if used + size > limit or any(_overlaps(i, c, cands) for c in chosen):
                continue
            chosen.append(i)
            used += size
        # A quote that announces a list ("... như sau:"), a clause of a list sentence or an item of a list
        # ("Thứ hai, ...") quotes the rest of its list: the answer is the list, not one of its lines.
        room = max(limit, self.settings.list_max_chars)
        for i in list(chosen):
            for row in self._list_rows(info, cands[i]):
                if used + row[2] - row[1] > room:
                    break
                if any(_overlaps(row, c, cands) for c in chosen):
                    continue
                chosen.append(row)
                used += row[2] - row[1]
        if len(chosen) == 1:
            chosen = [self._whole_sentence(cands[best], limit) or best]
        citations = self._cite(ev, chosen, float(probs[best]))
        lead = next(c for c in citations if c.doc_id == cands[best].doc.doc_id and c.start <= cands[best].start < c.end)
        span = find_span(info, lead, self.model.span)
        text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Draft(text, False, citations, support=confidence, answer_span=span)

    @staticmethod
    def _whole_sentence(cand: Candidate, limit: int) -> tuple[str, int, int] | None:
        """The whole sentence a clause unit belongs to, when it fits: a clause alone can leave out the
        part of its sentence that holds the answer."""
        text = cand.doc.text
        line_start = text.rfind("\n", 0, cand.start) + 1
        line_end = text.find("\n", cand.end)
        line_end = len(text) if line_end < 0 else line_end
        for a, b in sentence_spans(text, line_start, line_end):
            if a <= cand.start and cand.end <= b:
                if (a, b) != (cand.start, cand.end) and b - a <= limit:
                    return (cand.doc.doc_id, a, b)
                return None
        return None

    def _confidence(self, ev: Evidence, best: int, pool: list[int]) -> float:
        """The calibrated chance that answering with candidate `best` (out of `pool`) is right."""
        return self.model.confidence(ev.features[best], ev.probs[pool])

    def _near_miss(self, ev: Evidence, i: int, mismatch: Mismatch) -> Draft:
        """Abstain, and show the nearest evidence with what differs from the question."""
        citations = self._cite(ev, [i])
        caveat = caveat_text(ev.info, mismatch, citations[0].n, self.provinces)
        return Draft(NOT_FOUND, True, citations, reason="near miss", support=float(ev.probs[i]), caveat=caveat)

    def _list_rows(self, info: QuestionInfo, cand: Candidate) -> list[tuple[str, int, int]]:
        """(doc_id, start, end) of the rest of the list `cand` belongs to, in reading order (empty when it
        belongs to none): after a unit ending in ":", the rest of its paragraph, or when it ends its
        paragraph, the first sentence of each item paragraph that follows; for a list question, the
        clauses after a clause ending in ";", or the announcing unit and the other items of an item. A
        question answered by a phrase (PHRASE_KINDS) follows no list."""
        if info.kind in PHRASE_KINDS:
            return []
        lead = cand.text.rstrip()
        if lead.endswith(":"):
            return self._following(cand, whole_paragraph=True) or self._items_near(cand, forward_only=True)
        if info.kind != "list":
            return []
        if lead.endswith(";"):
            return self._following(cand, whole_paragraph=False)
        if read_unit(cand.text).list_shape and self._paragraph_first(cand.doc, cand.row):
            return self._items_near(cand, forward_only=False)
        return []

    def _paragraph_first(self, doc: Document, row: int) -> bool:
        """The unit at `row` opens its paragraph."""
        lo, _ = self.data.units.doc_range(doc.doc_id)
        if row == lo:
            return True
        return "\n" in doc.text[int(self.data.units.ends[row - 1]) : int(self.data.units.starts[row])]

    def _items_near(self, cand: Candidate, forward_only: bool) -> list[tuple[str, int, int]]:
        """The first units of the item paragraphs ("Thứ nhất, ...", "- ...") next to `cand`'s paragraph
        (after it; or before and after it, with the unit ending in ":" that announces them)."""
        units, doc = self.data.units, cand.doc
        lo, hi = units.doc_range(doc.doc_id)
        openers = [r for r in range(lo, hi) if self._paragraph_first(doc, r)]
        item = {r: read_unit(doc.text[int(units.starts[r]) : int(units.ends[r])]).list_shape for r in openers}
        mine = max(r for r in openers if r <= cand.row)
        k = openers.index(mine)
        rows = []
        after = k + 1
        while after < len(openers) and item[openers[after]]:
            rows.append(openers[after])
            after += 1
        if not forward_only:
            before = k - 1
            while before >= 0 and item[openers[before]]:
                rows.append(openers[before])
                before -= 1
            if before >= 0:
                # the paragraph before the first item, when it ends announcing them
                end_row = openers[before + 1] - 1
                if doc.text[int(units.starts[end_row]) : int(units.ends[end_row])].rstrip().endswith(":"):
                    rows.append(end_row)
        rows.sort()
        return [(doc.doc_id, int(units.starts[r]), int(units.ends[r])) for r in rows]

    def _following(self, cand: Candidate, whole_paragraph: bool) -> list[tuple[str, int, int]]:
        """(doc_id, start, end) of the units after `cand`: to the end of its paragraph, or to the end of
        its sentence (while the units end in ";" or ":")."""
        units = self.data.units
        _, hi = units.doc_range(cand.doc.doc_id)
        text = cand.doc.text
        out: list[tuple[str, int, int]] = []
        prev_end = cand.end
        for row in range(cand.row + 1, hi):
            a, b = int(units.starts[row]), int(units.ends[row])
            if "\n" in text[prev_end:a] and not whole_paragraph or "\n\n" in text[prev_end:a]:
                break
            out.append((cand.doc.doc_id, a, b))
            prev_end = b
            if not whole_paragraph and not text[a:b].rstrip().endswith((";", ":")):
                break
        return out

    def _cite(self, ev: Evidence, chosen: list, unit_score: float = 0.0) -> tuple[Citation, ...]:
        """Citations for chosen candidates (indexes) or units ((doc_id, start, end)), in reading order per report."""
        items = []
        for x in chosen:
            if isinstance(x, tuple):
                doc = self.data.documents[x[0]]
                items.append((doc, x[1], x[2], unit_score))
            else:
                c = ev.candidates[x]
                items.append((c.doc, c.start, c.end, float(ev.probs[x])))
        doc_order: dict[str, int] = {}
        for doc, *_ in items:
            doc_order.setdefault(doc.doc_id, len(doc_order))
        items.sort(key=lambda it: (doc_order[it[0].doc_id], it[1]))
        citations = tuple(
            Citation(n, doc.doc_id, doc.file, doc.title, doc.province, doc.text[a:b], a, b, p, doc.date)
            for n, (doc, a, b, p) in enumerate(items, start=1)
        )
        verify_citations(citations, {doc.doc_id: doc for doc, *_ in items})
        return citations


def _span(x, cands: Sequence[Candidate]) -> tuple[str, int, int]:
    """(doc_id, start, end) of a chosen candidate (an index) or unit (already that tuple)."""
    return x if isinstance(x, tuple) else (cands[x].doc.doc_id, cands[x].start, cands[x].end)


def _overlaps(x, y, cands: Sequence[Candidate]) -> bool:
    (doc_x, a, b), (doc_y, c, d) = _span(x, cands), _span(y, cands)
    return doc_x == doc_y and a < d and c < b


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
