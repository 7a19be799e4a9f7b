"""Evaluation sets: load and validate `id, question, type, answer, must_contain, sources[{file, quote}]`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import AssistantError
from .records import Document
from .vietnamese import nfc

REQUIRED = ("id", "question", "type", "answer", "must_contain", "sources")


class BadEvalSet(AssistantError):
    """An evaluation file has errors; the message lists them all."""


@dataclass(frozen=True)
class GoldSource:
    file: str
    quote: str


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    type: str
    answer: str
    must_contain: tuple[str, ...]
    sources: tuple[GoldSource, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.sources)


def load_evalset(path: Path, documents: list[Document] | None = None) -> list[EvalItem]:
    """Read and validate an evaluation file.

    Args:
        path: the .jsonl file.
        documents: when given, every gold quote must be verbatim in the named report.

    Raises:
        BadEvalSet: listing every problem (line numbers included).
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadEvalSet(f"Cannot read {path}: {exc}") from None
    by_file = {d.file: d for d in documents or []}
    errors: list[str] = []
    items: list[EvalItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            errors.append(f"{where}: missing field(s) {', '.join(missing)}")
            continue
        qid = str(row["id"])
        if qid in seen:
            errors.append(f"{where}: duplicate id {qid!r}")
        seen.add(qid)
        if not isinstance(row["must_contain"], list) or not isinstance(row["sources"], list):
            errors.append(f"{where}: must_contain and sources must be lists")
            continue
        sources = []
        for s in row["sources"]:
            if not isinstance(s, dict) or "file" not in s or "quote" not in s:
                errors.append(f"{where}: each source needs 'file' and 'quote'")
                continue
            quote = nfc(str(s["quote"]))
            if documents is not None:
                doc = by_file.get(s["file"])
                if doc is None:
                    errors.append(f"{where}: source file {s['file']!r} is not in the corpus")
                elif quote not in doc.text:
                    errors.append(f"{where}: quote not found verbatim in {s['file']}: {quote[:60]!r}")
            sources.append(GoldSource(str(s["file"]), quote))
        items.append(
            EvalItem(
                qid,
                nfc(str(row["question"])),
                str(row["type"]),
                nfc(str(row["answer"])),
                tuple(nfc(str(m)) for m in row["must_contain"]),
                tuple(sources),
            )
        )
    if errors:
        raise BadEvalSet(f"{path} has {len(errors)} problem(s):\n" + "\n".join("  " + e for e in errors))
    if not items:
        raise BadEvalSet(f"{path} holds no questions.")
    return items
