"""The facade the CLI and the web chat call: load once, then ask and search many times."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from itertools import zip_longest

import numpy as np

from .answer import NOT_FOUND, Draft, EvidenceAnswerer, verify_citations
from .config import Settings
from .eachprovince import asks_each_province, topic_question
from .embed import Embedder, embedder_id, make_embedder
from .errors import IndexMismatch
from .evidence import rerank_by_evidence
from .question import analyze, clean_question, split_by_province
from .records import Answer, Citation, Hit
from .retrieve import Filters, make_retriever
from .store import CURRENT, IndexData, check_compatible, load_index, read_manifest


class Assistant:
    """A loaded index + model, answering questions with verbatim, cited quotes."""

    def __init__(self, settings: Settings, data: IndexData, embedder: Embedder):
        self.settings = settings
        self.data = data
        self.embedder = embedder
        self.retriever = make_retriever(data, embedder, settings)
        self._answerer: EvidenceAnswerer | None = None
        self._llm = None

    @property
    def answerer(self) -> EvidenceAnswerer:
        """The trained evidence answerer, loaded on first use (search needs none).

        Raises:
            ScorerMismatch: the scorer file is unreadable or does not fit this index.
        """
        if self._answerer is None:
            from .scorer import check_index, load_model

            model = load_model(self.settings.evidence_model or None)
            check_index(model, self.data.manifest, self.settings.index)
            self._answerer = EvidenceAnswerer(self.data, self.settings, model)
        return self._answerer

    @property
    def llm_available(self) -> bool:
        """True when an LLM endpoint is configured (ASSISTANT_LLM_BASE_URL)."""
        return bool(self.settings.llm_base_url)

    @property
    def llm(self):
        if self._llm is None:
            from .llm import LLMAnswerer

            self._llm = LLMAnswerer(self.settings)
        return self._llm

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
        llm: bool = False,
        history: Sequence[tuple[str, str]] = (),
        on_token=None,
    ) -> Answer:
        """Answer a question from the reports.

        Args:
            question: as the user typed it.
            k: passages to return (settings.top_k by default).
            mode: hybrid | dense | bm25.
            filters: hard province/year/file filters.
            qid: an id echoed in the result (batch mode).
            searched: the question actually searched, when it differs (a rewritten follow-up).
            llm: answer with the configured LLM (checked; the extractive answer is the fallback).
            history: earlier (question, answer) turns, used by the LLM to rewrite a follow-up.
            on_token: called with each streamed piece of an LLM answer.

        Returns:
            An Answer; `abstained` with the closest passages when the reports do not say.

        Raises:
            BadQuestion: empty, content-free questions.
        """
        t_start = time.perf_counter()
        text, notice = clean_question(question, self.settings.max_question_chars)
        timings: dict[str, float] = {}
        use_llm = llm and self.llm_available
        if use_llm and history and not searched:
            t0 = time.perf_counter()
            searched = self.llm.rewrite(history, text)
            timings["rewrite"] = (time.perf_counter() - t0) * 1000
        if searched:
            searched, _ = clean_question(searched, self.settings.max_question_chars)
        query = searched or text
        k = k or self.settings.top_k
        info = analyze(query)
        answered = self._across_provinces(info, k, mode, filters, timings)
        if answered is None and len(info.provinces) >= 2:
            answered = self._ask_per_province(
                split_by_province(query), info, max(k, self.settings.answer_passages), mode, filters, timings
            )
        elif answered is None and asks_each_province(info) and (filters is None or not filters.province):
            topic = topic_question(info)
            parts = [(p, topic.text) for p in sorted(self.answerer.provinces)]
            answered = self._ask_per_province(
                parts, topic, max(k, self.settings.answer_passages), mode, filters, timings, labelled=True
            )
            if answered[0].abstained:  # no province clears the stricter bar: the best evidence overall, if any
                answered = None
        if answered is not None:
            draft, hits = answered
        else:
            answerer = self.answerer
            t0 = time.perf_counter()
            depth = max(k, self.settings.answer_passages)
            qvec = self.retriever.embed(query, timings)
            hits = self.retriever.search(query, k=depth, mode=mode, filters=filters, timings=timings, query_vector=qvec)
            timings["retrieve"] = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            draft, hits = self._answer(answerer, info, qvec, hits)
            timings["answer"] = (time.perf_counter() - t0) * 1000
        answer_mode, fallback = "extractive", None
        if use_llm:
            t0 = time.perf_counter()
            result = self.llm.answer(
                query, hits[: self.settings.answer_passages], self.data.documents, draft, on_token=on_token
            )
            timings["llm"] = (time.perf_counter() - t0) * 1000
            draft, answer_mode, fallback = result.draft, result.mode, result.fallback
        verify_citations(draft.citations, self.data.documents)
        timings["total"] = (time.perf_counter() - t_start) * 1000
        return Answer(
            question=question,
            answer=draft.text if not draft.abstained else NOT_FOUND,
            abstained=draft.abstained,
            citations=draft.citations,
            passages=tuple(hits[:k]),
            timings_ms=timings,
            id=qid,
            searched=searched,
            notice=notice,
            support=draft.support,
            mode=answer_mode,
            fallback=fallback,
            caveat=draft.caveat,
            answer_span=draft.answer_span,
            table=draft.table,
        )

    def _across_provinces(self, info, k: int, mode: str | None, filters: Filters | None, timings: dict[str, float]):
        """A ranking or comparison across provinces answered from the facts table, or None."""
        from .crossreport import answer_table, operation, rows_for

        op = operation(info)
        if op is None or self.data.facts is None or (filters is not None and filters.active()):
            return None
        t0 = time.perf_counter()
        result = answer_table(rows_for(self.data.facts, self.data.documents, info), op, self.data.documents)
        timings["facts"] = (time.perf_counter() - t0) * 1000
        if result is None:
            return None
        text, citations, table, caveat = result
        hits = self.retriever.search(info.text, k=k, mode=mode, filters=filters, timings=timings)
        return Draft(text, False, citations, support=1.0, caveat=caveat, table=table), hits

    def _answer(
        self,
        answerer: EvidenceAnswerer,
        info,
        qvec,
        hits: list[Hit],
        limit: int | None = None,
        threshold: float | None = None,
    ):
        """The draft, and the passages re-ranked by their evidence (settings.rerank)."""
        if not hits or not info.terms:
            return answerer.answer(info, qvec, hits, limit), hits
        n = self.settings.answer_passages
        hits = self.retriever.complete_scores(info.text, qvec, hits[:n]) + list(hits[n:])
        ev = answerer.evidence(info, qvec, hits)
        draft = answerer.compose(ev, limit or self.settings.answer_max_chars, threshold)
        if self.settings.rerank and ev.candidates:
            hits = rerank_by_evidence(hits, ev, self.settings.answer_passages)
        return draft, hits

    def _ask_per_province(
        self,
        parts: list[tuple[str, str]],
        info,
        k: int,
        mode: str | None,
        filters: Filters | None,
        timings: dict[str, float],
        labelled: bool = False,
    ) -> tuple[Draft, list[Hit]]:
        """A question about several provinces: one search and one quote per province, then merged.

        Args:
            parts: (province, what to ask of its reports).
            labelled: name each province before its quotes, most confident first (the question did not
                name them: "những tỉnh nào ...").

        A province the reports say nothing about is named in the answer as not found.
        """
        limit = self.settings.answer_max_chars // (2 if labelled else len(parts))
        model = self.answerer.model
        threshold = model.threshold_each if labelled and model.threshold_each is not None else model.threshold
        found: list[tuple[str, Draft]] = []
        missing: list[str] = []
        rankings: dict[str, list[Hit]] = {}
        vectors: dict[str, np.ndarray] = {}
        t_retrieve = t_answer = 0.0
        for province, sub_question in parts:
            sub = analyze(sub_question)
            part_info = replace(
                sub,
                provinces=(province,),
                kind=sub.kind if sub.kind != "other" else info.kind,
                count_noun=sub.count_noun or info.count_noun,
            )
            part_filters = replace(filters or Filters(), province=province)
            t0 = time.perf_counter()
            if sub_question not in vectors:  # every province is asked the same topic question
                vectors[sub_question] = self.retriever.embed(sub_question)
            qvec = vectors[sub_question]
            hits = self.retriever.search(
                sub_question, k=self.settings.answer_passages, mode=mode, filters=part_filters, query_vector=qvec
            )
            t_retrieve += time.perf_counter() - t0
            t0 = time.perf_counter()
            draft, hits = self._answer(self.answerer, part_info, qvec, hits, limit=limit, threshold=threshold)
            t_answer += time.perf_counter() - t0
            rankings[province] = hits
            if draft.abstained:
                missing.append(province)
            else:
                found.append((province, draft))
        timings["retrieve"], timings["answer"] = t_retrieve * 1000, t_answer * 1000
        if labelled:
            found.sort(key=lambda pd: -pd[1].support)
        # passages follow the answer: provinces that answered (most confident first when labelled), then the rest
        order = [p for p, _ in found] + missing if labelled else [p for p, _ in parts]
        citations: list[Citation] = []
        pieces: list[str] = []
        for province, draft in found:
            cited = [replace(c, n=len(citations) + i) for i, c in enumerate(draft.citations, start=1)]
            citations += cited
            quotes = " ".join(f"{c.quote} [{c.n}]" for c in cited)
            pieces.append(f"{province}: {quotes}" if labelled else quotes)
        merged: list[Hit] = []
        seen: set[str] = set()
        for group in zip_longest(*(rankings[p] for p in order)):
            for hit in group:
                if hit is not None and hit.chunk.chunk_id not in seen:
                    seen.add(hit.chunk.chunk_id)
                    merged.append(replace(hit, rank=len(merged) + 1))
        if not citations:
            return Draft(NOT_FOUND, True, reason="weak evidence"), merged[:k]
        if not labelled:
            pieces += [f"(Không tìm thấy thông tin về {p} trong các báo cáo.)" for p in missing]
        elif missing:
            pieces.append(f"(Không tìm thấy nội dung này trong báo cáo của: {', '.join(missing)}.)")
        support = min(d.support for _, d in found)
        return Draft(" ".join(pieces), False, tuple(citations), support=support), merged[:k]


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
