"""Saving and loading an index: versioned folders, an atomic CURRENT pointer, a manifest, a writer lock."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .config import Settings
from .dense import DenseIndex
from .errors import IndexCorrupt, IndexLocked, IndexMismatch, IndexNotFound
from .facts import FACTS_FILE, FACTS_VERSION, FactStore
from .records import Chunk, Document
from .sparse import SparseIndex
from .units import UNITS_VERSION, UnitTable
from .vietnamese import folded_terms

# 2: sentence units with vectors (units.py) are part of every index version.
SCHEMA_VERSION = 2
CURRENT = "CURRENT"
VERSIONS = "versions"
TERM_DF = "term_df.json"
LOCK = ".lock"
KEEP_VERSIONS = 2


def checkpoint(name: str) -> None:
    """Crash-test hook: with ASSISTANT_PAUSE_AT=<name> the process announces the point on stderr and
    waits there, so a test can SIGKILL it at exactly that step. Does nothing otherwise."""
    if os.environ.get("ASSISTANT_PAUSE_AT") == name:
        sys.stderr.write(f"PAUSED AT {name}\n")
        sys.stderr.flush()
        time.sleep(3600)


@dataclass
class IndexData:
    """Everything one index version holds, in memory."""

    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    # None when serving from Milvus: the collection holds the vectors and BM25 (a Milvus-backed version keeps
    # the vectors here for updates and moves, but no local BM25)
    dense: DenseIndex | None
    sparse: SparseIndex | None
    path: Path | None = None
    chunk_rows: dict[str, int] = field(default_factory=dict)
    # term -> number of chunks whose text holds it (folded_terms), for the answerer's IDF
    term_df: dict[str, int] | None = None
    # the quotable units of every report, with their vectors
    units: UnitTable | None = None
    # facts read from the reports (facts.sqlite of this version)
    facts: FactStore | None = None
    # the version this one was updated from: its facts are copied for unchanged reports
    previous: Path | None = None

    def __post_init__(self) -> None:
        self.chunk_rows = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", ""))


def chunk_term_counts(texts) -> dict[str, int]:
    """term -> how many of the texts hold it."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(folded_terms(text)))
    return dict(counts)


def build_manifest(
    settings: Settings,
    embedder_id: str,
    dim: int,
    documents: list[Document],
    chunks: list[Chunk],
    extra: dict[str, Any] | None = None,
    added_at: dict[str, str] | None = None,
    file_stats: dict[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """The manifest: what was indexed, with which settings and model."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    added_at = added_at or {}
    by_doc: dict[str, list[str]] = {}
    for c in chunks:
        by_doc.setdefault(c.doc_id, []).append(c.chunk_id)
    return {
        "schema": SCHEMA_VERSION,
        "built_at": now,
        "embedder": {"id": embedder_id, "dim": dim},
        "settings": settings.index_fingerprint(),
        "documents": [
            {
                "doc_id": d.doc_id,
                "file": d.file,
                "title": d.title,
                "province": d.province,
                "years": list(d.years),
                "date": d.date,
                "content_hash": d.doc_id,
                "chunks": by_doc.get(d.doc_id, []),
                "added_at": added_at.get(d.doc_id, now),
                # size and mtime let an update skip re-reading files that did not change
                **(dict(zip(("size", "mtime_ns"), file_stats[d.file])) if file_stats and d.file in file_stats else {}),
            }
            for d in documents
        ],
        "chunk_count": len(chunks),
        "units": {"version": UNITS_VERSION},
        "facts": {"version": FACTS_VERSION},
        **(extra or {}),
    }


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_version_dir(root: Path) -> Path:
    """The folder of the version CURRENT points to."""
    pointer = root / CURRENT
    if not pointer.is_file():
        raise IndexNotFound(f"No index at {root}/. Run: assistant index build")
    name = pointer.read_text(encoding="utf-8").strip()
    folder = root / VERSIONS / name
    if not name or not (folder / "manifest.json").is_file():
        raise IndexCorrupt(f"{pointer} points to a missing version '{name}'. Run: assistant index build")
    return folder


def save_index(root: Path, data: IndexData) -> Path:
    """Write a new version beside the current one, then switch CURRENT to it atomically.

    A crash at any point leaves the previous version loadable.
    """
    root.mkdir(parents=True, exist_ok=True)
    versions = root / VERSIONS
    versions.mkdir(exist_ok=True)
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = versions / (name + ".tmp")
    tmp.mkdir()
    manifest = {**data.manifest, "version": name}
    checkpoint("write_dense")
    data.dense.save(tmp)
    checkpoint("write_sparse")
    if data.sparse is not None:
        data.sparse.save(tmp)
    _write_jsonl(tmp / "documents.jsonl", [d.to_dict() for d in data.documents.values()])
    _write_jsonl(tmp / "chunks.jsonl", [c.to_dict() for c in data.chunks])
    if data.term_df is not None:
        (tmp / TERM_DF).write_text(json.dumps(data.term_df, ensure_ascii=False), encoding="utf-8")
    if data.units is not None:
        checkpoint("write_units")
        data.units.save(tmp)
    checkpoint("write_facts")
    previous_facts = data.previous / FACTS_FILE if data.previous is not None else None
    FactStore.write(tmp, data.documents.values(), previous=previous_facts)
    checkpoint("write_manifest")
    with (tmp / "manifest.json").open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(tmp)
    final = versions / name
    os.replace(tmp, final)
    checkpoint("switch")
    pointer_tmp = root / (CURRENT + ".tmp")
    pointer_tmp.write_text(name + "\n", encoding="utf-8")
    with pointer_tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / CURRENT)
    _fsync_dir(root)
    data.manifest = manifest
    data.path = final
    data.facts = FactStore(final / FACTS_FILE)
    _cleanup(root, keep=name)
    return final


def _cleanup(root: Path, keep: str) -> None:
    """Remove unfinished versions and all but the newest KEEP_VERSIONS finished ones."""
    versions = root / VERSIONS
    finished = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.endswith(".tmp"))
    stale = [p for p in versions.iterdir() if p.name.endswith(".tmp")]
    old = [p for p in finished if p.name != keep][: max(0, len(finished) - KEEP_VERSIONS)]
    for path in stale + old:
        shutil.rmtree(path, ignore_errors=True)


def read_manifest(root: Path) -> dict[str, Any]:
    """The current version's manifest, without loading the indexes."""
    folder = current_version_dir(root)
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"Cannot read {folder / 'manifest.json'}: {exc}. Run: assistant index build") from None


def manifest_backend(manifest: dict[str, Any]) -> str:
    """Where the version's retrieval runs: "local" or "milvus" (versions older than the setting: local)."""
    return str(manifest.get("backend", {}).get("name", "local"))


def check_compatible(manifest: dict[str, Any], settings: Settings, root: Path, backend: bool = True) -> None:
    """Fail with what differs when the index was built with other settings than these.

    `backend` False accepts a version served by another backend: an update moves it without re-embedding.
    """
    if backend and manifest_backend(manifest) != settings.backend:
        raise IndexMismatch(
            f"Index at {root}/ is served by the {manifest_backend(manifest)} backend; settings ask for "
            f"{settings.backend}. Run: assistant index update --backend {settings.backend} (reuses the stored vectors)"
        )
    if manifest.get("schema") != SCHEMA_VERSION:
        raise IndexMismatch(
            f"Index at {root}/ has format {manifest.get('schema')}; this version reads {SCHEMA_VERSION}. "
            "Run: assistant index build"
        )
    if manifest.get("facts", {}).get("version") != FACTS_VERSION:
        raise IndexMismatch(
            f"Index at {root}/ holds facts of version {manifest.get('facts', {}).get('version')}; this version "
            f"reads version {FACTS_VERSION}. Run: assistant index build"
        )
    if manifest.get("units", {}).get("version") != UNITS_VERSION:
        raise IndexMismatch(
            f"Index at {root}/ holds sentence units of version {manifest.get('units', {}).get('version')}; "
            f"this version cuts version {UNITS_VERSION}. Run: assistant index build"
        )
    built = manifest.get("settings", {})
    wanted = settings.index_fingerprint()
    diffs = [f"{k} {built.get(k)!r}; settings ask for {v!r}" for k, v in wanted.items() if built.get(k) != v]
    # "auto" accepts the type an earlier build chose for its size; a named type must be the one built.
    built_kind = manifest.get("dense", {}).get("kind", built.get("dense_index", "flat"))
    if settings.dense_index != "auto" and built_kind != settings.dense_index:
        diffs.append(f"dense_index {built_kind!r}; settings ask for {settings.dense_index!r}")
    if diffs:
        raise IndexMismatch(f"Index at {root}/ was built with " + ", ".join(diffs) + ". Run: assistant index build")


def load_index(root: Path, settings: Settings, for_update: bool = False) -> IndexData:
    """Load the current index version, checking it matches the settings.

    Args:
        for_update: load the stored vectors even when Milvus serves them, and accept a version of another
            backend (the update moves it).

    Raises:
        IndexNotFound, IndexMismatch, IndexCorrupt.
    """
    folder = current_version_dir(root)
    manifest = read_manifest(root)
    check_compatible(manifest, settings, root, backend=not for_update)
    local = manifest_backend(manifest) == "local"
    try:
        documents = [Document.from_dict(d) for d in _read_jsonl(folder / "documents.jsonl")]
        chunks = [Chunk.from_dict(c) for c in _read_jsonl(folder / "chunks.jsonl")]
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorrupt(f"Cannot read the index records in {folder}: {exc}. Run: assistant index build") from None
    dense = sparse = None
    if local or for_update:
        dense = DenseIndex.load(
            folder, int(manifest["embedder"]["dim"]), ef_search=settings.hnsw_ef_search, nprobe=settings.ivf_nprobe
        )
    if local:
        sparse = SparseIndex.load(folder, mmap=settings.bm25_mmap)
    sizes = [len(chunks), *(x.size for x in (dense, sparse) if x is not None)]
    if any(n != manifest.get("chunk_count") for n in sizes):
        raise IndexCorrupt(
            f"Index at {folder} is inconsistent: {dense.size if dense else '-'} vectors, "
            f"{sparse.size if sparse else '-'} BM25 rows, {len(chunks)} chunks. Run: assistant index build"
        )
    term_df = None
    if (folder / TERM_DF).is_file():
        try:
            term_df = json.loads((folder / TERM_DF).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"Cannot read {folder / TERM_DF}: {exc}. Run: assistant index build") from None
    units = UnitTable.load(folder, [d.doc_id for d in documents], int(manifest["embedder"]["dim"]))
    facts = FactStore(folder / FACTS_FILE) if (folder / FACTS_FILE).is_file() else None
    return IndexData(
        manifest,
        {d.doc_id: d for d in documents},
        chunks,
        dense,
        sparse,
        folder,
        term_df=term_df,
        units=units,
        facts=facts,
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def writer_lock(root: Path) -> Iterator[None]:
    """One writer at a time. A lock whose holder is gone is stale and taken over."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = json.loads(path.read_text(encoding="utf-8"))
                pid = int(holder["pid"])
            except (OSError, ValueError, KeyError):
                holder, pid = {}, -1
            if pid > 0 and _pid_alive(pid):
                raise IndexLocked(
                    f"Index at {root}/ is being written by process {pid} (started {holder.get('started')}). "
                    "Wait for it to finish and try again."
                ) from None
            path.unlink(missing_ok=True)  # stale: its holder died
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump({"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}, fh)
        break
    else:  # pragma: no cover - another writer raced us twice
        raise IndexLocked(f"Index at {root}/ is locked by another writer. Try again.")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
