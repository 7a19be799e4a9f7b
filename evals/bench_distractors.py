"""Answers when the collection grows with unrelated documents, side by side in one run.

The report questions are asked of two indexes built here: the seed reports alone, and the seed reports
among unrelated Vietnamese documents (by default the 240 Wikipedia passages of XQuAD-vi, about 5x the
reports' text; its two halves share them). Abstaining gets harder as the collection grows: more text means more near
misses that look like an answer. Printed per set: the strict score (answerable questions answered with the
facts, unanswerable ones abstained on), answers correct, abstentions on unanswerable questions, quotes
taken from an unrelated document, and the overlap baseline judged the same way.

Usage: python evals/bench_distractors.py [--sets evals/seed.jsonl,evals/heldout/report_qa_dev.jsonl]
                                         [--distractors evals/bench/xquad-vi-train,evals/bench/xquad-vi-dev]
Nothing here is fitted: the held-out set is only measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.build import build_index  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embed import make_embedder  # noqa: E402
from assistant.evalrun import run_eval  # noqa: E402
from assistant.evalset import load_evalset  # noqa: E402
from assistant.service import Assistant  # noqa: E402

DISTRACTOR_PREFIX = "unrelated_"


def write_distractors(folders: list[Path], out: Path) -> int:
    """Each distinct passage of the BEIR corpora as a plain-text document in `out`; returns how many."""
    n = 0
    seen: set[str] = set()
    for folder in folders:
        for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row["text"] in seen:  # XQuAD-vi's two halves share their passages
                continue
            seen.add(row["text"])
            name = f"{DISTRACTOR_PREFIX}{folder.name}_{row['_id']}.txt"
            title = str(row.get("title") or "").strip()
            body = f"{title}\n\n{row['text']}\n" if title else f"{row['text']}\n"
            (out / name).write_text(body, encoding="utf-8")
            n += 1
    return n


def write_grown_corpus(corpus: Path, folders: list[Path], out: Path) -> tuple[list[Path], int]:
    """The reports of `corpus` copied into `out` among the BEIR folders' passages; returns the reports
    and how many unrelated documents were written."""
    reports = sorted(p for p in corpus.iterdir() if p.is_file() and not p.name.startswith("."))
    out.mkdir(parents=True, exist_ok=True)
    for p in reports:
        shutil.copy2(p, out / p.name)
    return reports, write_distractors(folders, out)


def measure(assistant: Assistant, path: Path) -> dict[str, float]:
    docs = list(assistant.data.documents.values())
    items = load_evalset(path, docs)
    run = run_eval(assistant, items, modes=("hybrid",), name=path.stem)
    results = run.results["hybrid"]
    summary = run.summary("hybrid")
    unanswerable = [r for r in results if not r.item.answerable]
    unrelated = sum(any(c.file.startswith(DISTRACTOR_PREFIX) for c in r.answer.citations) for r in results)
    return {
        "questions": len(results),
        "strict": summary["passed"],
        "answers_correct": summary["answer_correct"],
        "unanswerable_abstained": sum(r.answer.abstained for r in unanswerable),
        "unanswerable": len(unanswerable),
        "abstained_answerable": sum(r.answer.abstained for r in results if r.item.answerable),
        "quoted_unrelated": unrelated,
        "baseline_strict": summary["baseline_passed"],
        "latency_p50_ms": summary["latency_total_p50"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sets",
        default=",".join(str(ROOT / p) for p in ("evals/seed.jsonl", "evals/heldout/report_qa_dev.jsonl")),
    )
    parser.add_argument(
        "--distractors",
        default=",".join(str(ROOT / "evals/bench" / n) for n in ("xquad-vi-train", "xquad-vi-dev")),
        help="BEIR folders whose passages become unrelated documents",
    )
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--keep", default=None, help="keep the two indexes in this folder")
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="distractors-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        grown = work / "corpus-grown"
        folders = [Path(f) for f in args.distractors.split(",") if f]
        reports, n = write_grown_corpus(Path(args.corpus), folders, grown)
        size = lambda ps: sum(p.stat().st_size for p in ps)  # noqa: E731
        print(
            f"collections: {len(reports)} reports ({size(reports) / 1e3:.0f} kB) | the same + {n} unrelated "
            f"documents ({size(list(grown.iterdir())) / 1e3:.0f} kB)"
        )
        base = load_settings(corpus=args.corpus, show_progress=False)
        embedder = make_embedder(base)
        assistants = {}
        for name, corpus in (("reports", Path(args.corpus)), ("reports+unrelated", grown)):
            s = base.with_(corpus=corpus, index=work / f"index-{name}")
            if not (s.index / "CURRENT").exists():
                t0 = time.perf_counter()
                build_index(s, embedder=embedder, progress=False)
                print(f"built {name} in {time.perf_counter() - t0:.0f} s")
            assistants[name] = Assistant.load(s, embedder=embedder)

        keys = (
            "strict",
            "answers_correct",
            "unanswerable_abstained",
            "abstained_answerable",
            "quoted_unrelated",
            "baseline_strict",
            "latency_p50_ms",
        )
        for path in (Path(p) for p in args.sets.split(",") if p):
            rows = {name: measure(a, path) for name, a in assistants.items()}
            first = rows["reports"]
            print(f"\n{path.name} ({first['questions']} questions, {first['unanswerable']} unanswerable)")
            print(f"  {'':24s}" + "".join(f"{name:>20s}" for name in rows))
            for key in keys:
                cells = "".join(
                    f"{rows[name][key]:>20.3f}" if isinstance(rows[name][key], float) else f"{rows[name][key]:>20d}"
                    for name in rows
                )
                print(f"  {key:24s}{cells}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
