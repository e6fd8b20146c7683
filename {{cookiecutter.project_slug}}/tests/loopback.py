"""The HTTP plumbing every loopback TEST DOUBLE shares: a server on 127.0.0.1 with a free port,
run in a thread for the length of a `with` block. Only for tests and benchmarks.

A double subclasses LoopbackServer and answers in `respond(request)`: a JSON-able reply (200),
(status, reply), or (status, reply, headers). `request` carries method, path, query, headers, raw
body and parsed JSON body.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def chat_completion(
    completion_id: str, model: str | None, content: str, usage: tuple[int, int]
) -> dict:
    """An OpenAI chat-completions reply carrying `content`, as OpenAI-compatible doubles answer."""
    prompt_tokens, completion_tokens = usage
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # dozens of clients connect at once under load; 5 would drop SYNs
    daemon_threads = True


class LoopbackServer(ABC):
    def __init__(self):
        self._lock = threading.Lock()  # doubles update their records under it
        double = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self):  # http.server calls do_<METHOD>
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlparse(self.path)
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}  # not JSON (e.g. protobuf): tests read `raw`
                request = {
                    "method": self.command,
                    "path": url.path,
                    "raw": raw,
                    "body": body,
                    "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }
                answer = double.respond(request)
                status, reply, *extra = answer if isinstance(answer, tuple) else (200, answer)
                data = json.dumps(reply).encode() if reply is not None else b""
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any

            def log_message(self, *args):  # keep test output clean
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @abstractmethod
    def respond(self, request: dict):
        """The double's answer to one request (see the module docstring)."""

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
