"""What a unit's text holds, read once per text: tokens, numbers, dates, names, list shape.

Shared by the scorer's features and the constraint checks; cached because the same units come back
question after question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .metadata import YEAR_RE
from .vietnamese import TOKEN_RE, fold, is_number, syllable_key

_DATE = re.compile(
    r"(?:\b(?:ngày|hôm|chiều|sáng|tối)\s+)?\b(\d{1,2})/(\d{1,2})(?:/\d{4})?\b|\b(ngày|tháng)\s+\d{1,2}\b|"
    r"\b(thế kỷ|thập niên)\s+\w+",
    re.IGNORECASE,
)


def _dates(text: str) -> list[re.Match[str]]:
    """Dates in the text; "9/15" or "184/184" are fractions, not dates."""
    out = []
    for m in _DATE.finditer(text):
        if m.group(1) and not (1 <= int(m.group(1)) <= 31 and 1 <= int(m.group(2)) <= 12):
            continue
        out.append(m)
    return out


_HONORIFIC = re.compile(r"\b(đồng chí|ông|bà|anh|chị|đ/c)\s+(?=\w)", re.IGNORECASE)
_ENUM = re.compile(r"^(Một là|Hai là|Ba là|Bốn là|Năm là|Sáu là|Thứ nhất|Thứ hai|Thứ ba|Thứ tư|[-+•*]\s)")
_QUOTED = re.compile(r"[“\"«][^”\"»]{3,}[”\"»]")
# Common Vietnamese family names: a capitalized run that starts with one is most likely a person.
SURNAMES = frozenset(
    fold(s)
    for s in (
        "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Mai Trịnh Đinh Lâm Đoàn "
        "Lương Tạ Cao Hà Chu Tô Vương Thái Kiều Quách Lưu Trương Triệu Tôn Thân Nông Lò Hứa Khổng Giang"
    ).split()
)
# Counts written in words ("bốn lựa chọn", "hàng vạn trang"); "năm" and "một" are left out (year, "some").
NUMBER_WORDS = frozenset("hai ba bốn sáu bảy tám chín mười mươi trăm nghìn ngàn triệu tỷ tỉ vạn chục".split())


# Numbers that name rather than count: document codes ("35-NQ/TW", "Covid-19"), numbers after a document word or an
# abbreviation ("Chỉ thị số 12", "BCĐ 35", "Đề án 04", "khóa XIII", "Hội nghị Trung ương 6", "lần thứ 7").
_CODE_AFTER = re.compile(r"(\d+)\s*-\s*[A-ZĐ]|[^\W\d_]-(\d+)\b")
_NAMING_BEFORE = re.compile(
    r"(?:\b(?:số|thứ|khóa|khoá|lần|Điều|khoản|Trung ương|Đề án|Chỉ thị|Nghị quyết|Kết luận|Quyết định|Kế hoạch|"
    r"Quy định|Hướng dẫn|Thông tư|Nghị định|Luật|Công văn)|\b[A-ZĐ]{2,}[A-Za-zĐđ]*\)?)\s+(\d+)\b"
)


def _name_numbers(text: str) -> set[str]:
    codes = {m.group(1) or m.group(2) for m in _CODE_AFTER.finditer(text)}
    return codes | {m.group(1) for m in _NAMING_BEFORE.finditer(text)}


@dataclass(frozen=True)
class UnitText:
    """What is read from a unit's text once."""

    folded: tuple[str, ...]
    keys: frozenset[str]
    years: frozenset[int]
    num_positions: tuple[int, ...]
    percent: bool
    date: bool
    day: bool  # a date down to the day ("15/6/2022", "ngày 7"), not only a month, year or century
    vn_name: bool
    caps: int
    cap_runs: tuple[tuple[str, ...], ...]
    cap_starts: tuple[int, ...]
    numbers: tuple[str, ...]
    date_positions: tuple[int, ...]
    number_words: bool
    list_shape: bool
    quoted: bool


@lru_cache(maxsize=100_000)
def read_unit(text: str) -> UnitText:
    """Tokens and answer-type marks of a unit's text."""
    raw = TOKEN_RE.findall(text)
    folded = tuple(t if is_number(t) else fold(t) for t in raw)
    years = frozenset(int(y) for y in YEAR_RE.findall(text))
    date_numbers: set[str] = set()
    dates = _dates(text)
    for m in dates:
        date_numbers.update(re.findall(r"\d+", m.group()))
    codes = _name_numbers(text)
    nums = tuple(
        i
        for i, t in enumerate(raw)
        if t[0].isdigit()
        and not (len(t) == 4 and t.isdigit() and int(t) in years)
        and t not in date_numbers
        and t not in codes
    )
    # Capitalized runs of two or more words that do not open the unit: names of people, places, bodies.
    caps = 0
    cap_runs: list[tuple[str, ...]] = []
    cap_starts: list[int] = []
    vn_name = bool(_HONORIFIC.search(text) and re.search(r"(đồng chí|ông|bà|anh|chị|đ/c)\s+[A-ZĐÀ-Ỹ]", text, re.I))
    run: list[str] = []
    for i, t in enumerate([*raw, ""]):
        if i > 0 and t[:1].isupper() and not t[:1].isdigit():
            run.append(t)
            continue
        if len(run) >= 2:
            caps += 1
            cap_runs.append(tuple(fold(w) for w in run))
            cap_starts.append(i - len(run))
            if fold(run[0]) in SURNAMES and all(w[1:].islower() or len(w) == 1 for w in run) and len(run) <= 4:
                vn_name = True
        run = []
    return UnitText(
        folded=folded,
        keys=frozenset(t if is_number(t) else syllable_key(t) for t in raw),
        years=years,
        num_positions=nums,
        percent="%" in text or "phần trăm" in text,
        date=bool(dates),
        day=any(m.group(1) or (m.group(3) or "").lower() == "ngày" for m in dates),
        vn_name=vn_name,
        caps=caps,
        cap_runs=tuple(cap_runs),
        numbers=tuple(raw[i] for i in nums),
        cap_starts=tuple(cap_starts),
        date_positions=tuple(i for i, t in enumerate(raw) if t in date_numbers or (t.isdigit() and int(t) in years)),
        number_words=any(t.lower() in NUMBER_WORDS for t in raw),
        list_shape=bool(_ENUM.match(text))
        or text.rstrip().endswith(":")
        or text.count(";") >= 2
        or text.count(",") >= 3,
        quoted=bool(_QUOTED.search(text)),
    )
