"""Dated events the reports state ("Chiều ngày 07/7/2022, Ban Tuyên giáo Tỉnh ủy tổ chức sơ kết ..."):
what took place, the date as written (and as an ISO date when the year is written), the place after
"tại", the verbatim sentence with its offsets.

A date that dates a document ("Chỉ thị số 11-CT/TU, ngày 15/6/2022") is not an event, and a day/month
without a year counts only after a word that makes it a date ("chiều 3/1", "ngày 7/7", "dịp 19/5"):
"15/15" and "9/15" are fractions.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from .records import Document
from .sentences import sentence_spans

# day[-day]/month[/year], after an optional word that says a date follows
_DATE = re.compile(
    r"(?P<lead>\b(?:[Cc]hiều|[Ss]áng|[Tt]ối|[Tt]rưa|[Nn]gày|[Dd]ịp|[Hh]ôm)\s+(?:ngày\s+)?|\()?"
    r"(?<![\d/.,])(?P<day>\d{1,2})(?:-(?P<last>\d{1,2}))?/(?P<month>\d{1,2})(?:/(?P<year>(?:19|20)\d{2}))?(?![\d/])"
)
# "Chỉ thị số 11-CT/TU, ngày ...": a document's number just before the date
_DOCUMENT = re.compile(r"\d+[-/][A-ZĐ]+/[A-ZĐ]+[^.;]{0,12}$|(?:số|Số)\s+\d+[^.;]{0,20}$")
_EVENT_WORDS = re.compile(
    r"\b(hội nghị|hội thảo|tọa đàm|toạ đàm|diễn đàn|đại hội|lễ|cuộc thi|sơ kết|tổng kết|kỷ niệm|phát động|"
    r"tập huấn|hội thi|giao ban|ra mắt)\b",
    re.IGNORECASE,
)
_PLACE = re.compile(r"\btại\s+([^,;.()]{3,80})")


@dataclass(frozen=True)
class Event:
    doc_id: str
    file: str
    province: str | None
    what: str
    date: str  # as written: "07/7/2022", "3/1", "27-28/7/2020"
    iso: str | None  # "2022-07-07" when the year is written
    place: str | None
    quote: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


def _what(sentence: str) -> str | None:
    """The event as the sentence names it: from its event word to the end of that clause."""
    m = _EVENT_WORDS.search(sentence)
    if m is None:
        return None
    words = re.split(r"[;(]|\.\s", sentence[m.start() :])[0].split()
    return " ".join(words[:24]).rstrip(" ,.:")


def extract_events(doc: Document) -> list[Event]:
    """Events with a written date in one report, in reading order."""
    text = doc.text
    out: list[Event] = []
    line_start = 0
    for line in text.split("\n"):
        for a, b in sentence_spans(text, line_start, line_start + len(line)):
            sentence = text[a:b]
            for m in _DATE.finditer(sentence):
                day, month, year = int(m["day"]), int(m["month"]), m["year"]
                if not (1 <= day <= 31 and 1 <= month <= 12) or (not year and not m["lead"]):
                    continue
                if _DOCUMENT.search(sentence[: m.start()]):
                    continue
                what = _what(sentence)
                if what is None:
                    continue
                place = _PLACE.search(sentence, m.end())
                date = sentence[m.start("day") : m.end()]
                iso = f"{year}-{month:02d}-{day:02d}" if year else None
                out.append(
                    Event(
                        doc.doc_id,
                        doc.file,
                        doc.province,
                        what,
                        date,
                        iso,
                        place.group(1).strip() if place else None,
                        sentence,
                        a,
                        b,
                    )
                )
                break  # one event per sentence: its first date
        line_start += len(line) + 1
    return out
