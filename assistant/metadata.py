"""Report metadata found in text: provinces, years, dates, source and author lines."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from .vietnamese import fold, has_diacritics, nfc, syllable_key

# Vietnam's 63 provinces and centrally-run cities (as named in 2022-2024 reports), with the
# spellings seen in print. The first name is the canonical one shown to users.
PROVINCES: dict[str, tuple[str, ...]] = {
    "An Giang": (),
    "Bà Rịa - Vũng Tàu": ("Bà Rịa-Vũng Tàu", "Bà Rịa Vũng Tàu", "BR-VT"),
    "Bạc Liêu": (),
    "Bắc Giang": (),
    "Bắc Kạn": ("Bắc Cạn",),
    "Bắc Ninh": (),
    "Bến Tre": (),
    "Bình Dương": (),
    "Bình Định": (),
    "Bình Phước": (),
    "Bình Thuận": (),
    "Cà Mau": (),
    "Cao Bằng": (),
    "Cần Thơ": (),
    "Đà Nẵng": (),
    "Đắk Lắk": ("Đắc Lắc", "Đăk Lăk", "Đắk Lăk", "Daklak", "Dak Lak"),
    "Đắk Nông": ("Đăk Nông", "Dak Nong"),
    "Điện Biên": (),
    "Đồng Nai": (),
    "Đồng Tháp": (),
    "Gia Lai": (),
    "Hà Giang": (),
    "Hà Nam": (),
    "Hà Nội": ("Thủ đô Hà Nội",),
    "Hà Tĩnh": (),
    "Hải Dương": (),
    "Hải Phòng": (),
    "Hậu Giang": (),
    "Hòa Bình": (),
    "Hưng Yên": (),
    "Khánh Hòa": (),
    "Kiên Giang": (),
    "Kon Tum": ("Kontum",),
    "Lai Châu": (),
    "Lâm Đồng": (),
    "Lạng Sơn": (),
    "Lào Cai": (),
    "Long An": (),
    "Nam Định": (),
    "Nghệ An": (),
    "Ninh Bình": (),
    "Ninh Thuận": (),
    "Phú Thọ": (),
    "Phú Yên": (),
    "Quảng Bình": (),
    "Quảng Nam": (),
    "Quảng Ngãi": (),
    "Quảng Ninh": (),
    "Quảng Trị": (),
    "Sóc Trăng": (),
    "Sơn La": (),
    "Tây Ninh": (),
    "Thái Bình": (),
    "Thái Nguyên": (),
    "Thanh Hóa": (),
    "Thành phố Hồ Chí Minh": ("TP. Hồ Chí Minh", "TP Hồ Chí Minh", "TP.HCM", "TPHCM", "TP. HCM", "Sài Gòn"),
    "Thừa Thiên Huế": ("Thừa Thiên - Huế", "Thừa Thiên-Huế", "TT-Huế", "TT Huế"),
    "Tiền Giang": (),
    "Trà Vinh": (),
    "Tuyên Quang": (),
    "Vĩnh Long": (),
    "Vĩnh Phúc": (),
    "Yên Bái": (),
}

# Names that are also common words ("diễn biến hòa bình") only count when capitalized, or
# after "tỉnh"/"thành phố" (a question may be typed in lowercase).
_AMBIGUOUS = {"Hòa Bình"}


@lru_cache(maxsize=1)
def _patterns() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """First folded syllable -> [(canonical name, syllables of one spelling)]."""
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for name, aliases in PROVINCES.items():
        for spelling in (name, *aliases):
            syllables = tuple(re.findall(r"\w+", nfc(spelling)))
            out.setdefault(fold(syllables[0]), []).append((name, syllables))
    return out


def _same_syllable(word: str, name_part: str) -> bool:
    """An accented word must match with its accents ("Diễn Biên" is not "Điện Biên"); an
    unaccented one matches any accents (questions are often typed without them)."""
    if has_diacritics(word):
        return syllable_key(word) == syllable_key(name_part)
    return fold(word) == fold(name_part)


def province_spans(text: str) -> list[tuple[str, int, int]]:
    """(canonical name, start, end) of each province mention in text, in order."""
    text = nfc(text)
    tokens = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\w+", text)]
    patterns = _patterns()
    spans: list[tuple[str, int, int]] = []
    i = 0
    while i < len(tokens):
        best: tuple[str, int] | None = None
        for name, syllables in patterns.get(fold(tokens[i][0]), ()):
            n = len(syllables)
            window = [w for w, _, _ in tokens[i : i + n]]
            if len(window) < n or not all(_same_syllable(w, p) for w, p in zip(window, syllables)):
                continue
            if name in _AMBIGUOUS and not all(w[:1].isupper() for w in window):
                before = fold(" ".join(w for w, _, _ in tokens[max(0, i - 2) : i]))
                if not re.search(r"(tinh|thanh pho|tp)$", before):
                    continue
            if best is None or n > best[1]:
                best = (name, n)
        if best is None:
            i += 1
            continue
        name, n = best
        spans.append((name, tokens[i][1], tokens[i + n - 1][2]))
        i += n
    return spans


def insert_before_end(text: str, addition: str) -> str:
    """Insert text before the closing punctuation: "... năm 2023?" + "ở Lai Châu" -> "... năm 2023 ở Lai Châu?"."""
    m = re.search(r"[\s?.!]*$", text)
    cut = m.start() if m else len(text)
    return f"{text[:cut]} {addition}{text[cut:]}"


def replace_provinces(text: str, provinces: list[str]) -> str:
    """Put `provinces` where the text names its first province, dropping any further ones.

    "Bắc Giang và Hà Nam tổ chức ...?" with ["Lai Châu"] -> "Lai Châu tổ chức ...?". With no
    province in the text, " ở <provinces>" goes before the closing punctuation.
    """
    spans = province_spans(text)
    joined = " và ".join(provinces)
    if not spans:
        return insert_before_end(text, f"ở {joined}")
    out = text
    for _, start, end in reversed(spans[1:]):  # further mentions go, with their "và" / ","
        out = re.sub(r"\s*(,|\bvà)\s*$", "", out[:start]) + out[end:]
    _, start, end = spans[0]
    out = out[:start] + joined + out[end:]
    return re.sub(r"\s{2,}", " ", out).strip()


def province_mentions(text: str) -> Counter[str]:
    """Count mentions of each province in text (accents optional when the text has none)."""
    return Counter(name for name, _, _ in province_spans(text))


def find_province(title: str, body: str) -> str | None:
    """The report's province: named in the title, else the one named most often in the body."""
    in_title = province_mentions(title)
    if in_title:
        return in_title.most_common(1)[0][0]
    in_body = province_mentions(body)
    if in_body:
        return in_body.most_common(1)[0][0]
    return None


YEAR_RE = re.compile(r"(?<!\d)(?:19[5-9]\d|20[0-4]\d)(?!\d)")
DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?![\d/])")
NAM_YEAR_RE = re.compile(r"\bnăm\s+((?:19|20)\d{2})\b", re.IGNORECASE)


def find_years(title: str, body: str) -> tuple[int, ...]:
    """Years the report covers: those in its title, and "năm YYYY" written twice or more in its body.

    A single "tầm nhìn đến năm 2030" is a mention, not a year the report covers.
    """
    years = {int(y) for y in YEAR_RE.findall(title)}
    counts = Counter(int(y) for y in NAM_YEAR_RE.findall(body))
    years.update(y for y, n in counts.items() if n >= 2)
    if not years:
        years.update(counts)
    return tuple(sorted(years))


def find_dates(text: str) -> tuple[str, ...]:
    """Dates written d/m/yyyy, normalized to dd/mm/yyyy, in order of first appearance."""
    seen: dict[str, None] = {}
    for d, m, y in DATE_RE.findall(text):
        if 1 <= int(d) <= 31 and 1 <= int(m) <= 12:
            seen.setdefault(f"{int(d):02d}/{int(m):02d}/{y}", None)
    return tuple(seen)


def question_years(question: str) -> tuple[int, ...]:
    """Years a question names."""
    return tuple(sorted({int(y) for y in YEAR_RE.findall(question)}))


SOURCE_RE = re.compile(r"^\s*(Nguồn|Theo)\s*:\s*(.{2,120}?)\s*$", re.MULTILINE)
AUTHOR_RE = re.compile(r"^\s*(Tác giả|Tin, ảnh|Bài, ảnh)\s*:\s*(.{2,80}?)\s*$", re.MULTILINE)


def find_source(text: str) -> str | None:
    m = SOURCE_RE.search(text)
    return m.group(2) if m else None


def find_author(text: str) -> str | None:
    m = AUTHOR_RE.search(text)
    return m.group(2) if m else None


@lru_cache(maxsize=4096)
def main_year(text: str) -> int | None:
    """The year a report reports on: of the years it names as "năm YYYY" most often, the earliest.

    A "tổng kết năm X, nhiệm vụ năm X+1" report names both; its figures belong to X.
    """
    counts = Counter(int(y) for y in NAM_YEAR_RE.findall(text))
    if not counts:
        return None
    top = max(counts.values())
    return min(y for y, n in counts.items() if n == top)


def report_year(doc) -> int | None:
    """main_year of a Document."""
    return main_year(doc.text)
