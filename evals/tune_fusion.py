"""Sweep the dense weight of the hybrid fusion on the seed set and a BEIR benchmark, side by side.

Usage: python evals/tune_fusion.py --index index [--bench evals/bench/xquad-vi-dev] [--weights 0.3,0.5,1,1.5]
The BEIR index must exist (assistant eval-retrieval builds it once). Prints, per weight: seed recall@5,
MRR@10, answers correct and abstention F1 (hybrid), and the benchmark's nDCG@10.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.beir import load_benchmark, prepare, score  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.evalrun import run_eval  # noqa: E402
from assistant.evalset import load_evalset  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--bench", default=str(ROOT / "evals" / "bench" / "xquad-vi-dev"))
    parser.add_argument("--weights", default="0.3,0.5,0.7,1,1.5")
    args = parser.parse_args()
    settings = load_settings(index=args.index, show_progress=False)
    seed = Assistant.load(settings)
    items = load_evalset(ROOT / "evals" / "seed.jsonl", list(seed.data.documents.values()))
    bench = load_benchmark(Path(args.bench))
    bench_assistant, _ = prepare(settings, Path(args.bench), embedder=seed.embedder)
    print(f"{'dense_weight':>12} {'seed R@5':>9} {'seed MRR':>9} {'answers':>8} {'abst F1':>8} {'bench nDCG':>11}")
    for w in [float(x) for x in args.weights.split(",")]:
        for a in (seed, bench_assistant):
            a.settings = a.retriever.settings = replace(a.settings, dense_weight=w)
        s = run_eval(seed, items, ["hybrid"]).summary("hybrid")
        b = score(bench_assistant, bench, ["hybrid"])["hybrid"]
        print(
            f"{w:12.2f} {s['recall@5']:9.3f} {s['mrr@10']:9.3f} {s['answer_correct']:8.3f} {s['abstain_f1']:8.3f} "
            f"{b['ndcg@10']:11.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
