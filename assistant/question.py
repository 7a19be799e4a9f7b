"""What a question asks: its kind (count, date, person, list), content terms, places and years."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import BadQuestion
from .metadata import province_mentions, question_years
from .vietnamese import TOKEN_RE, content_keys, fold, has_diacritics, is_number, nfc

# Patterns run on the folded (unaccented, lowercase) question so both spellings work.
# A day is asked ("ngày nào", "vào ngày"): a year or a month alone does not answer it.
_DAY_PHRASES = r"ngay nao|vao ngay|dien ra ngay|ngay bao nhieu|ngay thang nao|hom nao"
_DAY = re.compile(rf"\b({_DAY_PHRASES})\b")
_KINDS: list[tuple[str, re.Pattern[str]]] = [
    (
        "date",
        re.compile(rf"\b(khi nao|nam nao|thang nao|bao gio|luc nao|thoi gian nao|thoi diem nao|{_DAY_PHRASES})\b"),
    ),
    # "may" is "mấy" unless it starts a compound of "máy" (machine) in a question typed without accents.
    (
        "count",
        re.compile(r"\b(bao nhieu|may(?!\s+(tinh|moc|in|bay|chieu|anh|quay|phat|lanh|say|xuc|cay)))\b"),
    ),
    ("person", re.compile(r"(^|\s)(ai|dong chi nao|nguoi nao|ong nao|ba nao|vi nao|lanh dao nao|do ai)(\s|\?|$)")),
    (
        "list",
        re.compile(
            r"\b(nhung(\s+\w+){1,4}\s+(nao|gi)|gom nhung|bao gom|gom|liet ke|cac(\s+\w+){1,4}\s+nao|"
            r"nhiem vu .*\bgi\b|giai phap .*\bgi\b|nhung gi)\b"
        ),
    ),
    (
        "place",
        re.compile(r"\b(o dau|tai dau|noi nao|dia diem nao|dia ban nao|khu vuc nao|tinh nao|thanh pho nao|nuoc nao)\b"),
    ),
    ("reason", re.compile(r"\b(tai sao|vi sao|vi le gi|ly do|nguyen nhan)\b")),
    ("manner", re.compile(r"\b(nhu the nao|the nao|bang cach nao|ra sao)\b")),
]

_RATE_PHRASES = r"ty le|ti le|phan tram"
_RATE = re.compile(rf"\b({_RATE_PHRASES})\b")
# A quantity named without "bao nhiêu" ("Tổng số đảng viên kết nạp năm 2023?") is what is asked only when the
# question asks nothing else: in "Khu vực nào ... tỷ lệ tội phạm cao?" the rate describes, "nào" asks.
_QUANTITY = re.compile(rf"\b(so luong|tong so|{_RATE_PHRASES})\b")
# Accented: "đâu" asks where, "đầu" (the first months) does not; unaccented, "dau" cannot tell them apart.
_OTHER_ASK = re.compile(r"\b(nào|gì|ai|đâu|sao)\b")
_OTHER_ASK_FOLDED = re.compile(r"\b(nao|gi|ai|sao)\b")


def _asks_other(question: str) -> bool:
    if has_diacritics(question):
        return bool(_OTHER_ASK.search(nfc(question).lower()))
    return bool(_OTHER_ASK_FOLDED.search(fold(question)))


def asks_day(question: str) -> bool:
    """The question asks for a day ("ngày nào", "vào ngày"), not only a year or a month."""
    return bool(_DAY.search(fold(question)))


def asks_rate(question: str) -> bool:
    """The question asks for a rate ("tỷ lệ", "phần trăm"): only a percentage answers it."""
    return bool(_RATE.search(fold(question)))


_COUNT_NOUN = re.compile(r"\b(?:bao nhieu|may|so luong|tong so)\s+(\w+(?:\s+\w+)?)")


@dataclass(frozen=True)
class QuestionInfo:
    """A parsed question."""

    text: str
    kind: str
    terms: tuple[str, ...]
    count_noun: tuple[str, ...]
    provinces: tuple[str, ...]
    years: tuple[int, ...]
    accented: bool

    @property
    def stated_numbers(self) -> frozenset[str]:
        """The numbers the question itself states, as written ("Trong 211 lớp ...": "211"): what it knows,
        never what it asks."""
        return frozenset(t for t in TOKEN_RE.findall(self.text) if is_number(t))


def clean_question(question: str, max_chars: int) -> tuple[str, str | None]:
    """Normalize a question; refuse empty or content-free ones; truncate very long ones.

    Returns:
        (question, notice) where notice says what was changed, if anything.

    Raises:
        BadQuestion: with a message for the user.
    """
    if not isinstance(question, str):
        raise BadQuestion("Câu hỏi phải là văn bản.")
    text = nfc(question)
    # Control and format characters carry no meaning; emoji and symbols are kept (they are harmless).
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf") else ch for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise BadQuestion("Câu hỏi trống. Hãy nhập một câu hỏi về nội dung các báo cáo.")
    notice = None
    if len(text) > max_chars:
        cut = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notice = f"Câu hỏi quá dài ({len(text)} ký tự); chỉ dùng {len(cut)} ký tự đầu."
        text = cut
    if not any(ch.isalnum() for ch in text):
        raise BadQuestion("Câu hỏi không có chữ hoặc số nào. Hãy nhập một câu hỏi bằng lời.")
    return text, notice


_WORD = re.compile(r"\w+")


# The question words the kind patterns read whose folded spelling other words share: "mấy" (how many) and
# "máy" (machine), "may" (luck); "lúc nào" (when) and "lực nào" (which force); "khi nào" (when) and "khí nào"
# (which gas); "năm nào" and "nấm nào"; "tháng nào" and "thang nào" (which ladder); "nào" and "não" (brain).
_ASKING = {"may": "mấy", "luc": "lúc", "khi": "khi", "nam": "năm", "thang": "tháng", "gio": "giờ", "nao": "nào"}


def _kind_text(question: str) -> str:
    """The folded question the kind patterns read. Folding merges a question word with other words
    (_ASKING); a question typed with its accents says which it is: an accented word that is not the
    question word becomes "<word>_", which no pattern reads as a word. "may" typed bare in an accented
    question is luck, not "mấy"; the other bare spellings stay readable (accents typed in part)."""
    if not has_diacritics(question):
        return fold(question)

    def mark(m: re.Match[str]) -> str:
        word = m.group()
        folded = fold(word)
        asking = _ASKING.get(folded)
        if asking is None or word.lower() == asking or (folded != "may" and word.lower() == folded):
            return word
        return word + "_"

    return fold(_WORD.sub(mark, question))


def analyze(question: str) -> QuestionInfo:
    """Kind, content terms, count noun, named provinces and years of a (clean) question."""
    kind_text = _kind_text(question)
    kind = next((name for name, pattern in _KINDS if pattern.search(kind_text)), "other")
    if kind == "other" and _QUANTITY.search(kind_text) and not _asks_other(question):
        kind = "count"
    noun: tuple[str, ...] = ()
    m = _COUNT_NOUN.search(kind_text)
    if kind == "count" and m:
        noun = tuple(w.rstrip("_") for w in m.group(1).split())
    return QuestionInfo(
        text=question,
        kind=kind,
        terms=tuple(content_keys(question)),
        count_noun=noun,
        provinces=tuple(province_mentions(question)),
        years=question_years(question),
        accented=has_diacritics(question),
    )


def split_by_province(question: str) -> list[tuple[str, str]]:
    """(province, sub-question) for a question naming two or more provinces.

    "Ai là Trưởng Ban Tuyên giáo Hà Nam và ai là Bí thư Tỉnh ủy Đắk Lắk?" splits at "và" into one
    clause per province. When a clause would be nothing but a place name ("Lai Châu và Trà Vinh mở
    bao nhiêu lớp?"), each province gets the whole question with the other names taken out.
    """
    from .metadata import province_spans, replace_provinces

    spans = province_spans(question)
    provinces = list(dict.fromkeys(name for name, _, _ in spans))
    if len(provinces) < 2:
        return [(p, question) for p in provinces]
    whole = [(p, replace_provinces(question, [p])) for p in provinces]
    clauses = [c for c in re.split(r",\s*|\s+và\s+|;\s*", question) if c.strip()]
    by_province: dict[str, str] = {}
    for clause in clauses:
        names = {name for name, _, _ in province_spans(clause)}
        rest = clause
        for _, start, end in sorted(province_spans(clause), key=lambda s: -s[1]):
            rest = rest[:start] + rest[end:]
        if len(names) == 1 and len(content_keys(rest)) >= 2:
            by_province.setdefault(names.pop(), clause.strip())
    if set(by_province) != set(provinces):
        return whole
    return [(p, by_province[p]) for p in provinces]
