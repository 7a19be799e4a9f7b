"""What a question pins down (a province, a year) against what a piece of evidence covers.

A unit that answers "how many conferences" from Lai Châu's 2022 report does not answer "how many in
2023": the year a statement is about is the year it names, else the year its paragraph opens with
("Năm 2023, ..."), else the year its report reports on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .metadata import YEAR_RE, report_year
from .names import mentions
from .question import QuestionInfo, asks_rate
from .records import Document
from .sentences import sentence_spans
from .unittext import read_unit
from .vietnamese import TOKEN_RE, fold, term_keys


@lru_cache(maxsize=20_000)
def _opening_years(text: str, line_start: int) -> frozenset[int]:
    """Years named by the opening sentence of the paragraph at line_start, or of the closest paragraph
    before it whose opening names one: a section ("Năm 2022, ...", "Bước vào năm 2023, ...") sets the year
    of the paragraphs that continue it."""
    while True:
        line_end = text.find("\n", line_start)
        line_end = len(text) if line_end < 0 else line_end
        spans = sentence_spans(text, line_start, line_end)
        if spans:
            years = stated_years(text[spans[0][0] : spans[0][1]])
            if years:
                return years
        if line_start == 0:
            return frozenset()
        line_start = text.rfind("\n", 0, line_start - 1) + 1


# A year a figure is compared with ("tăng 10 lớp so với năm 2021", "so với cùng kỳ năm 2022", "so với 734.000
# dặm vuông vào năm 2005"), up to the end of its clause: the statement is not about that year.
_COMPARED = re.compile(r"\bso với\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;:\n]|[.,](?=\s|$)")


def stated_years(text: str) -> frozenset[int]:
    """The years `text` names, but those it only compares with."""
    years = {int(y) for y in YEAR_RE.findall(text)}
    for m in _COMPARED.finditer(text):
        rest = text[m.end() :]
        stop = _CLAUSE_END.search(rest)
        years -= {int(y) for y in YEAR_RE.findall(rest[: stop.start() if stop else len(rest)])}
    return frozenset(years)


def statement_years(doc: Document, start: int, end: int) -> frozenset[int]:
    """The years the statement at doc.text[start:end] is about: those it names (not the ones it compares
    with), else those of its section's opening, else the year its report reports on (empty when nothing
    says)."""
    own = stated_years(doc.text[start:end])
    if own:
        return own
    opening = _opening_years(doc.text, doc.text.rfind("\n", 0, start) + 1)
    if opening:
        return opening
    year = report_year(doc)
    return frozenset({year}) if year else frozenset(doc.years)


@dataclass(frozen=True)
class Mismatch:
    """How a piece of evidence differs from what the question asks."""

    province: str | None = None  # the asked province the evidence's report is not about
    evidence_province: str | None = None
    years: tuple[int, ...] = ()  # the asked years the statement does not cover
    evidence_years: tuple[int, ...] = ()
    no_figure: bool = False  # a count question, and the statement holds no count
    title: bool = False  # the question asks who holds a title the statement does not name, or names only its deputy
    report_year: int | None = None  # the year the evidence's report reports on, when it says
    place: str | None = None  # a district, town or commune the question names that the report never does

    def __bool__(self) -> bool:
        return bool(self.province or self.years or self.no_figure or self.title or self.place)


_ROMAN = re.compile(r"\b[IVXLC]{1,7}\b")
# A rate said without a percent sign: a ratio ("20:1"), a fraction ("9/15 huyện", not a date's "15/6/2022") or a
# fraction in words ("một nửa", "hai phần ba").
_RATE_WORDS = re.compile(
    r"\b\d+\s*:\s*\d+\b|(?<![/\d])\d+/\d+(?![/\d])|\b(nửa|phần (hai|ba|tư|năm|mười|trăm))\b", re.IGNORECASE
)


# Counts in words right before the counted noun ("năm hoàng tử", "hơn một nửa hiệu ứng"): "năm", "một" and "nửa"
# are too common alone (a year, "some", "nửa đầu năm") to count anywhere else.
_COUNT_WORDS = frozenset("một hai ba bốn năm sáu bảy tám chín mười nửa".split())


def _counted_in_words(info: QuestionInfo, text: str) -> bool:
    noun = info.count_noun
    if not noun:
        return False
    tokens = list(TOKEN_RE.finditer(text))
    for i, t in enumerate(tokens):
        if t.group().lower() not in _COUNT_WORDS:
            continue
        following = tokens[i + 1 : i + 1 + len(noun)]
        if len(following) == len(noun) and tuple(fold(w.group()) for w in following) == noun:
            joined = [t, *following]
            if not any(text[a.end() : b.start()].strip() for a, b in zip(joined, joined[1:])):
                return True
    return False


def _holds_count(info: QuestionInfo, text: str) -> bool:
    """A number that is not a year, a date or a number of the question itself, or a count in words; for
    "tỷ lệ", a percentage, a ratio or a fraction; for "số / khóa / lần thứ / năm mấy", any number or Roman
    numeral."""
    unit = read_unit(text)
    asked = info.stated_numbers
    question = fold(info.text)
    if asks_rate(info.text):
        return unit.percent or bool(_RATE_WORDS.search(text))  # a rate is asked: a count does not answer it
    if any(n not in asked for n in unit.numbers) or unit.number_words or unit.percent:
        return True
    if _counted_in_words(info, text):
        return True
    if re.search(r"\b(so|khoa|thu|trung uong|nam|giai doan) may\b", question):
        # an identifier is asked ("số mấy", "khóa mấy", "lần thứ mấy", "năm mấy"): any number names it
        return bool(re.search(r"\d", text) or _ROMAN.search(text))
    return False


@lru_cache(maxsize=1024)
def _folded_words(text: str) -> tuple[str, ...]:
    """Folded words of a question or statement: checked once per candidate, so each is read once."""
    return tuple(fold(t) for t in TOKEN_RE.findall(text))


def _deputy_only(info: QuestionInfo, text: str) -> bool:
    """The role the question names appears in the statement only as "Phó <role>"."""
    q = _folded_words(info.text)
    if "pho" in q:
        return False
    u = _folded_words(text)
    pairs = {(a, b) for a, b in zip(u, u[1:])}
    head = next(((a, b) for a, b in zip(q, q[1:]) if (a, b) in pairs), None)
    if head is None:
        return False
    before = [u[i - 1] if i > 0 else "" for i in range(len(u) - 1) if (u[i], u[i + 1]) == head]
    return all(b == "pho" for b in before)


# Official titles that open "<title> ... là ai?" / "Ai là <title> ...?" (folded). The head of the asked title is
# its first two words ("truong ban", "bi thu", "pho chu"): a statement naming another title of the same
# office ("Trưởng BCĐ 35" for "Trưởng Ban Tuyên giáo") does not say who holds the asked one.
_TITLES = (
    ("truong",),
    ("pho",),
    ("bi", "thu"),
    ("chu", "tich"),
    ("giam", "doc"),
    ("uy", "vien"),
    ("tong", "bien", "tap"),
    ("thu", "truong"),
    ("bo", "truong"),
    ("tong", "bi", "thu"),
    ("thu", "tuong"),
    ("chanh", "van", "phong"),
)


def asked_title(question: str) -> tuple[str, str] | None:
    """The first two folded words of the title a "who holds it" question asks about, or None."""
    q = _folded_words(question)
    if q[:2] == ("ai", "la"):
        subject = q[2:]
    elif q[-2:] == ("la", "ai"):
        subject = q[:-2]
    else:
        return None
    if len(subject) < 2 or not any(tuple(subject[: len(t)]) == t for t in _TITLES):
        return None
    return subject[0], subject[1]


def _title_absent(info: QuestionInfo, text: str) -> bool:
    """A "who holds <title>" question, and the statement never names the title's head."""
    head = asked_title(info.text)
    if head is None:
        return False
    u = _folded_words(text)
    return head not in set(zip(u, u[1:]))


# Administrative units below a province: "huyện Tân Yên", "xã Tả Lèng", "thành phố Lai Châu". A question that names
# one asks about that place; a report that never names it reports on its province as a whole or on other places.
# "Xã Hội" (society, as in "Bảo hiểm Xã hội") is not a commune.
_PLACE = re.compile(r"\b(huyện|quận|thị xã|thành phố|thị trấn|xã(?!\s+hội\b)|phường|thôn)\s+", re.IGNORECASE)


def asked_places(info: QuestionInfo) -> tuple[str, ...]:
    """The places below the province the question names: the capitalized words after an administrative unit
    ("Huyện Việt Yên (Bắc Giang)" -> "Việt Yên"), provinces left out (the province check reads those)."""
    return _asked_places(info.text, info.provinces)


@lru_cache(maxsize=1024)
def _asked_places(text: str, provinces: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for m in _PLACE.finditer(text):
        words = []
        for w in TOKEN_RE.finditer(text, m.end()):
            if not w.group()[:1].isupper() or text[(words[-1].end() if words else m.end()) : w.start()].strip():
                break
            words.append(w)
        if words:
            name = text[words[0].start() : words[-1].end()]
            if not any(fold(name) in fold(p) for p in provinces):
                out.append(name)
    return tuple(dict.fromkeys(out))


def check(info: QuestionInfo, doc: Document, start: int, end: int) -> Mismatch:
    """The province, place and year the question names, against the report and the statement."""
    province = None
    if info.provinces and doc.province and doc.province not in info.provinces:
        province = info.provinces[0]
    years: tuple[int, ...] = ()
    covered = statement_years(doc, start, end)
    if info.years and covered and not set(info.years) & covered:
        years = info.years
    text = doc.text[start:end]
    no_figure = info.kind == "count" and not _holds_count(info, text)
    title = info.kind == "person" and (_deputy_only(info, text) or _title_absent(info, text))
    place = next((p for p in asked_places(info) if not mentions(doc.text, tuple(term_keys(p)))), None)
    return Mismatch(province, doc.province, years, tuple(sorted(covered)), no_figure, title, report_year(doc), place)


def caveat_text(info: QuestionInfo, mismatch: Mismatch, n: int, provinces_indexed: set[str]) -> str:
    """A Vietnamese sentence naming what differs, pointing at the nearest quote [n]."""
    what = "số liệu" if info.kind == "count" else "thông tin"
    if mismatch.province:
        if mismatch.province not in provinces_indexed:
            head = f"Các báo cáo hiện có không có báo cáo nào của {mismatch.province}."
        else:
            head = f"Báo cáo của {mismatch.province} không nêu {what} này."
        where = f", trong báo cáo của {mismatch.evidence_province}" if mismatch.evidence_province else ""
        return f"{head} Gần nhất{where}: [{n}]"
    if mismatch.place:
        of = f"của {mismatch.evidence_province} " if mismatch.evidence_province else ""
        return f"Báo cáo {of}không nhắc đến {mismatch.place}. Gần nhất: [{n}]"
    if not mismatch.years:
        what_missing = "con số trả lời câu hỏi này" if mismatch.no_figure else "đúng chức danh được hỏi"
        asked_years = [y for y in info.years if y != mismatch.report_year]
        if mismatch.evidence_province and mismatch.report_year and asked_years:
            # The statement is about an asked year (a plan for it, say) but its report covers another: say both.
            asked = ", ".join(str(y) for y in asked_years)
            return (
                f"Báo cáo của {mismatch.evidence_province} (năm {mismatch.report_year}) không nêu {what_missing} "
                f"cho năm {asked}. Gần nhất: [{n}]"
            )
        return f"Các báo cáo không nêu {what_missing}. Gần nhất: [{n}]"
    asked = ", ".join(str(y) for y in mismatch.years)
    covered = ", ".join(str(y) for y in mismatch.evidence_years)
    of = f"của {mismatch.evidence_province} " if mismatch.evidence_province else ""
    span = f"(năm {covered}) " if covered else ""
    return f"Báo cáo {of}{span}không nêu {what} năm {asked}. Gần nhất: [{n}]"
