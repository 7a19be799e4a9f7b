"""Calibrate the abstention threshold on an eval set: sweep it and print the trade-off.

Usage: python evals/calibrate.py [--index PATH] [--file evals/seed.jsonl]
Runs every question once with the threshold at 0, records the best supporting sentence's score,
and reports, for each candidate threshold, answer accuracy and abstention F1 (the answers
themselves do not depend on the threshold above the chosen sentence's support).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings
from assistant.evalset import load_evalset
from assistant.evaluate import judge
from assistant.service import Assistant


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=None)
    parser.add_argument("--file", default=str(ROOT / "evals" / "seed.jsonl"))
    args = parser.parse_args()
    assistant = Assistant.load(load_settings(index=args.index, abstain_threshold=0.0))
    docs = list(assistant.data.documents.values())
    by_file = {d.file: d for d in docs}
    items = load_evalset(Path(args.file), docs)
    rows = []
    for item in items:
        answer = assistant.ask(item.question)
        j = judge(item, answer, by_file)
        rows.append((item, answer.support, j.passed if item.answerable else False))
        print(
            f"{item.id:>5} {item.type:<14} support {answer.support:.3f} "
            f"{'ok ' if j.passed else '-- '}{'' if item.answerable else '(unanswerable)'}"
        )
    print("\nthreshold  answered_correct  abstain_P  abstain_R  abstain_F1")
    for t in [x / 100 for x in range(30, 91, 5)]:
        answerable = [r for r in rows if r[0].answerable]
        correct = sum(1 for it, sup, ok in answerable if ok and sup >= t) / len(answerable)
        abstained = [r for r in rows if r[1] < t]
        true_abs = [r for r in abstained if not r[0].answerable]
        n_un = sum(1 for r in rows if not r[0].answerable)
        p = len(true_abs) / len(abstained) if abstained else 1.0
        r = len(true_abs) / n_un if n_un else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        print(f"{t:9.2f}  {correct:16.3f}  {p:9.3f}  {r:9.3f}  {f1:10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
