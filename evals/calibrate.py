"""Calibrate the abstention threshold on an eval set: run it at each threshold and print the trade-off.

Usage: python evals/calibrate.py [--index PATH] [--file evals/seed.jsonl] [--thresholds 0.3,0.35,...]
For each threshold: answers correct (answerable questions) and abstention precision/recall/F1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings  # noqa: E402
from assistant.evalrun import run_eval  # noqa: E402
from assistant.evalset import load_evalset  # noqa: E402
from assistant.service import Assistant  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=None)
    parser.add_argument("--file", default=str(ROOT / "evals" / "seed.jsonl"))
    parser.add_argument("--thresholds", default=",".join(f"{x / 100:.2f}" for x in range(30, 91, 5)))
    args = parser.parse_args()
    settings = load_settings(index=args.index)
    base = Assistant.load(settings)
    items = load_evalset(Path(args.file), list(base.data.documents.values()))
    print(
        f"threshold  answer_correct  abstain_P  abstain_R  abstain_F1   (current default {settings.abstain_threshold})"
    )
    for t in [float(x) for x in args.thresholds.split(",")]:
        assistant = Assistant(settings.with_(abstain_threshold=t), base.data, base.embedder)
        s = run_eval(assistant, items, ["hybrid"]).summary("hybrid")
        print(
            f"{t:9.2f}  {s['answer_correct']:14.3f}  {s['abstain_precision']:9.3f}  {s['abstain_recall']:9.3f}  "
            f"{s['abstain_f1']:10.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
