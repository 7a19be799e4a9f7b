"""Questions put to the facts table by people browsing it (the web chat's Số liệu tab, a report's overview):
which provinces and years it holds, one report's figures and people, one subject across provinces, and
the CSV export, with the same columns as `assistant facts --csv`.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from .events import Event
from .facts import FactStore, Person, Quantity
from .vietnamese import fold, nfc

QUANTITY_COLUMNS = tuple("province year subject value unit qualifier level quote file start end".split())
PEOPLE_COLUMNS = tuple("province name role quote file start end".split())
EVENT_COLUMNS = tuple("province what date iso place quote file start end".split())


def vn_number(value: float) -> str:
    """12029.0 -> "12.029", 102.9 -> "102,9": Vietnamese separators, no trailing zeros."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", ".")
    whole, _, frac = f"{value:,.6f}".rstrip("0").partition(".")
    return whole.replace(",", ".") + "," + frac


def amount(q: Quantity) -> str:
    """The figure as the report states it: qualifier, number, percent sign ("gần 40", "102,9%")."""
    number = vn_number(q.value) + ("%" if q.unit == "%" else "")
    return f"{q.qualifier} {number}" if q.qualifier else number


def csv_text(rows: Iterable[Quantity | Person | Event], columns: Sequence[str] = QUANTITY_COLUMNS) -> str:
    """The rows as CSV with a header line, exactly as `assistant facts --csv` prints them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(row.to_dict() for row in rows)
    return out.getvalue()


def _select(store: FactStore, sql: str, args: Sequence = ()) -> list[tuple]:
    con = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)
    try:
        return list(con.execute(sql, args))
    finally:
        con.close()


def facets(store: FactStore) -> tuple[list[str], list[int]]:
    """The provinces (of figures or people) and the years (of figures) the table holds, for filters."""
    provinces = _select(
        store,
        "SELECT province FROM quantities WHERE province IS NOT NULL UNION SELECT province FROM people "
        "WHERE province IS NOT NULL ORDER BY province",
    )
    years = _select(store, "SELECT DISTINCT year FROM quantities WHERE year IS NOT NULL ORDER BY year DESC")
    return [p for (p,) in provinces], [y for (y,) in years]


def _columns(record: type) -> str:
    # Named from the record itself, so a new field in facts.py cannot shift the columns read here.
    return ", ".join(f'"{f.name}"' for f in fields(record))


def report_facts(store: FactStore, doc_id: str) -> tuple[list[Quantity], list[Person]]:
    """One report's figures and people, in the order the report states them."""
    where = 'WHERE doc_id = ? ORDER BY start, "end"'
    quantities = _select(store, f"SELECT {_columns(Quantity)} FROM quantities {where}", (doc_id,))
    people = _select(store, f"SELECT {_columns(Person)} FROM people {where}", (doc_id,))
    return [Quantity(*row) for row in quantities], [Person(*row) for row in people]


def report_events(store: FactStore, doc_id: str) -> list[Event]:
    """One report's dated events, in the order the report states them."""
    rows = _select(store, f"SELECT {_columns(Event)} FROM events WHERE doc_id = ? ORDER BY start", (doc_id,))
    return [Event(*row) for row in rows]


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(nfc(text)))


def _common_start(subjects: Sequence[str]) -> str:
    """The words every subject begins with ("hội nghị" of "hội nghị quán triệt", "hội nghị thông tin")."""
    split = [s.lower().split() for s in subjects]
    common: list[str] = []
    for words in zip(*split):
        if len(set(words)) > 1:
            break
        common.append(words[0])
    return " ".join(common)


@dataclass(frozen=True)
class Series:
    """One counted thing charted across provinces. Counts are grouped by the noun they count ("lớp" holds
    "lớp học tập" and "lớp bồi dưỡng …"); a percentage only with the same subject, since 99% of đảng viên
    and 102,9% of a plan are not comparable."""

    key: str
    percent: bool
    label: str

    def holds(self, q: Quantity) -> bool:
        return _series_key(q) == (self.key, self.percent)


def _series_key(q: Quantity) -> tuple[str, bool]:
    percent = q.unit == "%"
    return fold(q.subject if percent else q.unit).lower(), percent


def chart_series(facts: Sequence[Quantity], search: str = "") -> list[Series]:
    """What `facts` can be charted by: first the series whose subjects hold the most searched words (the
    search also matches a figure's sentence, so the table may hold other counts), then those reaching the
    most provinces."""
    groups: dict[tuple[str, bool], list[Quantity]] = {}
    for q in facts:
        groups.setdefault(_series_key(q), []).append(q)
    wanted = set(_words(search))

    def rank(item: tuple[tuple[str, bool], list[Quantity]]) -> tuple[int, int, int]:
        held = item[1]
        named = max(len(wanted & set(_words(q.subject))) for q in held)
        return -named, -len({q.province for q in held}), -len(held)

    series = []
    for (key, percent), held in sorted(groups.items(), key=rank):
        label = _common_start([q.subject for q in held]) or held[0].unit
        series.append(Series(key, percent, f"{label} (%)" if percent else label))
    return series


def series_bars(facts: Sequence[Quantity], series: Series) -> list[Quantity]:
    """The largest figure of `series` in each province, largest first: a report's total and its parts
    ("11 lớp …, trong đó có 03 lớp …") both match, and the total is what compares across provinces."""
    best: dict[str | None, Quantity] = {}
    for q in facts:
        if series.holds(q) and (q.province not in best or q.value > best[q.province].value):
            best[q.province] = q
    return sorted(best.values(), key=lambda q: -q.value)
