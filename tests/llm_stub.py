"""A real HTTP server on loopback speaking the OpenAI chat-completions protocol, with scripted replies.

It stands in for Ollama / llama.cpp / vLLM, which cannot run in CI: the HTTP, streaming, timeout and
error handling are exercised for real; only the model's words are scripted.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubLLM:
    """`reply` is a function of the request body returning one of:
    ("ok", text) | ("status", code) | ("garbage", None) | ("slow", seconds, text) | ("empty", None)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.reply = lambda body: ("ok", "Không tìm thấy thông tin này trong các báo cáo.")
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                try:
                    self._handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _handle(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                kind, *rest = stub.reply(body)
                if kind == "status":
                    self._send(rest[0], b'{"error": "scripted"}')
                elif kind == "garbage":
                    self._send(200, b"<html>not json at all")
                elif kind == "empty":
                    self._send(200, json.dumps({"choices": [{"message": {"content": ""}}]}).encode())
                else:
                    if kind == "slow":
                        time.sleep(rest[0])
                        rest = rest[1:]
                    text = rest[0]
                    if body.get("stream"):
                        self._stream(text)
                    else:
                        payload = {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
                        self._send(200, json.dumps(payload, ensure_ascii=False).encode())

            def _send(self, code, data):
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i in range(0, len(text), 12):
                    chunk = {"choices": [{"index": 0, "delta": {"content": text[i : i + 12]}}]}
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def passage_number(body: dict, needle: str) -> int:
    """The number of the passage in the prompt that contains `needle` (what a good model would cite)."""
    import re

    user = body["messages"][-1]["content"]
    for m in re.finditer(r'<doan-trich so="(\d+)">(.*?)</doan-trich>', user, re.S):
        if needle in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"no passage with {needle!r} in the prompt")
