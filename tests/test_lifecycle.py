"""Index lifecycle: incremental updates equal full builds, crashes never break the index, one writer at a time."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from assistant.build import build_index
from assistant.config import load_settings
from assistant.errors import BadReport, IndexLocked, IndexMismatch
from assistant.service import Assistant, LiveAssistant
from assistant.store import LOCK, VERSIONS, current_version_dir, writer_lock
from assistant.update import add_reports, remove_reports, safe_filename, update_index

from .conftest import BAC_GIANG, CORPUS, ROOT

pytestmark = pytest.mark.slow

HA_NAM = "002_10b3e2ec16de400a.txt"
QUESTIONS = [
    "Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?",
    "Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?",
    "Có bao nhiêu địa phương ở Đắk Lắk kết nối trực tuyến từ tỉnh đến huyện?",
    "hội nghị sơ kết 6 tháng đầu năm",
]


def _settings(corpus, index):
    return load_settings(environ={}, corpus=corpus, index=index, show_progress=False)


@pytest.fixture(scope="module")
def built_small(tmp_path_factory, embedder):
    """Two seed reports and their index, built once for the module."""
    root = tmp_path_factory.mktemp("small")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in (BAC_GIANG, "003_0dfad15aa9fa3ad3.txt"):
        shutil.copy(CORPUS / name, corpus / name)
    build_index(_settings(corpus, root / "idx"), embedder=embedder)
    return root


@pytest.fixture
def small(built_small, tmp_path):
    """A private copy of the small corpus and its index, for a test to change."""
    shutil.copytree(built_small / "corpus", tmp_path / "corpus")
    shutil.copytree(built_small / "idx", tmp_path / "idx")
    return _settings(tmp_path / "corpus", tmp_path / "idx")


def _snapshot(settings, embedder):
    assistant = Assistant.load(settings, embedder=embedder)
    return [[(h.chunk.chunk_id, round(h.score, 6)) for h in assistant.search(q, k=5)] for q in QUESTIONS]


def test_update_equals_a_full_build(small, tmp_path, embedder):
    settings, small_corpus = small, small.corpus
    shutil.copy(CORPUS / HA_NAM, small_corpus / HA_NAM)
    result = update_index(settings, embedder=embedder)
    assert result.added == [HA_NAM] and result.unchanged == 2
    assert 0 < result.embedded_chunks < result.chunks  # only the new report was embedded

    fresh = _settings(small_corpus, tmp_path / "fresh")
    build_index(fresh, embedder=embedder)
    assert _snapshot(settings, embedder) == _snapshot(fresh, embedder)
    # The answerer's term counts are carried over too (old counts + the new report's).
    updated_df = Assistant.load(settings, embedder=embedder).data.term_df
    assert updated_df == Assistant.load(fresh, embedder=embedder).data.term_df and updated_df["giang"] > 0


def test_rename_change_and_delete(small, embedder):
    settings, small_corpus = small, small.corpus
    (small_corpus / BAC_GIANG).rename(small_corpus / "bac-giang.txt")
    result = update_index(settings, embedder=embedder)
    assert result.renamed == [(BAC_GIANG, "bac-giang.txt")] and result.embedded_chunks == 0

    dak_lak = small_corpus / "003_0dfad15aa9fa3ad3.txt"
    text = dak_lak.read_text(encoding="utf-8")
    dak_lak.write_text(text.replace("Thứ nhất, tập trung", "Thứ nhất, mở thêm 3 lớp; tập trung"), encoding="utf-8")
    result = update_index(settings, embedder=embedder)
    assert result.changed == ["003_0dfad15aa9fa3ad3.txt"] and result.embedded_chunks >= 1

    dak_lak.unlink()
    result = update_index(settings, embedder=embedder)
    assert result.removed == ["003_0dfad15aa9fa3ad3.txt"]
    assistant = Assistant.load(settings, embedder=embedder)
    assert {c.file for c in assistant.data.chunks} == {"bac-giang.txt"}
    assert assistant.data.dense.size == len(assistant.data.chunks)  # removed for real, no tombstones
    # After a change and a removal, the answerer's term counts are those of the one remaining report.
    from assistant.store import chunk_term_counts

    assert assistant.data.term_df == chunk_term_counts(c.text for c in assistant.data.chunks)


def test_changed_settings_require_a_full_rebuild(small, embedder):
    settings = small
    with pytest.raises(IndexMismatch, match="chunk_size.*Run: assistant index build"):
        update_index(settings.with_(chunk_size=500, chunk_overlap=50), embedder=embedder)


def test_add_reports_validates_and_sanitizes(small, tmp_path, embedder):
    settings, small_corpus = small, small.corpus
    before = sorted(p.name for p in small_corpus.iterdir())
    uploads = [
        ("../../etc/cao-bang.txt", "Cao Bằng: tổng kết năm 2023\n\nTỉnh tổ chức 7 lớp bồi dưỡng.".encode()),
        ("virus.exe", b"MZ\x00\x00"),
        ("empty.txt", b""),
        ("copy.txt", (CORPUS / BAC_GIANG).read_bytes()),
        ("binary.txt", bytes(range(256)) * 10),
    ]
    result = add_reports(settings, uploads, embedder=embedder)
    assert result.added == ["cao-bang.txt"]
    reasons = {r.file: r.reason for r in result.rejected}
    assert "unsupported file type" in reasons["virus.exe"]
    assert reasons["empty.txt"] == "empty file"
    assert f"same content as {BAC_GIANG}" in reasons["copy.txt"]
    assert reasons["binary.txt"].startswith("binary")
    assert sorted(p.name for p in small_corpus.iterdir()) == sorted([*before, "cao-bang.txt"])
    assert not (tmp_path / "etc").exists()

    only_bad = add_reports(settings, [("x.exe", b"MZ")], embedder=embedder)
    assert only_bad.added == [] and only_bad.update is None

    remove_reports(settings, ["cao-bang.txt"], embedder=embedder)
    assert sorted(p.name for p in small_corpus.iterdir()) == before
    with pytest.raises(BadReport, match="not a report in the corpus"):
        remove_reports(settings, ["../../etc/passwd"], embedder=embedder)


def test_safe_filename():
    assert safe_filename("../../a/b/Báo cáo 2023.TXT") == "Báo cáo 2023.txt"
    assert safe_filename("..\\..\\evil.docx") == "evil.docx"
    assert safe_filename(".hidden.txt") == "hidden.txt"
    assert safe_filename("a\x00b<>|.md") == "ab_.md"
    assert safe_filename("...") == "bao-cao"


def _start_paused(point, settings, command=("index", "update")):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(ASSISTANT_PAUSE_AT=point, ASSISTANT_SHOW_PROGRESS="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", *command, "--corpus", str(settings.corpus), "--index", str(settings.index)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=ROOT,
    )
    deadline = time.time() + 120
    for line in proc.stderr:
        if f"PAUSED AT {point}" in line:
            return proc
        if time.time() > deadline:
            break
    proc.kill()
    raise AssertionError(f"the update never reached {point}")


@pytest.mark.parametrize("point", ["embed", "write_dense", "write_sparse", "write_manifest", "switch"])
def test_sigkill_at_any_step_leaves_a_loadable_index(point, small, embedder):
    settings, small_corpus = small, small.corpus
    before = _snapshot(settings, embedder)
    version = current_version_dir(settings.index)
    shutil.copy(CORPUS / HA_NAM, small_corpus / HA_NAM)

    proc = _start_paused(point, settings)
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert current_version_dir(settings.index) == version
    assert _snapshot(settings, embedder) == before  # the old version still answers, unchanged
    assert (settings.index / LOCK).exists()  # left behind by the killed writer

    result = update_index(settings, embedder=embedder)  # takes over the stale lock and completes
    assert result.added == [HA_NAM]
    assert HA_NAM in {d.file for d in Assistant.load(settings, embedder=embedder).data.documents.values()}
    assert not [p for p in (settings.index / VERSIONS).iterdir() if p.name.endswith(".tmp")]
    assert len(list((settings.index / VERSIONS).iterdir())) <= 2  # old versions cleaned up


def test_one_writer_at_a_time_and_readers_never_block(small, embedder):
    settings, small_corpus = small, small.corpus
    live = LiveAssistant(settings, embedder=embedder)
    old_version = live.get().data.version
    shutil.copy(CORPUS / HA_NAM, small_corpus / HA_NAM)
    writer = _start_paused("embed", settings)
    try:
        with pytest.raises(IndexLocked, match=f"being written by process {writer.pid}"):
            with writer_lock(settings.index):
                pass
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "assistant",
                "index",
                "update",
                "--corpus",
                str(settings.corpus),
                "--index",
                str(settings.index),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert second.returncode == 2 and "being written by process" in second.stderr
        # Questions during the update are answered from the old version.
        answer = live.get().ask("Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?")
        assert live.get().data.version == old_version and answer.abstained
    finally:
        writer.kill()
        writer.wait()
    update_index(settings, embedder=embedder)
    # A running chat picks up the new version without restarting.
    answer = live.get().ask("Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?")
    assert live.get().data.version != old_version
    assert "Lê Thị Thanh Hà" in answer.answer


@pytest.mark.parametrize(
    "kind, store, extra",
    [
        ("hnsw", "float32", {}),
        ("ivf", "float32", {"ivf_nlist": 4, "ivf_nprobe": 4}),  # every cell probed: exact
        ("ivf", "float16", {"ivf_nlist": 4, "ivf_nprobe": 4}),
        ("flat", "float16", {}),
    ],
)
def test_each_index_type_builds_loads_updates_and_matches_flat(small, tmp_path, embedder, kind, store, extra):
    flat = _snapshot(small, embedder)
    settings = small.with_(dense_index=kind, dense_store=store, index=tmp_path / kind, **extra)
    build_index(settings, embedder=embedder)
    assistant = Assistant.load(settings, embedder=embedder)
    assert assistant.data.manifest["dense"]["kind"] == kind and assistant.data.dense.kind == kind
    assert assistant.data.manifest["dense"]["store"] == store and assistant.data.dense.store == store
    assert [[cid for cid, _ in q] for q in _snapshot(settings, embedder)] == [[cid for cid, _ in q] for q in flat]
    cells = assistant.data.dense.centroids()
    shutil.copy(CORPUS / HA_NAM, settings.corpus / HA_NAM)
    result = update_index(settings, embedder=embedder)
    assert result.added == [HA_NAM]
    updated = Assistant.load(settings, embedder=embedder)
    assert updated.data.dense.kind == kind and updated.data.dense.size == len(updated.data.chunks)
    assert "Lê Thị Thanh Hà" in updated.ask("Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?").answer
    if kind == "ivf":  # an update keeps the trained cells
        assert np.array_equal(updated.data.dense.centroids(), cells)
    other = "flat" if kind != "flat" else "ivf"
    with pytest.raises(IndexMismatch, match="dense_index"):
        Assistant.load(settings.with_(dense_index=other), embedder=embedder)
    assert Assistant.load(settings.with_(dense_index="auto"), embedder=embedder).data.dense.kind == kind


def test_a_filter_on_an_ivf_index_still_finds_its_reports(small, tmp_path, embedder):
    settings = small.with_(dense_index="ivf", ivf_nlist=4, ivf_nprobe=1, index=tmp_path / "ivf")
    build_index(settings, embedder=embedder)
    assistant = Assistant.load(settings, embedder=embedder)
    rows = np.array([r for r, c in enumerate(assistant.data.chunks) if c.file == assistant.data.chunks[-1].file])
    hits = assistant.data.dense.search(embedder.encode_queries(["hội nghị"])[0], 5, allowed=rows)
    assert hits and all(i in set(rows.tolist()) for i, _ in hits)


def test_auto_index_type_switches_at_the_threshold():
    from assistant.dense import resolve_kind

    assert resolve_kind("auto", 1000, 200_000) == "flat"
    assert resolve_kind("auto", 300_000, 200_000) == "ivf"
    from assistant.dense import DenseIndex, resolve_store

    assert resolve_store("auto", "flat") == "float32" and resolve_store("auto", "ivf") == "float16"
    assert resolve_store("float32", "hnsw") == "float32"
    index = DenseIndex(4, kind="ivf", store="auto", nlist=10)  # nprobe 0: 45% of the cells
    index.add(np.random.default_rng(0).standard_normal((400, 4)).astype(np.float32), np.arange(400))
    assert index.store == "float16" and index._inner.nprobe == 5
    assert resolve_kind("flat", 10**7, 200_000) == "flat"
