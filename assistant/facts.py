"""Facts read from the reports at build time: quantities (what was counted, how many, where, when) and
people (name, role), each with its verbatim quote and offsets, stored per index version in SQLite.

Rules, not a model: a quantity is a count number (not a year, a date or a number that names, see
unittext.py) with the words it counts; the labelled sample in tests/data/ measures them.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from .constraints import statement_years
from .events import Event, extract_events
from .metadata import province_mentions, report_year
from .records import Document
from .units import unit_spans
from .unittext import SURNAMES, read_unit
from .vietnamese import fold, nfc, number_value

FACTS_FILE = "facts.sqlite"
FACTS_VERSION = 4

_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*%?")
_SCALES = frozenset(("nghìn", "ngàn", "triệu", "tỷ", "tỉ", "vạn"))
_QUALIFIERS = ("gần", "trên", "hơn", "khoảng", "đạt", "vượt", "hàng", "gồm")
# Words that end the counted phrase: verbs, prepositions and conjunctions that follow it. Compared with
# their accents: folded, "ban" (of "ban hành") would also stop at "bản" and cut "văn bản" to "văn".
_STOP = frozenset(
    w
    for w in (
        "đạt vượt cho với trong của tại về và được có là đã đang sẽ thuộc trên dưới từ đến theo nhằm để qua "
        "tham gia dự tổ chức mở phát hành ban hành gồm như bao gồm hoàn thành thực hiện với đảm dành nhằm"
    ).split()
)
_LEVELS = [
    (re.compile(r"\bcấp huyện\b|\bhuyện\b", re.I), "huyện"),
    (re.compile(r"\bcấp xã\b|\bxã, phường\b", re.I), "xã"),
    (re.compile(r"\bcơ sở\b", re.I), "cơ sở"),
    (re.compile(r"\bĐảng ủy Khối\b|\bĐảng bộ Khối\b", re.I), "Đảng ủy Khối"),
    (re.compile(r"\bcấp tỉnh\b|\btoàn tỉnh\b|\bTỉnh ủy\b", re.I), "tỉnh"),
]
# Clauses end at , ; : and brackets, but not at the comma of a decimal ("102,9%").
_CLAUSE = re.compile(r"(?:[^,;:()]|,(?=\d))+")
# A number followed by a unit of time is a period ("06 tháng đầu năm"), not a count; "Ban Chỉ đạo 35" names.
# "Học viên: 275" inside a table row written with its headers (ingest.table_lines), and the row's label.
_HEADED_CELL = re.compile(r"(?:^|;\s*)([^\W\d_][^:;.\d]{0,60}):\s*$")
_ROW_LABEL = re.compile(r"([^:;]{1,60}):\s*([^;\d]{1,60});")
_DURATION = re.compile(r"\s*(tháng|năm|ngày|tuần|quý|giờ|phút)\b", re.I)
_NAMED = re.compile(r"(Ban Chỉ đạo|BCĐ|Trung ương)\)?\s*$")
_ROLE_END = re.compile(r"[.;]|\s(?:phát biểu|dự|chủ trì|chỉ đạo|cho biết|nhấn mạnh|khẳng định|đề nghị)\b")
_BYLINE = re.compile(
    r"(?m)(?:^|(?<=\.\s))(Tác giả|Ảnh|Tin, ảnh|Bài, ảnh|Bài và ảnh):\s*([A-ZĐ][^\W\d_]*(?:\s[A-ZĐ][^\W\d_]*){0,3})\s*$"
)
# A capitalized run opening with a title is a role ("Phó Bí thư", "Trưởng Ban"), not a name.
_TITLE_WORDS = frozenset(fold(w) for w in "Phó Trưởng Bí Chủ Ủy Giám Tổng Thủ Bộ Ban Đảng Báo Đô".split())


@dataclass(frozen=True)
class Quantity:
    doc_id: str
    file: str
    province: str | None
    year: int | None
    subject: str
    value: float
    unit: str
    qualifier: str | None
    level: str | None
    number_text: str
    quote: str
    start: int
    end: int

    @property
    def subject_head(self) -> str:
        return " ".join(self.subject.split()[:2])

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Person:
    doc_id: str
    file: str
    province: str | None
    name: str
    role: str | None
    quote: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return asdict(self)


def _clause_around(text: str, a: int, b: int, at: int) -> tuple[int, int]:
    """The clause of text[a:b] (between , ; : and brackets) holding offset `at`, trimmed."""
    for m in _CLAUSE.finditer(text, a, b):
        if m.start() <= at < m.end():
            x, y = m.start(), m.end()
            while x < y and text[x].isspace():
                x += 1
            while y > x and text[y - 1] in " .":
                y -= 1
            return x, y
    return a, b


def _counted_words(text: str, at: int, limit: int = 8) -> list[str]:
    """The words after offset `at` up to punctuation, a stop word or a number."""
    out: list[str] = []
    for m in re.finditer(r"[^\W\d_]+|\d|[^\w\s]", text[at : at + 200]):
        w = m.group()
        if not w[0].isalpha() or (out and w.lower() in _STOP) or len(out) >= limit:
            break
        out.append(w)
    return out


def extract_quantities(doc: Document, max_chars: int = 300, min_chars: int = 40) -> list[Quantity]:
    """Every count or percentage the report states, with what it counts and its clause as the quote."""
    out: list[Quantity] = []
    text = doc.text
    for a, b in unit_spans(text, max_chars, min_chars):
        unit = read_unit(text[a:b])
        counts = set(unit.numbers)
        if not counts:
            continue
        years = statement_years(doc, a, b)
        for m in _NUMBER.finditer(text, a, b):
            token = m.group()
            if token not in counts:
                continue
            value = number_value(token)
            if value is None or _DURATION.match(text, m.end()) or _NAMED.search(text[a : m.start()]):
                continue
            # "9/15 Ban Tuyên giáo", "1.650/1.277 bài": both numbers count the words after the fraction.
            after = re.match(r"(?:\s*/\s*\d+(?:[.,]\d+)*)+", text[m.end() : b])
            words = _counted_words(text, m.end() + (after.end() if after else 0))
            if text[max(a, m.start() - 1) : m.start()] == "/":
                words = _counted_words(text, m.end())
            before = text[max(a, m.start() - 12) : m.start()].split()
            qualifier = before[-1].lower() if before and before[-1].lower() in _QUALIFIERS else None
            if token.endswith("%"):
                unit_word = "%"
                subject = " ".join(words) or _measured_before(text, a, m.start())
            else:
                cell = _HEADED_CELL.search(text[a : m.start()])
                if not words and cell is not None:
                    # a table row written with its headers ("Huyện: Trùng Khánh; Học viên: 275."): the
                    # column names what is counted, the row label where; the whole row is the quote
                    label = _ROW_LABEL.match(text, a)
                    unit_word = cell.group(1).lower()
                    subject = cell.group(1) + (f" ({label.group(2)})" if label else "")
                elif not words:
                    continue
                elif words[0].lower() in _SCALES and len(words) > 1:
                    # "500 ngàn lượt truy cập": the scale belongs to the unit, the subject is what is counted
                    unit_word = f"{words[0]} {words[1]}"
                    subject = " ".join(words[1:])
                else:
                    unit_word = words[0]
                    subject = " ".join(words)
            x, y = (a, b) if cell_row(text, a, b) else _clause_around(text, a, b, m.start())
            clause = text[x:y]
            level = next((name for pattern, name in _LEVELS if pattern.search(clause)), None)
            out.append(
                Quantity(
                    doc.doc_id,
                    doc.file,
                    doc.province,
                    _year(doc, years),
                    subject,
                    value,
                    unit_word,
                    qualifier,
                    level,
                    token,
                    clause,
                    x,
                    y,
                )
            )
    return out


def _year(doc: Document, years: frozenset[int]) -> int | None:
    """The statement's year: the report's own year when the statement names it among others, else the
    earliest it names ("giai đoạn 2021 - 2025, tầm nhìn 2030" is not about 2030)."""
    if not years:
        return None
    main = report_year(doc)
    return main if main in years else min(years)


def cell_row(text: str, a: int, b: int) -> bool:
    """The unit is a table row written with its headers."""
    return bool(_ROW_LABEL.match(text, a)) and text[a:b].count(": ") >= 2


def _measured_before(text: str, a: int, at: int) -> str:
    """For "tỷ lệ X đạt 99%": the words before the number, after "tỷ lệ" and without the verb."""
    words = text[a:at].split()
    while words and words[-1].lower() in _STOP | set(_QUALIFIERS):
        words.pop()
    m = re.search(r"tỷ lệ\s+(.*)$", " ".join(words[-12:]))
    return (m.group(1) if m else " ".join(words[-6:])).strip(" ,")


def extract_people(doc: Document) -> list[Person]:
    """Named people: "đồng chí/ông/bà" + a capitalized name, or 2-4 capitalized syllables led by a
    Vietnamese family name; the role is what follows the name after "," or "-" up to the verb."""
    out: list[Person] = []
    seen: set[tuple[str, str | None]] = set()
    text = doc.text
    for m in _BYLINE.finditer(text):  # "Tác giả: Thanh Sơn", "Ảnh: Đoàn Hiếu"
        seen.add((m.group(2), m.group(1)))
        out.append(Person(doc.doc_id, doc.file, doc.province, m.group(2), m.group(1), m.group(0), m.start(), m.end()))
    tokens = list(re.finditer(r"[^\W\d_]+", text))
    i = 0
    while i < len(tokens):
        run = []
        j = i
        while j < len(tokens) and len(run) < 4:
            w = tokens[j].group()
            joined = text[tokens[j - 1].end() : tokens[j].start()] if run else " "
            if not (w[0].isupper() and (w[1:].islower() or len(w) == 1)) or (run and joined != " "):
                break
            run.append(tokens[j])
            j += 1
        if len(run) < 2:
            i += 1
            continue
        before = text[max(0, run[0].start() - 24) : run[0].start()].lower()
        honorific = bool(re.search(r"(?:^|\s)(đồng chí|ông|bà)\s+$", before))
        name = text[run[0].start() : run[-1].end()]
        if (
            not (honorific or fold(run[0].group()) in SURNAMES)
            or fold(run[0].group()) in _TITLE_WORDS
            or province_mentions(name)
            or (
                re.search(r"(tư tưởng|phong cách|đạo đức|gương|thành phố|tp\.?)[\s,]*$", before)
                and name == "Hồ Chí Minh"
            )
        ):
            i = j
            continue
        rest = text[run[-1].end() : run[-1].end() + 200]
        role = None
        r = re.match(r"\s*[,\-–]\s*([^\n]+)", rest)
        if r:
            stop = _ROLE_END.search(r.group(1))
            role = (r.group(1)[: stop.start()] if stop else r.group(1)).strip(" ,") or None
        i = j
        if (name, role) in seen or any(name == n for n, _ in seen if _ in ("Tác giả", "Ảnh")):
            continue
        seen.add((name, role))
        line_start = text.rfind("\n", 0, run[0].start()) + 1
        line_end = text.find("\n", run[-1].end())
        line_end = len(text) if line_end < 0 else line_end
        out.append(
            Person(doc.doc_id, doc.file, doc.province, name, role, text[line_start:line_end], line_start, line_end)
        )
    return out


# -- the store ---------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE quantities (doc_id TEXT, file TEXT, province TEXT, year INTEGER, subject TEXT, subject_folded TEXT,
    value REAL, unit TEXT, qualifier TEXT, level TEXT, number_text TEXT, quote TEXT, start INTEGER, "end" INTEGER,
    context_folded TEXT);
CREATE TABLE people (doc_id TEXT, file TEXT, province TEXT, name TEXT, role TEXT, quote TEXT, start INTEGER,
    "end" INTEGER);
CREATE TABLE events (doc_id TEXT, file TEXT, province TEXT, what TEXT, date TEXT, iso TEXT, place TEXT, quote TEXT,
    start INTEGER, "end" INTEGER);
CREATE TABLE meta (key TEXT, value TEXT);
"""


def _sentence_of(text: str, at: int) -> str:
    """The line (paragraph) around offset `at`: what a quantity's subject may be named in."""
    a = text.rfind("\n", 0, at) + 1
    b = text.find("\n", at)
    return text[a : len(text) if b < 0 else b]


def _key(doc: Document) -> str:
    """A report's id and a hash of its text: a BEIR row keeps its `_id` when its text changes."""
    return f"{doc.doc_id}:{hashlib.sha256(doc.text.encode()).hexdigest()[:16]}"


def _insert(con: sqlite3.Connection, doc: Document) -> None:
    con.executemany(
        "INSERT INTO quantities VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            (
                q.doc_id,
                q.file,
                q.province,
                q.year,
                q.subject,
                fold(q.subject),
                q.value,
                q.unit,
                q.qualifier,
                q.level,
                q.number_text,
                q.quote,
                q.start,
                q.end,
                fold(_sentence_of(doc.text, q.start)),
            )
            for q in extract_quantities(doc)
        ],
    )
    con.executemany(
        "INSERT INTO people VALUES (?,?,?,?,?,?,?,?)",
        [(p.doc_id, p.file, p.province, p.name, p.role, p.quote, p.start, p.end) for p in extract_people(doc)],
    )
    con.executemany(
        "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", [tuple(e.to_dict().values()) for e in extract_events(doc)]
    )


class FactStore:
    """facts.sqlite of one index version: written once beside the other files, then read-only."""

    def __init__(self, path: Path):
        self.path = path

    @staticmethod
    def write(folder: Path, documents: Iterable[Document], previous: Path | None = None) -> Path:
        """Write facts.sqlite for `documents`; reports `previous` (an older version's file) already holds,
        same content id and same text, are copied from it instead of read again."""
        path = folder / FACTS_FILE
        documents = list(documents)
        con = sqlite3.connect(path)
        try:
            con.executescript(_SCHEMA)
            known: set[str] = set()
            if previous is not None and previous.is_file():
                con.execute("ATTACH DATABASE ? AS old", (f"file:{previous}?mode=ro",))
                known = {row[0] for row in con.execute("SELECT value FROM old.meta WHERE key = 'doc'")}
                wanted = [d.doc_id for d in documents if _key(d) in known]
                con.execute("CREATE TEMP TABLE keep (doc_id TEXT PRIMARY KEY)")
                con.executemany("INSERT INTO keep VALUES (?)", [(d,) for d in wanted])
                for table in ("quantities", "people", "events"):
                    con.execute(
                        f"INSERT INTO {table} SELECT * FROM old.{table} WHERE doc_id IN (SELECT doc_id FROM keep)"
                    )
                known = set(wanted)
                con.commit()
                con.execute("DETACH DATABASE old")
            for doc in documents:
                if doc.doc_id not in known:
                    _insert(con, doc)
            con.executemany("INSERT INTO meta VALUES ('doc', ?)", [(_key(d),) for d in documents])
            con.execute("INSERT INTO meta VALUES ('version', ?)", (str(FACTS_VERSION),))
            con.commit()
        finally:
            con.close()
        return path

    def quantities(self, subject: str = "", province: str | None = None, year: int | None = None) -> list[Quantity]:
        """Quantities whose subject holds every word of `subject` (accents optional), filtered."""
        sql = (
            "SELECT doc_id, file, province, year, subject, value, unit, qualifier, level, number_text, quote, "
            'start, "end" FROM quantities WHERE 1=1'
        )
        args: list = []
        words = re.findall(r"\w+", fold(nfc(subject)))
        for word in words:
            sql += " AND (' ' || subject_folded || ' ' || context_folded || ' ') LIKE ?"
            args.append(f"% {word} %")
        if province:
            sql += " AND province = ?"
            args.append(province)
        if year:
            sql += " AND year = ?"
            args.append(year)
        # Facts whose own subject holds the words first.
        hits = " + ".join(f"((' ' || subject_folded || ' ') LIKE '% {w} %')" for w in words if w.isalnum())
        sql += f" ORDER BY {hits + ' DESC, ' if hits else ''}province, year, start"
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return [Quantity(*row) for row in con.execute(sql, args)]
        finally:
            con.close()

    def events(self, province: str | None = None) -> list[Event]:
        """Dated events, in reading order per province."""
        return self._by_province(Event, "events", province)

    def people(self, province: str | None = None) -> list[Person]:
        """Named people, in reading order per province."""
        return self._by_province(Person, "people", province)

    def _by_province(self, record: type, table: str, province: str | None) -> list:
        columns = ", ".join(f'"{f.name}"' for f in fields(record))
        sql = f"SELECT {columns} FROM {table}" + (" WHERE province = ?" if province else "")
        args = (province,) if province else ()
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return [record(*row) for row in con.execute(sql + " ORDER BY province, start", args)]
        finally:
            con.close()
