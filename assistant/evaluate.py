"""Scoring answers against an evaluation set: key facts, citations, abstention. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .evalset import EvalItem
from .records import Answer, Document
from .vietnamese import nfc


def normalize(text: str) -> str:
    """NFC, single spaces, casefolded: how key facts are compared."""
    return re.sub(r"\s+", " ", nfc(text)).strip().casefold()


def contains_all(answer: str, facts: Sequence[str]) -> bool:
    """True when every fact appears in the answer (numbers must stand alone: "2" is not in "2023")."""
    text = normalize(answer)
    for fact in facts:
        f = re.escape(normalize(fact))
        if not re.search(rf"(?<![\w.,]){f}(?![\w]|[.,]\d)", text):
            return False
    return True


def gold_spans(item: EvalItem, documents: dict[str, Document]) -> list[tuple[str, int, int]]:
    """(file, start, end) of each gold quote in its report."""
    spans = []
    for s in item.sources:
        doc = documents.get(s.file)
        if doc is None:
            continue
        start = doc.text.find(s.quote)
        if start >= 0:
            spans.append((s.file, start, start + len(s.quote)))
    return spans


def overlaps(a: tuple[str, int, int], b: tuple[str, int, int]) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


@dataclass(frozen=True)
class Judgement:
    """One question's outcome."""

    item: EvalItem
    answer: Answer
    facts_ok: bool
    citation_ok: bool
    passed: bool
    reason: str

    def to_dict(self) -> dict:
        return {
            "id": self.item.id,
            "type": self.item.type,
            "question": self.item.question,
            "expected": self.item.answer,
            "got": self.answer.answer,
            "abstained": self.answer.abstained,
            "passed": self.passed,
            "reason": self.reason,
        }


def judge(item: EvalItem, answer: Answer, documents_by_file: dict[str, Document]) -> Judgement:
    """Pass/fail with the reason: missing fact, wrong citation, wrongly abstained, answered an unanswerable one."""
    if not item.answerable:
        ok = answer.abstained
        return Judgement(item, answer, ok, ok, ok, "" if ok else "answered an unanswerable question")
    if answer.abstained:
        return Judgement(item, answer, False, False, False, "wrongly abstained")
    facts_ok = contains_all(answer.answer, item.must_contain)
    gold = gold_spans(item, documents_by_file)
    cited = [(c.file, c.start, c.end) for c in answer.citations]
    citation_ok = any(overlaps(c, g) for c in cited for g in gold)
    reason = "" if facts_ok and citation_ok else ("missing fact" if not facts_ok else "wrong citation")
    return Judgement(item, answer, facts_ok, citation_ok, facts_ok and citation_ok, reason)


def summarize(judgements: Sequence[Judgement]) -> dict[str, float]:
    """Headline figures: answered correctly, abstention precision/recall/F1."""
    answerable = [j for j in judgements if j.item.answerable]
    unanswerable = [j for j in judgements if not j.item.answerable]
    abstained = [j for j in judgements if j.answer.abstained]
    true_abstain = [j for j in abstained if not j.item.answerable]
    precision = len(true_abstain) / len(abstained) if abstained else 1.0
    recall = len(true_abstain) / len(unanswerable) if unanswerable else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "questions": len(judgements),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "answer_correct": sum(j.passed for j in answerable) / len(answerable) if answerable else 0.0,
        "facts_ok": sum(j.facts_ok for j in answerable) / len(answerable) if answerable else 0.0,
        "citation_ok": sum(j.citation_ok for j in answerable) / len(answerable) if answerable else 0.0,
        "abstain_precision": precision,
        "abstain_recall": recall,
        "abstain_f1": f1,
    }


# -- retrieval metrics (binary relevance) --------------------------------------------------------


def recall_at_k(relevant: Sequence[bool], k: int, total_relevant: int) -> float:
    """Share of the relevant items found in the top k (1.0 when there is nothing to find)."""
    if total_relevant <= 0:
        return 1.0
    return min(1.0, sum(relevant[:k]) / total_relevant)


def mrr_at_k(relevant: Sequence[bool], k: int) -> float:
    """1 / rank of the first relevant item in the top k, else 0."""
    for i, rel in enumerate(relevant[:k], start=1):
        if rel:
            return 1.0 / i
    return 0.0


def ndcg_at_k(relevant: Sequence[bool], k: int, total_relevant: int) -> float:
    """Normalized discounted cumulative gain with binary gains."""
    import math

    dcg = sum(1.0 / math.log2(i + 1) for i, rel in enumerate(relevant[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, total_relevant) + 1))
    return dcg / ideal if ideal else 0.0


def passage_relevant(passage: tuple[str, int, int], gold: Sequence[tuple[str, int, int]]) -> bool:
    """A passage is relevant when it holds most (at least half) of some gold quote."""
    file, start, end = passage
    for g_file, g_start, g_end in gold:
        if g_file == file:
            overlap = min(end, g_end) - max(start, g_start)
            if overlap >= 0.5 * (g_end - g_start):
                return True
    return False


def syllables(text: str) -> list[str]:
    """Lowercase word and number tokens, citation markers removed: what token F1 compares."""
    from .vietnamese import TOKEN_RE

    return [t.lower() for t in TOKEN_RE.findall(re.sub(r"\[\d+\]", " ", nfc(text)))]


def token_f1(predicted: str, gold: str) -> float:
    """Bag-of-syllables F1 between an answer and the gold answer."""
    from collections import Counter

    p, g = Counter(syllables(predicted)), Counter(syllables(gold))
    common = sum((p & g).values())
    if not p or not g or not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(g.values())
    return 2 * precision * recall / (precision + recall)
