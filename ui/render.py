"""Pure formatting of answers for the web chat: Markdown for the chat, HTML for the sources panel.

No Gradio here, so every string can be tested with literals.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from assistant.answer import NOT_FOUND, remarks
from assistant.events import Event
from assistant.facts import Person, Quantity
from assistant.facts_query import amount, vn_number
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
        unit = _md_inline(r["unit"] or "")
        cells = [r["province"], r["year"] or "", vn_number(r["value"]), unit, r["level"] or "", f"[{r['n']}]"]
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
    title = f"<b>[{c.n}]</b> {html.escape(c.title)}"
    return _card("source", title, f"{meta} · điểm {c.score:.2f}", body, f" data-n='{c.n}'")


def _card(kind: str, title: str, meta: str, body: str, attrs: str = "") -> str:
    """One bordered block of the sources panel: title, meta line, text (all already escaped)."""
    return (
        f"<div class='{kind}'{attrs}><div class='source-title'>{title}</div>"
        f"<div class='source-meta'>{meta}</div><div class='source-text'>{body}</div></div>"
    )


def render_passage(h: Hit, document: Document | None) -> str:
    """A retrieved passage (not quoted in the answer)."""
    meta = _meta(
        h.chunk.province, document.date if document else None, h.chunk.file, f"ký tự {h.chunk.start}–{h.chunk.end}"
    )
    text = html.escape(h.chunk.text).replace("\n", "<br>")
    return _card("passage", f"#{h.rank} {html.escape(h.chunk.title)}", f"{meta} · điểm {h.score:.4f}", text)


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


ALL = "Tất cả"
NO_FACTS = "Không có số liệu phù hợp."
NO_FACTS_INDEX = "Chỉ mục này chưa có bảng số liệu: hãy lập lại toàn bộ chỉ mục (tab Báo cáo)."
QUOTE_HINT = "<div class='sources-empty'>Chọn một dòng của bảng để xem trích dẫn trong báo cáo.</div>"
OVERVIEW_HINT = "<div class='sources-empty'>Chọn một báo cáo để xem số liệu chính và người được nêu tên.</div>"
FACT_HEADERS = ["Tỉnh/thành", "Năm", "Số liệu", "Đếm gì", "Cấp", "Trích dẫn", "Tệp", "Từ ký tự", "Đến ký tự"]
FACT_TYPES = ["str", "number", "number", "str", "str", "str", "str", "number", "number"]


def _fact_row(q: Quantity) -> tuple[list, list[str]]:
    """One table row: the raw values, and the same values as shown."""
    raw = [q.province or "", q.year, q.value, q.subject, q.level or "", q.quote, q.file, q.start, q.end]
    shown = [str(v) if v is not None else "" for v in raw]
    shown[2] = amount(q)
    return raw, shown


def fact_row_key(row: list) -> tuple[str, int, int, float]:
    """File, offsets and value of a table row as the table hands it back (the raw list of _fact_row)."""
    return str(row[6]), int(row[7]), int(row[8]), float(row[2])


def render_facts_table(facts: list[Quantity]) -> dict:
    """The Số liệu table: raw values, so that sorting a column orders numbers as numbers, shown as the report
    states them ("gần 40", "12.029", "102,9%")."""
    rows = [_fact_row(q) for q in facts]
    return {
        "headers": FACT_HEADERS,
        "data": [raw for raw, _ in rows],
        "metadata": {"display_value": [shown for _, shown in rows], "styling": None},
    }


def render_facts_count(facts: list[Quantity]) -> str:
    """How many figures the filter found, or that it found none."""
    if not facts:
        return NO_FACTS
    reports = len({q.file for q in facts})
    return f"{vn_number(len(facts))} số liệu trong {reports} báo cáo. Chọn một dòng để xem trích dẫn trong báo cáo."


def _bold_in_quote(quote: str, part: str) -> tuple[int, int] | None:
    """Where `part` (the figure, the name) first stands alone in the quote, to show it in bold: "8" is not
    the 8 of "2018"."""
    m = re.search(rf"(?<!\w){re.escape(part)}(?!\w)", quote) if part else None
    return m.span() if m else None


def _quote_with(quote: str, part: str) -> str:
    """The highlighted quote alone, with `part` in bold."""
    return _marked(quote, _bold_in_quote(quote, part)).replace("\n", "<br>")


def _fact_title(q: Quantity) -> str:
    extra = ", ".join(x for x in (str(q.year) if q.year else "", f"cấp {q.level}" if q.level else "") if x)
    return f"<b>{html.escape(amount(q))}</b> {html.escape(q.subject)}" + (f" ({html.escape(extra)})" if extra else "")


def render_fact(q: Quantity, document: Document | None, context: int = CONTEXT_CHARS) -> str:
    """One figure's quote highlighted inside its report, as the Nguồn panel shows a cited quote."""
    number = _bold_in_quote(q.quote, q.number_text)
    body = _snippet(document.text, q.start, q.end, context, number) if document else _marked(q.quote, number)
    title = html.escape(document.title) if document else html.escape(q.file)
    meta = _meta(q.province, document.date if document else None, q.file, f"ký tự {q.start}–{q.end}")
    return _card("source fact", f"{_fact_title(q)}<br>{title}", meta, body)


def _person_title(p: Person) -> str:
    return f"<b>{html.escape(p.name)}</b>" + (f" — {html.escape(p.role)}" if p.role else "")


def render_overview(
    document: Document, quantities: list[Quantity], people: list[Person], events: Sequence[Event] = ()
) -> str:
    """A report's key figures, people and dated events, each with its verbatim quote and offsets, in report
    order; the figures of one sentence share its quote."""
    head = (
        f"<h3>{html.escape(document.title)}</h3>"
        f"<div class='source-meta'>{_meta(document.province, document.date, document.file)}</div>"
    )
    by_quote: dict[tuple[int, int], list[Quantity]] = {}
    for q in quantities:
        by_quote.setdefault((q.start, q.end), []).append(q)
    figures = [
        _card(
            "source fact",
            "; ".join(_fact_title(q) for q in group),
            f"ký tự {a}–{b}",
            _quote_with(group[0].quote, group[0].number_text),
        )
        for (a, b), group in by_quote.items()
    ]
    persons = [
        _card("source person", _person_title(p), f"ký tự {p.start}–{p.end}", _quote_with(p.quote, p.name))
        for p in people
    ]
    happenings = [
        _card(
            "source event",
            f"<b>{html.escape(e.date)}</b> — {html.escape(e.what)}"
            + (f" (tại {html.escape(e.place)})" if e.place else ""),
            f"ký tự {e.start}–{e.end}",
            _quote_with(e.quote, e.date),
        )
        for e in events
    ]
    none_figures = "<p>Báo cáo này không nêu số liệu nào.</p>"
    none_people = "<p>Báo cáo này không nêu tên người nào.</p>"
    return (
        f"<div class='overview'>{head}"
        f"<h4>Số liệu chính ({len(quantities)})</h4>{''.join(figures) or none_figures}"
        f"<h4>Người được nêu tên ({len(people)})</h4>{''.join(persons) or none_people}"
        + (f"<h4>Sự kiện có ngày ({len(events)})</h4>{''.join(happenings)}" if events else "")
        + "</div>"
    )


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
