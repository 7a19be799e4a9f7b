"""The `assistant` command, run as a real process against the real seed index."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import BAC_GIANG, DESIGN_QUESTION, ROOT

pytestmark = pytest.mark.slow

ASK_FIELDS = {"id", "question", "answer", "abstained", "citations", "passages", "timings_ms"}
CITATION_FIELDS = {"n", "doc_id", "file", "title", "province", "quote", "start", "end", "score"}
PASSAGE_FIELDS = {"rank", "doc_id", "file", "chunk_id", "title", "text", "start", "end", "score"}


def run(*args: str, index=None, stdin: str | None = None, env_extra: dict | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(env_extra or {})
    if index is not None:
        env["ASSISTANT_INDEX"] = str(index)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def test_ask_json_contract(seed_settings):
    proc = run("ask", DESIGN_QUESTION, "--json", index=seed_settings.index)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) >= ASK_FIELDS
    assert set(result["citations"][0]) == CITATION_FIELDS
    assert set(result["passages"][0]) >= PASSAGE_FIELDS
    assert set(result["timings_ms"]) >= {"retrieve", "answer", "total"}
    assert result["citations"][0]["file"] == BAC_GIANG and not result["abstained"]


def test_ask_plain_text_for_people(seed_settings):
    proc = run("ask", DESIGN_QUESTION, index=seed_settings.index)
    assert proc.returncode == 0
    assert "Trả lời:" in proc.stdout and "Nguồn:" in proc.stdout and "gần 150 hội nghị" in proc.stdout


def test_index_and_corpus_options_override_the_environment(seed_settings, tmp_path):
    proc = run("ask", DESIGN_QUESTION, "--json", "--index", str(seed_settings.index), index=tmp_path / "wrong")
    assert proc.returncode == 0 and json.loads(proc.stdout)["citations"]


@pytest.mark.parametrize("question", ["", "   ", "?!"])
def test_ask_bad_question_is_a_message_not_a_traceback(seed_settings, question):
    proc = run("ask", question, index=seed_settings.index)
    assert proc.returncode == 2
    assert "Lỗi:" in proc.stderr and "Traceback" not in proc.stderr


def test_ask_without_index_says_what_to_run(tmp_path):
    proc = run("ask", DESIGN_QUESTION, index=tmp_path / "none")
    assert proc.returncode == 2 and "assistant index build" in proc.stderr and "Traceback" not in proc.stderr


def test_ask_jsonl_batch_keeps_order_and_reports_bad_lines(seed_settings, tmp_path):
    batch = tmp_path / "q.jsonl"
    batch.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "question": DESIGN_QUESTION}, ensure_ascii=False),
                "{broken",
                json.dumps({"id": "c", "question": "   "}),
                json.dumps({"id": "d", "question": "Giá vàng hôm nay là bao nhiêu?"}, ensure_ascii=False),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    proc = run("ask", "--jsonl", str(batch), index=seed_settings.index)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "2", "c", "d"]
    assert not rows[0]["abstained"] and "error" in rows[1] and "error" in rows[2] and rows[3]["abstained"]


def test_search_json_and_beir_jsonl(seed_settings, tmp_path):
    proc = run("search", "hội nghị Bắc Giang", "--json", "--k", "3", index=seed_settings.index)
    result = json.loads(proc.stdout)
    assert len(result["passages"]) == 3 and set(result["passages"][0]) >= PASSAGE_FIELDS
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        json.dumps({"_id": "q1", "text": DESIGN_QUESTION}, ensure_ascii=False)
        + "\n"
        + json.dumps({"id": "q2", "question": "Lai Châu"}, ensure_ascii=False)
        + "\n",
        encoding="utf-8",
    )
    proc = run("search", "--jsonl", str(queries), "--k", "2", index=seed_settings.index)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2"] and all(len(r["passages"]) == 2 for r in rows)


def test_index_build_skips_a_binary_file_with_a_message(small_corpus, tmp_path):
    (small_corpus / "scan.txt").write_bytes(b"\x00\xff\x00\xfe" * 100)
    index = tmp_path / "idx"
    proc = run("index", "build", "--corpus", str(small_corpus), "--index", str(index))
    assert proc.returncode == 0, proc.stderr
    assert "Indexed 2 report(s)" in proc.stdout and "scan.txt: binary file" in proc.stdout
    status = run("index", "status", "--json", "--index", str(index))
    manifest = json.loads(status.stdout)
    assert len(manifest["documents"]) == 2 and manifest["skipped"][0]["file"] == "scan.txt"


def test_help_lists_the_commands():
    proc = run("--help")
    assert proc.returncode == 0 and all(cmd in proc.stdout for cmd in ("index", "ask", "search"))


def test_very_long_question_is_truncated_with_a_notice(seed_settings):
    proc = run("ask", "Lai Châu mở bao nhiêu lớp? " + "a " * 6000, index=seed_settings.index)
    assert proc.returncode == 0 and "Câu hỏi quá dài" in proc.stdout


# format_answer on literal records (offsets into LAI_CHAU_TEXT, checked in the first test).
LAI_CHAU_TEXT = (
    "Báo cáo của Lai Châu.\nNăm 2022, toàn tỉnh mở 211 lớp/12.029 học viên bồi dưỡng lý luận chính trị.\nHết."
)
QUOTE = "Năm 2022, toàn tỉnh mở 211 lớp/12.029 học viên bồi dưỡng lý luận chính trị."
CAVEAT = "Báo cáo của Lai Châu (năm 2022) không nêu số liệu năm 2023. Gần nhất: [1]"
SOURCES = [
    "Nguồn:",
    "[1] Lai Châu: bồi dưỡng chính trị — Lai Châu",
    "    Tệp lc.txt, ký tự 22–97",
    f"    “{QUOTE}”",
]


def _records():
    from assistant.records import AnswerSpan, Citation, Document

    doc = Document("lc", "lc.txt", "Lai Châu: bồi dưỡng chính trị", LAI_CHAU_TEXT, province="Lai Châu")
    cite = Citation(1, "lc", "lc.txt", "Lai Châu: bồi dưỡng chính trị", "Lai Châu", QUOTE, 22, 97, 0.9)
    span = AnswerSpan(1, 45, 68, "211 lớp/12.029 học viên")
    assert doc.text[cite.start : cite.end] == cite.quote and doc.text[span.start : span.end] == span.text
    return cite, span


def test_format_answer_prints_the_short_answer_first():
    from assistant.cli import format_answer
    from assistant.records import Answer

    cite, span = _records()
    question = "Lai Châu mở bao nhiêu lớp năm 2022?"
    answer = Answer(question, f"{QUOTE} [1]", False, (cite,), answer_span=span)
    rest = [f"Câu hỏi: {question}", f"Trả lời: {QUOTE} [1]", "", *SOURCES]
    assert format_answer(answer).splitlines() == ["Trả lời ngắn: 211 lớp/12.029 học viên [1]", *rest]
    # Without a span, nothing is added.
    assert format_answer(Answer(question, f"{QUOTE} [1]", False, (cite,))).splitlines() == rest


def test_format_answer_prints_the_caveat_and_the_nearest_quote():
    from assistant.answer import NOT_FOUND
    from assistant.cli import format_answer
    from assistant.records import Answer

    cite, _ = _records()
    question = "Lai Châu mở bao nhiêu lớp năm 2023?"
    answer = Answer(question, NOT_FOUND, True, (cite,), caveat=CAVEAT)
    assert format_answer(answer).splitlines() == [f"Câu hỏi: {question}", f"Trả lời: {NOT_FOUND}", CAVEAT, "", *SOURCES]
