"""Run evals/seed.jsonl through `ask` and print how many answers are right.

Usage: python evals/seed_check.py [--index PATH] [--threshold X] [--show-failures]
(The full evaluation runner is `assistant eval`; this is the quick check used to tune.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import load_settings
from assistant.evalset import load_evalset
from assistant.evaluate import judge, summarize
from assistant.service import Assistant


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=None)
    parser.add_argument("--file", default=str(ROOT / "evals" / "seed.jsonl"))
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args()
    settings = load_settings(index=args.index, abstain_threshold=args.threshold)
    assistant = Assistant.load(settings)
    docs = list(assistant.data.documents.values())
    items = load_evalset(Path(args.file), docs)
    by_file = {d.file: d for d in docs}
    judgements = [judge(it, assistant.ask(it.question, qid=it.id), by_file) for it in items]
    summary = summarize(judgements)
    print(
        f"questions {summary['questions']} (answerable {summary['answerable']}, unanswerable {summary['unanswerable']})"
    )
    print(f"answered with all key facts and a gold citation: {summary['answer_correct']:.3f}")
    print(f"  all key facts: {summary['facts_ok']:.3f}  gold citation: {summary['citation_ok']:.3f}")
    print(
        f"abstention precision {summary['abstain_precision']:.3f} recall {summary['abstain_recall']:.3f} "
        f"F1 {summary['abstain_f1']:.3f}"
    )
    if args.show_failures:
        for j in judgements:
            if not j.passed:
                print(f"- {j.item.id} [{j.item.type}] {j.reason}: {j.item.question}\n    got: {j.answer.answer[:300]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
