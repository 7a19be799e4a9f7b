"""Small pure pieces: fusion, settings, chunk offsets, the evaluation maths."""

from __future__ import annotations

import pytest

from assistant.chunk import chunk_documents
from assistant.config import Settings, load_settings
from assistant.errors import BadSettings
from assistant.evaluate import contains_all
from assistant.fusion import rrf


def test_rrf_by_hand():
    fused = rrf([[1, 2, 3], [3, 1]], k=60)
    assert fused[1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[3] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[2] == pytest.approx(1 / 62)


def test_rrf_zero_weight_keeps_the_other_ranking():
    fused = rrf([[9, 8], [1, 2, 3]], weights=[0.0, 1.0])
    assert sorted(fused, key=lambda i: -fused[i]) == [1, 2, 3]


def test_settings_layers(tmp_path):
    toml = tmp_path / "a.toml"
    toml.write_text('top_k = 7\nmode = "bm25"\n', encoding="utf-8")
    s = load_settings(config_file=toml, environ={"ASSISTANT_TOP_K": "9", "ASSISTANT_SHOW_PROGRESS": "no"})
    assert s.top_k == 9 and s.mode == "bm25" and s.show_progress is False
    assert load_settings(environ={}, top_k=3).top_k == 3


def test_settings_errors_name_the_setting(tmp_path):
    with pytest.raises(BadSettings, match="top_k"):
        load_settings(environ={"ASSISTANT_TOP_K": "many"})
    with pytest.raises(BadSettings, match="mode"):
        load_settings(environ={}, mode="magic")
    bad = tmp_path / "b.toml"
    bad.write_text("nonsense = 1\n", encoding="utf-8")
    with pytest.raises(BadSettings, match="unknown setting 'nonsense'"):
        load_settings(config_file=bad, environ={})


def test_prefixes_follow_the_model_name():
    assert Settings(model="intfloat/multilingual-e5-base").resolved_prefixes() == ("query: ", "passage: ")
    assert Settings(model="/models/minilm").resolved_prefixes() == ("", "")


def test_every_chunk_of_every_seed_round_trips(seed_documents):
    chunks = chunk_documents(seed_documents, Settings())
    docs = {d.doc_id: d for d in seed_documents}
    assert len(chunks) > 20
    for c in chunks:
        assert docs[c.doc_id].text[c.start : c.end] == c.text
        assert len(c.text) <= Settings().chunk_size


def test_contains_all_matches_whole_numbers_only():
    assert contains_all("tổ chức 2 hội nghị và gần 40 hội nghị", ["2", "40"])
    assert not contains_all("năm 2023", ["2"])
    assert not contains_all("12.029 học viên", ["12"])
    assert contains_all("đạt 102,9% kế hoạch", ["102,9%"])
