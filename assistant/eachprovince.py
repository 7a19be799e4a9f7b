"""Questions that ask which provinces' reports say something ("những tỉnh nào nhắc đến ...",
"báo cáo nào có ...", "mỗi tỉnh ... thế nào"): the answer is one quote per province whose report holds
the evidence, and the provinces whose report does not are named as such.

The decision per province is the answerer's own (the trained scorer and its fitted threshold); this
module only recognises the question and says what each province is asked.
"""

from __future__ import annotations

import re

from .question import QuestionInfo, analyze
from .vietnamese import fold

# Matched on the character-aligned folded question, so the span can be cut from the original text.
_WHICH = re.compile(
    r"\b(?:(?:trong|o|tai)\s+)?(?:(?:cac\s+)?bao\s+cao\s+(?:cua\s+)?)?"
    r"(?:(?:nhung|cac)\s+)?(?:tinh|dia\s+phuong|bao\s+cao)\s+nao\b"
    r"|\b(?:moi|tung|cac)\s+tinh\b|\bo\s+dau\s+cung\b"
)


def _aligned_fold(text: str) -> str:
    """fold() one character at a time: the result has the question's length, position for position."""
    return "".join((fold(ch) or " ")[:1] for ch in text)


def asks_each_province(info: QuestionInfo) -> bool:
    """The question asks across provinces without naming one."""
    return not info.provinces and bool(_WHICH.search(_aligned_fold(info.text)))


def topic_question(info: QuestionInfo) -> QuestionInfo:
    """The question asked of each province: the "which provinces" words taken out, so they neither
    count as content terms nor decide the kind of answer ("những tỉnh nào" is not a list question)."""
    text = info.text
    for m in reversed(list(_WHICH.finditer(_aligned_fold(text)))):
        text = text[: m.start()] + " " + text[m.end() :]
    text = re.sub(r"\s+", " ", text).strip(" ,")
    return analyze(text) if re.search(r"\w", text) else info
