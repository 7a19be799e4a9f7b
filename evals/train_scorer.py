"""Train the evidence scorer and what is fitted with it; write assistant/models/evidence.json.

Usage: python evals/train_scorer.py [--out assistant/models/evidence.json] [--index index] [--precision P]

Training data (never the held-out sets evals/heldout/ or xquad-vi-dev, nor evals/report_dev.jsonl; the
script refuses them):
- evals/bench/xquad-vi-train (XQuAD Vietnamese, CC BY-SA 4.0): units holding a gold answer string;
- evals/seed.jsonl, evals/report_train.jsonl and evals/report_train2.jsonl over corpus/: units overlapping a
  gold quote (evals/report_dev.jsonl is the development set, never trained on);
- every question again typed without diacritics (both spellings share a fold);
- every report question again asked of the reports among the bench's passages as unrelated documents (the
  same fold), so that what is fitted holds when a collection grows;
- near misses: each answerable question again with its gold evidence taken out of the candidates.

Fitted, all by 5-fold cross-validation grouped by document (a report, an XQuAD passage):
0. the question adapter (assistant/adapter.py): its softmax temperature, L2 penalty and epochs, by the
   out-of-fold top-1 of a logistic scorer over the cosines it gives; fitted per fold, so that the scorer
   trains on cosines computed as for a question the adapter never saw, then on everything for the shipped file;
1. the unit scorer: logistic regression (pointwise, or listwise: evals/listwise.py) or LightGBM over small
   grids, the best mean (over the sources) out-of-fold top-1 accuracy wins, log loss breaks ties;
2. the second-quote ratio: the best out-of-fold containment whose mean answer fits --mean-chars, answers
   composed as the answerer composes them (up to answer_max_quotes quotes within answer_max_chars);
3. the answer-confidence model (the best unit's features and the top probabilities; its rows weighted so
   that each source weighs the same) and its threshold,
   on the questions as written with --unanswerable-share of them having no answer: the one that handles
   the most questions right (answerable ones answered with the answer, the others abstained on; each
   source counting equally; bagged: the mean best threshold over bootstrap resamples), or with
   --precision P the lowest at which answers hold the answer P of the time; and the threshold for one
   province of a question asked across provinces, the same way with --each-unanswerable-share of them having no answer;
4. the short-answer model and its threshold (--span-precision).
Everything is seeded and single-threaded and features are rounded to 1e-4: re-running gives the same file.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

# BLAS must be single-threaded before numpy loads it: OpenBLAS splits a product's sums over its threads,
# the logistic fits round differently with the core count, and the bagged thresholds moved by 0.002
# between a 1-thread and a 2-thread run on the same machine. The embedding engine keeps its own threads.
for _blas in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_blas] = "1"

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_distractors import write_grown_corpus  # noqa: E402
from listwise import ListwiseLinear  # noqa: E402

from assistant.adapter import AdapterSettings, QuestionAdapter, fit_adapter  # noqa: E402
from assistant.beir import prepare  # noqa: E402
from assistant.build import build_index  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.errors import IndexMismatch, IndexNotFound  # noqa: E402
from assistant.evalset import load_evalset  # noqa: E402
from assistant.evidence import EvidenceFinder  # noqa: E402
from assistant.features import FEATURES, feature_set_id, set_cosine_features  # noqa: E402
from assistant.scorer import DEFAULT_MODEL, EvidenceModel, flatten_tree  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.training import (  # noqa: E402
    Example,
    base_id,
    beir_questions,
    collect,
    evalset_questions,
    unaccented,
)

SEED = 20261202
FOLDS = 5
BOOTSTRAPS = 200  # resamples the operating threshold is bagged over (choose_operating_point)
HELD_OUT = ("heldout", "report_qa_dev", "xquad-vi-dev", "report_dev")
LOGISTIC_GRID = [{"C": c} for c in (0.1, 1.0, 10.0)]
ADAPTER_GRID = [
    AdapterSettings(temperature=t, l2=l2, epochs=epochs)
    for t in (0.02, 0.05)
    for l2 in (0.01, 0.1)
    for epochs in (5, 10)
]
GBDT_GRID = [
    {"num_leaves": leaves, "n_estimators": trees, "learning_rate": 0.05, "min_child_samples": 20}
    for leaves in (7, 15)
    for trees in (150, 300)
]


def _refuse_held_out(path: Path) -> None:
    if any(part in str(path) for part in HELD_OUT):
        raise SystemExit(f"Refusing to train on {path}: held-out sets measure generalization, never train on them.")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def corpus_assistant(settings, embedder, unrelated: Path | None = None):
    """The corpus index used for report questions, built once under index/training/; with `unrelated` (a
    BEIR folder), the reports among that folder's passages as unrelated documents."""
    digest = hashlib.sha256()
    for f in sorted(settings.corpus.iterdir()):
        if f.is_file():
            digest.update(f.name.encode() + f.read_bytes())
    if unrelated is not None:
        digest.update((unrelated / "corpus.jsonl").read_bytes())
    digest.update(json.dumps(settings.index_fingerprint(), sort_keys=True).encode())
    name = ("grown" if unrelated is not None else "corpus") + f"-{digest.hexdigest()[:12]}"
    s = settings.with_(index=settings.index / "training" / name)
    if unrelated is not None:
        corpus = s.index.parent / f"{name}-corpus"
        if not corpus.is_dir():
            tmp = s.index.parent / f"{name}-corpus.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            write_grown_corpus(settings.corpus, [unrelated], tmp)
            tmp.replace(corpus)
        s = s.with_(corpus=corpus)
    try:
        return Assistant.load(s, embedder=embedder)
    except (IndexNotFound, IndexMismatch):
        build_index(s, embedder=embedder, progress=False)
        return Assistant.load(s, embedder=embedder)


def gather(settings, depth: int, report_sets: list[Path], bench: Path) -> tuple[list[Example], dict]:
    """Examples from every training source, and what they came from.

    The report questions are asked twice: of the reports alone, and of the reports among the bench's
    passages as unrelated documents (ids marked "~grown", same fold), so that what is fitted holds when
    a collection grows with text that has nothing to do with the question."""
    sources = {}
    _refuse_held_out(bench)
    bench_assistant, _ = prepare(settings, bench)
    embedder = bench_assistant.embedder
    finder = EvidenceFinder(bench_assistant.data, None)
    questions = beir_questions(bench, source="xquad-vi-train")
    questions += unaccented(questions)
    t0 = time.perf_counter()
    examples = collect(bench_assistant, finder, questions, depth)
    sources["xquad-vi-train"] = {"questions": len(questions), "sha256": _sha(bench / "queries.jsonl")}
    print(f"xquad-vi-train: {len(questions)} questions in {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    collections = ((corpus_assistant(settings, embedder), ""), (corpus_assistant(settings, embedder, bench), "~grown"))
    for collection, suffix in collections:
        finder = EvidenceFinder(collection.data, None)
        docs = list(collection.data.documents.values())
        for path in report_sets:
            _refuse_held_out(path)
            if not path.is_file():
                continue
            items = load_evalset(path, docs)
            questions = evalset_questions(items, docs, source=path.stem)
            questions += unaccented(questions)
            questions = [replace(q, qid=q.qid + suffix) for q in questions]
            examples += collect(collection, finder, questions, depth)
            sources[path.stem] = {"questions": len(questions), "sha256": _sha(path)}
            print(f"{path.name}{suffix}: {len(questions)} questions", file=sys.stderr)
    return examples, sources


def stack(examples: list[Example]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of all candidates, their labels, and the candidate list (example) each row belongs to."""
    X = np.concatenate([e.features for e in examples]).astype(np.float64)
    X = np.round(X, 4)
    y = np.concatenate([e.labels for e in examples]).astype(np.int64)
    lists = np.concatenate([np.full(len(e.labels), n) for n, e in enumerate(examples)])
    return X, y, lists


def fit_model(kind: str, params: dict, X: np.ndarray, y: np.ndarray, lists: np.ndarray):
    """The unit scorer fitted on stacked rows (`stack`); only the listwise one reads `lists`."""
    if kind == "listwise":
        return ListwiseLinear(C=params["C"]).fit(X, y, lists)
    return make_model(kind, params).fit(X, y)


def make_model(kind: str, params: dict):
    if kind == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=5000))
    import lightgbm as lgb

    return lgb.LGBMClassifier(
        objective="binary",
        num_leaves=params["num_leaves"],
        n_estimators=params["n_estimators"],
        learning_rate=params["learning_rate"],
        min_child_samples=params["min_child_samples"],
        subsample=1.0,
        colsample_bytree=1.0,
        reg_lambda=1.0,
        random_state=SEED,
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        verbose=-1,
    )


def folds(examples: list[Example]) -> list[int]:
    """A fold per document: every question whose answer lies in one report (one XQuAD passage) shares a
    fold, so out-of-fold figures are those of documents the model never saw, as a user's new reports are.
    Every variant of a question (both spellings, its near miss, its grown-collection copy) shares its
    fold; a question with no answer in its candidates is a group of its own. Groups are shuffled
    (seeded), then dealt largest first, so the five reports fall in five different folds."""
    key = lambda e: (e.source, base_id(e.qid))  # noqa: E731
    doc: dict[tuple[str, str], str] = {}
    for e in examples:
        if key(e) not in doc and e.variant == "full" and e.has_answer:
            doc[key(e)] = e.spans[int(np.argmax(e.labels))][0]
    group = {key(e): doc.get(key(e), f"question:{e.source}:{base_id(e.qid)}") for e in examples}
    sizes: dict[str, int] = {}
    for e in examples:
        sizes[group[key(e)]] = sizes.get(group[key(e)], 0) + 1
    names = sorted(sizes)
    shuffled = [names[i] for i in np.random.default_rng(SEED).permutation(len(names))]
    dealt = sorted(shuffled, key=lambda g: -sizes[g])  # stable: equal sizes keep the shuffled order
    fold_of = {g: n % FOLDS for n, g in enumerate(dealt)}
    return [fold_of[group[key(e)]] for e in examples]


def adapter_pairs(examples: list[Example], keep) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(question vector, candidate unit vectors, labels) of the answerable questions as retrieved from
    their own collection (the grown-collection copies repeat the same questions), where `keep(n)`."""
    return [
        (e.qvec, np.asarray(e.units.vectors[e.rows], dtype=np.float32), e.labels)
        for n, e in enumerate(examples)
        if keep(n) and e.variant == "full" and e.has_answer and "~grown" not in e.qid
    ]


def with_cosines(e: Example, adapter: QuestionAdapter) -> Example:
    """The example with its cosine features read off the adapted question."""
    features = e.features.copy()
    set_cosine_features(features, adapter.apply(e.qvec), e.rows, [d for d, _, _ in e.spans], e.units)
    return replace(e, features=features)


def cross_fit_adapter(examples: list[Example], fold_ids: list[int], settings: AdapterSettings):
    """The examples with cosines from the adapter fitted without their fold (so the scorer trains on
    cosines as a question it never saw gets them), and, out of fold, how often the top unit by cosine
    alone holds the answer for each source (plain and adapted)."""
    cos = FEATURES.index("cos")
    adapted: list[Example | None] = [None] * len(examples)
    hits: dict[str, list[tuple[bool, bool]]] = {}
    for k in range(FOLDS):
        adapter = fit_adapter(adapter_pairs(examples, lambda n, k=k: fold_ids[n] != k), settings)
        for n, (e, f) in enumerate(zip(examples, fold_ids)):
            if f == k:
                adapted[n] = with_cosines(e, adapter)
                if e.variant == "full" and e.has_answer and "~grown" not in e.qid:
                    plain = bool(e.labels[int(np.argmax(e.features[:, cos]))])
                    hits.setdefault(e.source, []).append(
                        (plain, bool(e.labels[int(np.argmax(adapted[n].features[:, cos]))]))
                    )
    figures = {
        "cos_top1_plain": {s: round(float(np.mean([p for p, _ in h])), 4) for s, h in sorted(hits.items())},
        "cos_top1_adapted": {s: round(float(np.mean([a for _, a in h])), 4) for s, h in sorted(hits.items())},
    }
    figures["mean_adapted"] = round(float(np.mean(list(figures["cos_top1_adapted"].values()))), 4)
    return adapted, figures


def choose_adapter(examples: list[Example], fold_ids: list[int]):
    """The adapter settings under which the scorer does best: for each, the examples with cross-fitted
    cosines are scored out of fold by the logistic grid, and the best mean (over the sources) top-1 wins.
    The cosine top-1 alone is a proxy that disagrees with it (more epochs raise it and lower the scorer).
    Returns the adapter fitted on everything with the chosen settings, the examples with its cross-fitted
    cosines, and the figures."""
    tried = []
    for settings in ADAPTER_GRID:
        adapted, figures = cross_fit_adapter(examples, fold_ids, settings)
        scored = max(
            float(np.mean([top1(adapted, probs, s) for s in sorted({e.source for e in adapted})]))
            for probs in (out_of_fold("logistic", params, adapted, fold_ids) for params in LOGISTIC_GRID)
        )
        figures["scorer_top1"] = round(scored, 4)
        print(f"  adapter {dataclasses.asdict(settings)}: out-of-fold {figures}")
        tried.append((figures["scorer_top1"], settings, adapted, figures))
    _, settings, adapted, figures = max(tried, key=lambda t: t[0])  # ties: the first in the grid
    final = fit_adapter(adapter_pairs(examples, lambda n: True), settings)
    cv = {
        **figures,
        **dataclasses.asdict(settings),
        "grid": [{**dataclasses.asdict(t[1]), "scorer_top1": t[0], "cos_top1": t[3]["mean_adapted"]} for t in tried],
    }
    return final, adapted, cv


def out_of_fold(kind: str, params: dict, examples: list[Example], fold_ids: list[int]) -> list[np.ndarray]:
    """Out-of-fold probabilities for every example's candidates."""
    probs: list[np.ndarray | None] = [None] * len(examples)
    for k in range(FOLDS):
        train = [e for e, f in zip(examples, fold_ids) if f != k]
        model = fit_model(kind, params, *stack(train))
        for i, (e, f) in enumerate(zip(examples, fold_ids)):
            if f == k:
                probs[i] = (
                    model.predict_proba(np.round(e.features.astype(np.float64), 4))[:, 1]
                    if len(e.labels)
                    else np.zeros(0)
                )
    return probs  # type: ignore[return-value]


def top1(examples: list[Example], probs: list[np.ndarray], source: str | None = None) -> float:
    """Share of answerable full questions whose best-scored unit holds the answer."""
    picked = [
        bool(e.labels[int(np.argmax(p))])
        for e, p in zip(examples, probs)
        if e.variant == "full" and e.has_answer and (source is None or e.source == source)
    ]
    return float(np.mean(picked)) if picked else 0.0


def log_loss(examples: list[Example], probs: list[np.ndarray]) -> float:
    y = np.concatenate([e.labels for e in examples])
    p = np.clip(np.concatenate(probs), 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def composed(e: Example, p: np.ndarray, ratio: float, limits: tuple[int, int]) -> list[int]:
    """Candidates the answer would quote (EvidenceAnswerer.compose's rule): the best one that passes the
    question's constraints, then the next such ones at least `ratio` times as likely, within `limits`
    (the answerer's answer_max_quotes and answer_max_chars)."""
    order = [int(i) for i in np.argsort(-p, kind="stable") if e.fits is None or e.fits[i]]
    if not order:
        return []
    max_quotes, max_chars = limits
    picks, used = [order[0]], e.spans[order[0]][2] - e.spans[order[0]][1]
    for i in order[1:]:
        if len(picks) >= max_quotes or p[i] < ratio * p[order[0]]:
            break
        size = e.spans[i][2] - e.spans[i][1]
        if used + size <= max_chars:
            picks.append(i)
            used += size
    return picks


def choose_ratio(
    examples: list[Example], probs: list[np.ndarray], mean_chars: float, limits: tuple[int, int]
) -> tuple[float, dict]:
    """The second-quote ratio with the best out-of-fold containment whose mean answer fits mean_chars."""
    rows = []
    for ratio in np.round(np.arange(0.05, 1.0001, 0.05), 2):
        held, lengths = [], []
        for e, p in zip(examples, probs):
            if e.variant == "full" and e.has_answer:
                picks = composed(e, p, ratio, limits)
                held.append(bool(e.labels[picks].any()))
                lengths.append(sum(e.spans[i][2] - e.spans[i][1] + 4 for i in picks))
        rows.append((float(ratio), float(np.mean(held)), float(np.mean(lengths))))
    fitting = [r for r in rows if r[2] <= mean_chars] or [max(rows, key=lambda r: r[0])]
    best = max(fitting, key=lambda r: (r[1], r[0]))
    return best[0], {
        "ratio": best[0],
        "containment": round(best[1], 4),
        "mean_chars": round(best[2], 1),
        "max_quotes": limits[0],
        "max_chars": limits[1],
    }


def abstain_rows(examples: list[Example], probs: list[np.ndarray], ratio: float, limits: tuple[int, int]):
    """One row per question variant that has a candidate passing its constraints: the best such unit's
    features and the top probabilities (what EvidenceModel.confidence reads), and whether answering with
    the composed quotes is right. Variants with no such candidate always abstain."""
    X, y, kept = [], [], []
    for n, (e, p) in enumerate(zip(examples, probs)):
        picks = composed(e, p, ratio, limits)
        if not picks:
            continue
        fitting = p[e.fits] if e.fits is not None else p
        top = np.sort(fitting)[::-1]
        p1, p2 = float(top[0]), float(top[1]) if len(top) > 1 else 0.0
        X.append(np.concatenate([e.features[picks[0]].astype(np.float64), [p1, p2, p1 - p2]]))
        y.append(bool(e.labels[picks].any()))
        kept.append(n)
    return np.round(np.array(X), 4), np.array(y, dtype=np.int64), kept


def fit_logistic(X: np.ndarray, y: np.ndarray, C: float = 1.0, weight: np.ndarray | None = None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    return scaler, LogisticRegression(C=C, max_iter=5000).fit(scaler.transform(X), y, sample_weight=weight)


def source_weights(sources: np.ndarray) -> np.ndarray:
    """Row weights under which each source weighs as much as any other (mean weight 1)."""
    names, index, counts = np.unique(sources, return_inverse=True, return_counts=True)
    return (len(sources) / (len(names) * counts))[index]


def logistic_params(scaler, model) -> dict:
    return {
        "mean": [round(float(x), 10) for x in scaler.mean_],
        "scale": [round(float(x), 10) if x > 0 else 1.0 for x in scaler.scale_],
        "coef": [round(float(x), 10) for x in model.coef_[0]],
        "intercept": round(float(model.intercept_[0]), 10),
    }


def fit_abstention(
    examples: list[Example], probs: list[np.ndarray], fold_ids: list[int], ratio: float, limits: tuple[int, int]
) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fit the answer-confidence model. Returns its parameters and, for the questions as they were written
    (the unaccented copies teach the scorer, they are not how the questions were asked), the out-of-fold
    confidence (-1: no candidate passes the constraints, so it abstains at any threshold), whether
    answering is right, whether the variant has an answer, and its source."""
    X, y, kept = abstain_rows(examples, probs, ratio, limits)
    folds_ = np.array([fold_ids[n] for n in kept])
    # Each source weighs the same, as in the scorer's and the threshold's choice: otherwise xquad's near
    # misses (a passage taken away) teach the confidence what a report's near miss looks like.
    weight = source_weights(np.array([examples[n].source for n in kept]))
    conf = np.zeros(len(y))
    for k in range(FOLDS):
        train = folds_ != k
        scaler, model = fit_logistic(X[train], y[train], weight=weight[train])
        conf[folds_ == k] = model.predict_proba(scaler.transform(X[folds_ == k]))[:, 1]
    all_conf = np.full(len(examples), -1.0)
    all_conf[kept] = conf
    right = np.zeros(len(examples), dtype=np.int64)
    right[kept] = y
    full = np.array([e.variant == "full" for e in examples])
    asked = np.array(["~plain" not in e.qid for e in examples])
    scaler, model = fit_logistic(X, y, weight=weight)
    sources = np.array([e.source for e in examples])
    return logistic_params(scaler, model), all_conf[asked], right[asked], full[asked], sources[asked]


def choose_threshold(
    conf: np.ndarray, y: np.ndarray, full: np.ndarray, precision: float, unanswerable_share: float
) -> tuple[float, list[dict]]:
    """The lowest confidence at which answers hold the answer `precision` of the time when a share
    `unanswerable_share` of questions has none (answerable questions against their near misses and the
    unanswerable questions, reweighted to that mix), and the curve it was read from."""
    weight = np.where(full, (1 - unanswerable_share) / max(1, full.sum()), unanswerable_share / max(1, (~full).sum()))
    curve = []
    chosen = None
    for t in np.unique(np.round(conf[conf >= 0], 4)):
        answered = conf >= t
        p = float((weight * (answered & (y == 1))).sum() / max(1e-12, (weight * answered).sum()))
        curve.append(
            {
                "threshold": float(t),
                "precision": round(p, 4),
                "answerable_answered": round(float(answered[full].mean()), 4),
                "no_answer_abstained": round(float((~answered[~full]).mean()), 4),
            }
        )
        if chosen is None and p >= precision:
            chosen = float(t)
    return (chosen if chosen is not None else 1.0), curve


def expected_strict(
    conf: np.ndarray, y: np.ndarray, full: np.ndarray, sources: np.ndarray, share: float, grid: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """At each threshold of `grid` (answer when conf >= t): the expected share of questions handled right
    when a share `share` of them has no answer (answerable questions answered with the answer, the others
    abstained on: the strict score of the report evaluation sets), each source counting equally; and the
    same per source."""
    per = {}
    for s in np.unique(sources):
        m = sources == s
        n_full, n_none = int((m & full).sum()), int((m & ~full).sum())
        answered_right = np.sort(conf[m & full & (y == 1)])
        no_answer = np.sort(conf[m & ~full])
        right = (len(answered_right) - np.searchsorted(answered_right, grid, side="left")) / max(1, n_full)
        abstained = np.searchsorted(no_answer, grid, side="left") / n_none if n_none else np.ones(len(grid))
        per[str(s)] = (1 - share) * right + share * abstained
    return np.mean(list(per.values()), axis=0), per


def choose_operating_point(
    conf: np.ndarray, y: np.ndarray, full: np.ndarray, sources: np.ndarray, unanswerable_share: float
) -> tuple[float, dict]:
    """The threshold that maximizes the expected strict score (expected_strict) out of fold, bagged: the
    mean of the best thresholds of BOOTSTRAPS resamples of the questions (each source resampled within
    itself). The curve is flat near its top with bumps of a few questions, so its argmax jumps between
    distant thresholds when one feature of one question changes, or the embedding engine rounds otherwise
    on another machine; the bagged choice moves with the curve, not with its bumps."""
    grid = np.unique(np.round(conf[conf >= 0], 4))
    rng = np.random.default_rng(SEED)
    groups = [np.nonzero(sources == s)[0] for s in np.unique(sources)]
    best = []
    for _ in range(BOOTSTRAPS):
        idx = np.concatenate([rng.choice(g, len(g)) for g in groups])
        curve, _ = expected_strict(conf[idx], y[idx], full[idx], sources[idx], unanswerable_share, grid)
        best.append(grid[int(np.argmax(curve))])
    threshold = round(float(np.mean(best)), 4)
    curve, per = expected_strict(conf, y, full, sources, unanswerable_share, np.array([threshold]))
    return threshold, {
        "expected_strict": round(float(curve[0]), 4),
        "by_source": {s: round(float(v[0]), 4) for s, v in per.items()},
        "bootstrap_best": {f"p{q}": round(float(np.percentile(best, q)), 4) for q in (10, 50, 90)},
    }


def span_examples(examples: list[Example]):
    """Short-answer candidates inside the gold units of count, date and person questions."""
    from assistant.question import analyze
    from assistant.span import span_candidates, span_features
    from assistant.training import span_labels

    rows = []
    for e in examples:
        if e.variant != "full" or not e.has_answer:
            continue
        info = analyze(e.question)
        if info.kind not in ("count", "date", "person"):
            continue
        for i in np.nonzero(e.labels)[0]:
            text = e.texts[i]
            cands = span_candidates(info, text)
            if cands:
                rows.append((e.source, e.qid, span_features(info, text, cands), span_labels(e.answers, text, cands)))
    return rows


def train_span(examples: list[Example], fold_ids: list[int], precision: float) -> dict:
    """Logistic model picking the short answer; shown only above the threshold reaching `precision`."""
    from assistant.span import SPAN_FEATURES

    fold_of = {(e.source, e.qid): f for e, f in zip(examples, fold_ids)}
    rows = span_examples(examples)
    best_p, right = [], []
    for k in range(FOLDS):
        train = [r for r in rows if fold_of[(r[0], r[1])] != k]
        X = np.round(np.concatenate([r[2] for r in train]), 4)
        y = np.concatenate([r[3] for r in train])
        scaler, model = fit_logistic(X, y)
        for r in rows:
            if fold_of[(r[0], r[1])] == k:
                p = model.predict_proba(scaler.transform(np.round(r[2], 4)))[:, 1]
                best_p.append(float(p.max()))
                right.append(bool(r[3][int(np.argmax(p))]))
    best_p, right = np.array(best_p), np.array(right)
    threshold = 1.0
    for t in np.unique(np.round(best_p, 4)):
        shown = best_p >= t
        if shown.any() and right[shown].mean() >= precision:
            threshold = float(t)
            break
    X = np.round(np.concatenate([r[2] for r in rows]), 4)
    y = np.concatenate([r[3] for r in rows])
    scaler, model = fit_logistic(X, y)
    shown = best_p >= threshold
    return {
        "features": list(SPAN_FEATURES),
        **logistic_params(scaler, model),
        "threshold": threshold,
        "cv": {
            "quotes": len(rows),
            "top1": round(float(right.mean()), 4),
            "shown": round(float(shown.mean()), 4),
            "shown_right": round(float(right[shown].mean()) if shown.any() else 0.0, 4),
            "precision_target": precision,
        },
    }


def export(kind: str, model) -> dict:
    if kind == "listwise":
        return logistic_params(model.scaler, model)
    if kind == "logistic":
        return logistic_params(model.steps[0][1], model.steps[1][1])
    dump = model.booster_.dump_model()
    return {"trees": [flatten_tree(t["tree_structure"]) for t in dump["tree_info"]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(DEFAULT_MODEL))
    parser.add_argument("--index", default=None, help="where the training indexes are kept (default: index/)")
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--bench", default=str(ROOT / "evals" / "bench" / "xquad-vi-train"))
    parser.add_argument(
        "--sets",
        default=",".join(str(ROOT / "evals" / n) for n in ("seed.jsonl", "report_train.jsonl", "report_train2.jsonl")),
    )
    parser.add_argument(
        "--precision",
        type=float,
        default=None,
        help="answer when answers hold the answer this often (default: the threshold that handles the most "
        "questions right, answered or abstained on)",
    )
    parser.add_argument(
        "--unanswerable-share",
        type=float,
        default=0.2,
        help="share of questions with no answer (0.2, as in both report sets)",
    )
    parser.add_argument(
        "--each-unanswerable-share",
        type=float,
        default=0.5,
        help="share of provinces whose report does not hold the answer, in questions across provinces (0.5)",
    )
    parser.add_argument("--mean-chars", type=float, default=300, help="mean answer length budget (300)")
    parser.add_argument("--span-precision", type=float, default=0.8, help="short answers shown are right this often")
    args = parser.parse_args()

    settings = load_settings(index=args.index, corpus=args.corpus, show_progress=False)
    depth = settings.answer_passages
    examples, sources = gather(settings, depth, [Path(p) for p in args.sets.split(",") if p], Path(args.bench))
    fold_ids = folds(examples)
    adapter, examples, adapter_cv = choose_adapter(examples, fold_ids)
    print(f"question adapter: {adapter_cv}")
    n_rows = sum(len(e.labels) for e in examples)
    print(
        f"{len(examples)} question variants, {n_rows} candidate units, {sum(int(e.labels.sum()) for e in examples)} "
        f"positive; {len(FEATURES)} features"
    )

    results = []
    for kind, grid in (("logistic", LOGISTIC_GRID), ("listwise", LOGISTIC_GRID), ("gbdt", GBDT_GRID)):
        for params in grid:
            probs = out_of_fold(kind, params, examples, fold_ids)
            row = {
                "kind": kind,
                "params": params,
                "top1": round(top1(examples, probs), 4),
                "log_loss": round(log_loss(examples, probs), 4),
                "by_source": {s: round(top1(examples, probs, s), 4) for s in sources},
            }
            results.append((row, probs))
            print(
                f"  {kind:8s} {json.dumps(params)}: out-of-fold top-1 {row['top1']:.4f}, "
                f"log loss {row['log_loss']:.4f}, {row['by_source']}"
            )
    # Each source counts equally: xquad's many questions must not outvote the report questions.
    best_row, best_probs = max(
        results, key=lambda r: (float(np.mean(list(r[0]["by_source"].values()))), -r[0]["log_loss"])
    )
    # The ratio is fitted under the answerer's own limits: fitted for two quotes of any length, it was
    # stricter than it needed to be for answers that stop at 3 quotes and answer_max_chars.
    limits = (settings.answer_max_quotes, settings.answer_max_chars)
    ratio, ratio_cv = choose_ratio(examples, best_probs, args.mean_chars, limits)
    abstain, conf, right, full, conf_sources = fit_abstention(examples, best_probs, fold_ids, ratio, limits)
    shares = (args.unanswerable_share, args.each_unanswerable_share)
    # The curves are the same whatever precision is asked; their thresholds are kept only with --precision.
    (threshold, curve), (threshold_each, curve_each) = (
        choose_threshold(conf, right, full, args.precision or 1.0, share) for share in shares
    )
    best = best_each = {}
    if args.precision is None:
        (threshold, best), (threshold_each, best_each) = (
            choose_operating_point(conf, right, full, conf_sources, share) for share in shares
        )
    at = {**next((c for c in curve if c["threshold"] >= threshold), {}), **best}
    at_each = {**next((c for c in curve_each if c["threshold"] >= threshold_each), {}), **best_each}
    span = train_span(examples, fold_ids, args.span_precision)
    cv = {
        "folds": FOLDS,
        "chosen": best_row,
        "candidates": [r for r, _ in results],
        "second_ratio": ratio_cv,
        "threshold": threshold,
        "rule": "most handled right" if args.precision is None else f"precision {args.precision}",
        "unanswerable_share": args.unanswerable_share,
        "at_threshold": at,
        "threshold_each": threshold_each,
        "each_unanswerable_share": args.each_unanswerable_share,
        "at_threshold_each": at_each,
        "adapter": adapter_cv,
    }
    print(f"chosen: {best_row['kind']} {best_row['params']} (out-of-fold top-1 {best_row['top1']:.4f})")
    print(
        f"second quote when p2 >= {ratio} x p1: out-of-fold containment {ratio_cv['containment']:.3f}, "
        f"mean {ratio_cv['mean_chars']:.0f} characters"
    )
    print(f"threshold {threshold:.4f} ({cv['rule']}, {args.unanswerable_share} without answer): {at}")
    share = args.each_unanswerable_share
    print(f"across provinces: threshold {threshold_each:.4f} ({share} without answer): {at_each}")
    for target in (0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        point = next((c for c in curve if c["precision"] >= target), None)
        print(f"  precision {target}: {point}")
    print(f"short answers: {span['cv']}")

    X, y, lists = stack(examples)
    final = fit_model(best_row["kind"], best_row["params"], X, y, lists)
    model = EvidenceModel(
        # A listwise-trained scorer has the logistic form: the answerer reads both alike.
        kind="gbdt" if best_row["kind"] == "gbdt" else "logistic",
        features=FEATURES,
        feature_set=feature_set_id(),
        threshold=threshold,
        params=export(best_row["kind"], final),
        second_ratio=ratio,
        span=span,
        abstain=abstain,
        threshold_each=threshold_each,
        adapter=adapter.to_dict(),
        meta={
            "version": f"evidence-{feature_set_id()}-{best_row['kind']}",
            "trained_as": best_row["kind"],
            "embedder": embedder_of(settings, Path(args.bench)),
            "answer_passages": depth,
            "trained_on": sources,
            "rows": int(len(y)),
            "positives": int(y.sum()),
            "cv": cv,
            "seed": SEED,
            "numerics": numerics_fingerprint(settings),
        },
    )
    model.save(Path(args.out))
    print(f"wrote {args.out}")
    return 0


NUMERICS_PROBES = (
    "Năm 2022, toàn tỉnh đã mở 211 lớp/12.029 học viên đạt 102,9% kế hoạch.",
    "Ban Tuyên giáo Tỉnh ủy tham mưu tổ chức hội nghị báo cáo viên.",
    "Which team won Super Bowl 50?",
)


def numerics_fingerprint(settings) -> str:
    """A digest of what this machine computes where training meets floating point: the embedding
    engine's vectors for a few texts (passage and query side) and a seeded torch product like the
    adapter's. Seeded training gives the same file on the same numerics; another CPU's kernels (int8
    ONNX, BLAS) round otherwise, and the tests then check what the model does instead of its bytes."""
    import hashlib

    import torch

    from assistant.embed import make_embedder

    embedder = make_embedder(settings)
    digest = hashlib.sha256()
    digest.update(np.asarray(embedder.encode_passages(list(NUMERICS_PROBES)), dtype=np.float32).tobytes())
    digest.update(np.asarray(embedder.encode_queries(list(NUMERICS_PROBES)), dtype=np.float32).tobytes())
    generator = torch.Generator().manual_seed(SEED)
    a, b = torch.randn(64, 384, generator=generator), torch.randn(384, 384, generator=generator)
    digest.update(torch.tanh(a @ b).numpy().astype(np.float32).tobytes())
    return digest.hexdigest()[:16]


def embedder_of(settings, bench: Path) -> str:
    from assistant.beir import benchmark_index_path
    from assistant.store import read_manifest

    return read_manifest(benchmark_index_path(settings, bench))["embedder"]["id"]


if __name__ == "__main__":
    raise SystemExit(main())
