"""Pure text cleaning: strip web-page boilerplate from a report without losing report text."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .vietnamese import nfc

# Invisible or odd characters that break tokens and offsets.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")

# A heading after which a web page only lists other articles, widgets and counters.
_TRAILING_HEADINGS = re.compile(
    r"^(văn bản mới|liên kết website|liên kết web|các tin khác|tin khác|tin liên quan|"
    r"bài viết liên quan|tin cùng chuyên mục|thư viện ảnh|thư viện video|mới nhất|tin mới nhất|"
    r"phản hồi|bình luận|ý kiến bạn đọc|bạn cũng có thể thích|thống kê truy cập|xem thêm)\b.{0,40}$",
    re.IGNORECASE,
)

# Lines that are boilerplate wherever they stand.
_BOILERPLATE_LINES = [
    # navigation
    r"skip ribbon commands|skip to main content|skip navigation|chuyển đến nội dung chính|"
    r"bỏ qua nội dung",
    r"tin theo lĩnh vực\b.*",
    r"trang chủ\s*[»>/|›].*",
    # visitor counters
    r"[•·*\-]?\s*(đang truy cập|đang online|hôm nay|hôm qua|tháng hiện tại|tháng trước|tuần này|"
    r"trong tuần|tất cả|tổng lượt truy cập|tổng số lượt truy cập|lượt truy cập|thống kê truy cập|"
    r"số lượt truy cập|khách trực tuyến|thành viên trực tuyến)\s*:?\s*[\d.,\s]*",
    # "lượt xem | lượt tải" listings of other documents
    r".*lượt xem\s*:?\s*[\d.,]+\s*\|\s*lượt tải\s*:?\s*[\d.,]*.*",
    # image file names and image placeholders
    r"[\w\-. ()]+\.(jpe?g|png|gif|webp|bmp|tiff?)",
    r"(anh tin bai|ảnh tin bài|image|photo)",
    # rating widgets
    r"tổng số điểm của bài viết là.*|.*đánh giá bài viết.*|click để đánh giá.*|bình chọn.*",
    # page-number rows ("1 2 3", "Trang 1 2 3 »")
    r"(trang\s*)?\d{1,3}(\s+\d{1,3})+\s*(»|›|>|tiếp|sau)?",
    # session and page widgets
    r"bạn đã không sử dụng site.*",
    r"(top|down|lên đầu trang|về đầu trang|in bài|in trang|chia sẻ|gửi email|quay lại|"
    r"tweet|share|like|print|email)",
]
_BOILERPLATE = re.compile(r"^(?:" + "|".join(_BOILERPLATE_LINES) + r")\s*$", re.IGNORECASE)

# Website datelines: "Thứ bảy - 31/12/2022 21:24 481 0", "Chủ Nhật, 14/4/2024".
_DATELINE = re.compile(
    r"^(thứ\s+(hai|ba|tư|năm|sáu|bảy|[2-7])|chủ nhật)\s*[,\-–]?\s*"
    r"(\d{1,2})/(\d{1,2})/(\d{4})(.{0,40})$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Cleaned:
    """Cleaned text plus what cleaning learned on the way."""

    text: str
    published: str | None
    removed: int


def normalize_whitespace(text: str) -> str:
    """NFC, one kind of newline, no control or invisible characters, single spaces, stripped lines."""
    text = nfc(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines)


def _word_count(line: str) -> int:
    return len(line.split())


def _published(datelines: list[tuple[str, bool]]) -> str | None:
    """Prefer the dateline carrying a time (the article's), else the first one."""
    if not datelines:
        return None
    timed = [d for d, has_time in datelines if has_time]
    return timed[0] if timed else datelines[0][0]


def clean_report(raw: str) -> Cleaned:
    """Remove boilerplate lines and blocks; keep every report sentence.

    Args:
        raw: the decoded file text.

    Returns:
        Cleaned text with paragraphs separated by blank lines, the publication date found in
        a website dateline (dd/mm/yyyy) and the number of lines removed.
    """
    lines = normalize_whitespace(raw).split("\n")
    removed = 0
    total_chars = sum(len(x) for x in lines) or 1

    # 1. Cut trailing "other articles" blocks: a heading in the last part of the page.
    seen_chars = 0
    for i, line in enumerate(lines):
        if seen_chars > 0.4 * total_chars and _TRAILING_HEADINGS.match(line):
            removed += sum(1 for x in lines[i:] if x)
            lines = lines[:i]
            break
        seen_chars += len(line)

    # 2. Tag lines repeated three times or more across the page.
    counts = Counter(x.lower() for x in lines if len(x) >= 20)
    repeated = {x for x, n in counts.items() if n >= 3}

    kept: list[str] = []
    datelines: list[tuple[str, bool]] = []
    previous = ""
    for line in lines:
        if not line:
            kept.append("")
            continue
        m = _DATELINE.match(line)
        if m:
            d, mo, y = int(m.group(3)), int(m.group(4)), m.group(5)
            datelines.append((f"{d:02d}/{mo:02d}/{y}", ":" in m.group(6)))
            removed += 1
            continue
        if _BOILERPLATE.match(line) or line.lower() in repeated:
            removed += 1
            continue
        # Captions printed twice, titles repeated by the page template.
        if line.lower() == previous.lower():
            removed += 1
            continue
        kept.append(line)
        previous = line

    # 3. Header residue: short label lines ("Tuyên giáo các cấp") before a headline. When the
    # first long line is a body sentence (it ends with a period), a short line before it is the title.
    first_content = next((i for i, x in enumerate(kept) if _word_count(x) >= 6), 0)
    is_headline = bool(kept) and not kept[first_content].endswith((".", "!", "?", "…"))
    head = [x for x in kept[:first_content] if x and is_headline and not x.endswith((".", ":", "?", "!"))]
    removed += len(head)
    kept = [x for x in kept[:first_content] if x and x not in head] + kept[first_content:]

    # 4. Paragraphs: lines separated by a single blank line.
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return Cleaned(text=text, published=_published(datelines), removed=removed)


def guess_title(text: str, max_chars: int = 200) -> str:
    """The headline: the first line; a long first paragraph is cut at a word boundary."""
    first = next((x for x in text.split("\n") if x.strip()), "")
    if len(first) <= max_chars:
        return first
    cut = first[:max_chars].rsplit(" ", 1)[0]
    return cut + "…"
