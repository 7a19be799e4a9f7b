"""Shared fixtures: one real index of the seed corpus, built once per session with the bundled model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED_EVAL = ROOT / "evals" / "seed.jsonl"
DESIGN_QUESTION = "Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?"
BAC_GIANG = "004_6f4d4aaf08285b73.txt"
LAI_CHAU = "000_a3a7b5d9cb3a78e0.txt"

# Tests never read a user's config file or environment overrides.
for key in list(os.environ):
    if key.startswith("ASSISTANT_"):
        del os.environ[key]


@pytest.fixture(scope="session")
def embedder():
    from assistant.config import Settings
    from assistant.embed import BundledEmbedder

    return BundledEmbedder(Settings())


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory, embedder):
    """Settings pointing at a real index of corpus/ (built in a temporary folder)."""
    from assistant.build import build_index
    from assistant.config import load_settings

    index = tmp_path_factory.mktemp("seed-index")
    settings = load_settings(corpus=CORPUS, index=index, show_progress=False)
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def seed_assistant(seed_settings, embedder):
    from assistant.service import Assistant

    return Assistant.load(seed_settings, embedder=embedder)


@pytest.fixture(scope="session")
def seed_documents():
    from assistant.config import Settings
    from assistant.ingest import read_corpus

    return read_corpus(CORPUS, Settings()).documents


@pytest.fixture
def small_corpus(tmp_path):
    """A copy of two seed reports in a temporary corpus folder."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in (BAC_GIANG, "003_0dfad15aa9fa3ad3.txt"):
        shutil.copy(CORPUS / name, folder / name)
    return folder


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def served_app(tmp_path_factory, seed_settings, embedder):
    """The real web chat served on loopback over a copy of the seed corpus and index."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from assistant.service import LiveAssistant
    from ui.app import serve

    root = tmp_path_factory.mktemp("served")
    shutil.copytree(CORPUS, root / "corpus")
    shutil.copytree(seed_settings.index, root / "index")
    settings = seed_settings.with_(
        corpus=root / "corpus", index=root / "index", reports=root / "reports", port=free_port()
    )
    demo = serve(settings, live=LiveAssistant(settings, embedder=embedder), block=False)
    yield f"http://127.0.0.1:{settings.port}/", settings
    demo.close()
