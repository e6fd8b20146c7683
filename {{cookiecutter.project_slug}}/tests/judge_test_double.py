"""TEST DOUBLE of an OpenAI-compatible chat-completions server for LLM judges, on loopback.

Only for tests and benchmarks: it records every request, can add latency per call, and answers
a judge's structured request with {"result": "no"} when the judged text contains FAIL_MARKER,
else {"result": "yes"}.
"""

from __future__ import annotations

import json
import time

from loopback import LoopbackServer, chat_completion

FAIL_MARKER = "UNSAFE-ANSWER"


class JudgeTestDouble(LoopbackServer):
    def __init__(self, latency_s: float = 0.0):
        super().__init__()
        self.latency_s = latency_s
        self.status = 200  # set to e.g. 400 to make every judge call fail
        self.requests: list[dict] = []

    def respond(self, request: dict):
        body = request["body"]
        with self._lock:
            self.requests.append({"path": request["path"], "body": body})
        time.sleep(self.latency_s)
        if self.status != 200:
            return self.status, {"error": {"message": "test double told to fail"}}
        text = json.dumps(body.get("messages", []))
        verdict = "no" if FAIL_MARKER in text else "yes"
        content = json.dumps({"result": verdict, "rationale": f"test double says {verdict}"})
        return chat_completion("chatcmpl-test-double", body.get("model"), content, usage=(20, 5))

    @property
    def base_url(self) -> str:
        return f"{self.host}/v1"

    @property
    def calls(self) -> int:
        return len(self.requests)
