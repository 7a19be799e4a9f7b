"""The Milvus collection of one index: its schema, its manifest, and the rows made from chunks."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import IndexMismatch, IndexNotFound
from ..records import Chunk, Document
from ..vietnamese import bm25_tokens, fold
from .client import backend_error, connect

# 1: chunk_id, doc_id, province (folded), years, terms/folded token fields with BM25 functions, vector.
MILVUS_SCHEMA = 1
MANIFEST_PROPERTY = "assistant.manifest"
# bm25s's defaults, so the engine's BM25 scores are the local index's.
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}
MAX_TEXT = 65_535
MAX_YEARS = 512
# Milvus's "standard" analyzer splits "12.029" and "102,9%" at the separators: spelled as letters, a
# number stays one token, as in the local index ("12p029"; no Vietnamese syllable mixes digits and letters).
_NUMBER_MARKS = str.maketrans({".": "p", ",": "c", "%": "z"})


def collection_name(settings: Settings) -> str:
    """settings.milvus_collection, or a name derived from the index folder (one collection per index)."""
    if settings.milvus_collection:
        return settings.milvus_collection
    digest = hashlib.sha1(str(settings.index.resolve()).encode()).hexdigest()[:12]
    return f"report_chunks_{digest}"


def engine_terms(tokens: Iterable[str]) -> str:
    """Our own BM25 tokens as one string the engine's analyzer splits back into the same tokens."""
    text = " ".join(t.translate(_NUMBER_MARKS) for t in tokens if t)
    if len(text.encode()) > MAX_TEXT:  # only a chunk_size far above the default gets here
        text = text.encode()[:MAX_TEXT].decode(errors="ignore").rsplit(" ", 1)[0]
    return text


def query_terms(text: str, bigrams: bool) -> tuple[str, str]:
    """(every BM25 token, the diacritic-free ones) of a question or passage.

    The first is the local index's token bag (accented syllables, their folded forms, bigrams); the second
    is the same text folded first, so a question typed without diacritics ranks the same in both.
    """
    # fold's cache is for words: whole passages would fill it
    return engine_terms(bm25_tokens(text, bigrams)), engine_terms(bm25_tokens(fold.__wrapped__(text), bigrams))


def collection_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the collection records of the index it serves: a mismatch means it must be rebuilt."""
    return {
        "schema": MILVUS_SCHEMA,
        "embedder": manifest["embedder"],
        "settings": manifest["settings"],
        "units": manifest.get("units", {}).get("version"),
        "facts": manifest.get("facts", {}).get("version"),
        "bm25": BM25_PARAMS,
    }


def _literal(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def in_filter(field: str, values: Iterable[str]) -> str:
    return f"{field} in [{', '.join(_literal(v) for v in values)}]"


def eq_filter(field: str, value: str) -> str:
    return f"{field} == {_literal(value)}"


def chunk_row(chunk: Chunk, doc: Document, vector: np.ndarray, terms: tuple[str, str]) -> dict[str, Any]:
    """A chunk as a collection row; `terms` is query_terms() of its passage text."""
    return {
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "province": fold(doc.province or ""),
        "years": sorted(doc.years)[:MAX_YEARS],
        "terms": terms[0],
        "folded": terms[1],
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
    }


class ChunkCollection:
    """One index's chunks in Milvus: rows keyed by chunk id (a content hash and a position, so the same id
    always holds the same text and upserting it twice leaves one row)."""

    def __init__(self, settings: Settings, name: str | None = None):
        self.settings = settings
        self.name = name or collection_name(settings)
        self.uri = settings.resolved_milvus_uri()
        self.client = connect(settings)

    def _call(self, action: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # a lost server surfaces as grpc, pymilvus or OS errors alike
            raise backend_error(self.uri, action, exc) from None

    # -- the collection and its manifest ------------------------------------------------------

    def exists(self) -> bool:
        return bool(self._call("list collections", self.client.has_collection, self.name))

    def recorded_manifest(self) -> dict[str, Any] | None:
        props = self._call("describe the collection", self.client.describe_collection, self.name).get("properties", {})
        try:
            return json.loads(props[MANIFEST_PROPERTY])
        except (KeyError, TypeError, ValueError):
            return None

    def open(self, manifest: dict[str, Any]) -> None:
        """Check the collection serves an index like this one and load it for search.

        Raises:
            IndexNotFound: no such collection.
            IndexMismatch: it was built with another model, chunking or token schema.
        """
        where = f"Milvus collection {self.name} at {self.uri}"
        if not self.exists():
            raise IndexNotFound(f"No {where}. Run: assistant index update --backend milvus")
        recorded = self.recorded_manifest() or {}
        wanted = collection_manifest(manifest)
        diffs = [f"{k} {recorded.get(k)!r} (the index has {v!r})" for k, v in wanted.items() if recorded.get(k) != v]
        if diffs:
            raise IndexMismatch(f"{where} was built with " + "; ".join(diffs) + ". Run: assistant index update")
        self._load()

    def _load(self) -> None:
        # a reopened milvus-lite file has its collections released
        self._call("load the collection", self.client.load_collection, self.name)

    def create(self, manifest: dict[str, Any]) -> None:
        """A fresh collection for this index (dropping one built for other settings)."""
        from pymilvus import DataType, Function, FunctionType

        if self.exists():
            self._call("drop the old collection", self.client.drop_collection, self.name)
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("chunk_id", DataType.VARCHAR, is_primary=True, max_length=512)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=256)
        schema.add_field("province", DataType.VARCHAR, max_length=512)
        schema.add_field("years", DataType.ARRAY, element_type=DataType.INT64, max_capacity=MAX_YEARS)
        analyzer = {"tokenizer": "standard"}  # our tokens are already lowercase, folded where wanted
        for field in ("terms", "folded"):
            schema.add_field(
                field, DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, analyzer_params=analyzer
            )
            schema.add_field(f"{field}_bm25", DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name=f"{field}_bm25_fn",
                    function_type=FunctionType.BM25,
                    input_field_names=[field],
                    output_field_names=[f"{field}_bm25"],
                )
            )
        dim = int(manifest["embedder"]["dim"])
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type=self.settings.milvus_dense_index, metric_type="IP")
        for field in ("terms", "folded"):
            index.add_index(f"{field}_bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25_PARAMS)
        self._call(
            "create the collection",
            self.client.create_collection,
            self.name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
            properties={MANIFEST_PROPERTY: json.dumps(collection_manifest(manifest), ensure_ascii=False)},
        )
        self._load()

    # -- rows ---------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[str, str]]:
        """(chunk id, doc id) of every row."""
        iterator = self._call(
            "list the chunks",
            self.client.query_iterator,
            self.name,
            batch_size=4096,
            filter="",
            output_fields=["chunk_id", "doc_id"],
        )
        try:
            while batch := self._call("list the chunks", iterator.next):
                yield from ((r["chunk_id"], r["doc_id"]) for r in batch)
        finally:
            iterator.close()

    def count(self) -> int:
        result = self._call("count the chunks", self.client.query, self.name, filter="", output_fields=["count(*)"])
        return int(result[0]["count(*)"])

    def upsert(self, chunks: list[Chunk], documents: dict[str, Document], vectors: np.ndarray) -> None:
        """Write chunks with their vectors and tokens (the same id twice stays one row)."""
        bigrams = self.settings.bm25_bigrams
        self.write(
            [
                chunk_row(c, documents[c.doc_id], v, query_terms(_passage_text(c), bigrams))
                for c, v in zip(chunks, vectors)
            ]
        )

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Upsert rows made by chunk_row()."""
        if rows:
            self._call("write chunks", self.client.upsert, self.name, rows)

    def flush(self) -> None:
        """Seal what was written: durable before the index version that lists it is switched in, and scored
        like the rest (milvus-lite scores unsealed rows matched by id with BM25 statistics of those rows alone)."""
        self._call("flush", self.client.flush, self.name)

    def delete_documents(self, doc_ids: list[str]) -> None:
        for start in range(0, len(doc_ids), 500):
            self._call(
                "delete reports",
                self.client.delete,
                self.name,
                filter=in_filter("doc_id", doc_ids[start : start + 500]),
            )

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        for start in range(0, len(chunk_ids), 500):
            self._call("delete chunks", self.client.delete, self.name, ids=chunk_ids[start : start + 500])

    # -- search -------------------------------------------------------------------------------

    def search(self, data: Any, field: str, limit: int, expr: str | None) -> list[tuple[str, float]]:
        """(chunk id, score) of one ranking: "vector" by inner product, "terms"/"folded" by BM25."""
        metric = "IP" if field == "vector" else "BM25"
        anns = field if field == "vector" else f"{field}_bm25"
        hits = self._call(
            "search",
            self.client.search,
            self.name,
            data=[data],
            anns_field=anns,
            limit=limit,
            filter=expr or "",
            search_params={"metric_type": metric},
            output_fields=[],
        )
        return [(h["chunk_id"], _score(metric, h["distance"])) for h in hits[0]]

    def hybrid(self, requests: list[tuple[Any, str]], limit: int, depth: int, rrf_k: int, expr: str | None):
        """(chunk id, RRF score) fused by the engine over several rankings, each `depth` deep."""
        from pymilvus import AnnSearchRequest, RRFRanker

        reqs = [
            AnnSearchRequest(
                data=[data],
                anns_field=field if field == "vector" else f"{field}_bm25",
                param={"metric_type": "IP" if field == "vector" else "BM25"},
                limit=depth,
                # a filter on hybrid_search itself did not restrict the results: each request carries it
                expr=expr or None,
            )
            for data, field in requests
        ]
        hits = self._call(
            "search", self.client.hybrid_search, self.name, reqs, ranker=RRFRanker(rrf_k), limit=limit, output_fields=[]
        )
        return [(h["chunk_id"], float(h["distance"])) for h in hits[0]]


def _score(metric: str, distance: float) -> float:
    """The local index's score: inner product, or bm25s's Lucene BM25.

    milvus-lite reports a BM25 match as a negated distance, a server as the score (BM25 is never negative),
    and the engine's formula carries the constant factor (k1 + 1) that bm25s leaves out.
    """
    if metric != "BM25":
        return float(distance)
    return abs(float(distance)) / (1 + BM25_PARAMS["bm25_k1"])


def _passage_text(chunk: Chunk) -> str:
    from ..build import passage_text

    return passage_text(chunk)
