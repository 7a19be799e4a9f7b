"""Keeping a collection equal to an index version, so that a kill at any moment and a re-run leave every
chunk present exactly once.

Before the version is switched, every chunk it holds that the collection lacks is upserted (rows are keyed
by chunk id, so a repeated upsert leaves one row); after the switch, rows of reports the version no longer
holds are deleted. Readers keep only the chunk ids their own version lists, so during an update neither
the old nor the new version sees the other's chunks, and a re-run finishes whatever a killed one left.
"""

from __future__ import annotations

import numpy as np

from ..config import Settings
from ..store import IndexData, checkpoint
from .collection import ChunkCollection, collection_manifest


def push(settings: Settings, data: IndexData, name: str) -> ChunkCollection:
    """Write the chunks of `data` the collection lacks (all of them into a new or mismatching collection)."""
    collection = ChunkCollection(settings, name)
    if not collection.exists() or collection.recorded_manifest() != collection_manifest(data.manifest):
        collection.create(data.manifest)
    else:
        collection.open(data.manifest)
    present = {chunk_id for chunk_id, _ in collection.rows()}
    missing = [row for row, c in enumerate(data.chunks) if c.chunk_id not in present]
    batch = max(1, settings.milvus_batch)
    for start in range(0, len(missing), batch):
        rows = missing[start : start + batch]
        # the stored vectors of the document store: moving or repairing a collection never re-embeds
        collection.upsert([data.chunks[r] for r in rows], data.documents, data.dense.vectors(np.asarray(rows)))
        checkpoint("milvus_upsert")
    collection.flush()
    return collection


def prune(collection: ChunkCollection, data: IndexData) -> None:
    """Delete the rows of reports (and any chunk) the switched-to version no longer holds."""
    checkpoint("milvus_delete")
    stale_docs: set[str] = set()
    stale_chunks: list[str] = []
    for chunk_id, doc_id in collection.rows():
        if doc_id not in data.documents:
            stale_docs.add(doc_id)
        elif chunk_id not in data.chunk_rows:
            stale_chunks.append(chunk_id)
    collection.delete_documents(sorted(stale_docs))
    collection.delete_chunks(stale_chunks)
    collection.flush()
