"""Features of (question, candidate unit) pairs: what the trained evidence scorer reads.

Every feature is measured, none is a verdict: the weights that turn them into "this unit holds the
answer" are learned (evals/train_scorer.py), not set here. Features relative to the other candidates
(gaps, ranks) keep the scale of e5's compressed cosines and of BM25 scores out of the model.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .constraints import statement_years
from .names import mentions, question_names
from .question import QuestionInfo, asks_day, asks_rate
from .records import Document
from .units import UNITS_VERSION, UnitTable
from .unittext import UnitText, read_unit
from .vietnamese import fold, is_number

FEATURES: tuple[str, ...] = (
    # meaning: question/unit cosine, its gap to the best candidate, its rank among the candidates
    "cos",
    "cos_gap",
    "cos_rank",
    "prev_cos",
    "next_cos",
    # words: idf-weighted share of the question's content terms in the unit (folded, accented, with
    # the report's title/province/years), gap to the best candidate, question bigrams, the neighbours
    "cov",
    "cov_exact",
    "cov_ctx",
    "cov_gap",
    "bm25u",
    "rare_hit",
    "bigram",
    "neigh_cov",
    "novel",
    # what the question asks for
    "kind_count",
    "kind_date",
    "kind_person",
    "kind_list",
    "kind_place",
    "kind_reason",
    "kind_manner",
    "kind_other",
    "asks_percent",
    "asks_name",
    # what the unit holds
    "num",
    "num_new",
    "num_noun",
    "percent",
    "date",
    "year",
    "vn_name",
    "caps",
    "caps_new",
    "list_shape",
    "quoted",
    # answer-type fit (products, so a linear model can use them)
    "fit_count",
    "fit_noun",
    "fit_percent",
    "fit_date",
    "fit_day",
    "fit_person",
    "fit_list",
    "fit_name",
    "fit_place",
    # the asked-for type that the question does not already state (a count, a date, a name): a near miss
    # repeats the question's own "211 lớp", "năm 2022", "Ban Tuyên giáo" without the thing asked
    "fit_count_new",
    "fit_date_new",
    "fit_person_new",
    "fit_day_new",
    # a reason question and a unit that gives a cause ("vì", "do", "nhờ", "dẫn đến")
    "fit_reason",
    # the question's terms right around the asked-for thing: a number next to the counted noun, a name
    # next to the asked role, a date next to the event
    "near_num",
    "near_name",
    "near_date",
    # the question's words right around its question word ("bao nhiêu hội nghị báo cáo viên", "ai làm trưởng
    # đoàn"): what is asked about, which a near miss names only in part; their share in the unit, and near the
    # asked type (a new number, date or name)
    "focus_cov",
    "focus_near",
    # the question's proper names ("Sìn Hồ", "Krông Pắc") that the unit's whole report never mentions: a near
    # miss is often the right topic asked about a place or body the report does not cover
    "doc_name_miss",
    # constraints: the question's province and year against the unit's report and statement
    "prov_agree",
    "year_unit",
    "year_doc",
    # the passage the unit came from
    "p_rank",
    "p_score",
    "p_dense_gap",
    "p_sparse",
    # where and how long
    "position",
    "first",
    "log_len",
    # the candidates together: does any of them hold the question's terms, its two rarest ones? A detail
    # the question asks about that no retrieved unit mentions makes every unit a near miss.
    "pool_cov",
    "pool_rare",
    # the question itself (lets probabilities calibrate across short and long questions)
    "q_terms",
    "n_cands",
    "q_accented",
)


def feature_set_id(features: Sequence[str] = FEATURES) -> str:
    """Names the feature set: a scorer trained on another set (or other units) cannot read these."""
    digest = hashlib.sha256(("|".join(features) + f"|units{UNITS_VERSION}").encode()).hexdigest()
    return f"f{len(features)}-{digest[:10]}"


# Words that give a cause or a consequence: what a "tại sao" question's answer holds.
_CAUSE = re.compile(r"\b(vì|do|bởi|nhờ|nên|nguyên nhân|lý do|lí do|dẫn đến|dẫn tới|khiến|gây ra)\b", re.IGNORECASE)
_NAME_WORDS = re.compile(r"\b(ten|chu de|khau hieu|phuong cham|tieu de|ten goi)\b")


# -- the question side ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionTerms:
    """The question's content terms with their weights, computed once per question."""

    folded: dict[str, float]  # folded term -> idf
    exact: frozenset[str]  # accented canonical keys (empty when typed without diacritics)
    bigrams: frozenset[str]
    count_head: str | None
    asks_percent: bool
    asks_name: bool
    asks_day: bool
    focus: dict[str, float]  # folded term -> idf, the terms next to the question word (_focus)
    names: tuple[tuple[str, ...], ...]  # the question's capitalized runs (names.question_names)


def question_terms(info: QuestionInfo, idf: Callable[[str], float]) -> QuestionTerms:
    folded: dict[str, float] = {}
    keys = [k if is_number(k) else fold(k.rstrip("12345")) for k in info.terms]
    for k in keys:
        folded[k] = idf(k)
    q = fold(info.text)
    return QuestionTerms(
        folded=folded,
        exact=frozenset(info.terms) if info.accented else frozenset(),
        bigrams=frozenset(f"{a}_{b}" for a, b in zip(keys, keys[1:])),
        count_head=info.count_noun[0] if info.count_noun else None,
        asks_percent=asks_rate(info.text),
        asks_name=bool(_NAME_WORDS.search(q)),
        asks_day=asks_day(info.text),
        focus=_focus(q, folded),
        names=question_names(info.text, info.provinces),
    )


# Words before and after the question word: "ai làm trưởng đoàn", "bao nhiêu hội nghị báo cáo viên" (the
# asked thing mostly follows it, up to a two-word noun of five syllables)
FOCUS_BEFORE, FOCUS_AFTER = 2, 5
_ASK_WORDS = re.compile(r"\b(bao nhieu|may|ai|gi|nao|dau|sao|khi nao|luc nao)\b")


def _focus(folded_question: str, terms: dict[str, float]) -> dict[str, float]:
    """The question's terms next to its first question word (none when it has none)."""
    words = [w.strip('.,;:?!()"“”') for w in folded_question.split()]
    text = " ".join(words)
    m = _ASK_WORDS.search(text)
    if not m:
        return {}
    first = text[: m.start()].count(" ")
    last = first + m.group().count(" ")
    near = words[max(0, first - FOCUS_BEFORE) : first] + words[last + 1 : last + 1 + FOCUS_AFTER]
    return {t: terms[t] for t in near if t in terms}


class NewMarks(NamedTuple):
    """Token positions of a unit's numbers, dates and names (capitalized runs, by their first word) that the
    question does not already hold."""

    numbers: list[int]
    dates: list[int]
    names: list[int]


def new_marks(u: UnitText, q_words: set[str] | frozenset[str]) -> NewMarks:
    """What in the unit could answer a count, date or person question: the answer is not in the question,
    and a near miss often repeats the question's own "211 lớp", "năm 2022" or "Lai Châu" and nothing else."""
    return NewMarks(
        numbers=[j for j in u.num_positions if u.folded[j] not in q_words],
        dates=[j for j in u.date_positions if u.folded[j] not in q_words],
        names=[start for start, run in zip(u.cap_starts, u.cap_runs) if any(w not in q_words for w in run)],
    )


def _near(terms: dict[str, float], tokens: tuple[str, ...], anchors, width: int = 6) -> float:
    """The best idf-weighted share of question terms within `width` tokens of an anchor."""
    total = sum(terms.values())
    if total <= 0 or not anchors:
        return 0.0
    best = 0.0
    for a in anchors:
        window = set(tokens[max(0, a - width) : a + width + 1])
        best = max(best, sum(w for t, w in terms.items() if t in window) / total)
    return best


def _coverage(terms: dict[str, float], present: set[str] | frozenset[str] | tuple[str, ...]) -> float:
    total = sum(terms.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in terms.items() if t in present) / total


# -- candidates ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A unit reached through a retrieved passage."""

    row: int  # unit row in the UnitTable
    doc: Document
    start: int
    end: int
    rank: int  # best rank of a passage holding it
    score: float  # that passage's fused score
    dense: float | None
    sparse: float | None

    @property
    def text(self) -> str:
        return self.doc.text[self.start : self.end]


def candidate_features(
    info: QuestionInfo,
    terms: QuestionTerms,
    qvec: np.ndarray,
    cands: Sequence[Candidate],
    units: UnitTable,
) -> np.ndarray:
    """The (len(cands), len(FEATURES)) matrix for one question's candidates, float32."""
    n = len(cands)
    out = np.zeros((n, len(FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    col = {name: i for i, name in enumerate(FEATURES)}
    rows = np.array([c.row for c in cands])
    set_cosine_features(out, qvec, rows, [c.doc.doc_id for c in cands], units)

    kind = info.kind
    kinds = dict.fromkeys(("count", "date", "person", "list", "place", "reason", "manner", "other"), 0.0)
    kinds[kind if kind in kinds else "other"] = 1.0
    q_years = set(info.years)
    q_provinces = set(info.provinces)
    max_score = max(c.score for c in cands) or 1.0
    dense_vals = [c.dense for c in cands if c.dense is not None]
    max_dense = max(dense_vals) if dense_vals else 0.0
    sparse_vals = [c.sparse for c in cands if c.sparse is not None]
    max_sparse = max(sparse_vals) if sparse_vals else 0.0

    covs = np.zeros(n, dtype=np.float32)
    bm25 = np.zeros(n, dtype=np.float32)
    q_words = set(terms.folded)
    rare = sorted(terms.folded, key=lambda t: -terms.folded[t])[:2]
    lengths = [len(read_unit(c.text).folded) for c in cands]
    pool: set[str] = set()
    avg_len = max(1.0, sum(lengths) / n)
    for i, c in enumerate(cands):
        u = read_unit(c.text)
        present = set(u.folded)
        doc = c.doc
        context = present | set(read_unit(doc.title).folded) | {fold(p) for p in (doc.province or "").split()}
        context |= {str(y) for y in doc.years}
        lo, hi = units.doc_range(doc.doc_id)
        neigh_rows = [r for r in (c.row - 1, c.row + 1) if lo <= r < hi]
        neigh_terms: set[str] = set()
        for r in neigh_rows:
            neigh_terms |= set(read_unit(doc.text[int(units.starts[r]) : int(units.ends[r])]).folded)
        cov = _coverage(terms.folded, present)
        covs[i] = cov
        pool |= context
        # BM25 of the question over this one unit (k1 1.2, b 0.75: the textbook values, not tuned here)
        tf: dict[str, int] = {}
        for t in u.folded:
            if t in q_words:
                tf[t] = tf.get(t, 0) + 1
        norm = 1.2 * (0.25 + 0.75 * lengths[i] / avg_len)
        bm25[i] = sum(terms.folded[t] * f * 2.2 / (f + norm) for t, f in tf.items())
        bigrams = {f"{a}_{b}" for a, b in zip(u.folded, u.folded[1:])}
        content = [t for t in u.folded if t not in terms.folded]
        num_noun = 0.0
        if terms.count_head:
            # a number the question states ("Trong 30 lớp đã mở, có bao nhiêu lớp sơ cấp?") is not its answer
            num_noun = float(
                any(terms.count_head in u.folded[j + 1 : j + 4] and u.folded[j] not in q_words for j in u.num_positions)
            )
        has_num = float(bool(u.num_positions))
        has_date = float(u.date)
        has_year = float(bool(u.years))
        covered = statement_years(doc, c.start, c.end)
        f = out[i]
        f[col["cov"]] = cov
        f[col["cov_exact"]] = sum(1 for k in terms.exact if k in u.keys) / len(terms.exact) if terms.exact else cov
        f[col["cov_ctx"]] = _coverage(terms.folded, context)
        f[col["rare_hit"]] = sum(1 for t in rare if t in present) / len(rare) if rare else 0.0
        f[col["bigram"]] = len(terms.bigrams & bigrams) / len(terms.bigrams) if terms.bigrams else 0.0
        f[col["neigh_cov"]] = _coverage(terms.folded, neigh_terms | present) - cov
        f[col["novel"]] = math.log1p(len(content))
        for name, value in kinds.items():
            f[col[f"kind_{name}"]] = value
        f[col["asks_percent"]] = float(terms.asks_percent)
        f[col["asks_name"]] = float(terms.asks_name)
        f[col["num"]] = has_num
        new = new_marks(u, q_words)
        f[col["num_new"]] = float(bool(new.numbers))
        f[col["num_noun"]] = num_noun
        f[col["percent"]] = float(u.percent)
        f[col["date"]] = has_date
        f[col["year"]] = has_year
        f[col["vn_name"]] = float(u.vn_name)
        f[col["caps"]] = math.log1p(u.caps)
        f[col["caps_new"]] = math.log1p(len(new.names))
        f[col["list_shape"]] = float(u.list_shape)
        f[col["quoted"]] = float(u.quoted)
        f[col["fit_count"]] = kinds["count"] * has_num
        f[col["fit_noun"]] = kinds["count"] * num_noun
        f[col["fit_percent"]] = float(terms.asks_percent) * float(u.percent)
        f[col["fit_date"]] = kinds["date"] * max(has_date, has_year)
        f[col["fit_day"]] = float(terms.asks_day) * float(u.day)
        f[col["fit_person"]] = kinds["person"] * max(float(u.vn_name), min(1.0, u.caps))
        f[col["fit_list"]] = kinds["list"] * float(u.list_shape)
        f[col["fit_name"]] = float(terms.asks_name) * float(u.quoted)
        f[col["fit_place"]] = kinds["place"] * float(bool(new.names))
        f[col["fit_count_new"]] = kinds["count"] * float(bool(new.numbers))
        f[col["fit_date_new"]] = kinds["date"] * float(bool(new.dates))
        f[col["fit_person_new"]] = kinds["person"] * float(bool(new.names))
        f[col["fit_day_new"]] = float(terms.asks_day) * float(u.day and bool(new.dates))
        f[col["fit_reason"]] = kinds["reason"] * float(bool(_CAUSE.search(c.text)))
        f[col["near_num"]] = _near(terms.folded, u.folded, new.numbers)
        f[col["near_name"]] = _near(terms.folded, u.folded, new.names)
        f[col["near_date"]] = _near(terms.folded, u.folded, u.date_positions)
        f[col["focus_cov"]] = _coverage(terms.focus, present) if terms.focus else cov
        asked = {"count": new.numbers, "date": new.dates, "person": new.names, "place": new.names}.get(kind, [])
        f[col["focus_near"]] = _near(terms.focus, u.folded, asked) if terms.focus else 0.0
        if terms.names:
            f[col["doc_name_miss"]] = sum(not mentions(doc.text, n) for n in terms.names) / len(terms.names)
        if q_provinces and doc.province:
            f[col["prov_agree"]] = 1.0 if doc.province in q_provinces else -1.0
        if q_years:
            f[col["year_unit"]] = (1.0 if covered & q_years else -1.0) if covered else 0.0
            f[col["year_doc"]] = 1.0 if q_years & (set(doc.years) | u.years) else -1.0
        f[col["p_rank"]] = 1.0 / c.rank
        f[col["p_score"]] = c.score / max_score
        f[col["p_dense_gap"]] = (c.dense - max_dense) if c.dense is not None else -1.0
        f[col["p_sparse"]] = (c.sparse / max_sparse) if (c.sparse is not None and max_sparse > 0) else 0.0
        f[col["position"]] = (c.row - lo) / max(1, hi - lo - 1)
        f[col["first"]] = float(c.row == lo)
        f[col["log_len"]] = math.log(max(1, c.end - c.start))
    out[:, col["cov_gap"]] = covs - covs.max()
    out[:, col["bm25u"]] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    out[:, col["pool_cov"]] = _coverage(terms.folded, pool)
    out[:, col["pool_rare"]] = sum(1 for t in rare if t in pool) / len(rare) if rare else 0.0
    out[:, col["q_terms"]] = math.log1p(len(terms.folded))
    out[:, col["n_cands"]] = math.log(n)
    out[:, col["q_accented"]] = float(info.accented)
    return out


def set_cosine_features(
    out: np.ndarray, qvec: np.ndarray, rows: np.ndarray, doc_ids: Sequence[str], units: UnitTable
) -> None:
    """Fill the columns that read the question's vector (cos, cos_gap, cos_rank, prev_cos, next_cos) of the
    candidates' rows in `out`.

    Kept apart from the rest so that training can recompute them for another question vector (the
    question adapter, fitted per fold) without recomputing the word features."""
    col = {name: i for i, name in enumerate(FEATURES)}
    n = len(rows)
    if n == 0:
        return
    qv = np.asarray(qvec, dtype=np.float32)
    cos = np.asarray(units.vectors[rows], dtype=np.float32) @ qv
    order = np.argsort(-cos, kind="stable")
    cos_rank = np.empty(n, dtype=np.float32)
    cos_rank[order] = 1.0 / (1.0 + np.arange(n))
    out[:, col["cos"]] = cos
    out[:, col["cos_gap"]] = cos - cos.max()
    out[:, col["cos_rank"]] = cos_rank
    # The neighbours' cosines in one read of the (possibly memory-mapped) vectors.
    neighbours = sorted({int(r) for row in rows for r in (row - 1, row + 1) if 0 <= r < len(units)})
    neighbour_cos = dict(zip(neighbours, (np.asarray(units.vectors[neighbours], dtype=np.float32) @ qv).tolist()))
    for i, (row, doc_id) in enumerate(zip(rows, doc_ids)):
        lo, hi = units.doc_range(doc_id)
        for name, r in (("prev_cos", row - 1), ("next_cos", row + 1)):
            out[i, col[name]] = neighbour_cos[int(r)] - cos[i] if lo <= r < hi else 0.0
