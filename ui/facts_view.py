"""The Số liệu tab and the report overview of the Báo cáo tab: the facts table browsed, charted and exported.

Thin like the rest of ui/: the queries are assistant.facts_query's, the strings ui.render's.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from assistant.facts import FactStore, Quantity
from assistant.facts_query import chart_series, csv_text, facets, report_events, report_facts, series_bars, vn_number
from assistant.records import Document
from assistant.service import LiveAssistant

from .render import (
    ALL,
    FACT_HEADERS,
    FACT_TYPES,
    NO_FACTS,
    NO_FACTS_INDEX,
    OVERVIEW_HINT,
    QUOTE_HINT,
    fact_row_key,
    render_fact,
    render_facts_count,
    render_facts_table,
    render_overview,
)

CSV_NAME = "so-lieu.csv"
CHART_COLUMNS = ["Tỉnh/thành", "Số liệu", "Hiển thị", "Đếm gì", "Năm"]
PRIVATE = {"api_visibility": "private"}


def chosen(value: str | None) -> str | None:
    """A filter dropdown's value, None for "all"."""
    return None if value in (None, "", ALL) else value


def chart_frame(bars: list[Quantity]):
    """The bar chart's data, one bar per province; the figure as the report writes it goes in the tooltip,
    since the axis cannot use Vietnamese separators."""
    import pandas as pd

    rows = [[q.province or "không rõ", q.value, vn_number(q.value), q.subject, str(q.year or "")] for q in bars]
    # Typed even when empty: the chart keeps the axis kind of the first frame it gets.
    return pd.DataFrame(rows, columns=CHART_COLUMNS).astype({"Số liệu": float})


def write_csv(text: str, folder: Path | None = None) -> Path:
    """The CSV in a folder named by its content, so that a download never meets a file another request is
    rewriting. UTF-8 with a byte-order mark: spreadsheet programs then read the Vietnamese letters."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    target = (folder or Path(tempfile.gettempdir()) / "report-assistant-facts") / digest / CSV_NAME
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        partial.write_text(text, encoding="utf-8-sig", newline="")
        partial.replace(target)
    return target


def document_of(documents: Mapping[str, Document], file: str) -> Document | None:
    return next((d for d in documents.values() if d.file == file), None)


def _store(live: LiveAssistant) -> FactStore | None:
    return live.get().data.facts


def _search(live: LiveAssistant, subject: str | None, province: str | None, year: str | None) -> list[Quantity] | None:
    """The figures the filters select; None when the index holds no facts table."""
    store = _store(live)
    if store is None:
        return None
    picked = chosen(year)
    return store.quantities(subject or "", chosen(province), int(picked) if picked else None)


def _chart(gr, facts: list[Quantity], subject: str, label: str | None = None) -> tuple[Any, Any]:
    """The series choices and the chart of the one named `label` (else of the first worth charting)."""
    series = chart_series(facts, subject)
    picked = next((s for s in series if s.label == label), series[0] if series else None)
    if picked is None:
        return gr.update(choices=[], value=None), gr.update(value=chart_frame([]), title=NO_FACTS)
    frame = chart_frame(series_bars(facts, picked))
    return (
        gr.update(choices=[s.label for s in series], value=picked.label),
        gr.update(value=frame, title=f"{picked.label}: số lớn nhất của mỗi tỉnh/thành"),
    )


def _fact_of_row(live: LiveAssistant, row: list) -> tuple[Quantity, Document] | None:
    """The figure a table row shows (found again by file, offsets and value), with its report."""
    data = live.get().data
    file, *key = fact_row_key(row)
    document = document_of(data.documents, file)
    if document is None or data.facts is None:
        return None
    quantities, _ = report_facts(data.facts, document.doc_id)
    q = next((q for q in quantities if [q.start, q.end, q.value] == key), None)
    return (q, document) if q is not None else None


def facts_tab(live: LiveAssistant, demo, tab) -> None:
    """Build the Số liệu tab's components and events; call inside `tab`, itself inside `demo`."""
    import gradio as gr

    with gr.Row():
        subject = gr.Textbox(
            label="Tìm theo nội dung",
            placeholder="ví dụ: lớp bồi dưỡng, hội nghị, học viên (có dấu hoặc không dấu)",
            elem_id="facts-subject",
            scale=3,
        )
        province = gr.Dropdown([ALL], value=ALL, label="Tỉnh/thành", elem_id="facts-province", scale=1)
        year = gr.Dropdown([ALL], value=ALL, label="Năm", elem_id="facts-year", scale=1)
        find = gr.Button("Tìm", variant="primary", elem_id="facts-search", scale=0)
    count = gr.Markdown(elem_id="facts-count")
    table = gr.Dataframe(
        value=render_facts_table([]),
        headers=FACT_HEADERS,
        datatype=FACT_TYPES,
        interactive=False,
        wrap=True,
        max_height=420,
        column_widths=["10%", "6%", "8%", "16%", "7%", "33%", "10%", "5%", "5%"],
        elem_id="facts-table",
    )
    with gr.Row():
        with gr.Column(scale=3):
            series = gr.Dropdown([], label="Biểu đồ theo", elem_id="facts-series")
            chart = gr.BarPlot(
                chart_frame([]),
                x="Tỉnh/thành",
                y="Số liệu",
                sort="-y",
                tooltip=["Tỉnh/thành", "Hiển thị", "Đếm gì", "Năm"],
                y_axis_format="d",
                height=320,
                elem_id="facts-chart",
            )
            download = gr.DownloadButton("Tải CSV", value=None, interactive=False, elem_id="facts-csv")
        with gr.Column(scale=2):
            quote = gr.HTML(QUOTE_HINT, elem_id="facts-quote")

    def show(text: str | None, p: str, y: str):
        text = text or ""  # a textbox not yet typed in sends None
        facts = _search(live, text, p, y)
        message = NO_FACTS_INDEX if facts is None else render_facts_count(facts)
        facts = facts or []
        choices, plot = _chart(gr, facts, text)
        csv = (
            gr.update(value=str(write_csv(csv_text(facts))), interactive=True)
            if facts
            else gr.update(value=None, interactive=False)
        )
        return message, render_facts_table(facts), choices, plot, csv, QUOTE_HINT

    def redraw(text: str | None, p: str, y: str, label: str):
        return _chart(gr, _search(live, text, p, y) or [], text or "", label)[1]

    def open_row(evt) -> str:
        found = _fact_of_row(live, evt.row_value)
        return render_fact(*found) if found else NO_FACTS

    # Gradio passes the selected row to a parameter annotated gr.SelectData, and cannot resolve that
    # annotation as a string (postponed annotations) naming a module imported inside this function.
    open_row.__annotations__["evt"] = gr.SelectData

    def refresh_filters(p: str, y: str):
        store = _store(live)
        provinces, years = facets(store) if store is not None else ([], [])
        years = [str(v) for v in years]
        return (
            gr.update(choices=[ALL, *provinces], value=p if p in provinces else ALL),
            gr.update(choices=[ALL, *years], value=y if y in years else ALL),
        )

    filters = [subject, province, year]
    shown = [count, table, series, chart, download, quote]
    # One search at a time, in the order asked: a slower earlier search never overwrites a later one.
    in_order = {**PRIVATE, "concurrency_limit": 1, "concurrency_id": "facts-search"}
    for trigger in (find.click, subject.submit, province.input, year.input):
        trigger(show, filters, shown, **in_order)
    for start in (demo.load, tab.select):
        start(refresh_filters, [province, year], [province, year], **PRIVATE).then(show, filters, shown, **in_order)
    series.input(redraw, [*filters, series], chart, **PRIVATE)
    table.select(open_row, None, quote, **PRIVATE)


def report_choices(live: LiveAssistant) -> list[tuple[str, str]]:
    """The overview's report picker: "title — file", by file name."""
    documents = sorted(live.get().data.documents.values(), key=lambda d: d.file)
    return [(f"{d.title} — {d.file}", d.doc_id) for d in documents]


def overview(live: LiveAssistant, doc_id: str | None) -> str:
    """One report's figures, people and dated events, or a hint when none is chosen (or it was just removed)."""
    data = live.get().data
    document = data.documents.get(doc_id or "")
    if document is None:
        return OVERVIEW_HINT
    if data.facts is None:
        return NO_FACTS_INDEX
    events = report_events(data.facts, document.doc_id)
    return render_overview(document, *report_facts(data.facts, document.doc_id), events)


def overview_panel(live: LiveAssistant):
    """Build the report overview (call inside the Báo cáo tab); returns its picker, whose choices the tab
    refreshes when reports are added or removed."""
    import gradio as gr

    pick = gr.Dropdown(
        report_choices(live),
        value=None,
        label="Tổng quan một báo cáo: số liệu chính và người được nêu tên",
        elem_id="overview-report",
    )
    panel = gr.HTML(OVERVIEW_HINT, elem_id="overview")
    pick.input(lambda doc_id: overview(live, doc_id), pick, panel, **PRIVATE)
    return pick
