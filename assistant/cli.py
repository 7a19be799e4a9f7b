"""The `assistant` command: a thin face over the library. Heavy imports happen inside commands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import AssistantError

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 2, 64


def _settings(args: argparse.Namespace, **extra: Any):
    from .config import load_settings

    return load_settings(
        config_file=getattr(args, "config", None),
        index=getattr(args, "index", None),
        corpus=getattr(args, "corpus", None),
        backend=getattr(args, "backend", None),
        milvus_uri=getattr(args, "milvus_uri", None),
        **extra,
    )


def _print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def _read_jsonl(path: str) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, object or None, error or None) for each non-empty line; '-' reads stdin."""
    fh = sys.stdin if path == "-" else open(path, encoding="utf-8-sig")  # noqa: SIM115
    try:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, None, f"line {number}: not valid JSON ({exc.msg})"
                continue
            if not isinstance(obj, dict):
                yield number, None, f"line {number}: not a JSON object"
                continue
            yield number, obj, None
    finally:
        if fh is not sys.stdin:
            fh.close()


# -- index ---------------------------------------------------------------------------------


def cmd_index_build(args: argparse.Namespace) -> int:
    """Build the index from the corpus folder (a full rebuild)."""
    from .build import build_index

    settings = _settings(args)
    print(f"Đang lập chỉ mục từ {settings.corpus} ...", file=sys.stderr)
    result = build_index(settings)
    print(result.summary())
    return EXIT_OK


def cmd_index_status(args: argparse.Namespace) -> int:
    """Show what the index holds: model, settings, reports and chunks."""
    from .store import current_version_dir, read_manifest

    settings = _settings(args)
    manifest = read_manifest(settings.index)
    backend = dict(manifest.get("backend", {"name": "local"}))
    if backend["name"] == "milvus":
        from .milvus.collection import ChunkCollection

        backend["uri"] = settings.resolved_milvus_uri()
        collection = ChunkCollection(settings, backend["collection"])
        backend["milvus_chunks"] = collection.count() if collection.exists() else None
    if args.json:
        _print_json({**manifest, "backend": backend, "path": str(current_version_dir(settings.index))})
        return EXIT_OK
    print(f"Chỉ mục: {current_version_dir(settings.index)}")
    if backend["name"] == "milvus":
        print(
            f"Truy hồi: Milvus {backend['uri']}, collection {backend['collection']} "
            f"({backend['milvus_chunks'] if backend['milvus_chunks'] is not None else 'chưa có'} đoạn)"
        )
    print(f"Mô hình: {manifest['embedder']['id']} ({manifest['embedder']['dim']} chiều)")
    print(f"Lập lúc: {manifest.get('built_at')}")
    print(f"Số báo cáo: {len(manifest['documents'])}, số đoạn: {manifest['chunk_count']}")
    for d in manifest["documents"]:
        print(f"  - {d['file']}: {d['title'][:70]} [{d.get('province') or '?'}] ({len(d['chunks'])} đoạn)")
    for s in manifest.get("skipped", []):
        print(f"  bỏ qua {s['file']}: {s['reason']}")
    return EXIT_OK


def cmd_index_update(args: argparse.Namespace) -> int:
    """Update the index from the corpus folder: embed only new or changed reports."""
    from .update import update_index

    print(update_index(_settings(args)).summary())
    return EXIT_OK


def cmd_index_add(args: argparse.Namespace) -> int:
    """Copy report files into the corpus and add them to the index."""
    from .update import add_reports

    settings = _settings(args)
    uploads = []
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            print(f"Lỗi: không tìm thấy tệp {name}", file=sys.stderr)
            return EXIT_ERROR
        uploads.append((path.name, path.read_bytes()))
    result = add_reports(settings, uploads)
    for name in result.added:
        print(f"Đã thêm: {name}")
    for bad in result.rejected:
        print(f"Từ chối {bad.file}: {bad.reason}")
    if result.update:
        print(result.update.summary())
    return EXIT_OK if result.added or not result.rejected else EXIT_ERROR


def cmd_index_remove(args: argparse.Namespace) -> int:
    """Remove reports (file names as listed by `index status`) from the corpus and the index."""
    from .update import remove_reports

    print(remove_reports(_settings(args), args.files).summary())
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the web chat (builds the index from the corpus first if there is none)."""
    import os

    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import importlib
    import threading

    from .build import build_index
    from .errors import IndexNotFound
    from .service import LiveAssistant
    from .store import read_manifest

    # Importing gradio takes ~4 s: do it while the index and model load.
    importer = threading.Thread(target=importlib.import_module, args=("gradio",), daemon=True)
    importer.start()
    settings = _settings(args, host=args.host, port=args.port)
    settings = settings.with_(query_engine=settings.serve_query_engine)
    from ui.app import required_login

    required_login(settings)  # refuse an exposed address without a login before anything is loaded or printed
    try:
        read_manifest(settings.index)
    except IndexNotFound:
        print(f"Chưa có chỉ mục: đang lập chỉ mục từ {settings.corpus} ...", file=sys.stderr)
        print(build_index(settings).summary(), file=sys.stderr)
    live = LiveAssistant(settings)
    live.get().retriever.embed("khởi động")  # load the question engine now, not on the first question
    importer.join()
    from ui.app import serve

    print(f"Trợ lý báo cáo: http://{settings.host}:{settings.port}  (Ctrl+C để dừng)", file=sys.stderr)
    serve(settings, live=live)
    return EXIT_OK


# -- ask / search --------------------------------------------------------------------------


def _filters(args: argparse.Namespace):
    from .retrieve import Filters

    return Filters(province=args.province, year=args.year, file=args.file)


def format_answer(answer) -> str:
    """Readable Vietnamese text for one Answer: the short answer first when there is one, and for a near miss
    the caveat after the answer line, with the nearest quote under "Nguồn:"."""
    from .answer import remarks
    from .facts_query import vn_number

    lines = [f"Câu hỏi: {answer.question}", *(f"({r})" for r in remarks(answer)), f"Trả lời: {answer.answer}"]
    if answer.table:
        for r in answer.table["rows"]:
            shown = "không có số liệu" if r["value"] is None else f"{vn_number(r['value'])} {r['unit']} [{r['n']}]"
            lines.append(f"  {r['province']}{' ' + str(r['year']) if r['year'] else ''}: {shown}")
    span = answer.answer_span
    if span is not None and not answer.abstained and span.text.strip():
        lines.insert(0, f"Trả lời ngắn: {' '.join(span.text.split())} [{span.n}]")
    if answer.caveat:
        lines.append(answer.caveat)
    if answer.citations:
        lines.append("")
        lines.append("Nguồn:")
        for c in answer.citations:
            where = ", ".join(x for x in (c.province, c.date) if x)
            lines.append(f"[{c.n}] {c.title}" + (f" — {where}" if where else ""))
            lines.append(f"    Tệp {c.file}, ký tự {c.start}–{c.end}")
            lines.append(f"    “{c.quote}”")
    elif answer.passages:
        lines.append("")
        lines.append("Các đoạn gần nhất:")
        for h in answer.passages[:3]:
            snippet = h.chunk.text[:200].replace("\n", " ")
            lines.append(f"  {h.rank}. {h.chunk.title} ({h.chunk.file}): {snippet}…")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question (or a JSONL batch) with verbatim, cited quotes."""
    from .errors import BadQuestion
    from .service import Assistant

    if not args.jsonl and args.question is None:
        print(
            'Lỗi: hãy nhập câu hỏi, ví dụ: assistant ask "Bắc Giang tổ chức bao nhiêu hội nghị năm 2023?"',
            file=sys.stderr,
        )
        return EXIT_USAGE
    settings = _settings(args)
    if args.llm and not settings.llm_base_url:
        print(
            "Lỗi: --llm cần máy chủ mô hình: đặt ASSISTANT_LLM_BASE_URL (và ASSISTANT_LLM_MODEL, "
            "ASSISTANT_LLM_API_KEY nếu cần).",
            file=sys.stderr,
        )
        return EXIT_ERROR
    assistant = Assistant.load(settings)
    filters = _filters(args)
    if args.jsonl:
        for number, obj, error in _read_jsonl(args.jsonl):
            qid = str(obj.get("id", number)) if obj else str(number)
            if error:
                _print_json({"id": qid, "error": error})
                continue
            question = obj.get("question", obj.get("text"))
            try:
                answer = assistant.ask(
                    question if isinstance(question, str) else "",
                    k=args.k,
                    mode=args.mode,
                    filters=filters,
                    qid=qid,
                    llm=args.llm,
                )
                _print_json(answer.to_dict())
            except BadQuestion as exc:
                _print_json({"id": qid, "question": question, "error": str(exc)})
            sys.stdout.flush()
        return EXIT_OK
    answer = assistant.ask(args.question, k=args.k, mode=args.mode, filters=filters, llm=args.llm)
    if args.json:
        _print_json(answer.to_dict())
    else:
        print(format_answer(answer))
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    """Retrieve passages only (no answer); --jsonl takes {"id","question"} or BEIR {"_id","text"} lines."""
    from .errors import BadQuestion
    from .service import Assistant

    if not args.jsonl and args.query is None:
        print("Lỗi: hãy nhập nội dung cần tìm.", file=sys.stderr)
        return EXIT_USAGE
    settings = _settings(args)
    assistant = Assistant.load(settings)
    filters = _filters(args)

    def run(qid: str | None, query: str) -> dict[str, Any]:
        hits = assistant.search(query, k=args.k, mode=args.mode, filters=filters)
        return {"id": qid, "query": query, "passages": [h.to_dict() for h in hits]}

    if args.jsonl:
        for number, obj, error in _read_jsonl(args.jsonl):
            qid = str(obj.get("id", obj.get("_id", number))) if obj else str(number)
            if error:
                _print_json({"id": qid, "error": error})
                continue
            query = obj.get("question", obj.get("text"))
            try:
                _print_json(run(qid, query if isinstance(query, str) else ""))
            except BadQuestion as exc:
                _print_json({"id": qid, "query": query, "error": str(exc)})
            sys.stdout.flush()
        return EXIT_OK
    result = run(None, args.query)
    if args.json:
        _print_json(result)
        return EXIT_OK
    for p in result["passages"]:
        print(f"{p['rank']}. [{p['score']:.4f}] {p['title']} ({p['file']}, ký tự {p['start']}–{p['end']})")
        print("   " + p["text"][:300].replace("\n", " ") + ("…" if len(p["text"]) > 300 else ""))
    return EXIT_OK


def cmd_facts(args: argparse.Namespace) -> int:
    """List the figures (or, with --people / --events, the people or the dated events) read from the reports,
    with their quotes."""
    from .errors import IndexCorrupt
    from .facts import FACTS_FILE, FactStore
    from .facts_query import EVENT_COLUMNS, PEOPLE_COLUMNS, QUANTITY_COLUMNS, amount, csv_text
    from .store import current_version_dir, read_manifest

    settings = _settings(args)
    read_manifest(settings.index)
    path = current_version_dir(settings.index) / FACTS_FILE
    if not path.is_file():
        raise IndexCorrupt(f"Index at {settings.index}/ holds no facts. Run: assistant index build")
    store = FactStore(path)
    if args.people:
        rows, columns = store.people(args.province), PEOPLE_COLUMNS
    elif args.events:
        rows, columns = store.events(args.province), EVENT_COLUMNS
    else:
        rows, columns = store.quantities(args.subject or "", args.province, args.year), QUANTITY_COLUMNS
    if args.json:
        for row in rows:
            d = row.to_dict()
            _print_json({k: d[k] for k in columns})
    elif args.csv:
        sys.stdout.write(csv_text(rows, columns))
    else:
        if not rows:
            print("Không có số liệu nào khớp.")
        for row in rows:
            if args.people:
                print(f"{row.province or '?'}: {row.name}" + (f" — {row.role}" if row.role else ""))
            elif args.events:
                print(f"{row.province or '?'} {row.date}: {row.what}" + (f" — tại {row.place}" if row.place else ""))
            else:
                print(f"{row.province or '?'} {row.year or ''}: {amount(row)} {row.subject}")
            print(f"    “{row.quote}” ({row.file}, ký tự {row.start}–{row.end})")
    return EXIT_OK


# -- evaluation ----------------------------------------------------------------------------


def _print_summary_table(metrics: dict[str, dict[str, float]], keys: list[str]) -> None:
    modes = list(metrics)
    print(f"{'metric':22s}" + "".join(f"{m:>10s}" for m in modes))
    for key in keys:
        print(f"{key:22s}" + "".join(f"{metrics[m][key]:10.3f}" for m in modes))


def _check_floors(floors_file: str, metrics: dict[str, dict[str, float]]) -> bool:
    """Each figure against its floor (a number) or its ceiling ({"max": number})."""
    floors = json.loads(Path(floors_file).read_text(encoding="utf-8"))
    passed = failed = 0
    print(f"\nFloors ({floors_file}):")
    for mode, wanted in floors.items():
        for key, floor in wanted.items():
            value = metrics.get(mode, {}).get(key)
            ceiling = isinstance(floor, dict)
            limit = floor["max"] if ceiling else floor
            good = value is not None and (value <= limit if ceiling else value >= limit)
            passed, failed = passed + good, failed + (not good)
            shown = "missing" if value is None else f"{value:.3f}"
            print(
                f"  {'ok  ' if good else 'FAIL'} {mode} {key} = {shown} ({'ceiling' if ceiling else 'floor'} {limit})"
            )
    print(f"floors: {passed} passed, {failed} failed")
    return failed == 0


def _eval_answers_bench(args: argparse.Namespace) -> int:
    """A BEIR folder with answers.jsonl: answer containment, abstentions and length, beside the baseline."""
    from .beir import load_answers, load_benchmark, prepare, score_answers
    from .report import report_dir

    settings = _settings(args)
    folder = Path(args.file)
    bench = load_benchmark(folder)
    answers = load_answers(folder)
    assistant, built = prepare(settings, folder)

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} questions", end="", file=sys.stderr, flush=True)

    result = score_answers(assistant, bench, answers, progress=progress)
    print(file=sys.stderr)
    summary = result["summary"]
    out = report_dir(Path(args.out), f"answers-{bench.name}")
    (out / "report.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{bench.name}: {summary['assistant']['questions']} questions ({'index built' if built else 'index reused'})")
    keys = ["containment", "abstained", "mean_chars"]
    print(f"{'metric':22s}{'assistant':>12s}{'baseline':>12s}")
    for key in keys:
        print(f"{key:22s}{summary['assistant'][key]:12.3f}{summary['baseline'][key]:12.3f}")
    for key in ("recall@1", "latency_p50_ms", "latency_p95_ms"):
        print(f"{key:22s}{summary['assistant'][key]:12.3f}")
    missed = [r for r in result["questions"] if not r["holds"]]
    print(f"\n{len(missed)} answer(s) without a gold string (first 10):")
    for r in missed[:10]:
        print(f"  {r['id']} {'[abstained] ' if r['abstained'] else ''}{r['question']}  gold: {r['gold'][:2]}")
    print(f"\nReport: {out / 'report.json'}")
    if args.floors and not _check_floors(args.floors, {"answers": summary["assistant"]}):
        return 1
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation set (id, question, type, answer, must_contain, sources), or a BEIR folder with
    answers.jsonl, and write a report with the overlap baseline beside the figures."""
    from .evalrun import compare_runs, run_eval
    from .evalset import load_evalset
    from .report import HEADLINE, report_dir, write_eval_report
    from .service import Assistant

    if Path(args.file).is_dir():
        return _eval_answers_bench(args)
    settings = _settings(args)
    assistant = Assistant.load(settings)
    items = load_evalset(Path(args.file), list(assistant.data.documents.values()))
    modes = args.mode or ["hybrid", "dense", "bm25"]

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} questions", end="", file=sys.stderr, flush=True)

    if args.llm and not settings.llm_base_url:
        print("Lỗi: --llm cần ASSISTANT_LLM_BASE_URL.", file=sys.stderr)
        return EXIT_ERROR
    run = run_eval(
        assistant, items, modes, name=args.name or Path(args.file).stem, file=args.file, progress=progress, llm=args.llm
    )
    print(file=sys.stderr)
    data = run.to_dict()
    flips = compare_runs(data, json.loads(Path(args.compare).read_text(encoding="utf-8"))) if args.compare else None
    out = report_dir(Path(args.out), data["name"])
    paths = write_eval_report(data, out, flips)
    metrics = {m: data["modes"][m]["summary"] for m in modes}
    _print_summary_table(
        metrics, [*HEADLINE, *(["fallback_rate"] if args.llm else []), "latency_total_p50", "latency_total_p95"]
    )
    for m in modes:
        failed = [q for q in data["modes"][m]["questions"] if not q["passed"]]
        print(f"\n{m}: {len(failed)} question(s) failed")
        for q in failed:
            print(f"  {q['id']} [{q['type']}] {q['reason']}: {q['question']}")
    if flips is not None:
        print(f"\nChanged since {args.compare}: {len(flips)}")
        for f in flips:
            print(f"  {f['mode']} {f['id']} {f['change']}: {f['question']}")
    print(f"\nReport: {paths['markdown']}")
    if args.floors and not _check_floors(args.floors, metrics):
        return 1
    return EXIT_OK


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    """Score retrieval on a BEIR-style folder (corpus.jsonl, queries.jsonl, qrels.tsv), per mode."""
    from .beir import load_benchmark, prepare, score
    from .report import RETRIEVAL, report_dir, write_retrieval_report

    settings = _settings(args)
    folder = Path(args.bench)
    bench = load_benchmark(folder)
    assistant, built = prepare(settings, folder)
    modes = args.mode or ["hybrid", "dense", "bm25"]
    metrics = score(assistant, bench, modes, k=10)
    meta = {
        "folder": str(folder),
        "queries": len(bench.queries),
        "documents": len(assistant.data.documents),
        "chunks": len(assistant.data.chunks),
        "index": str(assistant.settings.index),
        "index_built_now": built,
        "embedder": assistant.data.manifest["embedder"]["id"],
    }
    out = report_dir(Path(args.out), f"retrieval-{bench.name}")
    paths = write_retrieval_report(bench.name, meta, metrics, out)
    print(
        f"{bench.name}: {len(bench.queries)} queries, {meta['documents']} documents "
        f"({'index built' if built else 'index reused'}: {meta['index']})"
    )
    _print_summary_table(metrics, [*RETRIEVAL, "latency_p50_ms", "latency_p95_ms"])
    print(f"\nReport: {paths['markdown']}")
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index", help="index folder (default: index/, or $ASSISTANT_INDEX)")
    p.add_argument("--corpus", help="corpus folder (default: corpus/, or $ASSISTANT_CORPUS)")
    p.add_argument("--config", help="TOML settings file (default: $ASSISTANT_CONFIG or ./assistant.toml)")
    p.add_argument(
        "--backend", choices=["local", "milvus"], help="where retrieval runs (default: local, or $ASSISTANT_BACKEND)"
    )
    p.add_argument(
        "--milvus-uri",
        help="a .db file (embedded milvus-lite) or http://host:19530 (default: index/milvus.db; $ASSISTANT_MILVUS_URI)",
    )


def _retrieval_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--k", type=int, default=None, help="number of passages")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default=None)
    p.add_argument("--province", default=None, help="only reports of this province")
    p.add_argument("--year", type=int, default=None, help="only reports covering this year")
    p.add_argument("--file", default=None, help="only this report file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Hỏi đáp có trích dẫn trên các báo cáo tiếng Việt (offline).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    index = sub.add_parser("index", help="build or inspect the index")
    index_sub = index.add_subparsers(dest="index_command", metavar="ACTION")
    p = index_sub.add_parser("build", help=cmd_index_build.__doc__, description=cmd_index_build.__doc__)
    _common(p)
    p.set_defaults(func=cmd_index_build)
    p = index_sub.add_parser("status", help=cmd_index_status.__doc__, description=cmd_index_status.__doc__)
    _common(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_index_status)

    for name, func in (("update", cmd_index_update), ("add", cmd_index_add), ("remove", cmd_index_remove)):
        p = index_sub.add_parser(name, help=func.__doc__, description=func.__doc__)
        if name != "update":
            p.add_argument("files", nargs="+", metavar="FILE")
        _common(p)
        p.set_defaults(func=func)

    p = sub.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1; others need a login)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860)")
    _common(p)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("ask", help=cmd_ask.__doc__, description=cmd_ask.__doc__)
    p.add_argument("question", nargs="?", help="the question, in Vietnamese")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--jsonl", metavar="FILE", help='batch: lines {"id","question"}; "-" reads stdin')
    p.add_argument("--llm", action="store_true", help="answer with the configured LLM (checked; extractive fallback)")
    _retrieval_options(p)
    _common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help=cmd_eval.__doc__, description=cmd_eval.__doc__)
    p.add_argument("file", help="evaluation set (.jsonl), e.g. evals/seed.jsonl, or a BEIR folder with answers.jsonl")
    p.add_argument("--mode", action="append", choices=["hybrid", "dense", "bm25"], help="repeat for several")
    p.add_argument("--name", default=None, help="report name (default: the file name)")
    p.add_argument("--out", default="evals/reports", help="where reports go")
    p.add_argument("--compare", default=None, metavar="PREVIOUS.json", help="list questions that flipped")
    p.add_argument("--floors", default=None, metavar="FLOORS.json", help="fail (exit 1) below these figures")
    p.add_argument("--llm", action="store_true", help="answer with the configured LLM; reports the fallback rate")
    _common(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("eval-retrieval", help=cmd_eval_retrieval.__doc__, description=cmd_eval_retrieval.__doc__)
    p.add_argument("bench", help="folder with corpus.jsonl, queries.jsonl, qrels.tsv")
    p.add_argument("--mode", action="append", choices=["hybrid", "dense", "bm25"])
    p.add_argument("--out", default="evals/reports")
    _common(p)
    p.set_defaults(func=cmd_eval_retrieval)

    p = sub.add_parser("facts", help=cmd_facts.__doc__, description=cmd_facts.__doc__)
    p.add_argument("subject", nargs="?", default="", help='what was counted, e.g. "lớp bồi dưỡng" (accents optional)')
    p.add_argument("--province", default=None)
    p.add_argument("--year", type=int, default=None)
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--people", action="store_true", help="people and their roles instead of figures")
    kind.add_argument("--events", action="store_true", help="dated events (what, date, place) instead of figures")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="one JSON object per line")
    fmt.add_argument("--csv", action="store_true")
    _common(p)
    p.set_defaults(func=cmd_facts)

    p = sub.add_parser("search", help=cmd_search.__doc__, description=cmd_search.__doc__)
    p.add_argument("query", nargs="?")
    p.add_argument("--json", action="store_true")
    p.add_argument("--jsonl", metavar="FILE")
    _retrieval_options(p)
    _common(p)
    p.set_defaults(func=cmd_search)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except AssistantError as exc:
        print(f"Lỗi: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("Đã dừng.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"Lỗi: không đọc được {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
