"""The served web chat over real HTTP on loopback, through gradio_client."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.errors import BadSettings
from assistant.evaluate import contains_all

from .conftest import BAC_GIANG, DESIGN_QUESTION

pytestmark = pytest.mark.slow


def test_ask_endpoint_returns_the_cli_json(served_app):
    from gradio_client import Client

    url, _ = served_app
    client = Client(url, verbose=False)
    result = client.predict(DESIGN_QUESTION, api_name="/ask")
    assert set(result) >= {"id", "question", "answer", "abstained", "citations", "passages", "timings_ms"}
    assert contains_all(result["answer"], ["2", "40", "150"])
    assert result["citations"][0]["file"] == BAC_GIANG
    assert "gần 150 hội nghị thông tin thời sự" in result["citations"][0]["quote"]
    bad = client.predict("   ", api_name="/ask")
    assert "error" in bad and "trống" in bad["error"]


def test_only_the_ask_endpoint_is_public(served_app):
    from gradio_client import Client

    url, _ = served_app
    endpoints = Client(url, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == ["/ask"]


def test_the_page_loads_only_local_assets(served_app):
    import re
    import urllib.request

    url, _ = served_app
    page = urllib.request.urlopen(url, timeout=30).read().decode("utf-8")
    external = [u for u in re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", page) if "127.0.0.1" not in u]
    assert external == []


def test_files_outside_the_app_are_not_served(served_app):
    import urllib.error
    import urllib.request

    url, settings = served_app
    for path in ["file=/etc/passwd", f"file={settings.corpus / BAC_GIANG}", "gradio_api/file=/etc/passwd"]:
        try:
            status = urllib.request.urlopen(url + path, timeout=30).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        assert status in (403, 404), path


def test_other_addresses_need_a_login(monkeypatch):
    from ui.app import serve

    monkeypatch.delenv("ASSISTANT_AUTH", raising=False)
    monkeypatch.delenv("ASSISTANT_AUTH_FILE", raising=False)
    with pytest.raises(BadSettings, match="ASSISTANT_AUTH"):
        serve(Settings(host="0.0.0.0"), block=False)


def test_serve_on_an_exposed_address_prints_only_the_refusal(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    out = subprocess.run(
        [sys.executable, "-m", "assistant", "serve", "--host", "0.0.0.0", "--index", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2 and "ASSISTANT_AUTH" in out.stderr
    assert "http://" not in out.stderr + out.stdout and "Traceback" not in out.stderr
    assert not (tmp_path / "none").exists()  # nothing was built or loaded before the refusal


@pytest.mark.parametrize("question", ["😀😀", "", "?!?"])
def test_bad_questions_through_the_api_get_a_message(served_app, question):
    from gradio_client import Client

    url, _ = served_app
    result = Client(url, verbose=False).predict(question, api_name="/ask")
    assert "error" in result and "Câu hỏi" in result["error"]
