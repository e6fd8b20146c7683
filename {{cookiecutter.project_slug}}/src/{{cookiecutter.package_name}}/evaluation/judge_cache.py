"""A content-addressed local cache of LLM-judge verdicts.

The key is a SHA-256 of everything that can change a verdict: the scorer's name, type and
options, the judge model, the judge's instructions, the row's inputs, outputs and expectations,
and, for judges that read the trace, the spans' names, types, inputs and outputs (not ids or
timestamps, which differ on every run). A hit is returned as the same assessment a fresh call
produced (value, rationale, source, metadata), with `CACHE_KEY` set to "hit" in its metadata.

Each verdict is one JSON file, written to a temporary name and renamed, so a crash leaves no
half-written entry; an entry that does not parse or whose checksum or key does not match is
deleted, counted as corrupt and judged again: never a wrong verdict.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

CACHE_KEY = "judge_cache"  # assessment metadata: "hit" or "miss"
FORMAT = 1


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def trace_content(trace) -> list[dict] | None:
    """What a trace-reading judge sees, without the ids and times that change every run."""
    if trace is None:
        return None
    return [
        {
            "name": span.name,
            "type": str(span.span_type),
            "parent": span.parent_id is not None,
            "inputs": span.inputs,
            "outputs": span.outputs,
        }
        for span in sorted(trace.data.spans, key=lambda s: (s.start_time_ns, s.name))
    ]


def verdict_key(identity: dict, inputs, outputs, expectations, trace=None) -> str:
    """The cache key of one judge on one row; `identity` names the judge and its settings."""
    return digest(
        {
            **identity,
            "inputs": inputs,
            "outputs": outputs,
            "expectations": expectations,
            "trace": trace_content(trace),
        }
    )


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0
    not_stored: int = 0  # errored verdicts are never cached
    per_scorer: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, scorer: str, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        counts = self.per_scorer.setdefault(scorer, {"hits": 0, "misses": 0})
        if outcome in counts:
            counts[outcome] += 1

    def as_dict(self) -> dict:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "judge_calls_saved": self.hits,
            "corrupt_entries_rebuilt": self.corrupt,
            "errors_not_cached": self.not_stored,
            "per_scorer": self.per_scorer,
        }


class JudgeCache:
    def __init__(self, folder: Path):
        self.folder = folder
        self.stats = CacheStats()
        self._lock = threading.Lock()  # scorers run in parallel threads
        self._key_locks: dict[str, list] = {}  # key -> [lock, holders]: one judge call per key

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            valid = (
                entry.get("format") == FORMAT
                and entry.get("key") == key
                and entry.get("checksum") == digest(entry.get("feedback"))
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            valid = False
        if not valid:
            with self._lock:
                self.stats.corrupt += 1
            path.unlink(missing_ok=True)
            return None
        return entry["feedback"]

    def put(self, key: str, feedback: dict) -> None:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"format": FORMAT, "key": key, "checksum": digest(feedback), "feedback": feedback}
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(canonical(entry))
        os.replace(temporary, path)

    @contextlib.contextmanager
    def exclusive(self, key: str):
        """Hold `key` for the block: a second row with the same key (a duplicate record) waits,
        then finds the first one's verdict, so one run never judges the same key twice."""
        with self._lock:
            entry = self._key_locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._key_locks[key]

    def record(self, scorer: str, outcome: str) -> None:
        with self._lock:
            self.stats.count(scorer, outcome)

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        entries = len(list(self.folder.glob("*/*.json"))) if self.folder.is_dir() else 0
        shutil.rmtree(self.folder, ignore_errors=True)
        return entries
