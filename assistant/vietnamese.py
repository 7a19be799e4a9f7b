"""Vietnamese text handling in one place: NFC, tone-placement-insensitive keys, folding, tokens."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining tone marks (the five tones besides level). Vowel-quality marks (circumflex, breve,
# horn) are not tones and stay part of the letter.
_TONES = {"\u0300": "2", "\u0301": "1", "\u0303": "4", "\u0309": "3", "\u0323": "5"}

# Words, and numbers kept whole with their Vietnamese separators: 12.029, 102,9%, 1.650/1.277.
TOKEN_RE = re.compile(r"\d+(?:[.,]\d+)*%?|[^\W\d_]+|\d+", re.UNICODE)
NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*%?")

# Interrogatives and fillers that carry no content in a question.
QUESTION_WORDS = frozenset(
    [
        "bao",
        "nhiêu",
        "mấy",
        "gì",
        "nào",
        "ai",
        "đâu",
        "sao",
        "thế",
        "nào",
        "ra",
        "không",
        "chưa",
        "hãy",
        "cho",
        "biết",
        "hỏi",
        "là",
        "có",
        "được",
        "những",
        "các",
        "của",
        "và",
        "thì",
        "với",
        "về",
        "ở",
        "trong",
        "tại",
        "đã",
        "đang",
        "sẽ",
        "bị",
        "này",
        "đó",
        "kia",
        "như",
        "mà",
        "để",
        "cũng",
        "năm",
        "tháng",
        "ngày",
        "khi",
        "nào",
        "bao",
        "giờ",
        "lúc",
        "việc",
    ]
)


def nfc(text: str) -> str:
    """NFC-normalize: NFD input doubles token counts and changes embeddings."""
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=200_000)
def syllable_key(word: str) -> str:
    """A lowercase key equal for both tone placements ("hoá" / "hóa", "uỷ" / "ủy").

    The tone mark is lifted off its vowel and appended as a digit, so the key no longer
    depends on which vowel carried it.
    """
    decomposed = unicodedata.normalize("NFD", word.lower())
    tone = ""
    kept = []
    for ch in decomposed:
        if ch in _TONES:
            tone = _TONES[ch]
        else:
            kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


@lru_cache(maxsize=200_000)
def fold(text: str) -> str:
    """Lowercase and strip every diacritic ("Bắc Giang" -> "bac giang", "đ" -> "d")."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    # NFC again: other scripts (Hangul) decompose into non-combining parts that must be put back.
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def words(text: str) -> list[str]:
    """Raw word and number tokens as they appear (NFC, original case)."""
    return TOKEN_RE.findall(nfc(text))


def is_number(token: str) -> bool:
    return token[0].isdigit()


def number_value(token: str) -> float | None:
    """Parse a Vietnamese-formatted number: "12.029" -> 12029, "102,9%" -> 102.9."""
    t = token.rstrip("%")
    if not t or not t[0].isdigit():
        return None
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", t):
        t = t.replace(".", "").replace(",", ".")
    elif "," in t and "." not in t:
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        return None


def term_keys(text: str) -> list[str]:
    """Tone-canonical lowercase keys of each token, in order (numbers unchanged)."""
    return [t if is_number(t) else syllable_key(t) for t in words(text)]


def bm25_tokens(text: str, bigrams: bool = True) -> list[str]:
    """Tokens for BM25: canonical syllables, their folded forms when different, and bigrams.

    Folded forms let "bac giang" find "Bắc Giang"; the exact forms still score higher for a
    question typed with diacritics. Bigrams stand in for word segmentation ("hội nghị").
    """
    keys = term_keys(text)
    out = list(keys)
    folded = [k if is_number(k) else fold(k.rstrip("12345")) for k in keys]
    out.extend(f for f, k in zip(folded, keys) if f != k)
    if bigrams:
        out.extend(f"{a}_{b}" for a, b in zip(folded, folded[1:]))
    return out


def folded_terms(text: str) -> list[str]:
    """Words without diacritics (numbers as written): the answerer's terms."""
    return [t if is_number(t) else fold(t) for t in TOKEN_RE.findall(text)]


def content_keys(question: str) -> list[str]:
    """The question's content terms: canonical keys minus interrogatives and fillers.

    An unaccented word is compared with the unaccented stop words, except a few that are also
    content once their accents are gone ("nam" may be "Hà Nam", "la" may be "Sơn La").
    """
    stop, folded_stop = _stop_keys()
    out = []
    for word, key in zip(words(question), term_keys(question)):
        if key in stop or (not has_diacritics(word) and key in folded_stop):
            continue
        out.append(key)
    return out


@lru_cache(maxsize=1)
def _stop_keys() -> tuple[frozenset[str], frozenset[str]]:
    exact = frozenset(syllable_key(w) for w in QUESTION_WORDS)
    folded = frozenset(fold(w) for w in QUESTION_WORDS) - {
        "nam",
        "la",
        "co",
        "tai",
        "ba",
        "ma",
        "do",
        "hoi",
        "dang",
        "viec",
    }
    return exact, folded


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (or đ)."""
    return fold(text) != text.lower()
