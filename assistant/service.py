"""The facade the CLI and the web chat call: load once, then ask and search many times."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from .answer import NOT_FOUND, ExtractiveAnswerer, verify_citations
from .config import Settings
from .embed import Embedder, embedder_id, make_embedder
from .errors import IndexMismatch
from .question import analyze, clean_question
from .records import Answer, Hit
from .retrieve import Filters, Retriever
from .store import CURRENT, IndexData, check_compatible, load_index, read_manifest


class Assistant:
    """A loaded index + model, answering questions with verbatim, cited quotes."""

    def __init__(self, settings: Settings, data: IndexData, embedder: Embedder):
        self.settings = settings
        self.data = data
        self.embedder = embedder
        self.retriever = Retriever(data, embedder, settings)
        self.answerer = ExtractiveAnswerer(data, settings)

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None) -> Assistant:
        """Load the index at settings.index and the model it was built with.

        Raises:
            IndexNotFound, IndexMismatch, IndexCorrupt, ModelUnavailable.
        """
        manifest = read_manifest(settings.index)
        check_compatible(manifest, settings, settings.index)
        built_with = manifest["embedder"]["id"]
        if embedder is None and built_with != embedder_id(settings):
            raise IndexMismatch(
                f"Index at {settings.index}/ was built with model {built_with}; settings ask for "
                f"{embedder_id(settings)}. Run: assistant index build"
            )
        data = load_index(settings.index, settings)
        embedder = embedder or make_embedder(settings)
        if embedder.model_id != built_with or embedder.dim != int(manifest["embedder"]["dim"]):
            raise IndexMismatch(
                f"Index at {settings.index}/ was built with model {built_with} "
                f"(dimension {manifest['embedder']['dim']}); the loaded model is {embedder.model_id} "
                f"(dimension {embedder.dim}). Run: assistant index build"
            )
        return cls(settings, data, embedder)

    def search(
        self, question: str, k: int | None = None, mode: str | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """Ranked passages for a question (retrieval only)."""
        text, _ = clean_question(question, self.settings.max_question_chars)
        return self.retriever.search(text, k=k, mode=mode, filters=filters)

    def ask(
        self,
        question: str,
        k: int | None = None,
        mode: str | None = None,
        filters: Filters | None = None,
        qid: str | None = None,
        searched: str | None = None,
    ) -> Answer:
        """Answer a question from the reports.

        Args:
            question: as the user typed it.
            k: passages to return (settings.top_k by default).
            mode: hybrid | dense | bm25.
            filters: hard province/year/file filters.
            qid: an id echoed in the result (batch mode).
            searched: the question actually searched, when it differs (a rewritten follow-up).

        Returns:
            An Answer; `abstained` with the closest passages when the reports do not say.

        Raises:
            BadQuestion: empty, content-free questions.
        """
        t_start = time.perf_counter()
        text, notice = clean_question(searched or question, self.settings.max_question_chars)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        k = k or self.settings.top_k
        hits = self.retriever.search(
            text, k=max(k, self.settings.answer_passages), mode=mode, filters=filters, timings=timings
        )
        timings["retrieve"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        draft = self.answerer.answer(analyze(text), hits)
        verify_citations(draft.citations, self.data.documents)
        timings["answer"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.perf_counter() - t_start) * 1000
        return Answer(
            question=question,
            answer=draft.text if not draft.abstained else NOT_FOUND,
            abstained=draft.abstained,
            citations=draft.citations,
            passages=tuple(hits[:k]),
            timings_ms=timings,
            id=qid,
            searched=text if searched else None,
            notice=notice,
            support=draft.support,
        )

    def ask_many(self, questions: Sequence[tuple[str | None, str]], **kwargs) -> list[Answer]:
        """Answer (id, question) pairs in order."""
        return [self.ask(q, qid=i, **kwargs) for i, q in questions]


class LiveAssistant:
    """An Assistant that follows the index: when another process (or this one) switches the index
    to a new version, the next request loads it; requests already running finish on the old one."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self._assistant = Assistant.load(settings, embedder=embedder)
        self.embedder = self._assistant.embedder
        self._lock = threading.Lock()

    def _current_version(self) -> str:
        try:
            return (self.settings.index / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return self._assistant.data.version

    def get(self) -> Assistant:
        """The Assistant for the index version CURRENT points to now."""
        version = self._current_version()
        if version == self._assistant.data.version:
            return self._assistant
        with self._lock:
            if version != self._assistant.data.version:
                self._assistant = Assistant.load(self.settings, embedder=self.embedder)
        return self._assistant
