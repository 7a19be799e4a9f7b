"""Dense index types at scale: flat vs HNSW on synthetic vectors, side by side.

Usage: python evals/bench_ann.py [--sizes 10000,100000] [--queries 200] [--ef 64]
Vectors are random but clustered (like embeddings, they are not uniform), L2-normalized, 384-d like
multilingual-e5-small. Each size runs in its own process so peak memory is its own. Prints build time,
peak RSS, query p50/p95 and recall@10 of HNSW against the exact flat search.
(Issue 7 targets at 10^6: recall@10 >= 0.97 vs flat, hybrid p95 <= 150 ms, RSS <= 3 GB.)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evalrun import percentile  # noqa: E402

DIM = 384


def vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(max(8, n // 500), DIM)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + 0.6 * rng.normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def worker(n: int, kind: str, n_queries: int, ef: int) -> dict:
    from assistant.dense import DenseIndex

    data = vectors(n)
    queries = vectors(n_queries, seed=1)
    t0 = time.perf_counter()
    index = DenseIndex(DIM, kind=kind, ef_search=ef)
    index.add(data, np.arange(n))
    build = time.perf_counter() - t0
    latencies, results = [], []
    for q in queries:
        t = time.perf_counter()
        results.append([i for i, _ in index.search(q, 10)])
        latencies.append((time.perf_counter() - t) * 1000)
    return {
        "n": n,
        "kind": kind,
        "build_s": build,
        "latency": latencies,
        "results": results,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--ef", type=int, default=64)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(int(args.worker[0]), args.worker[1], args.queries, args.ef)))
        return 0
    print(f"{'vectors':>9} {'index':6} {'build s':>8} {'q p50 ms':>9} {'q p95 ms':>9} {'peak MB':>8} {'recall@10':>10}")
    for n in [int(x) for x in args.sizes.split(",")]:
        runs = {}
        for kind in ("flat", "hnsw"):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    str(n),
                    kind,
                    "--queries",
                    str(args.queries),
                    "--ef",
                    str(args.ef),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            runs[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
        exact = runs["flat"]["results"]
        for kind, r in runs.items():
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(r["results"], exact)])
            print(
                f"{n:>9} {kind:6} {r['build_s']:8.1f} {percentile(r['latency'], 50):9.2f} "
                f"{percentile(r['latency'], 95):9.2f} {r['rss_mb']:8.0f} {recall:10.3f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
