"""Subject of a quantity fact: the extractor's rules vs a POS-tagged noun phrase, on the labelled sample.

Usage: OMP_NUM_THREADS=1 python evals/compare_subject_chunkers.py

For every quantity that assistant.facts.extract_quantities finds in corpus/, each method names what the
number counts:

- rules: the subject the extractor gives (words after the number up to a stop word or punctuation);
- pyvi / underthesea: the words after the number in the quantity's quote, POS-tagged (pyvi's ViPosTagger
  on ViTokenizer output, underthesea.pos_tag), keeping the noun phrase that opens them.

Only the subject changes: the same quantities (province, value) are scored, with the matching and the
subject-head test of tests/test_facts.py, against tests/data/facts_quantities.jsonl. Printed per method:
precision and recall on the sample (P, R: the tests' definition), the labelled quantities it gets and the
rules miss and the reverse, the same P and R with a strict head test (the whole labelled head must open
the subject), how many subjects differ from the rules, how many fell back to the rules (no noun after the
number), milliseconds per report (extraction plus tagging, best of 3 runs) and the one-off model load.
A library that is not installed is skipped with the command that installs it.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings
from assistant.facts import Quantity, extract_quantities
from assistant.ingest import read_report
from assistant.records import Document
from assistant.vietnamese import fold
from tests.test_facts import _gold, _head_matches

# Tagged tokens: (words with spaces, tag). Both taggers use the VLSP tag set: nouns are N, Nc, Nu, Np, Ny, Nb.
Tagger = Callable[[str], list[tuple[str, str]]]


def _pyvi() -> Tagger:
    from pyvi import ViPosTagger, ViTokenizer

    def tag(text: str) -> list[tuple[str, str]]:
        words, tags = ViPosTagger.postagging(ViTokenizer.tokenize(text))
        return [(w.replace("_", " "), t) for w, t in zip(words, tags)]

    return tag


def _underthesea() -> Tagger:
    from underthesea import pos_tag

    return pos_tag


TAGGERS = {"pyvi": _pyvi, "underthesea": _underthesea}


def _after_number(q: Quantity) -> str:
    """The quote from the quantity's number on; with several copies of the number in the quote, the one
    the rules read their subject after."""
    spots = [m.start() for m in re.finditer(rf"(?<![\w.,]){re.escape(q.number_text)}(?!\w)", q.quote)]
    first = q.subject.split()[0] if q.subject.split() else ""
    for at in spots:
        if re.match(r"[\d\s/.,%]*" + re.escape(first), q.quote[at:]):
            return q.quote[at:]
    return q.quote[spots[0] :] if spots else ""


def noun_phrase(tagged: list[tuple[str, str]]) -> str:
    """The noun phrase opening the words after the number: the number itself ("1.650/1.277"), numeral
    words ("500 ngàn") and determiners ("các") are passed, then nouns with the adjectives that follow them."""
    i = 0
    while i < len(tagged) and (not any(c.isalpha() for c in tagged[i][0]) or tagged[i][1] in ("M", "L")):
        i += 1
    phrase: list[str] = []
    for word, tag in tagged[i:]:
        if tag.startswith("N") or (phrase and tag == "A"):
            phrase.append(word)
        else:
            break
    return " ".join(phrase)


def strict_head(predicted: str, gold: dict) -> bool:
    """The subject opens with the whole labelled head ("văn" for "văn bản" fails), accents ignored. The
    tests' test also accepts a first word that opens the labelled subject, which hides cut-off heads."""
    return (fold(predicted) + " ").startswith(fold(gold["subject_head"]) + " ")


def matched(predicted: list[Quantity], subjects: list[str], gold: list[dict], head_test=_head_matches) -> set[int]:
    """tests/test_facts.py's matching, with each quantity's subject replaced by the method's: the labelled
    quantities (indices into gold) found with the same file, number, province, value and subject head."""
    found: set[int] = set()
    for q, subject in zip(predicted, subjects):
        for i, g in enumerate(gold):
            if i in found or g["file"] != q.file or g["number_text"] != q.number_text:
                continue
            if g["province"] == q.province and abs(g["value"] - q.value) < 1e-9 and head_test(subject, g):
                found.add(i)
                break
    return found


def run(docs: list[Document], tagger: Tagger | None) -> tuple[list[Quantity], list[str], int, float]:
    """Quantities, their subjects, how many fell back to the rules, best-of-3 seconds for all reports."""
    best = float("inf")
    for _ in range(3):  # the machine is shared: the best run is the least disturbed one
        t0 = time.perf_counter()
        quantities, subjects, fallbacks = [], [], 0
        for doc in docs:
            for q in extract_quantities(doc):
                phrase = noun_phrase(tagger(_after_number(q))) if tagger else ""
                # no noun after the number (a percentage at the clause end, a table cell): keep the rules'
                fallbacks += bool(tagger) and not phrase
                quantities.append(q)
                subjects.append(phrase or q.subject)
        best = min(best, time.perf_counter() - t0)
    return quantities, subjects, fallbacks, best


def main() -> None:
    settings = Settings()
    docs = [read_report(p, settings) for p in sorted((ROOT / "corpus").iterdir()) if p.is_file()]
    gold = _gold("facts_quantities.jsonl")
    results = [("rules", *run(docs, None), 0.0)]
    _, rules_q, rules_s, *_ = results[0]
    rules_found = matched(rules_q, rules_s, gold)
    for name, make in TAGGERS.items():
        t0 = time.perf_counter()
        try:
            tagger = make()
        except ImportError as e:
            print(f"{name}: skipped ({e}); install it with: {Path(sys.executable).parent}/pip install {name}")
            continue
        tagger("Tỉnh tổ chức 10 hội nghị.")  # loads the model, so the timed runs measure tagging only
        load = time.perf_counter() - t0
        results.append((name, *run(docs, tagger), load))

    print(f"\n{len(docs)} reports, {len(rules_q)} quantities extracted, {len(gold)} labelled\n")
    header = ("method", "P", "R", "fixed/broken vs rules", "strict P", "strict R", "≠ rules", "fallback", "ms/report")
    print("| " + " | ".join(header) + " | load s |")
    print("|" + "|".join("---" for _ in header) + "|---|")
    rows = []
    for name, quantities, subjects, fallbacks, seconds, load in results:
        found = matched(quantities, subjects, gold)
        strict = len(matched(quantities, subjects, gold, strict_head))
        changed = sum(a != b for a, b in zip(subjects, rules_s))
        n, ms = len(quantities), 1000 * seconds / len(docs)
        rows.append((name, len(found), strict, seconds))
        print(
            f"| {name} | {len(found) / n:.3f} | {len(found) / len(gold):.3f} | +{len(found - rules_found)}"
            f"/-{len(rules_found - found)} | {strict / n:.3f} | {strict / len(gold):.3f} | {changed} | {fallbacks}"
            f" | {ms:.1f} | {load:.2f} |"
        )

    # A library replaces the rules only when it is at least as good on both counts and better on one: a
    # new dependency and seconds of model load are not worth a trade of one label for another.
    rules = rows[0]
    better = [r for r in rows[1:] if r[1] >= rules[1] and r[2] >= rules[2] and (r[1], r[2]) != (rules[1], rules[2])]
    best = max(better, key=lambda r: (r[1] + r[2], -r[3])) if better else rules
    print(
        f"\nConclusion: keep {best[0]} — labelled heads matched (tests' test, strict) of {len(gold)}: "
        + ", ".join(f"{name} {m}, {s}" for name, m, s, _ in rows)
        + (
            f"; {best[0]} gains {best[1] - rules[1]}, {best[2] - rules[2]} at {best[3] / rules[3]:.0f}x the time."
            if best is not rules
            else "; no library is better on both."
        )
    )


if __name__ == "__main__":
    main()
