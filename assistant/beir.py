"""BEIR-style retrieval benchmarks (corpus.jsonl, queries.jsonl, qrels.tsv): index once, score each mode."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import Settings
from .errors import AssistantError, IndexMismatch, IndexNotFound
from .evalrun import percentile
from .evaluate import mrr_at_k, ndcg_at_k, recall_at_k


class BadBenchmark(AssistantError):
    """A benchmark folder is missing files or holds malformed ones."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    folder: Path
    queries: dict[str, str]
    qrels: dict[str, set[str]]


def load_benchmark(folder: Path) -> Benchmark:
    """Read queries and relevance judgements; the corpus is read by the indexer."""
    missing = [f for f in ("corpus.jsonl", "queries.jsonl", "qrels.tsv") if not (folder / f).is_file()]
    if missing:
        raise BadBenchmark(f"{folder} is not a BEIR benchmark folder: missing {', '.join(missing)}.")
    queries: dict[str, str] = {}
    for number, line in enumerate((folder / "queries.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
                queries[str(row["_id"])] = str(row["text"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise BadBenchmark(f'{folder / "queries.jsonl"}:{number}: expected {{"_id", "text"}}') from None
    qrels: dict[str, set[str]] = {}
    with (folder / "qrels.tsv").open(encoding="utf-8") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 2 or row[0] in ("query-id", "query_id"):
                continue
            if len(row) < 3 or float(row[2]) > 0:
                qrels.setdefault(row[0], set()).add(row[1])
    queries = {q: t for q, t in queries.items() if q in qrels}
    if not queries:
        raise BadBenchmark(f"{folder}: no query has a relevance judgement.")
    return Benchmark(folder.name, folder, queries, qrels)


def benchmark_index_path(settings: Settings, folder: Path) -> Path:
    """A separate index folder keyed by the corpus content and the index settings."""
    digest = hashlib.sha256((folder / "corpus.jsonl").read_bytes())
    digest.update(json.dumps(settings.index_fingerprint(), sort_keys=True).encode())
    return settings.index / "benchmarks" / f"{folder.name}-{digest.hexdigest()[:12]}"


def prepare(settings: Settings, folder: Path, embedder=None):
    """Load the benchmark's index if it exists (built from this exact corpus), else build it."""
    from .build import build_index
    from .service import Assistant

    bench_settings = settings.with_(corpus=folder / "corpus.jsonl", index=benchmark_index_path(settings, folder))
    try:
        return Assistant.load(bench_settings, embedder=embedder), False
    except (IndexNotFound, IndexMismatch):
        build_index(bench_settings, embedder=embedder)
        return Assistant.load(bench_settings, embedder=embedder), True


def score(
    assistant, bench: Benchmark, modes: Sequence[str], k: int = 10, progress: Callable[[int, int], None] | None = None
) -> dict[str, dict[str, float]]:
    """Recall@1/5/10, MRR@10 and nDCG@10 per mode, over documents (a document's best chunk counts)."""
    results: dict[str, dict[str, float]] = {}
    total = len(bench.queries) * len(modes)
    done = 0
    for mode in modes:
        r1, r5, r10, mrr, ndcg, times = [], [], [], [], [], []
        for qid, text in bench.queries.items():
            timings: dict[str, float] = {}
            hits = assistant.retriever.search(text, k=max(50, 5 * k), mode=mode, timings=timings)
            times.append(sum(timings.values()))
            docs: list[str] = []
            for h in hits:
                if h.chunk.doc_id not in docs:
                    docs.append(h.chunk.doc_id)
            gold = bench.qrels[qid]
            relevant = [d in gold for d in docs[:k]]
            r1.append(recall_at_k(relevant, 1, len(gold)))
            r5.append(recall_at_k(relevant, 5, len(gold)))
            r10.append(recall_at_k(relevant, 10, len(gold)))
            mrr.append(mrr_at_k(relevant, 10))
            ndcg.append(ndcg_at_k(relevant, 10, len(gold)))
            done += 1
            if progress:
                progress(done, total)
        n = len(bench.queries)
        results[mode] = {
            "recall@1": sum(r1) / n,
            "recall@5": sum(r5) / n,
            "recall@10": sum(r10) / n,
            "mrr@10": sum(mrr) / n,
            "ndcg@10": sum(ndcg) / n,
            "latency_p50_ms": percentile(times, 50),
            "latency_p95_ms": percentile(times, 95),
        }
    return results


def load_answers(folder: Path) -> dict[str, list[str]]:
    """answers.jsonl of a BEIR folder: query id -> gold answer strings."""
    path = folder / "answers.jsonl"
    if not path.is_file():
        raise BadBenchmark(f"{folder} has no answers.jsonl: only retrieval can be scored (assistant eval-retrieval).")
    out: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
                out[str(row["_id"])] = [str(a) for a in row["answers"]]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise BadBenchmark(f'{path}:{number}: expected {{"_id", "answers": [...]}}') from None
    return out


def _norm(text: str) -> str:
    import re

    from .vietnamese import nfc

    return re.sub(r"\s+", " ", nfc(text)).strip().casefold()


def holds_gold(answer: str, golds: Sequence[str], window: int = 600) -> bool:
    """The answer's first `window` characters hold one of the gold strings (NFC, spaces, case ignored)."""
    text = _norm(answer[:window])
    return any(_norm(g) in text for g in golds if g.strip())


def score_answers(
    assistant, bench: Benchmark, answers: dict[str, list[str]], progress: Callable[[int, int], None] | None = None
) -> dict:
    """Answer every question that has gold answers; the overlap baseline on the same questions.

    Returns:
        {"summary": {"assistant": {...}, "baseline": {...}}, "questions": [...]}
    """
    from .baseline import overlap_baseline

    rows = []
    ids = [q for q in bench.queries if q in answers]
    for n, qid in enumerate(ids, start=1):
        text = bench.queries[qid]
        answer = assistant.ask(text, qid=qid)
        base = overlap_baseline(assistant, text, qid)
        rows.append(
            {
                "id": qid,
                "question": text,
                "gold": answers[qid],
                "answer": answer.answer,
                "abstained": answer.abstained,
                "holds": (not answer.abstained) and holds_gold(answer.answer, answers[qid]),
                "chars": len(answer.answer) if not answer.abstained else 0,
                "top_passage_gold": bool(answer.passages) and answer.passages[0].chunk.doc_id in bench.qrels[qid],
                "baseline_holds": holds_gold(base.answer, answers[qid]),
                "baseline_chars": len(base.answer),
                "ms": answer.timings_ms.get("total", 0.0),
            }
        )
        if progress:
            progress(n, len(ids))
    answered = [r for r in rows if not r["abstained"]]
    count = max(1, len(rows))
    summary = {
        "assistant": {
            "questions": len(rows),
            "containment": sum(r["holds"] for r in rows) / count,
            "abstained": sum(r["abstained"] for r in rows) / count,
            "mean_chars": sum(r["chars"] for r in answered) / max(1, len(answered)),
            "recall@1": sum(r["top_passage_gold"] for r in rows) / count,
            "latency_p50_ms": percentile([r["ms"] for r in rows], 50),
            "latency_p95_ms": percentile([r["ms"] for r in rows], 95),
        },
        "baseline": {
            "questions": len(rows),
            "containment": sum(r["baseline_holds"] for r in rows) / count,
            "abstained": 0.0,
            "mean_chars": sum(r["baseline_chars"] for r in rows) / count,
        },
    }
    return {"summary": summary, "questions": rows}
