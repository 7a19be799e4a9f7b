"""Small frozen records passed between stages. Their to_dict() forms are the JSON contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """One report after cleaning. Offsets everywhere refer to `text`."""

    doc_id: str
    file: str
    title: str
    text: str
    province: str | None = None
    years: tuple[int, ...] = ()
    dates: tuple[str, ...] = ()
    published: str | None = None
    source: str | None = None
    author: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["years"] = list(self.years)
        d["dates"] = list(self.dates)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        return cls(**{**d, "years": tuple(d.get("years", ())), "dates": tuple(d.get("dates", ()))})

    @property
    def date(self) -> str | None:
        """The publication date when the page gave one (the first date mentioned may be any
        decision's date, so it is not shown as the report's)."""
        return self.published


@dataclass(frozen=True)
class Chunk:
    """A span of a document: `text == document.text[start:end]`."""

    chunk_id: str
    doc_id: str
    file: str
    title: str
    start: int
    end: int
    text: str
    province: str | None = None
    years: tuple[int, ...] = ()
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        # Written out by hand: asdict() deep-copies and is the slowest part of saving a large index.
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "file": self.file,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "province": self.province,
            "years": list(self.years),
            "date": self.date,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chunk:
        return cls(**{**d, "years": tuple(d.get("years", ()))})


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the per-retriever parts."""

    rank: int
    chunk: Chunk
    score: float
    dense_score: float | None = None
    sparse_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "doc_id": c.doc_id,
            "file": c.file,
            "chunk_id": c.chunk_id,
            "title": c.title,
            "province": c.province,
            "text": c.text,
            "start": c.start,
            "end": c.end,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class Citation:
    """A verbatim quote from a report, with offsets into the stored cleaned text."""

    n: int
    doc_id: str
    file: str
    title: str
    province: str | None
    quote: str
    start: int
    end: int
    score: float
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "file": self.file,
            "title": self.title,
            "province": self.province,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class AnswerSpan:
    """The exact phrase that answers (a number, a date, a name) inside citation [n]: offsets into the report."""

    n: int
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class Answer:
    """What `ask` returns: the answer, its citations and the passages it was drawn from."""

    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    passages: tuple[Hit, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    id: str | None = None
    searched: str | None = None
    notice: str | None = None
    support: float = 0.0
    mode: str = "extractive"
    fallback: str | None = None
    caveat: str | None = None
    answer_span: AnswerSpan | None = None
    table: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "caveat": self.caveat,
            "answer_span": self.answer_span.to_dict() if self.answer_span else None,
            "table": self.table,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [h.to_dict() for h in self.passages],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "mode": self.mode,
            "fallback": self.fallback,
        }
        if self.searched is not None and self.searched != self.question:
            d["searched"] = self.searched
        if self.notice:
            d["notice"] = self.notice
        return d
