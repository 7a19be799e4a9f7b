"""Index lifecycle benchmark: add/remove one report in a ~1,000-report corpus, and random SIGKILLs.

Usage: python evals/bench_update.py [--reports 1000] [--embed-budget 300] [--kills 20]

1. Builds a corpus of about --reports reports (the seeds, the xquad-vi-dev passages and repeated
   seeds with distinct ids). The full build embeds --embed-budget chunks for real and extrapolates
   the embedding time of the rest (see bench_speed.py); the index itself is real and full size.
2. Adds one new report (`assistant index update`, real embedding) and removes one: times and ratios.
3. Kills `assistant index update` with SIGKILL at --kills random moments on a small corpus; after each
   kill the index must load, be consistent and answer as before, and the next update must complete.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

from bench_speed import BudgetEmbedder, make_corpus  # noqa: E402

from assistant.build import build_index  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embed import BundledEmbedder  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.update import update_index  # noqa: E402

NEW_REPORT = (
    "Cao Bằng: tổng kết công tác báo chí năm 2023\n\n"
    "Năm 2023, Ban Tuyên giáo Tỉnh ủy Cao Bằng tổ chức 7 lớp bồi dưỡng nghiệp vụ cho 315 phóng viên.\n\n"
    "Các lớp học tập trung vào kỹ năng làm báo đa phương tiện và phòng, chống tin giả trên mạng xã hội."
)
QUESTIONS = ["Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?", "Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?"]


def scale(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        seeds_mb = make_corpus(1, Path(tmp) / "one")
        mb = make_corpus(max(1, int(args.reports / 5 * 0.8)), corpus)  # ~5 seeds per copy round
        n_reports = len(list(corpus.iterdir()))
        settings = load_settings(environ={}, corpus=corpus, index=Path(tmp) / "index", show_progress=False)
        real = BundledEmbedder(settings)
        budget = BudgetEmbedder(real, args.embed_budget)
        t0 = time.perf_counter()
        built = build_index(settings, embedder=budget, progress=False)
        full = time.perf_counter() - t0 - budget.seconds + budget.extrapolated_seconds()
        print(f"corpus: {n_reports} reports, {mb:.1f} MB ({mb / seeds_mb:.0f}x the seeds), {built.chunks} chunks")
        print(
            f"full build: {full:.0f} s (embedding extrapolated from {budget.embedded} chunks measured at "
            f"{budget.embedded / budget.seconds:.2f} chunks/s)"
        )

        (corpus / "cao-bang-2023.txt").write_text(NEW_REPORT, encoding="utf-8")
        t0 = time.perf_counter()
        added = update_index(settings, embedder=real, progress=False)
        t_add = time.perf_counter() - t0
        print(
            f"add 1 report: {t_add:.2f} s ({added.embedded_chunks} chunks embedded), "
            f"{100 * t_add / full:.2f}% of a full rebuild (targets: < 5% and < 10 s)"
        )

        (corpus / "cao-bang-2023.txt").unlink()
        t0 = time.perf_counter()
        removed = update_index(settings, embedder=real, progress=False)
        t_remove = time.perf_counter() - t0
        print(f"remove 1 report: {t_remove:.2f} s (removed {removed.removed}; target < 2 s)")


def crash(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        make_corpus(1, corpus)
        settings = load_settings(environ={}, corpus=corpus, index=Path(tmp) / "index", show_progress=False)
        embedder = BundledEmbedder(settings)
        build_index(settings, embedder=embedder, progress=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        cmd = [
            sys.executable,
            "-m",
            "assistant",
            "index",
            "update",
            "--corpus",
            str(corpus),
            "--index",
            str(settings.index),
        ]
        # How long an update that adds a report takes, to spread the kills over it.
        (corpus / "extra.txt").write_text(NEW_REPORT, encoding="utf-8")
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        duration = time.perf_counter() - t0
        rng = random.Random(7)
        broken = completed_after = 0
        for i in range(args.kills):
            # Alternate adding and removing the extra report so every run has work to do.
            extra = corpus / "extra.txt"
            if extra.exists():
                extra.unlink()
            else:
                extra.write_text(NEW_REPORT + f"\n\nBản {i}.", encoding="utf-8")
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            delay = rng.uniform(0, duration)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            try:
                assistant = Assistant.load(settings, embedder=embedder)
                for q in QUESTIONS:
                    assistant.ask(q)
            except Exception as exc:  # noqa: BLE001 - any failure to load or answer counts as broken
                broken += 1
                print(f"kill {i + 1} at {delay:.2f} s: index broken: {exc}")
            result = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if result.returncode == 0:
                completed_after += 1
            else:
                print(f"kill {i + 1}: the next update failed: {result.stderr.strip()[-300:]}")
        print(
            f"crash test: {args.kills} SIGKILLs at random moments over a {duration:.1f} s update: "
            f"{broken} unloadable or inconsistent indexes, {completed_after}/{args.kills} next updates completed"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--embed-budget", type=int, default=300)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--skip-scale", action="store_true")
    args = parser.parse_args()
    if not args.skip_scale:
        scale(args)
    crash(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
