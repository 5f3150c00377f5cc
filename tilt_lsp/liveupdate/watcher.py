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


#: At most this many directories are watched.  watchdog runs one thread and one inotify
#: instance per watch (and Linux allows 128 instances per user by default), so a Tiltfile with
#: hundreds of image contexts would otherwise start hundreds of threads or fail to watch some.
MAX_WATCHES = 16


def watch_plan(
    dirs: Iterable[str], files: Iterable[str], *, limit: int = MAX_WATCHES, within: str | None = None
) -> list[tuple[str, bool]]:
    """(directory, recursive) pairs to schedule: nested directories collapse into their ancestor;
    a file is watched through its (existing) parent directory, non-recursively.

    Beyond ``limit`` watches, sibling directories are replaced by their parent (the parent with
    the most watched children first, deepest first on a tie) until the plan fits: watching a
    little more than needed is harmless, as events are filtered by relevance anyway.  Merging
    never produces a directory outside ``within`` (the project folder), nor the file system root.
    """
    recursive = _collapse(d for d in {os.path.normpath(d) for d in dirs} if os.path.isdir(d))
    flat: set[str] = set()
    for f in files:
        parent = os.path.dirname(os.path.normpath(f))
        if os.path.isdir(parent) and not _covered(parent, recursive):
            flat.add(parent)
    while len(recursive) + len(flat) > limit:
        merged = _merge_siblings(recursive, flat, within)
        if merged is None:
            break
        recursive = _collapse([*recursive, merged])
        flat = {d for d in flat if not _covered(d, recursive)}
    return [(d, True) for d in sorted(recursive)] + [(d, False) for d in sorted(flat)]


def _collapse(dirs: Iterable[str]) -> list[str]:
    """The directories not inside another one of them."""
    out: list[str] = []
    for d in sorted(set(dirs), key=len):
        if not _covered(d, out):
            out.append(d)
    return out


def _merge_siblings(recursive: Sequence[str], flat: Iterable[str], within: str | None) -> str | None:
    """The directory whose recursive watch should replace several planned ones (None: none allowed)."""
    counts: dict[str, int] = {}
    for d in [*recursive, *flat]:
        parent = os.path.dirname(d)
        if parent == d or os.path.dirname(parent) == parent:  # never watch "/" recursively
            continue
        if within is not None and not _covered(parent, [os.path.normpath(within)]):
            continue
        counts[parent] = counts.get(parent, 0) + 1
    if not counts:
        return None
    best = max(counts, key=lambda p: (counts[p], p.count(os.sep), p))
    if counts[best] >= 2:
        return best
    # No two share a parent: lift the deepest one level up and try again.
    deepest = max(counts, key=lambda p: (p.count(os.sep), p))
    return deepest


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
        within: str | None = None,
    ) -> None:
        self._within = within
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
        new_plan = watch_plan(dirs, files, within=self._within)
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
