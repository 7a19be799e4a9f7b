"""End to end in a real browser: Debian's Chromium driven by Playwright against the served chat.

Screenshots are saved in tests/artifacts/ (kept by CI as evidence of what the page showed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import DESIGN_QUESTION, LAI_CHAU

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEW_REPORT = (
    "Cao Bằng: tổng kết công tác báo chí năm 2023\n\n"
    "Năm 2023, Ban Tuyên giáo Tỉnh ủy Cao Bằng tổ chức 7 lớp bồi dưỡng nghiệp vụ cho 315 phóng viên, biên tập viên "
    "của các cơ quan báo chí trong tỉnh.\n\n"
    "Các lớp học tập trung vào kỹ năng làm báo đa phương tiện và phòng, chống tin giả trên mạng xã hội."
)


@pytest.fixture(scope="module")
def page(served_app):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run `apt-get install -y chromium` (run.sh test does it).")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    url, _ = served_app
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        outside: list[str] = []
        page.on(
            "request", lambda r: None if r.url.startswith(url) or r.url.startswith("data:") else outside.append(r.url)
        )
        page.goto(url, wait_until="load")
        page.locator("#question textarea").wait_for(timeout=30000)
        page.outside_requests = outside
        yield page
        browser.close()


def new_conversation(page) -> None:
    """Start over, and wait until the chat is really empty: typing before the reset lands would lose the text."""
    page.locator("#new-conversation").click()
    page.wait_for_function(
        "() => document.querySelector('#chat').innerText.replace('Hội thoại', '').trim().length === 0",
        timeout=60000,
    )


def ask(page, question: str, expect_in_sources: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "([t]) => { const s = document.querySelector('#sources'); return s && s.innerText.includes(t); }",
        arg=[expect_in_sources],
        timeout=60000,
    )


def test_design_question_shows_the_highlighted_bac_giang_quote(page):
    ask(page, DESIGN_QUESTION, "Bắc Giang")
    mark = page.locator("#sources mark.quote").first
    mark.wait_for()
    assert "gần 40 hội nghị thông tin chuyên đề" in mark.inner_text()
    assert "gần 150 hội nghị" in page.locator("#chat").inner_text()
    page.screenshot(path=str(ARTIFACTS / "1-design-question.png"), full_page=True)


def test_follow_up_cites_lai_chau(page):
    ask(page, "Còn Lai Châu thì sao?", LAI_CHAU)
    assert page.locator("#searched textarea").input_value() == "Lai Châu tổ chức bao nhiêu hội nghị năm 2023?"
    assert "Tỉnh/thành: Lai Châu" in page.locator("#sources .source").first.inner_text()
    page.screenshot(path=str(ARTIFACTS / "2-follow-up.png"), full_page=True)


def test_a_bad_question_gets_a_message_in_the_chat(page):
    new_conversation(page)
    box = page.locator("#question textarea")
    box.fill("😀😀😀")
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#chat').innerText.includes('không có chữ hoặc số')", timeout=60000
    )


def test_upload_ask_and_remove_a_new_report(page, served_app, tmp_path):
    _, settings = served_app
    report = tmp_path / "cao-bang-bao-chi-2023.txt"
    report.write_text(NEW_REPORT, encoding="utf-8")

    page.get_by_role("tab", name="Báo cáo").click()
    page.locator("#upload input[type=file]").set_input_files(str(report))
    page.locator("#add-reports").click()
    page.wait_for_function(
        "() => document.querySelector('#reports-message')?.innerText.includes('Đã thêm')", timeout=300000
    )
    assert "cao-bang-bao-chi-2023.txt" in page.locator("#reports-table").inner_text()
    assert (settings.corpus / "cao-bang-bao-chi-2023.txt").is_file()
    page.screenshot(path=str(ARTIFACTS / "3-uploaded.png"), full_page=True)

    page.get_by_role("tab", name="Hỏi đáp").click()
    new_conversation(page)
    ask(page, "Cao Bằng tổ chức bao nhiêu lớp bồi dưỡng cho phóng viên năm 2023?", "cao-bang-bao-chi-2023.txt")
    chat = page.locator("#chat").inner_text()
    assert "7 lớp bồi dưỡng nghiệp vụ cho 315 phóng viên" in chat
    page.screenshot(path=str(ARTIFACTS / "4-new-report-answer.png"), full_page=True)

    page.get_by_role("tab", name="Báo cáo").click()
    select = page.locator("#remove-select input")
    select.click()
    select.fill("cao-bang")
    page.get_by_role("option", name="cao-bang-bao-chi-2023.txt").click()
    page.locator("#remove-reports").click()
    page.wait_for_function(
        "() => document.querySelector('#reports-message')?.innerText.includes('Đã xóa')", timeout=300000
    )
    assert "cao-bang-bao-chi-2023.txt" not in page.locator("#reports-table").inner_text()
    assert not (settings.corpus / "cao-bang-bao-chi-2023.txt").exists()
    page.screenshot(path=str(ARTIFACTS / "5-removed.png"), full_page=True)


def test_evaluation_tab_runs_the_seed_set(page, served_app):
    _, settings = served_app
    page.get_by_role("tab", name="Đánh giá").click()
    pick = page.locator("#eval-file input")
    pick.click()
    page.get_by_role("option", name="evals/seed.jsonl").click()
    page.locator("#run-eval").click()
    page.wait_for_function(
        "() => document.querySelector('#eval-summary')?.innerText.includes('Recall@5')", timeout=180000
    )
    summary = page.locator("#eval-summary").inner_text()
    assert "Trích dẫn nguyên văn" in summary and "1.000" in summary
    page.locator("#eval-charts img").first.wait_for(timeout=30000)
    assert page.locator("#eval-charts img").count() == 3
    assert list(settings.reports.glob("*/report.md"))
    page.screenshot(path=str(ARTIFACTS / "6-evaluation.png"), full_page=True)


def test_the_page_made_no_outside_requests(page):
    assert page.outside_requests == []
