"""Questions across provinces' reports ("tỉnh nào ... nhiều nhất", "so sánh ...", "mỗi tỉnh ...",
answered from the facts table: one row per province with its cited quote, then one sentence that ranks
them, with a caveat where years, levels or units differ. Totals are not stated: a sum is a number no
quote contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .facts import FactStore, Quantity
from .question import QuestionInfo
from .records import Citation, Document
from .vietnamese import fold, nfc

# What makes a question about several reports at once (matched on the folded question).
_OPS = [
    ("max", re.compile(r"\b(nhieu|cao|lon)\b.*\bnhat\b|\b(dan dau|nhieu hon ca)\b")),
    ("min", re.compile(r"\b(it|thap|nho)\b.*\bnhat\b")),
    ("compare", re.compile(r"\b(so sanh|moi tinh|tung tinh|cac tinh .* bao nhieu|tinh nao .* bao nhieu)\b")),
]
_ACROSS = re.compile(r"\b(tinh nao|cac tinh|moi tinh|tung tinh|nhung tinh|dia phuong nao|so sanh)\b")
# Words of the question that are about the comparison, not about what was counted.
_NOT_SUBJECT = frozenset(
    fold(w)
    for w in (
        "tỉnh nào nhiều nhất ít nhất cao nhất thấp nhất lớn nhất nhỏ nhất so sánh mỗi từng các những tổng cộng "
        "bao nhiêu số lượng có được là của trong năm hơn cả dẫn đầu địa phương giữa và với"
    ).split()
)


@dataclass(frozen=True)
class Row:
    province: str
    fact: Quantity | None  # None: the province's reports give no such figure


def operation(info: QuestionInfo) -> str | None:
    """max | min | total | compare for a question across provinces, else None."""
    q = fold(info.text)
    if not _ACROSS.search(q) and len(info.provinces) < 2:
        return None
    return next((name for name, pattern in _OPS if pattern.search(q)), None)


def subject_words(info: QuestionInfo) -> list[str]:
    """The counted thing, as folded words: the question minus provinces, years and comparison words."""
    text = fold(nfc(info.text))
    for province in info.provinces:
        text = text.replace(fold(province), " ")
    words = re.findall(r"[a-z]+", text)
    return [w for w in words if w not in _NOT_SUBJECT]


def _match(fact: Quantity, words: list[str], context: str) -> tuple[int, int]:
    subject = set(re.findall(r"[a-z]+", fold(fact.subject)))
    around = set(re.findall(r"[a-z]+", context))
    return sum(w in subject for w in words), sum(w in around for w in words)


def rows_for(store: FactStore, documents: dict[str, Document], info: QuestionInfo) -> list[Row]:
    """The best matching figure of each province (or None), provinces in the index order by name."""
    words = subject_words(info)
    if not words:
        return []
    head = info.count_noun[0] if info.count_noun else None
    best: dict[str, tuple[tuple[int, int], Quantity]] = {}
    for fact in store.quantities():
        if not fact.province or fact.unit == "%":
            continue
        if head is not None and fold(fact.unit) != head:
            continue
        doc = documents.get(fact.doc_id)
        line_a = doc.text.rfind("\n", 0, fact.start) + 1 if doc else 0
        line_b = doc.text.find("\n", fact.end) if doc else -1
        context = fold(doc.text[line_a : len(doc.text) if line_b < 0 else line_b]) if doc else ""
        first = re.findall(r"[a-z]+", fold(fact.subject))[:1]
        if not first or first[0] not in words:
            continue  # what the number counts must be what the question counts
        score = _match(fact, words, context)
        if fact.province not in best or score > best[fact.province][0]:
            best[fact.province] = (score, fact)
    provinces = sorted({d.province for d in documents.values() if d.province})
    wanted = [p for p in provinces if not info.provinces or p in info.provinces]
    return [Row(p, best[p][1] if p in best else None) for p in wanted]


def answer_table(rows: list[Row], op: str, documents: dict[str, Document]):
    """(text, citations, table, caveat) for rows with at least two figures, else None."""
    found = [r for r in rows if r.fact is not None]
    if len(found) < 2:
        return None
    citations = []
    table_rows = []
    for n, r in enumerate(found, start=1):
        f = r.fact
        doc = documents[f.doc_id]
        citations.append(Citation(n, f.doc_id, f.file, doc.title, f.province, f.quote, f.start, f.end, 1.0, doc.date))
        table_rows.append(
            {
                "province": f.province,
                "year": f.year,
                "value": f.value,
                # what is counted, as the report names it ("Đếm gì"): a cut head ("Lớp bồi") reads as garble
                "unit": f.subject,
                "level": f.level,
                "n": n,
                "as_written": f.number_text,  # verbatim in quote [n]
            }
        )
    for r in rows:
        if r.fact is None:
            table_rows.append(
                {"province": r.province, "year": None, "value": None, "unit": None, "level": None, "n": None}
            )
    units = {fold(r.fact.subject_head) for r in found}
    if op in ("max", "min"):
        pick = (max if op == "max" else min)(found, key=lambda r: r.fact.value)
        n = found.index(pick) + 1
        text = f"{pick.province}: {pick.fact.number_text} {pick.fact.subject} [{n}]."
        text = ("Nhiều nhất — " if op == "max" else "Ít nhất — ") + text
    else:
        text = "; ".join(f"{r.province}: {r.fact.number_text} {r.fact.subject} [{i}]" for i, r in enumerate(found, 1))
    notes = []
    years = {r.fact.year for r in found}
    levels = {r.fact.level for r in found}
    if len(years) > 1:
        notes.append(
            "số liệu thuộc các năm khác nhau (" + ", ".join(str(y) for y in sorted(y for y in years if y)) + ")"
        )
    if len(levels) > 1:
        notes.append("số liệu ở các cấp khác nhau (" + ", ".join(sorted(lv or "không rõ" for lv in levels)) + ")")
    if len(units) > 1:
        subjects = {fold(r.fact.subject): r.fact.subject for r in found}
        notes.append("đối tượng đếm khác nhau (" + "; ".join(sorted(subjects.values())) + ")")
    missing = [r.province for r in rows if r.fact is None]
    if missing:
        notes.append("không có số liệu: " + ", ".join(missing))
    caveat = ("Lưu ý: " + "; ".join(notes) + ".") if notes else None
    table = {"columns": ["province", "year", "value", "unit", "level", "n"], "rows": table_rows}
    return text, tuple(citations), table, caveat
