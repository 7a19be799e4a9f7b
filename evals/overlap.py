"""How close training questions come to the evaluation questions, and the filter that keeps them apart.

The five sample reports hold only so many facts, so questions written independently about them converge:
a training question can ask the same thing as a dev question in other words ("Buổi làm việc của Bí thư
... diễn ra vào ngày nào?"). Training on it would score the dev set on memory. Closeness is the Jaccard
overlap of the two questions' folded content terms (assistant.vietnamese.content_keys).

    python evals/overlap.py evals/report_train3.jsonl                 # the overlap histogram
    python evals/overlap.py evals/report_train3.jsonl --drop-above 0.6 --out F   # F without the close ones
    python evals/overlap.py evals/report_dev.jsonl --against evals/report_train*.jsonl --ids-below 0.5
                                                                      # dev ids far from every training one
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.vietnamese import content_keys, fold, nfc  # noqa: E402

EVAL_SETS = (ROOT / "evals" / "report_dev.jsonl", ROOT / "evals" / "heldout" / "report_qa_dev.jsonl")


def terms(question: str) -> frozenset[str]:
    return frozenset(fold(k) for k in content_keys(nfc(question)))


def closeness(question: str, others: list[frozenset[str]]) -> float:
    """The largest Jaccard overlap between the question's terms and any of the others'."""
    mine = terms(question)
    return max((len(mine & o) / max(1, len(mine | o)) for o in others), default=0.0)


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path, help="questions (.jsonl) to compare")
    ap.add_argument("--against", type=Path, nargs="+", default=list(EVAL_SETS), help="default: the dev sets")
    ap.add_argument("--drop-above", type=float, help="write the questions closer than this to none of them")
    ap.add_argument("--out", type=Path, help="where --drop-above writes")
    ap.add_argument("--ids-below", type=float, help="print the ids of questions closer than this to none")
    args = ap.parse_args()
    others = [terms(q["question"]) for path in args.against for q in read(path)]
    rows = read(args.file)
    close = [closeness(q["question"], others) for q in rows]
    bins = Counter(min(9, int(c * 10)) for c in close)
    print(f"{args.file.name}: {len(rows)} questions; closest overlap with {len(others)} others:")
    print("  " + "  ".join(f">={b / 10:.1f}: {bins[b]}" for b in range(10)))
    if args.ids_below is not None:
        print(" ".join(q["id"] for q, c in zip(rows, close) if c < args.ids_below))
    if args.drop_above is not None:
        if args.out is None:
            ap.error("--drop-above needs --out")
        kept = [q for q, c in zip(rows, close) if c < args.drop_above]
        args.out.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in kept), encoding="utf-8")
        print(f"kept {len(kept)} of {len(rows)} (overlap < {args.drop_above}) in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
