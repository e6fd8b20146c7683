"""TEST DOUBLE of an OpenAI-compatible chat-completions server, on loopback, for the agent's model
and LLM judges alike. Only for tests and benchmarks.

It records every request and can behave like a real endpoint under load: `latency_s` per call,
HTTP 429 with `Retry-After` above `rate_limit` calls per second, HTTP 500 for one call in
`fail_every` or for every call after the first `fail_after` (an outage mid-run), no answer for
120 s after the first `hang_after` (a hung endpoint), or `status` for every call (a dead or
misconfigured endpoint). A judge's request
(it asks for a structured `response_format`) gets {"result": "no"} when the judged text contains
FAIL_MARKER or its model is in `no_models`, else {"result": "yes"}; a request for dataset variants
gets three rewrites naming the question; MLflow's simulated user (ConversationSimulator) gets a
message asking for its goal, and its goal check says "yes" from the `goal_turns`-th user turn on;
MLflow's user-frustration judge gets "none" ("unresolved" on FAIL_MARKER); a pre-flight probe
(one token) and any other request (the agent's) get a short answer.

`python tests/llm_test_double.py --latency-ms 300 ...` serves it in a process of its own (so its
CPU is not the benchmark's), prints `port N`, and answers GET /stats with its counters.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time

from loopback import LoopbackServer, chat_completion

FAIL_MARKER = "UNSAFE-ANSWER"
VARIANTS_ASK = '{"variants"'  # the reply `dataset expand --llm` asks for (model_variants.py)
USER_ASK = "as a real user interacting with an AI assistant"  # MLflow's simulated-user prompts
GOAL_CHECK_ASK = "Has the user's goal been FULLY and COMPLETELY achieved?"
FRUSTRATION_ASK = "frustrat"  # MLflow's UserFrustration judge: none, resolved or unresolved
GOAL = re.compile(r"underlying goal in this conversation is:\s*(.+?)\s*</goal>", re.DOTALL)


class LlmTestDouble(LoopbackServer):
    def __init__(
        self,
        latency_s: float = 0.0,
        rate_limit: float = 0.0,
        fail_every: int = 0,
        retry_after_s: float = 1.0,
        fail_after: int | None = None,
        hang_after: int | None = None,
    ):
        super().__init__()
        self.latency_s = latency_s
        self.rate_limit = rate_limit  # calls per second answered; above it, 429 (0: no limit)
        self.retry_after_s = retry_after_s
        self.fail_every = fail_every  # every n-th call answers 500 (0: never)
        self.fail_after = fail_after  # every call after this many answers 500 (None: never)
        self.hang_after = hang_after  # every call after this many hangs for 120 s (None: never)
        self.status = 200  # set to e.g. 400, 401 or 500 to make every call answer it
        # Judge models (the request's `model`, e.g. "judge-b" for openai:/judge-b) that always
        # answer "no": the members of a scorer ensemble can then disagree.
        self.no_models: set[str] = set()
        # The simulated user's goal counts as reached from this user turn of a conversation on.
        self.goal_turns = 1
        self.requests: list[dict] = []
        self.counts = {
            "calls": 0,
            "judge": 0,
            "agent": 0,
            "probe": 0,
            "variants": 0,
            "user": 0,
            "throttled": 0,
            "failed": 0,
        }
        self._window: list[float] = []  # arrival times within the last second

    def respond(self, request: dict):
        if request["method"] == "GET" and request["path"] == "/stats":
            with self._lock:
                return dict(self.counts)
        body = request["body"]
        kind = (
            "judge"
            if "response_format" in body
            else "probe"
            if body.get("max_tokens") == 1
            else "variants"
            if any(VARIANTS_ASK in str(m.get("content")) for m in body.get("messages", []))
            else "user"
            if any(USER_ASK in str(m.get("content")) for m in body.get("messages", []))
            else "agent"
        )  # probe: a pre-flight; variants: `dataset expand --llm`; user: a simulated user
        record = {"path": request["path"], "body": body, "kind": kind, "at": time.monotonic()}
        with self._lock:
            self.requests.append(record)
            self.counts["calls"] += 1
            self.counts[kind] += 1
            number = self.counts["calls"]
            throttled = self._over_rate()
            if throttled:
                self.counts["throttled"] += 1
                record["throttled"] = True
            failing = not throttled and (
                self.status != 200
                or bool(self.fail_every and number % self.fail_every == 0)
                or (self.fail_after is not None and number > self.fail_after)
            )
            hung = self.hang_after is not None and number > self.hang_after
            if failing:
                self.counts["failed"] += 1
            if (failing or hung) and "outage_started_at" not in self.counts:
                self.counts["outage_started_at"] = time.monotonic()  # system-wide clock
        if throttled:
            headers = {"Retry-After": str(math.ceil(self.retry_after_s))}
            return 429, {"error": {"message": "rate limit exceeded (test double)"}}, headers
        time.sleep(120 if hung else self.latency_s)  # bounded: a hung call ends by itself
        if hung:
            return 504, {"error": {"message": "test double hung"}}
        if failing:
            status = self.status if self.status != 200 else 500
            return status, {"error": {"message": f"test double answers {status}"}}
        text = json.dumps(body.get("messages", []))
        if kind == "variants":  # each rewrite names the question, so tests can trace it
            question = body["messages"][-1]["content"]
            rewrites = [f"{question} (asked another way, {n})" for n in (1, 2, 3)]
            return chat_completion(
                "chatcmpl-test-double",
                body.get("model"),
                json.dumps({"variants": rewrites}),
                (30, 30),
            )
        if kind == "user":  # a message that asks for the goal, so the agent can answer it
            goal = GOAL.search(text.replace("\\n", "\n"))
            content = f"Hi, I need help: {goal.group(1) if goal else 'a question'}"
        elif kind == "judge":
            says_no = FAIL_MARKER in text or body.get("model") in self.no_models
            if GOAL_CHECK_ASK in text:  # reached from the goal_turns-th user turn on
                says_no = says_no or text.count("user: ") < self.goal_turns
            verdict = "no" if says_no else "yes"
            if FRUSTRATION_ASK in text:
                verdict = "unresolved" if says_no else "none"
            content = json.dumps({"result": verdict, "rationale": f"test double says {verdict}"})
        else:
            content = (
                "Thanks for asking. Our support team answers within one business day. "
                "(source: test-double)"
            )
        return chat_completion("chatcmpl-test-double", body.get("model"), content, usage=(20, 5))

    def _over_rate(self) -> bool:
        if not self.rate_limit:
            return False
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < 1.0]
        if len(self._window) >= self.rate_limit:
            return True
        self._window.append(now)
        return False

    @property
    def base_url(self) -> str:
        return f"{self.host}/v1"

    @property
    def calls(self) -> int:
        """Judge and agent calls; pre-flight probes are counted apart (counts["probe"])."""
        return sum(1 for r in self.requests if r["kind"] != "probe")


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the LLM test double until killed.")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--fail-after", type=int, default=None)
    parser.add_argument("--hang-after", type=int, default=None)
    parser.add_argument("--status", type=int, default=200)
    args = parser.parse_args()
    double = LlmTestDouble(
        args.latency_ms / 1000,
        args.rate_limit,
        args.fail_every,
        fail_after=args.fail_after,
        hang_after=args.hang_after,
    )
    double.status = args.status
    double.requests = _Discard()  # a benchmark's millions of requests need not stay in memory
    with double:
        print(f"port {double.server.server_port}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


class _Discard(list):
    def append(self, item) -> None:
        pass


if __name__ == "__main__":
    sys.exit(main())
