"""The Gradio web chat. Thin: every decision is a library call, every string comes from ui.render."""

from __future__ import annotations

import ipaddress
import os
import queue
import threading
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.errors import AssistantError, BadQuestion, BadSettings
from assistant.followup import Context, resolve
from assistant.question import clean_question
from assistant.retrieve import Filters
from assistant.service import LiveAssistant

from .facts_view import chosen, facts_tab, overview_panel, report_choices
from .render import (
    ALL,
    render_answer,
    render_eval_failures,
    render_eval_summary,
    render_reports_table,
    render_sources,
    render_status,
)

MODES = [("Kết hợp (khuyên dùng)", "hybrid"), ("Ngữ nghĩa", "dense"), ("Từ khóa (BM25)", "bm25")]
EXAMPLES = [
    "Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?",
    "Năm 2022 Lai Châu mở bao nhiêu lớp bồi dưỡng lý luận chính trị?",
    "Ai là Trưởng Ban Tuyên giáo Tỉnh ủy Hà Nam?",
    "Những nhiệm vụ trọng tâm thời gian tới của Ban Tuyên giáo Tỉnh ủy Đắk Lắk là gì?",
    "Cuộc thi viết “Khát vọng Trà Vinh” nhận được bao nhiêu bài dự thi?",
]
UPLOAD_TYPES = [".txt", ".md", ".html", ".htm", ".pdf", ".docx"]
THINKING = "⏳ Đang tìm trong các báo cáo…"
CSS = """
mark.quote { background: #fde68a; padding: 0 2px; }
.source, .passage { border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 10px; margin: 6px 0; }
.source-title { font-weight: 600; }
.source-meta { color: #6b7280; font-size: 0.85em; margin: 2px 0 4px; }
.source-text { font-size: 0.92em; line-height: 1.5; }
"""


def _turns(history: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(question, answer) pairs from the chat history, for the LLM's follow-up rewriting."""
    pairs, question = [], None
    for message in history:
        if message.get("role") == "user":
            question = str(message.get("content", ""))
        elif question is not None:
            pairs.append((question, str(message.get("content", ""))))
            question = None
    return pairs


def eval_files(folder: Path = Path("evals")) -> list[str]:
    """Evaluation sets shipped in evals/ (offered in the Đánh giá tab)."""
    return sorted(str(p) for p in folder.glob("*.jsonl")) if folder.is_dir() else []


def _choices(live: LiveAssistant) -> tuple[list[str], list[str]]:
    """Province and year filter choices, read from the index."""
    docs = live.get().data.documents.values()
    provinces = sorted({d.province for d in docs if d.province})
    years = sorted({y for d in docs for y in d.years}, reverse=True)
    return [ALL, *provinces], [ALL, *(str(y) for y in years)]


def _filters(province: str | None, year: str | None) -> Filters:
    picked = chosen(year)
    return Filters(province=chosen(province), year=int(picked) if picked else None)


def build_app(live: LiveAssistant, settings: Settings):
    """The Blocks app: a chat tab with sources and filters, and a reports tab for administrators."""
    import gradio as gr

    from assistant.build import build_index
    from assistant.store import read_manifest
    from assistant.update import add_reports, remove_reports

    provinces, years = _choices(live)

    def respond(
        message: str,
        history: list[dict[str, Any]],
        context: Context | None,
        province: str,
        year: str,
        k: float,
        mode: str,
        use_llm: bool = False,
    ):
        history = list(history or [])
        try:
            question, _ = clean_question(message or "", settings.max_question_chars)
        except BadQuestion as exc:
            history += [{"role": "user", "content": message or ""}, {"role": "assistant", "content": str(exc)}]
            yield history, context, render_sources(None, {}), ""
            return
        earlier = _turns(history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": THINKING}]
        yield history, context, render_sources(None, {}), ""
        assistant = live.get()
        llm = bool(use_llm) and assistant.llm_available
        resolved = resolve(question, context)
        kwargs = dict(k=int(k), mode=mode, filters=_filters(province, year))
        if llm:
            # The model rewrites follow-ups itself and streams its answer; the checks run at the end.
            tokens: queue.Queue[str | None] = queue.Queue()
            outcome: dict[str, Any] = {}

            def work() -> None:
                try:
                    outcome["answer"] = assistant.ask(
                        question, llm=True, history=earlier if context else (), on_token=tokens.put, **kwargs
                    )
                except AssistantError as exc:
                    outcome["error"] = exc
                finally:
                    tokens.put(None)

            worker = threading.Thread(target=work, daemon=True)
            worker.start()
            partial = ""
            while (token := tokens.get()) is not None:
                partial += token
                history[-1] = {"role": "assistant", "content": partial + " ▌"}
                yield history, context, render_sources(None, {}), ""
            worker.join()
            if "error" in outcome:
                history[-1] = {"role": "assistant", "content": f"Lỗi: {outcome['error']}"}
                yield history, context, render_sources(None, {}), ""
                return
            answer = outcome["answer"]
        else:
            try:
                answer = assistant.ask(question, searched=resolved.searched if resolved.followup else None, **kwargs)
            except AssistantError as exc:
                history[-1] = {"role": "assistant", "content": f"Lỗi: {exc}"}
                yield history, context, render_sources(None, {}), ""
                return
        searched = answer.searched or question
        history[-1] = {"role": "assistant", "content": render_answer(answer)}
        yield history, Context(searched), render_sources(answer, assistant.data.documents), searched

    def new_conversation():
        return [], None, render_sources(None, {}), "", ""

    def ask_api(question: str) -> dict:
        """Answer one question; returns the same JSON as `assistant ask --json`."""
        try:
            return live.get().ask(question).to_dict()
        except BadQuestion as exc:
            return {"question": question, "error": str(exc)}

    def reports_view():
        manifest = read_manifest(settings.index)
        files = [d["file"] for d in manifest["documents"]]
        p, y = _choices(live)
        return (
            render_status(manifest),
            render_reports_table(manifest),
            gr.update(choices=files, value=[]),
            gr.update(choices=p),
            gr.update(choices=y),
            gr.update(choices=report_choices(live)),
        )

    def upload(files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        if not files:
            return ("Chưa chọn tệp nào.", *reports_view())
        uploads = []
        for f in files:
            path = Path(f)
            uploads.append((Path(getattr(f, "orig_name", None) or path.name).name, path.read_bytes()))
        try:
            progress(0, desc="Đang kiểm tra và lập chỉ mục…")
            result = add_reports(settings, uploads, embedder=live.embedder, progress=True)
        except AssistantError as exc:
            return (f"Không thêm được: {exc}", *reports_view())
        lines = [f"Đã thêm: {', '.join(result.added)}"] if result.added else []
        lines += [f"Từ chối {r.file}: {r.reason}" for r in result.rejected]
        return ("\n\n".join(lines) or "Không có tệp nào được thêm.", *reports_view())

    def remove(files: list[str] | None, progress=gr.Progress(track_tqdm=True)):
        if not files:
            return ("Chưa chọn báo cáo nào để xóa.", *reports_view())
        try:
            progress(0, desc="Đang xóa và cập nhật chỉ mục…")
            remove_reports(settings, list(files), embedder=live.embedder, progress=True)
        except AssistantError as exc:
            return (f"Không xóa được: {exc}", *reports_view())
        return (f"Đã xóa: {', '.join(files)}", *reports_view())

    def run_evaluation(picked: str | None, uploaded: str | None, modes: list[str] | None, progress=gr.Progress()):
        from assistant.evalrun import run_eval
        from assistant.evalset import load_evalset
        from assistant.report import report_dir, write_eval_report

        path = Path(uploaded) if uploaded else (Path(picked) if picked else None)
        if path is None:
            return "Hãy chọn hoặc tải lên một bộ câu hỏi.", [], []
        if not modes:
            return "Hãy chọn ít nhất một cách tìm.", [], []
        assistant = live.get()
        try:
            items = load_evalset(path, list(assistant.data.documents.values()))
        except AssistantError as exc:
            return f"Tệp đánh giá có lỗi:\n\n```\n{exc}\n```", [], []
        run = run_eval(
            assistant,
            items,
            modes,
            name=path.stem,
            file=path.name,
            progress=lambda done, total: progress(done / total, desc=f"{done}/{total} câu hỏi"),
        )
        data = run.to_dict()
        paths = write_eval_report(data, report_dir(settings.reports, data["name"]))
        charts = [str(paths[k]) for k in ("metrics_chart", "types_chart", "latency_chart")]
        summary = render_eval_summary(data) + f"\n\nBáo cáo đầy đủ: `{paths['markdown']}`"
        return summary, charts, render_eval_failures(data)

    def rebuild(progress=gr.Progress(track_tqdm=True)):
        try:
            progress(0, desc="Đang lập lại toàn bộ chỉ mục…")
            result = build_index(settings, embedder=live.embedder, progress=True)
        except AssistantError as exc:
            return (f"Không lập lại được chỉ mục: {exc}", *reports_view())
        return (f"Đã lập lại chỉ mục: {result.documents} báo cáo, {result.chunks} đoạn.", *reports_view())

    with gr.Blocks(title="Trợ lý báo cáo") as demo:
        context = gr.State(None)
        gr.Markdown("## Trợ lý hỏi đáp báo cáo\nCâu trả lời chỉ gồm các câu trích nguyên văn từ báo cáo, kèm nguồn.")
        with gr.Sidebar(label="Bộ lọc", open=True):
            province = gr.Dropdown(provinces, value=ALL, label="Tỉnh/thành", elem_id="filter-province")
            year = gr.Dropdown(years, value=ALL, label="Năm", elem_id="filter-year")
            k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Số đoạn tham khảo")
            mode = gr.Radio(MODES, value=settings.mode, label="Cách tìm")
            # Shown only when an endpoint is configured: extractive answers stay the default.
            use_llm = gr.Checkbox(
                False,
                label=f"Trả lời bằng mô hình ngôn ngữ ({settings.llm_model})",
                info="Câu trả lời được kiểm tra; nếu không đạt sẽ dùng câu trích nguyên văn.",
                visible=bool(settings.llm_base_url),
                elem_id="use-llm",
            )
        with gr.Tabs():
            with gr.Tab("Hỏi đáp", id="chat"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label="Hội thoại", height=460, elem_id="chat", feedback_options=None)
                        searched = gr.Textbox(label="Câu hỏi đã tìm", interactive=False, elem_id="searched")
                        box = gr.Textbox(
                            placeholder="Nhập câu hỏi, ví dụ: Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?",
                            label="Câu hỏi",
                            elem_id="question",
                            lines=1,
                            max_lines=4,
                        )
                        with gr.Row():
                            send = gr.Button("Gửi", variant="primary", elem_id="send")
                            clear = gr.Button("Cuộc hội thoại mới", elem_id="new-conversation")
                        gr.Examples(EXAMPLES, inputs=box, label="Câu hỏi mẫu")
                    with gr.Column(scale=2):
                        sources = gr.HTML(render_sources(None, {}), label="Nguồn", elem_id="sources")
            with gr.Tab("Số liệu", id="facts") as facts:
                facts_tab(live, demo, facts)
            with gr.Tab("Báo cáo", id="reports"):
                status = gr.Markdown(elem_id="index-status")
                table = gr.Dataframe(
                    headers=["Tiêu đề", "Tỉnh/thành", "Ngày", "Tệp", "Số đoạn", "Thêm lúc"],
                    interactive=False,
                    elem_id="reports-table",
                    wrap=True,
                    column_widths=["38%", "12%", "10%", "20%", "8%", "12%"],
                )
                with gr.Row():
                    with gr.Column():
                        files = gr.File(
                            file_count="multiple", file_types=UPLOAD_TYPES, label="Thêm báo cáo", elem_id="upload"
                        )
                        add_btn = gr.Button("Thêm vào chỉ mục", variant="primary", elem_id="add-reports")
                    with gr.Column():
                        to_remove = gr.Dropdown(
                            [], multiselect=True, label="Chọn báo cáo cần xóa", elem_id="remove-select"
                        )
                        remove_btn = gr.Button("Xóa báo cáo", variant="stop", elem_id="remove-reports")
                        rebuild_btn = gr.Button("Lập lại toàn bộ chỉ mục", elem_id="rebuild")
                message = gr.Markdown(elem_id="reports-message")
                overview_pick = overview_panel(live)
            with gr.Tab("Đánh giá", id="eval"):
                gr.Markdown("Chạy một bộ câu hỏi có đáp án (định dạng như `evals/seed.jsonl`) và xem kết quả.")
                with gr.Row():
                    eval_pick = gr.Dropdown(eval_files(), label="Bộ câu hỏi có sẵn", elem_id="eval-file")
                    eval_upload = gr.File(file_count="single", file_types=[".jsonl"], label="Hoặc tải lên tệp .jsonl")
                    eval_modes = gr.CheckboxGroup(
                        [m for m in MODES], value=["hybrid"], label="Cách tìm cần so sánh", elem_id="eval-modes"
                    )
                eval_btn = gr.Button("Chạy đánh giá", variant="primary", elem_id="run-eval")
                eval_summary = gr.Markdown(elem_id="eval-summary")
                eval_charts = gr.Gallery(
                    label="Biểu đồ", columns=3, height=320, object_fit="contain", elem_id="eval-charts"
                )
                eval_failures = gr.Dataframe(
                    headers=["Cách tìm", "Mã", "Loại", "Câu hỏi", "Đáp án", "Trả lời", "Lý do"],
                    interactive=False,
                    wrap=True,
                    label="Câu hỏi chưa đạt",
                    elem_id="eval-failures",
                )

        inputs = [box, chatbot, context, province, year, k, mode, use_llm]
        outputs = [chatbot, context, sources, searched]
        send.click(respond, inputs, outputs, api_visibility="private").then(
            lambda: "", None, box, api_visibility="private"
        )
        box.submit(respond, inputs, outputs, api_visibility="private").then(
            lambda: "", None, box, api_visibility="private"
        )
        clear.click(new_conversation, None, [chatbot, context, sources, searched, box], api_visibility="private")
        view = [status, table, to_remove, province, year, overview_pick]
        demo.load(reports_view, None, view, api_visibility="private")
        add_btn.click(upload, files, [message, *view], api_visibility="private").then(
            lambda: None, None, files, api_visibility="private"
        )
        remove_btn.click(remove, to_remove, [message, *view], api_visibility="private")
        rebuild_btn.click(rebuild, None, [message, *view], api_visibility="private")
        eval_btn.click(
            run_evaluation,
            [eval_pick, eval_upload, eval_modes],
            [eval_summary, eval_charts, eval_failures],
            api_visibility="private",
        )
        gr.api(ask_api, api_name="ask")
    return demo


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_credentials(environ: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """Login pairs from $ASSISTANT_AUTH ("user:password", several separated by commas) or
    from the file named by $ASSISTANT_AUTH_FILE (one "user:password" per line)."""
    env = os.environ if environ is None else environ
    entries: list[str] = []
    if env.get("ASSISTANT_AUTH"):
        entries += env["ASSISTANT_AUTH"].split(",")
    if env.get("ASSISTANT_AUTH_FILE"):
        path = Path(env["ASSISTANT_AUTH_FILE"])
        try:
            entries += path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BadSettings(f"Cannot read the login file {path}: {exc.strerror}") from None
    pairs = []
    for entry in entries:
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            raise BadSettings("Each login must be written user:password (in ASSISTANT_AUTH or ASSISTANT_AUTH_FILE).")
        pairs.append((user, password))
    return pairs


def required_login(settings: Settings) -> list[tuple[str, str]]:
    """The logins to serve with; refuses a non-loopback address without any.

    Raises:
        BadSettings: a non-loopback address without credentials.
    """
    credentials = load_credentials()
    if not _is_loopback(settings.host) and not credentials:
        raise BadSettings(
            f"Serving on {settings.host} makes the chat reachable from other machines: set a login first "
            "with ASSISTANT_AUTH=user:password or ASSISTANT_AUTH_FILE=/path/to/logins."
        )
    return credentials


def serve(settings: Settings, live: LiveAssistant | None = None, block: bool = True):
    """Start the web chat. Binds 127.0.0.1 unless told otherwise; any other address needs a login.

    Returns the running Blocks app (with block=False; call .close() to stop it).

    Raises:
        BadSettings: a non-loopback address without credentials.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    credentials = required_login(settings)
    live = live or LiveAssistant(settings)
    demo = build_app(live, settings)
    demo.queue(default_concurrency_limit=4)
    demo.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        auth=credentials or None,
        auth_message="Đăng nhập để dùng trợ lý báo cáo.",
        max_file_size=f"{int(settings.max_file_mb)}mb",
        footer_links=["api"],
        prevent_thread_lock=not block,
        quiet=True,
        css=CSS,
        theme="default",
    )
    return demo
