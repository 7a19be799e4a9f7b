"""Training examples for the evidence scorer: candidate units of real questions, labelled from known answers.

Two sources of labels:
- BEIR folders with answers.jsonl (xquad-vi-train): a unit is positive when it lies in a gold passage
  and holds a gold answer string;
- evaluation sets (evals/seed.jsonl, evals/report_train.jsonl): a unit is positive when it overlaps a
  gold quote and holds one of the item's must_contain strings (every overlapping unit when none does).

Each answerable question also yields a near miss, the way SQuAD 2.0 builds plausible unanswerable
questions: the same question with its gold evidence taken out of the candidates (for a BEIR question its
gold passage, for a report question the passages holding the gold quote), so the best remaining unit
is close but wrong. The abstention threshold is fitted on both kinds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .evalset import EvalItem
from .evaluate import contains_all, gold_spans
from .evidence import EvidenceFinder
from .features import Candidate
from .question import analyze, clean_question
from .records import Document
from .service import Assistant
from .units import UnitTable
from .vietnamese import fold, has_diacritics, nfc


@dataclass(frozen=True)
class LabeledQuestion:
    """A question with what makes a unit correct for it."""

    qid: str
    text: str
    source: str
    answers: tuple[str, ...]  # gold strings (BEIR) or must_contain facts (evaluation sets)
    gold_docs: frozenset[str] = frozenset()  # BEIR: the gold passages' ids
    gold_spans: tuple[tuple[str, int, int], ...] = ()  # evaluation sets: (doc_id, start, end) of gold quotes

    @property
    def answerable(self) -> bool:
        return bool(self.gold_docs or self.gold_spans)


@dataclass
class Example:
    """One question variant's candidates: features, labels and the units behind them."""

    qid: str
    source: str
    variant: str  # "full" | "removed" (gold evidence taken out) | "unanswerable" (no report answers it)
    kind: str
    features: np.ndarray
    labels: np.ndarray
    spans: list[tuple[str, int, int]]  # (doc_id, start, end) of each candidate
    question: str = ""
    answers: tuple[str, ...] = ()
    texts: list[str] | None = None  # each candidate's text
    fits: np.ndarray | None = None  # each candidate passes the question's constraints (constraints.check)
    # what the cosine features are recomputed from for an adapted question (adapter.py)
    qvec: np.ndarray | None = None
    rows: np.ndarray | None = None  # each candidate's unit row in `units`
    units: UnitTable | None = None

    @property
    def has_answer(self) -> bool:
        return bool(self.labels.any())


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", nfc(text)).strip().casefold()


def beir_questions(folder: Path, source: str | None = None) -> list[LabeledQuestion]:
    """Questions of a BEIR folder that has answers.jsonl."""
    queries = {}
    for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            queries[str(row["_id"])] = str(row["text"])
    answers = {}
    for line in (folder / "answers.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            answers[str(row["_id"])] = tuple(str(a) for a in row["answers"])
    gold: dict[str, set[str]] = {}
    for line in (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] not in ("query-id", "query_id") and (len(parts) < 3 or float(parts[2]) > 0):
            gold.setdefault(parts[0], set()).add(parts[1])
    return [
        LabeledQuestion(qid, queries[qid], source or folder.name, answers[qid], frozenset(gold[qid]))
        for qid in sorted(queries)
        if qid in answers and qid in gold
    ]


def evalset_questions(items: Sequence[EvalItem], documents: Sequence[Document], source: str) -> list[LabeledQuestion]:
    """Questions of an evaluation set, with their gold quotes located in the stored reports."""
    by_file = {d.file: d for d in documents}
    out = []
    for item in items:
        spans = tuple((by_file[f].doc_id, a, b) for f, a, b in gold_spans(item, by_file))
        out.append(LabeledQuestion(item.id, item.question, source, tuple(item.must_contain), gold_spans=spans))
    return out


def unaccented(questions: Sequence[LabeledQuestion]) -> list[LabeledQuestion]:
    """The same questions typed without diacritics, as hurried users do ("bac giang to chuc bao nhieu...").

    Their ids get a "~plain" suffix: cross-validation keeps both spellings of a question in one fold.
    """
    return [replace(q, qid=f"{q.qid}~plain", text=fold(q.text)) for q in questions if has_diacritics(q.text)]


def base_id(qid: str) -> str:
    return qid.split("~", 1)[0]


def unit_labels(question: LabeledQuestion, candidates: Sequence[Candidate]) -> np.ndarray:
    """1 for each candidate unit that holds the answer, else 0."""
    labels = np.zeros(len(candidates), dtype=np.int8)
    if question.gold_docs:
        wanted = [_norm(a) for a in question.answers if a.strip()]
        for i, c in enumerate(candidates):
            if c.doc.doc_id in question.gold_docs:
                text = _norm(c.text)
                labels[i] = any(a in text for a in wanted)
        return labels
    overlapping = [
        i
        for i, c in enumerate(candidates)
        if any(c.doc.doc_id == d and c.start < b and a < c.end for d, a, b in question.gold_spans)
    ]
    holding = [i for i in overlapping if any(contains_all(candidates[i].text, [f]) for f in question.answers)]
    for i in holding or overlapping:
        labels[i] = 1
    return labels


def _gold_chunk_rows(assistant: Assistant, question: LabeledQuestion) -> set[int]:
    rows = set()
    for row, chunk in enumerate(assistant.data.chunks):
        if chunk.doc_id in question.gold_docs or any(
            chunk.doc_id == d and chunk.start < b and a < chunk.end for d, a, b in question.gold_spans
        ):
            rows.add(row)
    return rows


def collect(
    assistant: Assistant,
    finder: EvidenceFinder,
    questions: Sequence[LabeledQuestion],
    depth: int,
    near_misses: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> list[Example]:
    """Candidate features and labels for every question (and its near miss)."""
    examples: list[Example] = []
    for n, q in enumerate(questions, start=1):
        text, _ = clean_question(q.text, assistant.settings.max_question_chars)
        info = analyze(text)
        qvec = assistant.retriever.embed(text)
        pool = assistant.retriever.search(text, k=depth + (50 if near_misses else 0), query_vector=qvec)
        hits = assistant.retriever.complete_scores(text, qvec, pool[:depth])
        ev = finder.score(info, qvec, hits)
        labels = unit_labels(q, ev.candidates)
        variant = "full" if q.answerable else "unanswerable"
        examples.append(_example(q, variant, info, ev, labels, qvec, finder.data.units))
        if near_misses and q.answerable:
            gold_rows = _gold_chunk_rows(assistant, q)
            kept = [h for h in pool if assistant.data.chunk_rows[h.chunk.chunk_id] not in gold_rows][:depth]
            kept = assistant.retriever.complete_scores(
                text, qvec, [replace(h, rank=r) for r, h in enumerate(kept, start=1)]
            )
            positives = {c.row for c, y in zip(ev.candidates, labels) if y}
            ev_miss = finder.score(info, qvec, kept, exclude=positives)
            miss_labels = unit_labels(q, ev_miss.candidates)
            # Whatever still holds the answer outside the gold evidence is not a near miss: drop it.
            keep = miss_labels == 0
            ev_miss.features = ev_miss.features[keep]
            ev_miss.candidates = [c for c, k in zip(ev_miss.candidates, keep) if k]
            ev_miss.mismatches = [m for m, k in zip(ev_miss.mismatches, keep) if k]
            examples.append(_example(q, "removed", info, ev_miss, miss_labels[keep], qvec, finder.data.units))
        if progress:
            progress(n, len(questions))
    return examples


def _example(q: LabeledQuestion, variant: str, info, ev, labels: np.ndarray, qvec, units) -> Example:
    return Example(
        qid=q.qid,
        source=q.source,
        variant=variant,
        kind=info.kind,
        features=ev.features,
        labels=np.asarray(labels, dtype=np.int8),
        spans=[(c.doc.doc_id, c.start, c.end) for c in ev.candidates],
        question=q.text,
        answers=q.answers,
        texts=[c.text for c in ev.candidates],
        fits=np.array([not m for m in ev.mismatches], dtype=bool),
        qvec=np.asarray(qvec, dtype=np.float32),
        rows=np.array([c.row for c in ev.candidates], dtype=np.int64),
        units=units,
    )


def span_labels(answers: Sequence[str], text: str, cands) -> np.ndarray:
    """1 for each short-answer candidate that is (or holds, or lies inside) a gold answer."""
    gold = [_norm(a) for a in answers if len(a.strip()) >= 1]
    out = np.zeros(len(cands), dtype=np.int8)
    for i, c in enumerate(cands):
        phrase = _norm(text[c.start : c.end])
        out[i] = any(g and (g in phrase or (len(phrase) >= 2 and phrase in g)) for g in gold)
    return out
