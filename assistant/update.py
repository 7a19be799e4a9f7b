"""Keeping the index in step with the corpus: incremental update, adding and removing reports.

An update re-embeds only reports whose content is new; unchanged reports keep their stored vectors
(a renamed file is a rename, not a re-embed). The result equals a full build of the same corpus,
and is written as a new index version switched in atomically.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .build import BuildResult, build_index, build_index_data, publish
from .config import Settings
from .embed import Embedder, make_embedder
from .errors import BadReport, IndexNotFound
from .ingest import document_from_bytes, read_corpus
from .store import check_compatible, load_index, read_manifest, writer_lock


@dataclass
class UpdateResult:
    """What an update changed."""

    path: Path
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    skipped: list[BadReport] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        lines = [
            f"Updated the index in {self.seconds:.1f} s: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed, {len(self.renamed)} renamed, {self.unchanged} unchanged "
            f"({self.embedded_chunks} of {self.chunks} chunks embedded).",
            f"Index: {self.path}",
        ]
        lines += [f"  + {f}" for f in self.added] + [f"  ~ {f}" for f in self.changed]
        lines += [f"  - {f}" for f in self.removed] + [f"  {a} -> {b}" for a, b in self.renamed]
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)} file(s):")
            lines += [f"  {s.file}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


def update_index(settings: Settings, embedder: Embedder | None = None, progress: bool | None = None) -> UpdateResult:
    """Bring the index in line with the corpus folder, embedding only new or changed reports.

    With no index yet, this is a full build. An index served by the other backend is moved to settings'
    backend with its stored vectors (local -> Milvus: the collection is filled without re-embedding).

    Raises:
        IndexMismatch: the index was built with other model/chunking settings (a full rebuild is needed).
        IndexLocked, EmptyCorpus, ModelUnavailable.
    """
    progress = settings.show_progress if progress is None else progress
    start = time.perf_counter()
    try:
        check_compatible(read_manifest(settings.index), settings, settings.index, backend=False)
    except IndexNotFound:
        built = build_index(settings, embedder=embedder, progress=progress)
        return _from_build(built)
    with writer_lock(settings.index):
        old = load_index(settings.index, settings, for_update=True)
        known = {
            d["file"]: ((d["size"], d["mtime_ns"]), old.documents[d["doc_id"]])
            for d in old.manifest.get("documents", [])
            if "size" in d and d["doc_id"] in old.documents
        }
        report = read_corpus(settings.corpus, settings, known=known)
        embedder = embedder or make_embedder(settings)
        data, embedded = build_index_data(
            settings, embedder, report.documents, progress, old=old, file_stats=report.stats
        )
        data.manifest["skipped"] = [{"file": s.file, "reason": s.reason} for s in report.skipped]
        path = publish(settings, data)

    old_by_file = {d.file: d.doc_id for d in old.documents.values()}
    new_by_file = {d.file: d.doc_id for d in report.documents}
    result = UpdateResult(path=path, chunks=len(data.chunks), embedded_chunks=embedded, skipped=report.skipped)
    for file, doc_id in sorted(new_by_file.items()):
        if file in old_by_file:
            if old_by_file[file] == doc_id:
                result.unchanged += 1
            else:
                result.changed.append(file)
        elif doc_id in old.documents and old.documents[doc_id].file not in new_by_file:
            result.renamed.append((old.documents[doc_id].file, file))
        else:
            result.added.append(file)
    renamed_from = {a for a, _ in result.renamed}
    result.removed = sorted(f for f in old_by_file if f not in new_by_file and f not in renamed_from)
    result.seconds = time.perf_counter() - start
    return result


def _from_build(built: BuildResult) -> UpdateResult:
    return UpdateResult(
        path=built.path,
        chunks=built.chunks,
        embedded_chunks=built.chunks,
        skipped=built.skipped,
        seconds=built.seconds.get("total", 0.0),
    )


# -- adding and removing named reports ---------------------------------------------------------

_UNSAFE = re.compile(r"[^\w\-. ()]+", re.UNICODE)


def safe_filename(name: str) -> str:
    """A file name that cannot leave the corpus folder: no directories, no leading dots, no odd characters."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = stem[:100].strip(" .") or "bao-cao"
    return f"{stem}.{suffix.lower()}" if suffix else stem


@dataclass
class AddResult:
    """Which uploads were added (under which names) and which were refused, with reasons."""

    added: list[str] = field(default_factory=list)
    rejected: list[BadReport] = field(default_factory=list)
    update: UpdateResult | None = None


def add_reports(
    settings: Settings, uploads: list[tuple[str, bytes]], embedder: Embedder | None = None, progress: bool | None = None
) -> AddResult:
    """Validate uploads, save the good ones into the corpus and update the index.

    A refused upload leaves corpus and index as they were; if the update fails, the files this
    call saved are removed again.

    Args:
        uploads: (original file name, bytes) pairs.
    """
    result = AddResult()
    corpus = settings.corpus
    corpus.mkdir(parents=True, exist_ok=True)
    try:
        indexed = {d["doc_id"]: d["file"] for d in read_manifest(settings.index)["documents"]}
    except IndexNotFound:
        indexed = {}
    accepted: list[tuple[str, bytes]] = []
    batch_ids: dict[str, str] = {}
    for original, data in uploads:
        name = safe_filename(original)
        try:
            doc = document_from_bytes(name, data, settings)
            if doc.doc_id in indexed:
                raise BadReport(original, f"same content as {indexed[doc.doc_id]}, which is already indexed")
            if doc.doc_id in batch_ids:
                raise BadReport(original, f"same content as {batch_ids[doc.doc_id]} in this upload")
            if (corpus / name).exists():
                raise BadReport(original, f"a report named {name} already exists (remove it first)")
        except BadReport as bad:
            result.rejected.append(bad if bad.file == original else BadReport(original, bad.reason))
            continue
        batch_ids[doc.doc_id] = name
        accepted.append((name, data))
    if not accepted:
        return result

    written: list[Path] = []
    try:
        for name, data in accepted:
            target = corpus / name
            tmp = corpus / f".upload-{os.getpid()}-{name}"
            tmp.write_bytes(data)
            os.replace(tmp, target)
            written.append(target)
        result.update = update_index(settings, embedder=embedder, progress=progress)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    result.added = [name for name, _ in accepted]
    return result


def remove_reports(
    settings: Settings, files: list[str], embedder: Embedder | None = None, progress: bool | None = None
) -> UpdateResult:
    """Remove named reports from the corpus and the index (files are restored if the update fails).

    Raises:
        BadReport: a named file is not a report in the corpus.
    """
    corpus = settings.corpus.resolve()
    paths = []
    for file in files:
        path = (corpus / file).resolve()
        if corpus not in path.parents or not path.is_file():
            raise BadReport(file, "not a report in the corpus")
        paths.append(path)
    trash = corpus / f".removed-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    trash.mkdir()
    moved: list[tuple[Path, Path]] = []
    try:
        for path in paths:
            target = trash / path.relative_to(corpus).as_posix().replace("/", "__")
            os.replace(path, target)
            moved.append((path, target))
        result = update_index(settings, embedder=embedder, progress=progress)
    except BaseException:
        for original, target in moved:
            os.replace(target, original)
        shutil.rmtree(trash, ignore_errors=True)
        raise
    shutil.rmtree(trash, ignore_errors=True)
    return result
