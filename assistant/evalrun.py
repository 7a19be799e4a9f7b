"""Running an evaluation set through the assistant in one or more retrieval modes, and comparing runs."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .baseline import overlap_baseline
from .evalset import EvalItem
from .evaluate import (
    Judgement,
    gold_spans,
    judge,
    mrr_at_k,
    ndcg_at_k,
    overlaps,
    passage_relevant,
    recall_at_k,
    token_f1,
)
from .records import Answer
from .service import Assistant

DEPTH = 10


@dataclass
class QuestionResult:
    """One question in one mode."""

    judgement: Judgement
    relevant: list[bool]
    total_relevant: int
    f1: float
    citation_precision: float | None
    citation_recall: float
    verified: int
    citations: int
    baseline_passed: bool = False

    @property
    def item(self) -> EvalItem:
        return self.judgement.item

    @property
    def answer(self) -> Answer:
        return self.judgement.answer

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.judgement.to_dict(),
            "recall@5": recall_at_k(self.relevant, 5, self.total_relevant) if self.item.answerable else None,
            "f1": round(self.f1, 4),
            "citation_precision": self.citation_precision,
            "citation_recall": self.citation_recall,
            "timings_ms": self.answer.timings_ms,
            "mode": self.answer.mode,
            "fallback": self.answer.fallback,
            "caveat": self.answer.caveat,
            "answer_span": self.answer.answer_span.text if self.answer.answer_span else None,
            "baseline_passed": self.baseline_passed,
        }


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def summarize_results(results: Sequence[QuestionResult]) -> dict[str, float]:
    """All the figures of one mode (or one question type)."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    abstained = [r for r in results if r.answer.abstained]
    true_abstain = [r for r in abstained if not r.item.answerable]
    a_precision = len(true_abstain) / len(abstained) if abstained else (1.0 if not unanswerable else 0.0)
    a_recall = len(true_abstain) / len(unanswerable) if unanswerable else 1.0
    a_f1 = 2 * a_precision * a_recall / (a_precision + a_recall) if a_precision + a_recall else 0.0
    citations = sum(r.citations for r in results)
    precisions = [r.citation_precision for r in answerable if r.citation_precision is not None]
    t = [r.answer.timings_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "recall@1": _mean([recall_at_k(r.relevant, 1, r.total_relevant) for r in answerable]),
        "recall@5": _mean([recall_at_k(r.relevant, 5, r.total_relevant) for r in answerable]),
        "recall@10": _mean([recall_at_k(r.relevant, 10, r.total_relevant) for r in answerable]),
        "mrr@10": _mean([mrr_at_k(r.relevant, 10) for r in answerable]),
        "ndcg@10": _mean([ndcg_at_k(r.relevant, 10, r.total_relevant) for r in answerable]),
        "answer_correct": _mean([float(r.judgement.passed) for r in answerable]),
        "facts_ok": _mean([float(r.judgement.facts_ok) for r in answerable]),
        "token_f1": _mean([r.f1 for r in answerable]),
        "citation_precision": _mean(precisions),
        "citation_recall": _mean([r.citation_recall for r in answerable]),
        "quote_verification": (sum(r.verified for r in results) / citations) if citations else 1.0,
        "abstain_precision": a_precision,
        "abstain_recall": a_recall,
        "abstain_f1": a_f1,
        "passed": _mean([float(r.judgement.passed) for r in results]),
        # the overlap baseline (baseline.py) on the same questions, judged the same way
        "baseline_answer_correct": _mean([float(r.baseline_passed) for r in answerable]),
        "baseline_passed": _mean([float(r.baseline_passed) for r in results]),
        "llm_answers": _mean([float(r.answer.mode == "llm") for r in results]),
        "fallback_rate": _mean([float(r.answer.fallback is not None) for r in results]),
        "latency_retrieve_p50": percentile([x.get("retrieve", 0.0) for x in t], 50),
        "latency_retrieve_p95": percentile([x.get("retrieve", 0.0) for x in t], 95),
        "latency_answer_p50": percentile([x.get("answer", 0.0) for x in t], 50),
        "latency_answer_p95": percentile([x.get("answer", 0.0) for x in t], 95),
        "latency_total_p50": percentile([x.get("total", 0.0) for x in t], 50),
        "latency_total_p95": percentile([x.get("total", 0.0) for x in t], 95),
    }


@dataclass
class EvalRun:
    """Results of one evaluation: per mode, per question, with summaries overall and per type."""

    name: str
    file: str
    results: dict[str, list[QuestionResult]]
    settings: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def summary(self, mode: str) -> dict[str, float]:
        return summarize_results(self.results[mode])

    def by_type(self, mode: str) -> dict[str, dict[str, float]]:
        types = sorted({r.item.type for r in self.results[mode]})
        return {t: summarize_results([r for r in self.results[mode] if r.item.type == t]) for t in types}

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "file": self.file,
            "created": self.created,
            "settings": self.settings,
            "modes": {
                mode: {
                    "summary": self.summary(mode),
                    "by_type": self.by_type(mode),
                    "questions": [r.to_dict() for r in rs],
                }
                for mode, rs in self.results.items()
            },
        }


def evaluate_question(assistant: Assistant, item: EvalItem, mode: str, llm: bool = False) -> QuestionResult:
    """Ask one question in one mode and score retrieval, answer, citations and quotes."""
    documents = assistant.data.documents
    by_file = {d.file: d for d in documents.values()}
    answer = assistant.ask(item.question, k=DEPTH, mode=mode, qid=item.id, llm=llm)
    judgement = judge(item, answer, by_file)
    gold = gold_spans(item, by_file)
    relevant = [passage_relevant((h.chunk.file, h.chunk.start, h.chunk.end), gold) for h in answer.passages]
    total_relevant = sum(passage_relevant((c.file, c.start, c.end), gold) for c in assistant.data.chunks)
    cited = [(c.file, c.start, c.end) for c in answer.citations]
    precision = (sum(any(overlaps(c, g) for g in gold) for c in cited) / len(cited)) if cited and gold else None
    recall = (sum(any(overlaps(c, g) for c in cited) for g in gold) / len(gold)) if gold else 0.0
    verified = sum(documents[c.doc_id].text[c.start : c.end] == c.quote for c in answer.citations)
    f1 = 0.0 if answer.abstained or not item.answerable else token_f1(answer.answer, item.answer)
    base = judge(item, overlap_baseline(assistant, item.question, item.id), by_file).passed
    return QuestionResult(judgement, relevant, total_relevant, f1, precision, recall, verified, len(cited), base)


def run_eval(
    assistant: Assistant,
    items: Sequence[EvalItem],
    modes: Sequence[str] = ("hybrid",),
    name: str = "eval",
    file: str = "",
    progress: Callable[[int, int], None] | None = None,
    llm: bool = False,
) -> EvalRun:
    """Every question in every mode. `progress(done, total)` is called after each question."""
    results: dict[str, list[QuestionResult]] = {m: [] for m in modes}
    total = len(items) * len(modes)
    done = 0
    for mode in modes:
        for item in items:
            results[mode].append(evaluate_question(assistant, item, mode, llm=llm))
            done += 1
            if progress:
                progress(done, total)
    manifest = assistant.data.manifest
    settings = {
        **manifest.get("settings", {}),
        "llm": assistant.settings.llm_model if llm else None,
        "embedder": manifest["embedder"]["id"],
        "evidence_model": assistant.answerer.model.version,
        "abstain_threshold": assistant.answerer.model.threshold,
    }
    return EvalRun(name=name, file=file, results=results, settings=settings)


def compare_runs(current: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """Questions whose pass/fail changed between two runs' JSON, per mode present in both."""
    flips = []
    for mode, data in current["modes"].items():
        before = {q["id"]: q for q in previous.get("modes", {}).get(mode, {}).get("questions", [])}
        for q in data["questions"]:
            old = before.get(q["id"])
            if old is not None and old["passed"] != q["passed"]:
                flips.append(
                    {
                        "mode": mode,
                        "id": q["id"],
                        "question": q["question"],
                        "change": "fail -> pass" if q["passed"] else "pass -> fail",
                        "reason": q["reason"],
                    }
                )
    return flips
