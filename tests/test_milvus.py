"""Retrieval on Milvus (real milvus-lite, the real seed corpus and model): the same rankings, answers and
lifecycle as the local backend.

milvus-lite lets one process at a time open a database file, and never lets go of it before exiting:
the kill tests give each child process a file this process has not opened.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from assistant.cli import main
from assistant.errors import IndexMismatch
from assistant.evaluate import contains_all
from assistant.retrieve import Filters
from assistant.service import Assistant, LiveAssistant
from assistant.store import current_version_dir
from assistant.update import add_reports, remove_reports, update_index

from .conftest import BAC_GIANG, CORPUS, DESIGN_QUESTION, LAI_CHAU, ROOT
from .test_lifecycle import _start_paused

pytest.importorskip("pymilvus")
pytestmark = pytest.mark.slow

HA_NAM = "002_10b3e2ec16de400a.txt"
QUESTIONS = [
    DESIGN_QUESTION,
    "bac giang to chuc bao nhieu hoi nghi nam 2023",
    "Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?",
    "Có bao nhiêu địa phương ở Đắk Lắk kết nối trực tuyến từ tỉnh đến huyện?",
    "lớp bồi dưỡng lý luận chính trị",
]


def _copy_seed(seed_settings, root, corpus_files=None):
    """A private copy of the seed corpus (or some of its files) and its local index."""
    (root / "corpus").mkdir(parents=True)
    for path in CORPUS.iterdir():
        if path.is_file() and (corpus_files is None or path.name in corpus_files):
            shutil.copy(path, root / "corpus" / path.name)
    shutil.copytree(seed_settings.index, root / "index")
    return seed_settings.with_(corpus=root / "corpus", index=root / "index", backend="milvus")


def _rows(assistant):
    """(chunk id, doc id) of every row in the assistant's collection, duplicates kept."""
    return sorted(assistant.retriever.collection.rows())


def _expected_rows(assistant):
    return sorted((c.chunk_id, c.doc_id) for c in assistant.data.chunks)


@pytest.fixture(scope="module")
def milvus_settings(seed_settings, embedder, tmp_path_factory):
    """The seed index moved to Milvus (an embedded milvus-lite file inside the index folder)."""
    settings = _copy_seed(seed_settings, tmp_path_factory.mktemp("milvus-seed"))
    result = update_index(settings, embedder=embedder)
    assert result.embedded_chunks == 0 and result.unchanged == 5  # moved with the stored vectors
    return settings


@pytest.fixture(scope="module")
def milvus_assistant(milvus_settings, embedder):
    return Assistant.load(milvus_settings, embedder=embedder)


def test_moved_index_holds_every_chunk_once_and_no_local_bm25(milvus_assistant, seed_assistant):
    assert _rows(milvus_assistant) == _expected_rows(seed_assistant)
    assert milvus_assistant.data.sparse is None and milvus_assistant.data.dense is None
    assert not (milvus_assistant.data.path / "bm25").exists()
    assert milvus_assistant.data.manifest["backend"]["name"] == "milvus"


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_single_rankings_equal_the_local_ones(milvus_assistant, seed_assistant, mode):
    """Exact dense search and BM25 over the same tokens: the same chunks in the same order, the same scores."""
    for question in QUESTIONS:
        local = seed_assistant.search(question, k=10, mode=mode)
        remote = milvus_assistant.search(question, k=10, mode=mode)
        assert [h.chunk.chunk_id for h in remote] == [h.chunk.chunk_id for h in local], question
        for a, b in zip(local, remote):
            assert b.score == pytest.approx(a.score, rel=1e-6)
            if mode == "dense":
                assert b.dense_score == pytest.approx(a.dense_score, abs=1e-4) and b.sparse_score is None
            else:
                assert b.sparse_score == pytest.approx(a.sparse_score, rel=1e-3) and b.dense_score is None


def test_hybrid_ranks_like_local_with_every_score_filled(milvus_assistant, seed_assistant):
    for question in QUESTIONS:
        local = seed_assistant.search(question, k=5)
        remote = milvus_assistant.search(question, k=5)
        assert remote[0].chunk.chunk_id == local[0].chunk.chunk_id, question
        assert len({h.chunk.chunk_id for h in local} & {h.chunk.chunk_id for h in remote}) >= 4, question
        by_id = {h.chunk.chunk_id: h for h in local}
        for hit in remote:
            assert hit.dense_score is not None and hit.sparse_score is not None
            if hit.chunk.chunk_id in by_id:  # same fused scale as local (weights 0.5 and 1.0)
                assert hit.score == pytest.approx(by_id[hit.chunk.chunk_id].score, rel=0.05)
                assert hit.sparse_score == pytest.approx(by_id[hit.chunk.chunk_id].sparse_score, rel=1e-3)


def test_complete_scores_matches_local(milvus_assistant, seed_assistant):
    question = "lớp bồi dưỡng lý luận chính trị"
    qvec = seed_assistant.retriever.embed(question)
    local = seed_assistant.retriever.complete_scores(question, qvec, seed_assistant.search(question, k=5, mode="bm25"))
    remote = milvus_assistant.retriever.complete_scores(
        question, qvec, milvus_assistant.search(question, k=5, mode="bm25")
    )
    for a, b in zip(local, remote):
        assert b.chunk.chunk_id == a.chunk.chunk_id
        assert b.dense_score == pytest.approx(a.dense_score, abs=1e-4)


def test_answer_json_is_the_local_one(milvus_assistant, seed_assistant):
    remote = milvus_assistant.ask(DESIGN_QUESTION)
    assert contains_all(remote.answer, ["2", "40", "150"])
    assert remote.citations[0].file == BAC_GIANG
    for c in remote.citations:
        assert milvus_assistant.data.documents[c.doc_id].text[c.start : c.end] == c.quote
    local = seed_assistant.ask(DESIGN_QUESTION).to_dict()
    got = remote.to_dict()
    assert set(got) == set(local)
    assert got["answer"] == local["answer"] and got["citations"] == local["citations"]
    assert [set(p) for p in got["passages"]] == [set(p) for p in local["passages"]]


def test_unaccented_question_finds_the_accented_report(milvus_assistant):
    hits = milvus_assistant.search("dak lak ket noi truc tuyen tu tinh den huyen", k=3, mode="bm25")
    assert hits and all(h.chunk.province == "Đắk Lắk" for h in hits)


def test_filters_restrict_like_local(milvus_assistant, seed_assistant):
    cases = [Filters(province="Lai Châu"), Filters(province="lai chau"), Filters(year=2022), Filters(file=LAI_CHAU)]
    for filters in cases:
        local = seed_assistant.search("hội nghị", k=50, mode="dense", filters=filters)
        remote = milvus_assistant.search("hội nghị", k=50, mode="dense", filters=filters)
        assert remote and [h.chunk.chunk_id for h in remote] == [h.chunk.chunk_id for h in local], filters
        hybrid = milvus_assistant.search("hội nghị", k=50, filters=filters)
        assert {h.chunk.chunk_id for h in hybrid} <= {h.chunk.chunk_id for h in local}
    assert all(h.chunk.file == LAI_CHAU for h in remote)
    assert milvus_assistant.search("hội nghị", filters=Filters(file="no-such-file.txt")) == []


def test_collection_of_another_model_is_refused(milvus_settings, milvus_assistant, embedder):
    from assistant.milvus.collection import MANIFEST_PROPERTY

    collection = milvus_assistant.retriever.collection
    recorded = collection.recorded_manifest()
    other = {**recorded, "embedder": {"id": "another-model", "dim": 384}}
    collection.client.alter_collection_properties(collection.name, properties={MANIFEST_PROPERTY: json.dumps(other)})
    try:
        with pytest.raises(IndexMismatch, match="another-model.*Run: assistant index update"):
            Assistant.load(milvus_settings, embedder=embedder)
    finally:
        collection.client.alter_collection_properties(
            collection.name, properties={MANIFEST_PROPERTY: json.dumps(recorded)}
        )


def test_cli_errors_are_one_line(milvus_settings, capsys):
    index = str(milvus_settings.index)
    code = main(["search", "hội nghị", "--index", index, "--backend", "milvus", "--milvus-uri", "http://127.0.0.1:9"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("Lỗi: Cannot reach Milvus at http://127.0.0.1:9") and "\n" not in err
    code = main(["search", "hội nghị", "--index", index, "--backend", "local"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "served by the milvus backend" in err and "--backend local" in err and "\n" not in err


def test_update_add_remove_and_live_reload(seed_settings, embedder, tmp_path):
    settings = _copy_seed(seed_settings, tmp_path, corpus_files={p.name for p in CORPUS.iterdir()} - {HA_NAM})
    result = update_index(settings, embedder=embedder)  # the move also drops the report the corpus lacks
    assert result.removed == [HA_NAM] and result.embedded_chunks == 0
    live = LiveAssistant(settings, embedder=embedder)
    before = live.get()
    assert _rows(before) == _expected_rows(before)
    assert HA_NAM not in {h.chunk.file for h in before.search("Ban Tuyên giáo Tỉnh ủy Hà Nam", k=10)}

    added = add_reports(settings, [(HA_NAM, (CORPUS / HA_NAM).read_bytes())], embedder=embedder)
    assert added.added == [HA_NAM] and 0 < added.update.embedded_chunks < added.update.chunks
    after = live.get()  # the chat notices the new version
    assert after is not before and _rows(after) == _expected_rows(after)
    assert after.search("Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?", k=3)[0].chunk.file == HA_NAM

    (settings.corpus / BAC_GIANG).rename(settings.corpus / "bac-giang.txt")
    renamed = update_index(settings, embedder=embedder)
    assert renamed.renamed == [(BAC_GIANG, "bac-giang.txt")] and renamed.embedded_chunks == 0
    hits = live.get().search(DESIGN_QUESTION, k=3, filters=Filters(file="bac-giang.txt"))
    assert hits and {h.chunk.file for h in hits} == {"bac-giang.txt"}

    remove_reports(settings, [HA_NAM], embedder=embedder)
    final = live.get()
    assert _rows(final) == _expected_rows(final)
    ha_nam_doc = after.data.documents[next(d for d in after.data.documents if after.data.documents[d].file == HA_NAM)]
    assert ha_nam_doc.doc_id not in {doc for _, doc in _rows(final)}


def _update_command(tmp_path):
    """`assistant index update` on Milvus in small upsert batches, so that a kill lands between two."""
    config = tmp_path / "assistant.toml"
    config.write_text("milvus_batch = 8\n", encoding="utf-8")
    return ("index", "update", "--backend", "milvus", "--config", str(config))


def test_sigkill_while_writing_chunks_then_rerun(seed_settings, embedder, tmp_path):
    """Killed after its first batch of upserts: the old version still loads, a re-run leaves each chunk once."""
    settings = _copy_seed(seed_settings, tmp_path)
    proc = _start_paused("milvus_upsert", settings, _update_command(tmp_path))
    version = current_version_dir(settings.index)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert current_version_dir(settings.index) == version  # the switch never happened
    local = settings.with_(backend="local")
    assert Assistant.load(local, embedder=embedder).search(DESIGN_QUESTION, k=1)[0].chunk.file == BAC_GIANG

    result = update_index(settings.with_(milvus_batch=8), embedder=embedder)
    assert result.embedded_chunks == 0
    assistant = Assistant.load(settings, embedder=embedder)
    assert _rows(assistant) == _expected_rows(assistant)  # no duplicate, no lost chunk
    assert assistant.search(DESIGN_QUESTION, k=1)[0].chunk.file == BAC_GIANG


def test_sigkill_before_deleting_removed_rows_then_rerun(seed_settings, embedder, tmp_path):
    """Killed after the switch, before the removed report's rows left: readers of the new version never see
    them, and a re-run deletes them."""
    settings = _copy_seed(seed_settings, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    where = ("--corpus", str(settings.corpus), "--index", str(settings.index))
    subprocess.run(
        [sys.executable, "-m", "assistant", *_update_command(tmp_path), *where], check=True, env=env, cwd=ROOT
    )
    (settings.corpus / HA_NAM).unlink()
    proc = _start_paused("milvus_delete", settings, _update_command(tmp_path))
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assistant = Assistant.load(settings, embedder=embedder)
    assert HA_NAM not in {d.file for d in assistant.data.documents.values()}  # switched
    stale = {doc for _, doc in _rows(assistant)} - set(assistant.data.documents)
    assert len(stale) == 1  # the removed report's rows are still in the collection...
    hits = assistant.search("Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?", k=20)
    assert hits and not {h.chunk.doc_id for h in hits} & stale  # ...but never retrieved

    update_index(settings, embedder=embedder)
    assistant = Assistant.load(settings, embedder=embedder)
    assert _rows(assistant) == _expected_rows(assistant)


def test_gradio_api_on_milvus(milvus_settings, embedder, tmp_path):
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from gradio_client import Client

    from ui.app import serve

    from .conftest import free_port

    settings = milvus_settings.with_(reports=tmp_path / "reports", port=free_port())
    demo = serve(settings, live=LiveAssistant(settings, embedder=embedder), block=False)
    try:
        result = Client(f"http://127.0.0.1:{settings.port}/", verbose=False).predict(DESIGN_QUESTION, api_name="/ask")
    finally:
        demo.close()
    assert contains_all(result["answer"], ["2", "40", "150"]) and result["citations"][0]["file"] == BAC_GIANG
