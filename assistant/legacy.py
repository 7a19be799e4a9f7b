"""Legacy Vietnamese encodings: convert Windows-1258, recognise TCVN3 (ABC) and VNI font encodings.

Windows-1258 is a real code page (Python decodes it; tone marks come as combining characters that
NFC recomposes). TCVN3 and VNI are font encodings: the bytes only mean Vietnamese letters when shown
in .VnTime / VNI-Times fonts. They are recognised and refused with the reason rather than converted
with a hand-made table that could silently corrupt numbers or names.
"""

from __future__ import annotations

import re
import unicodedata

VIETNAMESE_LETTERS = set(
    "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬĐÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
)
# Bytes TCVN3 uses for the most frequent toned vowels (á à ả ã ạ ...), shown as symbols in cp1252.
_TCVN3_MARKS = set("¸µ¶·¹¨©ª«¬®¯°±²³´½¾ÆÇ")
# VNI writes a toned vowel as the ASCII letter followed by a mark byte: "Vieät", "Nam", "tænh".
_VNI_PAIR = re.compile(r"[aeiouyAEIOUY][ùøûõïâäãåæ]")


def vietnamese_ratio(text: str) -> float:
    """Share of letters that carry Vietnamese diacritics (about 0.2-0.4 in real Vietnamese text)."""
    letters = [c for c in text if c.isalpha()]
    return sum(c in VIETNAMESE_LETTERS for c in letters) / len(letters) if letters else 0.0


def decode_legacy(data: bytes) -> tuple[str | None, str]:
    """Decode non-UTF-8 Vietnamese bytes.

    Returns:
        (text, "windows-1258") when the bytes are Windows-1258 Vietnamese; otherwise
        (None, reason) naming the encoding that was recognised, or saying none was.
    """
    latin = data.decode("cp1252", errors="replace")
    letters = sum(c.isalpha() for c in latin) or 1
    words = len(latin.split()) or 1
    if len(_VNI_PAIR.findall(latin)) / words > 0.08:
        return None, "VNI font encoding: convert it to Unicode (for example with UniKey) and add it again"
    if sum(c in _TCVN3_MARKS for c in latin) / letters > 0.02:
        return None, "TCVN3 (ABC) font encoding: convert it to Unicode (for example with UniKey) and add it again"
    # Windows-1258 writes most tones as combining marks (bytes CC EC D2 DE F2): real Vietnamese text
    # has many of them, Latin-1 text in other languages has none.
    tone_bytes = sum(data.count(b) for b in (b"\xcc", b"\xec", b"\xd2", b"\xde", b"\xf2"))
    try:
        text = unicodedata.normalize("NFC", data.decode("cp1258"))
    except UnicodeDecodeError:
        text = None
    if text is not None and tone_bytes / letters >= 0.02 and vietnamese_ratio(text) >= 0.05:
        leftover = sum(unicodedata.combining(c) > 0 for c in text)
        if leftover <= 0.005 * max(1, len(text)):
            return text, "windows-1258"
    return None, "not valid UTF-8 and not a Vietnamese legacy encoding that can be read; save it as UTF-8"
