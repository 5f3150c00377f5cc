"""Collects engine events/logs/results for tests and checks the event contract."""

from __future__ import annotations

import threading
import time
from typing import Any

from tilt_lsp.liveupdate.engine import TERMINAL_PHASES, LogLine, UpdateResult

TIMEOUT = 20.0
PHASE_ORDER = ["queued", "sync", "run", "restart"]
EVENT_KEYS = {"updateId", "image", "resource", "phase", "files", "containers", "step", "elapsedMs", "message"}


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.logs: list[LogLine] = []
        self.results: list[UpdateResult] = []
        self.cond = threading.Condition()

    def event(self, e: dict[str, Any]) -> None:
        with self.cond:
            self.events.append(e)
            self.cond.notify_all()

    def log(self, line: LogLine) -> None:
        with self.cond:
            self.logs.append(line)

    def result(self, r: UpdateResult) -> None:
        with self.cond:
            self.results.append(r)

    def terminals(self) -> list[dict[str, Any]]:
        with self.cond:
            return [e for e in self.events if e["phase"] in TERMINAL_PHASES]

    def wait_terminals(self, n: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len([e for e in self.events if e["phase"] in TERMINAL_PHASES]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {n} terminal events, got: {self.events}")
                self.cond.wait(left)
            return [e for e in self.events if e["phase"] in TERMINAL_PHASES]

    def by_update(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        with self.cond:
            for e in self.events:
                out.setdefault(e["updateId"], []).append(e)
        return out


def check_sequences(rec: Recorder) -> None:
    """Every update: phases in order, exactly one terminal phase, last."""
    for uid, events in rec.by_update().items():
        phases = [e["phase"] for e in events]
        assert set(events[0]) == EVENT_KEYS, events[0]
        terminals = [p for p in phases if p in TERMINAL_PHASES]
        assert len(terminals) == 1, (uid, phases)
        assert phases[-1] in TERMINAL_PHASES, phases
        body = [PHASE_ORDER.index(p) for p in phases[:-1]]
        assert body == sorted(body), phases
        assert phases[0] == "queued", phases
