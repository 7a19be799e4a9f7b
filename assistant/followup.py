"""Follow-up questions without an LLM: carry the previous question's topic, swap what changed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .metadata import YEAR_RE, insert_before_end, province_spans, question_years, replace_provinces
from .vietnamese import content_keys, fold, nfc

# "Còn Lai Châu thì sao?", "Năm 2022 thì sao?", "Thế còn Hà Nam?", "Vậy còn năm 2021?"
_FOLLOW_START = re.compile(r"^(con|the con|vay con|con ve|con o|the|vay)\b")
_FOLLOW_END = re.compile(r"\b(thi sao|the nao|ra sao|nhu the nao|thi the nao)\s*\W*$")
# "hội nghị đó", "báo cáo này", "đồng chí ấy", "hội nghị trên"
_DEMONSTRATIVE = re.compile(r"\s+(đó|này|ấy|nói trên|trên)(?=\s*[?.!]*\s*$)", re.IGNORECASE)
_FILLER_KEYS = {"con", "thi", "sao", "the", "vay", "nao", "ve", "o", "con2", "thê1", "vây5"}


@dataclass(frozen=True)
class Context:
    """What a conversation is about: the last question actually searched."""

    question: str


@dataclass(frozen=True)
class Resolved:
    """The question to search, and whether it was rewritten from the context."""

    searched: str
    followup: bool


def _swap_years(question: str, years: tuple[int, ...]) -> str:
    if not YEAR_RE.search(question):
        return insert_before_end(question, "năm " + " và ".join(str(y) for y in years))
    first = [True]

    def repl(m: re.Match[str]) -> str:
        if first[0]:
            first[0] = False
            return " và ".join(str(y) for y in years)
        return m.group()

    return YEAR_RE.sub(repl, question)


def resolve(question: str, context: Context | None) -> Resolved:
    """Rewrite a follow-up into a standalone question using the previous searched question.

    Args:
        question: the cleaned question as typed.
        context: the previous turn, or None at the start of a conversation.

    Returns:
        The question to search and whether it was rewritten.
    """
    question = nfc(question).strip()
    if context is None:
        return Resolved(question, False)
    previous = context.question
    folded = fold(question)
    provinces = [name for name, _, _ in province_spans(question)]
    years = question_years(question)

    # Content words left once places, years and the follow-up phrasing are taken away.
    rest = question
    for _, start, end in sorted(province_spans(question), key=lambda s: -s[1]):
        rest = rest[:start] + rest[end:]
    rest = YEAR_RE.sub("", rest)
    leftover = [k for k in content_keys(rest) if fold(k.rstrip("12345")) not in _FILLER_KEYS]
    marked = bool(_FOLLOW_START.search(folded) or _FOLLOW_END.search(folded))

    if (provinces or years) and marked and len(leftover) <= 1:
        searched = previous
        if provinces:
            searched = replace_provinces(searched, provinces)
        if years:
            searched = _swap_years(searched, years)
        return Resolved(searched, True)

    if _DEMONSTRATIVE.search(question):
        # "Ai chủ trì hội nghị đó?": keep the question, add the place and time it refers to.
        searched = _DEMONSTRATIVE.sub("", question)
        old_provinces = [n for n, _, _ in province_spans(previous) if n not in provinces]
        old_years = [y for y in question_years(previous) if y not in years]
        additions = []
        if old_provinces and not provinces:
            additions.append("ở " + " và ".join(dict.fromkeys(old_provinces)))
        if old_years and not years:
            additions.append("năm " + " và ".join(str(y) for y in old_years))
        if additions:
            searched = insert_before_end(searched, " ".join(additions))
        return Resolved(searched, searched != question)
    return Resolved(question, False)
