"""File watcher for live update: a watchdog observer over every image's watched paths.

The engine tells the watcher what to watch (:meth:`FileWatcher.update` with the images'
contexts/deps, watched recursively, and the Tiltfile plus every loaded file, watched through
their directories) and which paths matter (``relevant``: the image ignore matchers and the
model files).  Everything else is dropped here, so ``.git`` churn, editor temp files and
ignored build output never reach the debouncer.  Relevant paths go to ``on_paths`` (the
engine's debounced intake); an inotify queue overflow goes to ``on_overflow``, which turns the
pending batch into a full resync (spec rule 8 [OURS], rule 55).

Directory "modified" events (a child changed) and open/close events carry no change of their
own and are ignored; a moved path reports both its old and its new name, so a rename becomes
delete-old + copy-new.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["FileWatcher", "watch_plan"]

_log = logging.getLogger(__name__)

_IGNORED_EVENT_TYPES = frozenset({"opened", "closed", "closed_no_write"})
_OVERFLOW_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")


def _covered(path: str, roots: Iterable[str]) -> bool:
    for root in roots:
        prefix = root if root.endswith(os.sep) else root + os.sep
        if path == root or path.startswith(prefix):
            return True
    return False


def watch_plan(dirs: Iterable[str], files: Iterable[str]) -> list[tuple[str, bool]]:
    """(directory, recursive) pairs to schedule: nested directories collapse into their ancestor;
    a file is watched through its (existing) parent directory, non-recursively."""
    recursive: list[str] = []
    for d in sorted({os.path.normpath(d) for d in dirs}, key=len):
        if os.path.isdir(d) and not _covered(d, recursive):
            recursive.append(d)
    flat: set[str] = set()
    for f in files:
        parent = os.path.dirname(os.path.normpath(f))
        if os.path.isdir(parent) and not _covered(parent, recursive):
            flat.add(parent)
    return [(d, True) for d in sorted(recursive)] + [(d, False) for d in sorted(flat)]


class _OverflowHandler(logging.Handler):
    def __init__(self, callback: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" in record.getMessage().lower():
            try:
                self._callback()
            except Exception:  # never break watchdog's thread
                _log.exception("overflow callback failed")


class FileWatcher:
    """Watches directories with watchdog and reports relevant changed paths."""

    def __init__(
        self,
        on_paths: Callable[[list[str]], None],
        on_overflow: Callable[[], None],
        relevant: Callable[[str], bool],
        *,
        observer_factory: Callable[[], Any] | None = None,
    ) -> None:
        self._on_paths = on_paths
        self._on_overflow = on_overflow
        self._relevant = relevant
        self._observer_factory = observer_factory
        self._observer: Any = None
        self._lock = threading.Lock()
        self._plan: list[tuple[str, bool]] = []
        self._watches: list[Any] = []
        self._overflow = _OverflowHandler(on_overflow)
        self._started = False

    # ---------------------------------------------------------------- control

    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            self._observer = self._make_observer()
            for name in _OVERFLOW_LOGGERS:
                logger = logging.getLogger(name)
                logger.addHandler(self._overflow)
                if logger.getEffectiveLevel() > logging.WARNING:
                    logger.setLevel(logging.WARNING)
            self._schedule_locked()
            self._observer.start()

    def stop(self) -> None:
        with self._lock:
            if not self._started:
                return
            self._started = False
            observer, self._observer = self._observer, None
            for name in _OVERFLOW_LOGGERS:
                logging.getLogger(name).removeHandler(self._overflow)
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)

    def update(self, roots: tuple[Sequence[str], Sequence[str]]) -> None:
        """Watch these (directories, files) from now on; a no-op when nothing changed."""
        dirs, files = roots
        new_plan = watch_plan(dirs, files)
        with self._lock:
            if new_plan == self._plan and (self._watches or not self._started):
                return
            self._plan = new_plan
            if self._started:
                self._schedule_locked()

    @property
    def watched(self) -> list[tuple[str, bool]]:
        with self._lock:
            return list(self._plan)

    # -------------------------------------------------------------- internals

    def _make_observer(self) -> Any:
        if self._observer_factory is not None:
            return self._observer_factory()
        from watchdog.observers import Observer

        observer = Observer()
        observer.daemon = True
        return observer

    def _schedule_locked(self) -> None:
        observer = self._observer
        if observer is None:
            return
        observer.unschedule_all()
        self._watches = []
        handler = _Handler(self)
        for path, recursive in self._plan:
            try:
                self._watches.append(observer.schedule(handler, path, recursive=recursive))
            except OSError as exc:
                _log.warning("cannot watch %s: %s", path, exc)

    def dispatch_paths(self, paths: Iterable[str]) -> None:
        kept = []
        for p in paths:
            try:
                if self._relevant(p):
                    kept.append(p)
            except Exception:
                _log.exception("relevance check failed for %s", p)
        if kept:
            self._on_paths(kept)


class _Handler:
    """A watchdog event handler (duck-typed: watchdog only calls ``dispatch``)."""

    def __init__(self, watcher: FileWatcher) -> None:
        self._watcher = watcher

    def dispatch(self, event: Any) -> None:
        etype = getattr(event, "event_type", "")
        if etype in _IGNORED_EVENT_TYPES:
            return
        if etype == "modified" and getattr(event, "is_directory", False):
            return
        paths: list[str] = []
        for attr in ("src_path", "dest_path"):
            value = getattr(event, attr, "")
            if isinstance(value, bytes):
                value = os.fsdecode(value)
            if value:
                paths.append(os.path.normpath(value))
        if paths:
            self._watcher.dispatch_paths(paths)
