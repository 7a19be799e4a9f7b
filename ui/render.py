"""Pure formatting of answers for the web chat: Markdown for the chat, HTML for the sources panel.

No Gradio here, so every string can be tested with literals.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from assistant.answer import NOT_FOUND, remarks
from assistant.records import Answer, Citation, Document, Hit

CONTEXT_CHARS = 300


def render_answer(answer: Answer) -> str:
    """The chat message: the answer with its [n] markers, plus what was searched and any notice."""
    lines = [f"_{r}_" for r in remarks(answer)]
    if answer.abstained:
        lines.append(f"**{NOT_FOUND}**")
        if answer.passages:
            lines.append("Các đoạn gần nhất được liệt kê ở khung Nguồn để bạn tự kiểm tra.")
    else:
        lines.append(answer.answer)
    return "\n\n".join(lines)


def _meta(province: str | None, date: str | None, file: str, extra: str = "") -> str:
    parts = [f"Tỉnh/thành: {province or 'không rõ'}"]
    if date:
        parts.append(f"Ngày: {date}")
    parts.append(f"Tệp: {file}")
    if extra:
        parts.append(extra)
    return " · ".join(html.escape(p) for p in parts)


def _snippet(text: str, start: int, end: int, context: int) -> str:
    """The quote highlighted inside the text around it (escaped)."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    before = ("…" if left > 0 else "") + text[left:start]
    after = text[end:right] + ("…" if right < len(text) else "")
    return (
        f"{html.escape(before)}<mark class='quote'>{html.escape(text[start:end])}</mark>{html.escape(after)}"
    ).replace("\n", "<br>")


def render_citation(c: Citation, document: Document | None, context: int = CONTEXT_CHARS) -> str:
    """One source card: title, province, date, file, offsets, score, and the highlighted quote."""
    body = (
        _snippet(document.text, c.start, c.end, context)
        if document is not None
        else f"<mark class='quote'>{html.escape(c.quote)}</mark>"
    )
    meta = _meta(c.province, document.date if document else None, c.file, f"ký tự {c.start}–{c.end}")
    return (
        f"<div class='source' data-n='{c.n}'>"
        f"<div class='source-title'><b>[{c.n}]</b> {html.escape(c.title)}</div>"
        f"<div class='source-meta'>{meta} · điểm {c.score:.2f}</div>"
        f"<div class='source-text'>{body}</div></div>"
    )


def render_passage(h: Hit, document: Document | None) -> str:
    """A retrieved passage (not quoted in the answer)."""
    meta = _meta(
        h.chunk.province, document.date if document else None, h.chunk.file, f"ký tự {h.chunk.start}–{h.chunk.end}"
    )
    return (
        f"<div class='passage'><div class='source-title'>#{h.rank} {html.escape(h.chunk.title)}</div>"
        f"<div class='source-meta'>{meta} · điểm {h.score:.4f}</div>"
        f"<div class='source-text'>{html.escape(h.chunk.text).replace(chr(10), '<br>')}</div></div>"
    )


def render_sources(answer: Answer | None, documents: Mapping[str, Document]) -> str:
    """The sources panel: cited quotes in context, then the other retrieved passages (collapsed)."""
    if answer is None:
        return "<div class='sources-empty'>Nguồn trích dẫn sẽ hiện ở đây.</div>"
    parts = []
    if answer.citations:
        parts.append("<h3>Nguồn trích dẫn</h3>")
        parts += [render_citation(c, documents.get(c.doc_id)) for c in answer.citations]
    cited = [(c.doc_id, c.start, c.end) for c in answer.citations]
    others = [
        h
        for h in answer.passages
        if not any(h.chunk.doc_id == d and h.chunk.start <= s and e <= h.chunk.end for d, s, e in cited)
    ]
    if others:
        passages = "".join(render_passage(h, documents.get(h.chunk.doc_id)) for h in others)
        if answer.abstained:
            parts.append(f"<h3>Các đoạn gần nhất</h3>{passages}")
        else:
            summary = f"<summary>Các đoạn khác được tìm thấy ({len(others)})</summary>"
            parts.append(f"<details class='more'>{summary}{passages}</details>")
    return "".join(parts) or "<div class='sources-empty'>Không có đoạn nào phù hợp.</div>"


def render_reports_table(manifest: Mapping) -> list[list]:
    """Rows for the reports table: title, province, date, file, chunks, added."""
    return [
        [d["title"], d.get("province") or "", d.get("date") or "", d["file"], len(d["chunks"]), d.get("added_at") or ""]
        for d in manifest.get("documents", [])
    ]


def render_status(manifest: Mapping) -> str:
    """Index status in one Markdown block."""
    return (
        f"**Mô hình:** {manifest['embedder']['id']} · **Số báo cáo:** {len(manifest['documents'])} · "
        f"**Số đoạn:** {manifest['chunk_count']} · **Lập chỉ mục lúc:** {manifest.get('built_at', '')} · "
        f"**Phiên bản:** {manifest.get('version', '')}"
    )


EVAL_METRICS = [
    ("recall@5", "Recall@5"),
    ("mrr@10", "MRR@10"),
    ("ndcg@10", "nDCG@10"),
    ("answer_correct", "Trả lời đúng (đủ dữ kiện + trích dẫn đúng)"),
    ("token_f1", "Token F1"),
    ("citation_precision", "Độ chính xác trích dẫn"),
    ("citation_recall", "Độ phủ trích dẫn"),
    ("quote_verification", "Trích dẫn nguyên văn"),
    ("abstain_f1", "F1 từ chối trả lời"),
    ("latency_total_p50", "Thời gian p50 (ms)"),
    ("latency_total_p95", "Thời gian p95 (ms)"),
]


def render_eval_summary(run: Mapping) -> str:
    """A Markdown table: one row per metric, one column per mode."""
    modes = list(run["modes"])
    lines = ["| Chỉ số | " + " | ".join(modes) + " |", "|---|" + "---|" * len(modes)]
    for key, label in EVAL_METRICS:
        values = [run["modes"][m]["summary"][key] for m in modes]
        cells = [f"{v:.1f}" if key.startswith("latency") else f"{v:.3f}" for v in values]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    n = run["modes"][modes[0]]["summary"]
    lines.append("")
    lines.append(
        f"{int(n['questions'])} câu hỏi ({int(n['answerable'])} có đáp án, {int(n['unanswerable'])} không có)."
    )
    return "\n".join(lines)


def render_eval_failures(run: Mapping) -> list[list]:
    """Rows of failed questions: mode, id, type, question, expected, got, reason."""
    return [
        [
            mode,
            q["id"],
            q["type"],
            q["question"],
            q["expected"] or "(không có trong báo cáo)",
            q["got"][:300],
            q["reason"],
        ]
        for mode, data in run["modes"].items()
        for q in data["questions"]
        if not q["passed"]
    ]
