"""Debounce file events into batches (spec rule 8).

:class:`Debouncer` is the logic, thread-safe and driven by an injectable clock, so tests
step time by hand.  :class:`DebounceRunner` wraps it in a thread for real use.

* A batch opens with its first event and flushes once ``quiet_ms`` (default 200) pass
  without a new event, or ``max_ms`` (default 10 000) after it opened, whichever is first.
* :meth:`Debouncer.flush_now` is for editor on-save notifications [OURS]: the saved paths
  and everything pending flush at once.  Each saved path's (mtime_ns, size) is remembered;
  when the watcher reports the same path again within ``dedupe_ms`` and the signature is
  unchanged, the report is dropped, so one save gives one update.
* More than ``max_pending`` distinct pending paths, or an OS queue overflow reported with
  :meth:`Debouncer.overflow`, turn the batch into a single ``resync`` signal (no paths
  kept, memory stays bounded); the engine then resyncs every sync path.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Batch", "DebounceRunner", "Debouncer", "FlushTrigger", "file_signature"]

_log = logging.getLogger(__name__)

Clock = Callable[[], float]
Signature = tuple[int, int] | None
SignatureFn = Callable[[str], Signature]
FlushTrigger = Literal["quiet", "max_wait", "save"]

DEFAULT_QUIET_MS = 200
DEFAULT_MAX_MS = 10_000
DEFAULT_MAX_PENDING = 10_000
DEFAULT_DEDUPE_MS = 2_000
_EPSILON = 1e-6  # a deadline reached to within 1 µs counts as reached (float clock arithmetic)


def file_signature(path: str) -> Signature:
    """(mtime_ns, size) of a path without following links, None when it does not exist."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


@dataclass(frozen=True)
class Batch:
    """One flushed batch: sorted, deduped paths, or a resync signal (then ``paths`` is empty)."""

    paths: tuple[str, ...]
    trigger: FlushTrigger
    opened_at: float
    flushed_at: float
    resync: bool = False


class Debouncer:
    def __init__(
        self,
        quiet_ms: float = DEFAULT_QUIET_MS,
        max_ms: float = DEFAULT_MAX_MS,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        dedupe_ms: float = DEFAULT_DEDUPE_MS,
        clock: Clock = time.monotonic,
        signature: SignatureFn = file_signature,
    ) -> None:
        if quiet_ms < 0 or max_ms < quiet_ms:
            raise ValueError("need 0 <= quiet_ms <= max_ms")
        self.quiet = quiet_ms / 1000.0
        self.max_wait = max_ms / 1000.0
        self.max_pending = max_pending
        self.dedupe_window = dedupe_ms / 1000.0
        self.clock = clock
        self._signature = signature
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._resync = False
        self._opened_at: float | None = None
        self._last_event = 0.0
        self._saved: dict[str, tuple[float, Signature]] = {}  # path -> (flush time, signature)

    # -------------------------------------------------------------- intake

    def _touch(self, now: float) -> None:
        if self._opened_at is None:
            self._opened_at = now
        self._last_event = now

    def _store(self, path: str) -> None:
        if self._resync:
            return
        self._pending.add(path)
        if len(self._pending) > self.max_pending:
            _log.warning("more than %d pending changes: switching to a full resync", self.max_pending)
            self._pending.clear()
            self._resync = True

    def _recently_saved(self, path: str, now: float) -> bool:
        saved = self._saved.get(path)
        if saved is None:
            return False
        flushed_at, sig = saved
        if now - flushed_at > self.dedupe_window:
            del self._saved[path]
            return False
        return self._signature(path) == sig

    def add(self, paths: Iterable[str]) -> int:
        """Record watcher events; returns how many were kept (not deduped against a save)."""
        with self._lock:
            now = self.clock()
            kept = 0
            for path in paths:
                if self._saved and self._recently_saved(path, now):
                    continue
                self._store(path)
                kept += 1
            if kept:
                self._touch(now)
            return kept

    def overflow(self) -> None:
        """The OS event queue overflowed: events were lost, so the batch becomes a resync."""
        with self._lock:
            self._pending.clear()
            self._resync = True
            self._touch(self.clock())

    # ------------------------------------------------------------- flushing

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    def deadline(self) -> float | None:
        """Clock time at which the open batch flushes, None when no batch is open."""
        with self._lock:
            if self._opened_at is None:
                return None
            return min(self._last_event + self.quiet, self._opened_at + self.max_wait)

    def _take(self, trigger: FlushTrigger, now: float) -> Batch:
        assert self._opened_at is not None
        batch = Batch(
            paths=() if self._resync else tuple(sorted(self._pending)),
            trigger=trigger,
            opened_at=self._opened_at,
            flushed_at=now,
            resync=self._resync,
        )
        self._pending = set()
        self._resync = False
        self._opened_at = None
        return batch

    def poll(self) -> Batch | None:
        """The batch if its quiet window or its cap has elapsed, else None."""
        with self._lock:
            if self._opened_at is None:
                return None
            now = self.clock()
            if now - self._opened_at + _EPSILON >= self.max_wait:
                return self._take("max_wait", now)
            if now - self._last_event + _EPSILON >= self.quiet:
                return self._take("quiet", now)
            return None

    def flush_now(self, paths: Iterable[str] = ()) -> Batch | None:
        """Editor save: flush the saved paths and everything pending without waiting.

        A saved path already flushed by a save within the dedupe window, with the same
        signature, is not flushed again.  Returns None when there is nothing to flush.
        """
        with self._lock:
            now = self.clock()
            self._prune_saved(now)
            added = False
            for path in paths:
                if path in self._saved and self._recently_saved(path, now):
                    continue
                self._saved[path] = (now, self._signature(path))
                self._store(path)
                added = True
            if added:
                self._touch(now)
            if self._opened_at is None:
                return None
            return self._take("save", now)

    def _prune_saved(self, now: float) -> None:
        if len(self._saved) < 256:
            return
        expired = [p for p, (t, _) in self._saved.items() if now - t > self.dedupe_window]
        for p in expired:
            del self._saved[p]


class DebounceRunner:
    """Runs a :class:`Debouncer` on a daemon thread and calls ``on_batch`` for each batch.

    ``on_batch`` always runs on the runner thread, one batch at a time, in flush order;
    exceptions it raises are logged and do not stop the runner.
    """

    def __init__(
        self,
        debouncer: Debouncer,
        on_batch: Callable[[Batch], None],
        *,
        name: str = "tilt-lsp-debounce",
    ) -> None:
        self.debouncer = debouncer
        self._on_batch = on_batch
        self._cond = threading.Condition()
        self._ready: deque[Batch] = deque()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> DebounceRunner:
        self._thread.start()
        return self

    def submit(self, paths: Iterable[str]) -> None:
        """Watcher events (any thread)."""
        if self.debouncer.add(paths):
            with self._cond:
                self._cond.notify()

    def save(self, paths: Iterable[str]) -> None:
        """Editor save (any thread): flushes without waiting for the quiet window."""
        batch = self.debouncer.flush_now(paths)
        if batch is not None:
            with self._cond:
                self._ready.append(batch)
                self._cond.notify()

    def overflow(self) -> None:
        self.debouncer.overflow()
        with self._cond:
            self._cond.notify()

    def stop(self, timeout: float | None = 5.0, *, flush: bool = False) -> None:
        """Stop the thread; with ``flush=True`` the open batch is delivered first."""
        if flush:
            self.save(())
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _next(self) -> Batch | None:
        """Wait for the next batch; None once stopping and drained."""
        with self._cond:
            while True:
                if self._ready:
                    return self._ready.popleft()
                if self._stopping:
                    return None
                batch = self.debouncer.poll()
                if batch is not None:
                    return batch
                deadline = self.debouncer.deadline()
                timeout = None if deadline is None else max(0.0, deadline - self.debouncer.clock())
                self._cond.wait(timeout)

    def _loop(self) -> None:
        while True:
            batch = self._next()
            if batch is None:
                return
            try:
                self._on_batch(batch)
            except Exception:
                _log.exception("live-update batch handler failed")
