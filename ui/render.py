"""Pure formatting of answers for the web chat: Markdown for the chat, HTML for the sources panel.

No Gradio here, so every string can be tested with literals.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from assistant.answer import NOT_FOUND, remarks
from assistant.records import Answer, AnswerSpan, Citation, Document, Hit

CONTEXT_CHARS = 300

_MD_SPECIAL = re.compile(r"([\\`*_])")


def _md_inline(text: str) -> str:
    """Text safe inside Markdown emphasis: one line, and `*`, `_`, backticks and backslashes escaped."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def render_answer(answer: Answer) -> str:
    """The chat message: the short answer in bold when there is one, then the answer with its [n] markers,
    plus what was searched and any notice. A near miss shows its caveat and the nearest quote."""
    lines = [f"_{r}_" for r in remarks(answer)]
    span = answer.answer_span
    if answer.abstained:
        lines.append(f"**{NOT_FOUND}**")
        if answer.caveat:
            lines.append(answer.caveat)
            lines += [f"“{c.quote}” [{c.n}]" for c in answer.citations]
        elif answer.passages:
            lines.append("Các đoạn gần nhất được liệt kê ở khung Nguồn để bạn tự kiểm tra.")
    else:
        if span is not None and span.text.strip():
            lines.append(f"**{_md_inline(span.text)}** [{span.n}]")
        lines.append(answer.answer)
        if answer.table:
            lines.append(render_table(answer.table))
        if answer.caveat:
            lines.append(f"_{answer.caveat}_")
    return "\n\n".join(lines)


def render_table(table: dict) -> str:
    """A comparison across provinces as a Markdown table; each figure points at its quote [n]."""
    head = "| Tỉnh/thành | Năm | Số liệu | Đếm gì | Cấp | Nguồn |\n|---|---|---|---|---|---|"
    rows = []
    for r in table["rows"]:
        if r["value"] is None:
            rows.append(f"| {r['province']} | | không có số liệu | | | |")
            continue
        value = f"{r['value']:,.10g}".replace(",", "_").replace(".", ",").replace("_", ".")
        cells = [r["province"], r["year"] or "", value, _md_inline(r["unit"] or ""), r["level"] or "", f"[{r['n']}]"]
        rows.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join([head, *rows])


def _meta(province: str | None, date: str | None, file: str, extra: str = "") -> str:
    parts = [f"Tỉnh/thành: {province or 'không rõ'}"]
    if date:
        parts.append(f"Ngày: {date}")
    parts.append(f"Tệp: {file}")
    if extra:
        parts.append(extra)
    return " · ".join(html.escape(p) for p in parts)


def _marked(quote: str, span: tuple[int, int] | None) -> str:
    """The highlighted quote (escaped), with the answer span at `span` (offsets into `quote`) in bold."""
    if span is None:
        inner = html.escape(quote)
    else:
        a, b = span
        inner = f"{html.escape(quote[:a])}<b class='answer-span'>{html.escape(quote[a:b])}</b>{html.escape(quote[b:])}"
    return f"<mark class='quote'>{inner}</mark>"


def _snippet(text: str, start: int, end: int, context: int, span: tuple[int, int] | None = None) -> str:
    """The quote highlighted inside the text around it (escaped)."""
    left = max(0, start - context)
    right = min(len(text), end + context)
    before = ("…" if left > 0 else "") + text[left:start]
    after = text[end:right] + ("…" if right < len(text) else "")
    return f"{html.escape(before)}{_marked(text[start:end], span)}{html.escape(after)}".replace("\n", "<br>")


def _span_in_quote(c: Citation, quote: str, span: AnswerSpan | None) -> tuple[int, int] | None:
    """The answer span's offsets relative to citation `c`'s quote (as shown), when the span is this
    citation's and the quote holds its text there."""
    if span is None or span.n != c.n:
        return None
    a, b = span.start - c.start, span.end - c.start
    if not (0 <= a < b <= len(quote)) or quote[a:b] != span.text:
        return None
    return a, b


def render_citation(
    c: Citation, document: Document | None, context: int = CONTEXT_CHARS, span: AnswerSpan | None = None
) -> str:
    """One source card: title, province, date, file, offsets, score, and the highlighted quote, with the
    answer span (when it is this citation's) in bold inside it."""
    if document is not None:
        body = _snippet(document.text, c.start, c.end, context, _span_in_quote(c, document.text[c.start : c.end], span))
    else:
        body = _marked(c.quote, _span_in_quote(c, c.quote, span))
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
        if answer.abstained and answer.caveat:
            parts.append(f"<div class='caveat'>{html.escape(answer.caveat)}</div>")
        parts += [render_citation(c, documents.get(c.doc_id), span=answer.answer_span) for c in answer.citations]
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
