"""TEST DOUBLE of an OpenAI-compatible chat-completions server for LLM judges, on loopback.

Only for tests and benchmarks: it records every request, can add latency per call, and answers
a judge's structured request with {"result": "no"} when the judged text contains FAIL_MARKER,
else {"result": "yes"}.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAIL_MARKER = "UNSAFE-ANSWER"


class JudgeTestDouble:
    def __init__(self, latency_s: float = 0.0):
        self.latency_s = latency_s
        self.status = 200  # set to e.g. 400 to make every judge call fail
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with double._lock:
                    double.requests.append({"path": self.path, "body": body})
                time.sleep(double.latency_s)
                if double.status != 200:
                    self.send_error(double.status, "test double told to fail")
                    return
                text = json.dumps(body.get("messages", []))
                verdict = "no" if FAIL_MARKER in text else "yes"
                content = json.dumps({"result": verdict, "rationale": f"test double says {verdict}"})
                reply = json.dumps({
                    "id": "chatcmpl-test-double",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/v1"

    @property
    def calls(self) -> int:
        return len(self.requests)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
