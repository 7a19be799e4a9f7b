"""Vietnamese-aware sentence and clause spans, as offsets into the text they come from."""

from __future__ import annotations

import re

# Abbreviations that end in a period but do not end a sentence.
ABBREVIATIONS = frozenset(
    [
        "TS",
        "ThS",
        "PGS",
        "GS",
        "TP",
        "Tp",
        "BS",
        "KS",
        "CN",
        "NXB",
        "Th.S",
        "Q",
        "TT",
        "UBND",
        "HĐND",
        "St",
        "Mr",
        "Mrs",
        "Dr",
        "v.v",
        "vv",
        "Tr",
        "tr",
    ]
)

# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) before whitespace
# and a capital letter, digit, quote or bracket (checked in _starts_sentence); or at a line break.
_BOUNDARY = re.compile(r"""([.!?…]+["”’»)\]]*)(\s+)(?=\S)""")
# Enumerated items after a colon ("...trọng tâm: Một là, ...") are units of their own.
_ENUMERATION = re.compile(r"(:)(\s+)(?=(Một là|Hai là|Ba là|Bốn là|Năm là|Sáu là|Thứ nhất|Thứ hai|Thứ ba|Thứ tư)\b)")


def _starts_sentence(text: str, i: int) -> bool:
    """A sentence starts with a capital letter or digit, possibly after an opening quote or bracket."""
    while i < len(text) and text[i] in '"“‘«([':
        i += 1
    return i < len(text) and (text[i].isupper() or text[i].isdigit())


def _ends_with_abbreviation(text: str, end: int) -> bool:
    """True when the period at text[end-1] closes an abbreviation like "TS." or a single initial."""
    m = re.search(r"([\w.]+)\.$", text[max(0, end - 12) : end])
    if not m:
        return False
    word = m.group(1)
    return word in ABBREVIATIONS or (len(word) == 1 and word.isupper())


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text[start:end], whitespace trimmed.

    Does not split "12.029", "102,9%", "Nghị quyết số 35-NQ/TW", "TS. Nguyễn", "07/7/2022".
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text[start:end]):
        line_start = start + line.start()
        line_end = start + line.end()
        cursor = line_start
        boundaries = [m for m in _BOUNDARY.finditer(text, line_start, line_end) if _starts_sentence(text, m.end(2))]
        boundaries += list(_ENUMERATION.finditer(text, line_start, line_end))
        for m in sorted(boundaries, key=lambda m: m.start()):
            stop = m.end(1)
            if text[m.start(1)] == "." and len(m.group(1)) == 1 and _ends_with_abbreviation(text, stop):
                continue
            spans.append((cursor, stop))
            cursor = m.end(2)
        spans.append((cursor, line_end))
    return [trim_span(text, a, b) for a, b in spans if text[a:b].strip()]


def trim_span(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b
