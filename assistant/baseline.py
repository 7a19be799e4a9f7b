"""The simple baseline every answer figure is reported beside: the sentence of the top retrieved passage
that shares the most words with the question. It never abstains."""

from __future__ import annotations

from .records import Answer, Citation
from .sentences import sentence_spans
from .service import Assistant
from .vietnamese import folded_terms


def overlap_baseline(assistant: Assistant, question: str, qid: str | None = None) -> Answer:
    """Answer with the best-overlapping sentence of the top passage (hybrid retrieval)."""
    hits = assistant.search(question, k=1)
    if not hits:
        return Answer(question=question, answer="", abstained=True, id=qid)
    chunk = hits[0].chunk
    doc = assistant.data.documents[chunk.doc_id]
    words = set(folded_terms(question))
    spans = sentence_spans(doc.text, chunk.start, chunk.end) or [(chunk.start, chunk.end)]
    a, b = max(spans, key=lambda sp: (len(words & set(folded_terms(doc.text[sp[0] : sp[1]]))), -sp[0]))
    quote = doc.text[a:b]
    citation = Citation(1, doc.doc_id, doc.file, doc.title, doc.province, quote, a, b, hits[0].score, doc.date)
    return Answer(question=question, answer=f"{quote} [1]", abstained=False, citations=(citation,), id=qid)
