"""Names a question asks about, and whether a report names them: shared by the scorer's features
(doc_name_miss) and the near-miss constraints (a place below the province)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from .vietnamese import TOKEN_RE, is_number, syllable_key, term_keys


def question_names(text: str, provinces: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """The question's names: runs of capitalized words not split by punctuation, as word keys, after its
    first word and without the named provinces (prov_agree reads those). "Huyện Sìn Hồ (Lai Châu)" ->
    ("sìn", "hồ") (keys as syllable_key writes them)."""
    province_keys = {syllable_key(w) for p in provinces for w in p.split()}
    runs: list[list[str]] = []
    last_end = -1
    for m in list(TOKEN_RE.finditer(text))[1:]:
        word = m.group()
        key = syllable_key(word)
        if not word[:1].isupper() or is_number(word) or key in province_keys:
            last_end = -1
            continue
        if runs and last_end >= 0 and not text[last_end : m.start()].strip():
            runs[-1].append(key)
        else:
            runs.append([key])
        last_end = m.end()
    return tuple(tuple(r) for r in runs)


@lru_cache(maxsize=256)
def report_keys(text: str) -> frozenset[str | tuple[str, str]]:
    """Every word key of a report and every pair of adjacent keys, read once: the same reports come back
    question after question (a question reaches at most answer_passages reports, so a few hundred kept
    cover a session without holding every report's words of a large collection)."""
    keys = term_keys(text)
    return frozenset(keys) | frozenset(zip(keys, keys[1:]))


def mentions(report: str, name: tuple[str, ...]) -> bool:
    """The report holds the name (word keys): its one word, or each of its adjacent word pairs ("sìn hồ",
    not "Sìn" in one place and "hồ" of "Hồ Chí Minh" in another)."""
    keys = report_keys(report)
    if len(name) == 1:
        return name[0] in keys
    return all(pair in keys for pair in zip(name, name[1:]))
