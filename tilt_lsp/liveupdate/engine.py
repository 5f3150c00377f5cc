"""The live-update engine: changed files -> plan -> containers, with progress events.

No LSP imports: the editor adapter (``tilt_lsp/features/liveupdate.py``) and the ``watch``
command both drive this class and render its events.

Flow
----
* Intake. :meth:`LiveUpdateEngine.save` (editor saves, flushed at once) and
  :meth:`LiveUpdateEngine.changed` (file watcher, debounced 200 ms quiet / 10 s cap) feed one
  :class:`~tilt_lsp.liveupdate.batcher.Debouncer`, which also drops a watcher report of a path
  a save already delivered.  Changes to the Tiltfile, a loaded file or an ignore file reload
  the model.
* Journal and watermarks (spec rules 9-10).  Every batch path that belongs to an image (inside
  its watched paths, not ignored) is journaled with a sequence number.  Each container keeps the
  sequence number of the last change it received, so an update sends a container exactly the
  journal entries it has not seen: the current batch for a container that is up to date, *every
  change since the engine started* for a container with a new ID (replay after a restart or a
  new replica).  A monitor polls for new containers and replays to them without waiting for
  the next save.
* Scheduling.  At most one update runs per image; changes arriving meanwhile (a save during an
  update) are merged into the next queued update, which starts right after.  Planning stats
  the files when it runs, so the content that lands last is the last saved one.
* Manual trigger mode (rule 19).  For an image whose resource (or the whole Tiltfile, without a
  resource) has ``trigger_mode`` manual, a batch is not journaled: its paths are held and the
  update ends at once as ``skipped`` ("Only updates on manual trigger ...").  :meth:`sync_now`
  is the trigger: held changes are journaled and applied; with nothing held it reports, as a
  ``fallback``, that Tilt would rebuild.  :meth:`trigger` applies held changes only (the watch
  CLI's Enter key).  Replays to new containers of changes already applied stay automatic.
* Execution (rule 20), *phase by phase across all replicas*: delete + copy in every container,
  then run step 1 in every container, then step 2, ..., then restart.  Containers are updated
  concurrently (``parallel``); when only copies are needed and the transport offers
  ``extract_tar_many``, one thread writes the archive to every container and collects the
  answers.  Measured with ``tests/bench/bench_liveupdate.py`` (Docker 20.10, 2 CPUs, 10
  replicas, 1 file): plain execs ~430 ms concurrent vs ~760 ms one after the other; the default
  transport ~15 ms vs ~40 ms - concurrent wins either way.  The phase order also keeps the
  replicas consistent: when a run fails in one replica, no replica runs the later steps.  The
  default transport (:mod:`tilt_lsp.liveupdate.warmexec`) hands the archive to a receiver
  process kept running in each container (exec-tar, not the archive API: see that module).
* Crash loops (rule 18).  Before an update the transport's container states are read (one
  listing).  A container that is ``restarting``, or was restarted by its restart policy less
  than ``CRASH_LOOP_WINDOW_S`` ago, fails the whole update with reason ``CrashLoopBackOff``
  (phase ``failed``, nothing copied, changes kept for new containers).  The mark is sticky while
  that container exists, even once it runs again; its replacement or :meth:`sync_now` clears
  it.  With no running container, an exited one is named in the ``skipped`` message and gets
  the changes (replay) when it starts again (spec test 38).
* Replicas that disagree (rule 24).  When a ``run()`` step fails in some replicas and succeeds
  in others, the update fails with reason ``PodsInconsistent`` (a full rebuild is needed); the
  files stay and the changes are consumed, as for any run failure.
* Failures (rules 23-27).  A run exiting non-zero (not 137) keeps the synced files, marks the
  image failed and consumes the changes; the next change live-updates normally.  Infrastructure
  errors (container gone, no tar/sh, permission denied, daemon down, 137) fail the update with
  guidance and leave the changes pending, so they are retried with the next update; a transient
  error is retried once at once.  ``UpdateResult.reason`` carries Tilt's reason where it has one
  (``CrashLoopBackOff``, ``PodsInconsistent``).  We never build images: a fallback (file outside every sync,
  ``fall_back_on``) is reported as phase ``fallback`` saying so, and its paths are listed in the
  status until the image is rebuilt by other means.

Events are plain dicts, exactly the ``tilt/liveUpdate`` params of the editor contract::

    {"updateId", "image", "resource", "phase", "files", "containers", "step", "elapsedMs", "message"}

One update id per update; phases in order ``queued``, ``sync``, ``run``*, ``restart``, then
exactly one terminal phase (``done``, ``failed``, ``fallback`` or ``skipped``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from tilt_lsp.liveupdate.batcher import Batch, Debouncer
from tilt_lsp.liveupdate.ignore import PathMatcher, build_matcher
from tilt_lsp.liveupdate.planner import (
    Fallback,
    InvalidSyncError,
    Plan,
    cmd_line,
    container_updated_line,
    files_changed_header,
    initial_sync_plan,
    is_within,
    plan,
    will_copy_lines,
    will_delete_lines,
)
from tilt_lsp.liveupdate.tarstream import TarResult, build_tar
from tilt_lsp.liveupdate.transport.base import (
    ContainerGone,
    ContainerRef,
    ContainerState,
    DaemonUnavailable,
    SupportsContainerStates,
    Transport,
    TransportError,
    describe_exit,
)
from tilt_lsp.tiltfile.model import Image, LiveUpdateSpec, Resource, RunStep, TiltfileModel, image_name

__all__ = [
    "EngineOptions",
    "EventSink",
    "LiveUpdateEngine",
    "LogLine",
    "Phase",
    "RunFailure",
    "TERMINAL_PHASES",
    "UpdateResult",
    "container_json",
]

_log = logging.getLogger(__name__)

Phase = Literal[
    "queued", "sync", "run", "restart", "done", "failed", "fallback", "skipped", "rebuild", "deploy"
]
TERMINAL_PHASES: frozenset[str] = frozenset({"done", "failed", "fallback", "skipped"})
ImageStateName = Literal["idle", "queued", "updating", "ok", "failed", "fallback", "skipped", "held"]

EventSink = Callable[[dict[str, Any]], None]
NO_REBUILD_NOTE = (
    "tilt-lsp does not build images: rebuild and redeploy this image yourself (for example with `tilt up`) "
    "to apply this change"
)
MANUAL_TRIGGER_MESSAGE = "Only updates on manual trigger"
OUTPUT_TAIL_LINES = 10
_MAX_WATERMARKS = 1000
_MISSING = object()


@dataclass(frozen=True)
class EngineOptions:
    debounce_ms: int = 200
    max_debounce_ms: int = 10_000
    poll_interval_s: float = 2.0  # how often to look for new containers (replay, initial_sync)
    parallel: int = 8  # containers updated at the same time
    retry_transient: bool = True  # rule 27 [OURS]: retry a transient transport error once
    initial_sync_on_start: bool = True  # images with initial_sync(): sync the containers found at start


@dataclass(frozen=True)
class LogLine:
    """A line of update log (Tilt's wording) or of run output."""

    image: str
    text: str
    kind: Literal["progress", "output", "error"] = "progress"
    update_id: str | None = None
    container: str | None = None  # container name, for output lines


@dataclass(frozen=True)
class RunFailure:
    """A ``run()`` step that exited non-zero (the user's error, rule 23)."""

    run: RunStep
    index: int  # 1-based among the steps selected for this update
    total: int
    exit_code: int
    output_tail: tuple[str, ...]
    container: str  # container name


@dataclass(frozen=True)
class UpdateResult:
    """The outcome of one update (its terminal event, with typed details)."""

    update_id: str
    image: str
    resource: str | None
    phase: str  # terminal phase
    message: str
    files: tuple[str, ...]
    containers: tuple[ContainerRef, ...]
    elapsed_ms: float
    run_failure: RunFailure | None = None
    infra_error: str | None = None
    reason: str | None = None  # Tilt's reason for a failure: CrashLoopBackOff, PodsInconsistent, ...
    finished_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "updateId": self.update_id,
            "phase": self.phase,
            "message": self.message,
            "files": list(self.files),
            "containers": [container_json(c) for c in self.containers],
            "elapsedMs": round(self.elapsed_ms, 1),
            "finishedAt": self.finished_at,
            "exitCode": self.run_failure.exit_code if self.run_failure else None,
            "reason": self.reason,
        }


@runtime_checkable
class SupportsComposeLookup(Protocol):
    def find_compose_containers(self, project: str, service: str) -> list[ContainerRef]: ...


@runtime_checkable
class SupportsContainerEvents(Protocol):
    """Optional transport hook: tell the engine at once when containers start or go away."""

    def on_containers_changed(self, callback: Callable[[], None]) -> None: ...


@runtime_checkable
class SupportsExtractMany(Protocol):
    """Optional transport hook: unpack one archive in many containers from one thread.

    Returns the outcome per container id for the containers it handled (None = success, or the
    error ``extract_tar`` would have raised); the engine updates the others one by one.
    """

    def extract_tar_many(
        self, containers: Sequence[ContainerRef], tar: bytes
    ) -> dict[str, TransportError | None]: ...


@runtime_checkable
class SupportsPrepare(Protocol):
    """Optional transport hook: get ready to update ``c`` quickly (e.g. pre-start execs)."""

    def prepare(self, c: ContainerRef, runs: Sequence[RunStep]) -> None: ...

    def forget(self, keep: Iterable[str]) -> None: ...


def container_json(c: ContainerRef) -> dict[str, Any]:
    return {"kind": c.kind, "id": c.id, "name": c.name, "pod": c.pod, "namespace": c.namespace}


# ------------------------------------------------------------------ image state


@dataclass
class _Pending:
    update_id: str
    queued_at: float
    files: set[str] = field(default_factory=set)  # absolute paths
    full: bool = False  # resync every sync path (syncNow, queue overflow)


@dataclass
class _ImageState:
    image: Image
    spec: LiveUpdateSpec
    matcher: PathMatcher
    resource: str | None
    compose: tuple[tuple[str, str], ...]
    journal: dict[str, int] = field(default_factory=dict)  # path -> sequence number of its last change
    watermarks: dict[str, int] = field(default_factory=dict)  # container id -> last sequence applied
    seen: set[str] = field(default_factory=set)  # container ids ever updated or synced
    known: dict[str, ContainerRef] = field(default_factory=dict)  # last discovery
    pending: _Pending | None = None
    running: bool = False
    held: set[str] | None = None  # changed paths that arrived while paused (None: nothing held)
    paused: bool = False  # this image alone is paused
    infra_failed: set[str] = field(default_factory=set)  # containers whose last update failed (no auto-retry)
    fallback_containers: set[str] = field(default_factory=set)  # containers running when a fallback happened
    state: ImageStateName = "idle"
    last: UpdateResult | None = None
    needs_rebuild: set[str] = field(default_factory=set)
    manual: bool = False  # the image's resource has a manual trigger mode (rule 19)
    manual_held: set[str] = field(default_factory=set)  # changes waiting for the manual trigger
    manual_full: bool = False  # a resync (watcher overflow) waits for the manual trigger
    crash: dict[str, str] = field(default_factory=dict)  # container id -> why it is crash-looping (sticky)

    @property
    def ref(self) -> str:
        return self.image.ref


class _UpdateAborted(Exception):
    pass


# ------------------------------------------------------------------------ engine


class LiveUpdateEngine:
    """Live update for every image of one Tiltfile.

    ``root``: the workspace/project folder (event file paths are relative to it).
    ``tiltfile``: defaults to ``<root>/Tiltfile``.
    ``transport``: where containers live; ``transport_factory`` creates it lazily on start.
    ``on_event``: receives every ``tilt/liveUpdate`` params dict (any thread; must not block).
    ``on_log``: Tilt-style progress lines and run output.  ``on_result``: each terminal outcome.
    ``load_model``: ``evaluate`` by default (tests inject models).
    """

    def __init__(
        self,
        root: str,
        *,
        tiltfile: str | None = None,
        transport: Transport | None = None,
        transport_factory: Callable[[], Transport] | None = None,
        on_event: EventSink | None = None,
        on_log: Callable[[LogLine], None] | None = None,
        on_result: Callable[[UpdateResult], None] | None = None,
        on_model: Callable[[TiltfileModel], None] | None = None,
        options: EngineOptions | None = None,
        load_model: Callable[[str], TiltfileModel] | None = None,
        watch: bool = False,
        watcher_factory: Callable[[LiveUpdateEngine], Any] | None = None,
    ) -> None:
        self.root = os.path.abspath(root)
        self.tiltfile = os.path.abspath(tiltfile) if tiltfile else os.path.join(self.root, "Tiltfile")
        self.options = options or EngineOptions()
        self._transport = transport
        self._transport_factory = transport_factory
        self._on_event = on_event
        self._on_log = on_log
        self._on_result = on_result
        self._on_model = on_model
        self._load_model = load_model
        self._watch = watch
        self._watcher_factory = watcher_factory
        self._watcher: Any = None

        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._seq = 0
        self._paused = False
        self._started = False
        self._stopped = threading.Event()
        self._states: dict[str, _ImageState] = {}
        self._model: TiltfileModel | None = None
        self._model_files: frozenset[str] = frozenset()
        self._model_error: str | None = None
        self._update_pool = _DaemonPool(4, "liveupdate")
        self._container_pool = _DaemonPool(max(1, self.options.parallel), "liveupdate-ctr")
        self._debouncer = Debouncer(
            self.options.debounce_ms, max(self.options.max_debounce_ms, self.options.debounce_ms)
        )
        self._intake = _Intake(self._debouncer, self._on_batch)
        self._monitor: threading.Thread | None = None
        self._wake_monitor = threading.Event()
        self._rel_cache: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            if self._transport_factory is None:
                from tilt_lsp.liveupdate.warmexec import WarmDockerTransport

                self._transport = WarmDockerTransport()
            else:
                self._transport = self._transport_factory()
        return self._transport

    @property
    def model(self) -> TiltfileModel | None:
        return self._model

    @property
    def paused(self) -> bool:
        return self._paused

    def start(self) -> LiveUpdateEngine:
        """Load the model, start batching, the file watcher (when asked) and the container monitor."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        if self._model is None:
            self.reload()
        self._intake.start()
        if self._watch:
            self._start_watcher()
        self._monitor = threading.Thread(target=self._monitor_loop, name="liveupdate-monitor", daemon=True)
        self._monitor.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop intake, wait (up to ``timeout``) for running updates, release the transport."""
        self._stopped.set()
        self._wake_monitor.set()
        if self._watcher is not None:
            try:
                self._watcher.stop()
            except Exception:
                _log.exception("stopping the file watcher failed")
        self._intake.stop(timeout=2.0)
        with self._lock:
            for st in self._states.values():
                if st.pending is not None and not st.running:
                    self._finish_unstarted(st, st.pending, "engine stopped before the update started")
                    st.pending = None
        self.wait_idle(timeout)
        self._update_pool.shutdown()
        self._container_pool.shutdown()
        close = getattr(self._transport, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                _log.debug("closing the transport failed", exc_info=True)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no batch is open and no update is queued or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._idle:
                batch_open = self._intake.busy() and not self._stopped.is_set()
                busy = batch_open or any(
                    st.running or (st.pending is not None and not self._is_paused(st))
                    for st in self._states.values()
                )
                if not busy:
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(0.05 if remaining is None else min(0.05, remaining))

    # ------------------------------------------------------------------- intake

    def save(self, paths: Iterable[str]) -> None:
        """Editor save: the paths (and anything pending) are handled now, without debounce."""
        absolute = [self._abs(p) for p in paths]
        if absolute:
            self._intake.save(absolute)

    def changed(self, paths: Iterable[str]) -> None:
        """Changes seen outside the editor (file watcher): debounced."""
        absolute = [self._abs(p) for p in paths]
        if absolute:
            self._intake.submit(absolute)

    def overflow(self) -> None:
        """The OS dropped file events: everything is resynced once the batch flushes."""
        self._emit_log_all(
            "file watcher queue overflowed: events were lost; resyncing every sync path", "error"
        )
        self._intake.overflow()

    def relevant(self, path: str) -> bool:
        """Whether a watcher event for ``path`` matters (model file, ignore file, or an image's file)."""
        path = os.path.normpath(path)
        if path in self._model_files or _is_ignore_file(path):
            return True
        with self._lock:
            states = list(self._states.values())
        return any(self._belongs(st, path) for st in states)

    def _abs(self, path: str) -> str:
        if path.startswith("file://"):
            from urllib.parse import unquote, urlparse

            path = unquote(urlparse(path).path)
        return os.path.normpath(path if os.path.isabs(path) else os.path.join(self.root, path))

    def _on_batch(self, batch: Batch) -> None:
        try:
            self._handle_batch(batch)
        finally:
            with self._idle:
                self._idle.notify_all()

    def _handle_batch(self, batch: Batch) -> None:
        if self._stopped.is_set():
            return
        if batch.resync:
            self.reload()
            with self._lock:
                for st in self._states.values():
                    if st.manual:
                        st.manual_full = True
                        self._hold_for_trigger(st, ())
                    else:
                        self._schedule(st, (), full=True)
            return
        paths = [os.path.normpath(p) for p in batch.paths]
        if any(p in self._model_files or _is_ignore_file(p) for p in paths):
            self.reload()
        with self._lock:
            self._seq += 1
            seq = self._seq
            for st in self._states.values():
                mine = [p for p in paths if self._belongs(st, p)]
                if not mine:
                    continue
                if st.manual:
                    st.manual_held.update(mine)
                    self._hold_for_trigger(st, mine)
                    continue
                for p in mine:
                    st.journal[p] = seq
                st.infra_failed.clear()  # new changes: failed containers are tried again
                self._schedule(st, mine)

    def _hold_for_trigger(self, st: _ImageState, files: Iterable[str]) -> None:
        """Rule 19: a manual-trigger image records the change; the update ends at once as skipped."""
        held = _Pending(uuid.uuid4().hex, time.monotonic(), set(files))
        self._emit(st, held, "queued", [], message="queued")
        n = len(st.manual_held)
        what = "a full resync" if st.manual_full else f"{n} changed file{'s' if n != 1 else ''}"
        self._terminal(
            st,
            held,
            "skipped",
            f"{MANUAL_TRIGGER_MESSAGE}: {what} held until triggered (tilt.liveUpdate.syncNow)",
            [],
        )
        st.state = "held"

    def _release_held(self, st: _ImageState, *, force: bool = True) -> bool:
        """Journal the changes held for the manual trigger and queue their update (lock held)."""
        if not st.manual_held and not st.manual_full:
            return False
        held, full = set(st.manual_held), st.manual_full
        st.manual_held.clear()
        st.manual_full = False
        self._seq += 1
        for p in held:
            st.journal[p] = self._seq
        st.infra_failed.clear()
        self._schedule(st, held, full=full, force=force)
        return True

    @staticmethod
    def _belongs(st: _ImageState, path: str) -> bool:
        return any(
            is_within(path, os.path.normpath(w)) for w in st.image.watch_paths
        ) and not st.matcher.ignored(path)

    # -------------------------------------------------------------------- model

    def reload(self) -> TiltfileModel | None:
        """Evaluate the Tiltfile again and rebuild per-image state (journals and watermarks survive)."""
        try:
            if self._load_model is not None:
                model = self._load_model(self.tiltfile)
            else:
                from tilt_lsp.tiltfile.evaluate import evaluate

                model = evaluate(self.tiltfile)
        except Exception as exc:  # evaluate never raises for bad input; keep the old model on bugs
            _log.exception("evaluating %s failed", self.tiltfile)
            self._model_error = str(exc)
            return self._model
        self._model_error = None
        states: dict[str, _ImageState] = {}
        with self._lock:
            old = self._states
            for img in model.images:
                spec = img.live_update
                if spec is None or not spec.enabled:
                    continue
                matcher = build_matcher(
                    img,
                    img.tiltfile_dir or os.path.dirname(model.tiltfile),
                    model.watch_ignores,
                    tiltfiles=[model.tiltfile, *model.loads],
                )
                resource = _resource_for(model, img.ref)
                st = _ImageState(
                    image=img,
                    spec=spec,
                    matcher=matcher,
                    resource=resource.name if resource else None,
                    compose=_compose_services(model, img.ref),
                    manual=(resource.trigger_mode if resource else model.trigger_mode) == "manual",
                )
                prev = old.get(img.ref)
                if prev is not None:
                    st.journal, st.watermarks, st.seen = prev.journal, prev.watermarks, prev.seen
                    st.known, st.pending, st.running = prev.known, prev.pending, prev.running
                    st.held, st.state, st.last, st.needs_rebuild = (
                        prev.held,
                        prev.state,
                        prev.last,
                        prev.needs_rebuild,
                    )
                    st.infra_failed, st.fallback_containers = prev.infra_failed, prev.fallback_containers
                    st.paused = prev.paused
                    st.manual_held, st.manual_full, st.crash = prev.manual_held, prev.manual_full, prev.crash
                states[img.ref] = st
            for ref, prev in old.items():  # an image that disappeared: finish its queued update
                if ref not in states and prev.pending is not None and not prev.running:
                    self._finish_unstarted(prev, prev.pending, "the image is no longer in the Tiltfile")
            self._states = states
            for st in states.values():
                if not st.manual:  # switched back to automatic: what was held goes out now
                    self._release_held(st, force=False)
            self._model = model
            self._model_files = frozenset(os.path.normpath(p) for p in (model.tiltfile, *model.files))
        if self._watcher is not None:
            self._watcher.update(self.watch_roots())
        if self._on_model is not None:
            self._on_model(model)
        self._wake_monitor.set()
        return model

    def watch_roots(self) -> tuple[list[str], list[str]]:
        """(directories watched recursively, files watched) for the file watcher."""
        with self._lock:
            dirs = {os.path.normpath(w) for st in self._states.values() for w in st.image.watch_paths}
            files = set(self._model_files)
        files |= {os.path.join(os.path.dirname(self.tiltfile), ".tiltignore")}
        return sorted(dirs), sorted(files)

    def _start_watcher(self) -> None:
        if self._watcher_factory is not None:
            self._watcher = self._watcher_factory(self)
        else:
            from tilt_lsp.liveupdate.watcher import FileWatcher

            self._watcher = FileWatcher(self.changed, self.overflow, self.relevant, within=self.root)
        self._watcher.update(self.watch_roots())
        self._watcher.start()

    # ----------------------------------------------------------------- commands

    def pause(self, image: str | None = None) -> list[str]:
        """Hold updates (of every image, or of one): changes are recorded and applied on resume."""
        with self._lock:
            if image is None:
                self._paused = True
                return list(self._states)
            st = self._state_for(image)
            st.paused = True
            return [st.ref]

    def resume(self, image: str | None = None) -> list[str]:
        """Resume updates; held changes are applied now."""
        with self._lock:
            if image is None:
                self._paused = False
                for st in self._states.values():
                    st.paused = False
                targets = list(self._states.values())
            else:
                st = self._state_for(image)
                st.paused = False
                targets = [st]
            for st in targets:
                if not self._is_paused(st) and (st.held is not None or st.pending is not None):
                    held, st.held = st.held or set(), None
                    self._schedule(st, held)
            return [st.ref for st in targets]

    def _is_paused(self, st: _ImageState) -> bool:
        return self._paused or st.paused

    def _state_for(self, image: str) -> _ImageState:
        for st in self._states.values():
            if st.ref == image or image_name(st.ref) == image_name(image):
                return st
        raise ValueError(f"no live-update image named {image!r}")

    def sync_now(self, target: str | None = None) -> list[str]:
        """Resync now: every image (None), one image (its ref), or one file (a path or file URI).

        An image resync copies every non-ignored file under its syncs to every container (no
        deletes), runs the steps whose triggers match, and restarts if the spec says so.
        Returns the image refs concerned.
        """
        with self._lock:
            states = list(self._states.values())
        if target:
            wanted = [st for st in states if st.ref == target or image_name(st.ref) == image_name(target)]
            if not wanted:
                path = self._abs(target)
                if os.path.lexists(path):
                    self.save([path])
                    return [st.ref for st in states if self._belongs(st, path)]
                raise ValueError(f"no live-update image or file named {target!r}")
            states = wanted
        with self._lock:
            for st in states:
                st.crash.clear()  # an explicit resync looks at the containers afresh (rule 18)
                if st.manual:
                    self._manual_trigger(st)
                else:
                    self._schedule(st, (), full=True, force=True)
        return [st.ref for st in states]

    def trigger(self, image: str | None = None) -> list[str]:
        """The manual trigger for images in manual trigger mode that hold changes (rule 19).

        Unlike :meth:`sync_now`, images without held changes are left alone.  Returns the
        image refs whose held changes are now being applied.
        """
        with self._lock:
            states = [self._state_for(image)] if image else list(self._states.values())
            return [st.ref for st in states if st.manual and self._release_held(st)]

    def _manual_trigger(self, st: _ImageState) -> None:
        """Rule 19: with held changes, live-update them; without, Tilt would rebuild (we report it)."""
        if self._release_held(st):
            return
        pending = _Pending(uuid.uuid4().hex, time.monotonic())
        self._emit(st, pending, "queued", [], message="queued")
        self._log(st, f'LiveUpdate "{st.ref}": manual trigger without pending changes', pending.update_id)
        self._terminal(
            st,
            pending,
            "fallback",
            f"Manual trigger without changes to live-update: this means a full rebuild. {NO_REBUILD_NOTE}",
            list(st.known.values()),
        )

    def status(self) -> dict[str, Any]:
        """Per-image state, last result, containers (JSON-ready)."""
        with self._lock:
            images = []
            for st in self._states.values():
                images.append(
                    {
                        "image": st.ref,
                        "resource": st.resource,
                        "state": "paused" if self._is_paused(st) and not st.running else st.state,
                        "paused": self._is_paused(st),
                        "lastResult": st.last.to_json() if st.last else None,
                        "containers": [
                            {
                                **container_json(c),
                                "upToDate": st.watermarks.get(c.id, 0) >= self._image_seq(st),
                            }
                            for c in st.known.values()
                        ],
                        "pendingFiles": [
                            self.rel(p)
                            for p in sorted(
                                (st.pending.files if st.pending else set())
                                | (st.held or set())
                                | st.manual_held
                            )
                        ],
                        "triggerMode": "manual" if st.manual else "auto",
                        "waitingForTrigger": bool(st.manual_held or st.manual_full),
                        "crashLooping": sorted(st.crash.values()),
                        "needsRebuild": [self.rel(p) for p in sorted(st.needs_rebuild)],
                        "syncs": [{"local": self.rel(s.local), "remote": s.remote} for s in st.spec.syncs],
                    }
                )
            return {
                "paused": self._paused,
                "tiltfile": self.tiltfile,
                "modelError": self._model_error,
                "images": images,
            }

    @staticmethod
    def _image_seq(st: _ImageState) -> int:
        return max(st.journal.values(), default=0)

    def rel(self, path: str) -> str:
        """A path relative to the workspace root when inside it (POSIX slashes), else absolute."""
        cached = self._rel_cache.get(path)
        if cached is not None:
            return cached
        prefix = self.root.rstrip(os.sep) + os.sep
        out = path[len(prefix) :].replace(os.sep, "/") if path.startswith(prefix) else path
        if len(self._rel_cache) > 100_000:
            self._rel_cache.clear()
        self._rel_cache[path] = out
        return out

    # --------------------------------------------------------------- scheduling

    def _schedule(
        self, st: _ImageState, files: Iterable[str], *, full: bool = False, force: bool = False
    ) -> None:
        """Queue an update for ``st`` (lock held). While paused, changes are only held."""
        if self._stopped.is_set():
            return
        current = self._states.get(st.ref)
        if current is None:
            return
        # A caller may hold a state object that a reload has replaced since (the monitor looks
        # for containers without the lock): queue on the live one, or two updates could overlap.
        st = current
        if self._is_paused(st) and not force:
            st.held = (st.held or set()) | set(files)
            return
        if st.pending is None:
            st.pending = _Pending(uuid.uuid4().hex, time.monotonic(), set(files), full)
            st.state = "queued" if not st.running else st.state
            self._emit(st, st.pending, "queued", [], message="queued")
        else:
            st.pending.files.update(files)
            st.pending.full = st.pending.full or full
        self._kick(st, force=force)

    def _kick(self, st: _ImageState, *, force: bool = False) -> None:
        if st.running or (self._is_paused(st) and not force) or self._stopped.is_set():
            return
        if st.pending is None:
            st.pending = _Pending(uuid.uuid4().hex, time.monotonic())
            self._emit(st, st.pending, "queued", [], message="queued")
        st.running = True
        self._update_pool.submit(self._drain, st.ref, force)

    def _drain(self, ref: str, force: bool) -> None:
        previous: _ImageState | None = None
        while True:
            with self._lock:
                st = self._states.get(ref)
                if st is None:  # the image left the Tiltfile while its update ran
                    if previous is not None and previous.pending is not None:
                        left, previous.pending = previous.pending, None
                        self._finish_unstarted(previous, left, "the image is no longer in the Tiltfile")
                    self._idle.notify_all()
                    return
                previous = st
                pending = st.pending
                if pending is not None and self._stopped.is_set():
                    st.pending = None
                    self._finish_unstarted(st, pending, "engine stopped before the update started")
                if st.pending is None or self._stopped.is_set() or (self._is_paused(st) and not force):
                    st.running = False
                    self._idle.notify_all()
                    return
                assert pending is not None
                st.pending = None
                st.state = "updating"
            try:
                self._run_update(st, pending)
            except Exception as exc:  # a bug: still give the update its terminal phase
                _log.exception("live update of %s crashed", ref)
                self._terminal(st, pending, "failed", f"internal error: {exc}", [], infra=str(exc))
            force = False
            with self._idle:
                self._idle.notify_all()

    # ------------------------------------------------------------------ updates

    def _find_containers(self, st: _ImageState) -> list[ContainerRef]:
        transport = self.transport
        found: dict[str, ContainerRef] = {}
        for c in transport.find_containers(st.ref):
            found[c.id] = c
        if st.compose and isinstance(transport, SupportsComposeLookup):
            for project, service in st.compose:
                for c in transport.find_compose_containers(project, service):
                    found.setdefault(c.id, c)
        return sorted(found.values(), key=lambda c: (c.name, c.id))

    def _run_update(self, st: _ImageState, pending: _Pending) -> None:
        with self._lock:
            target_seq = self._seq
            journal = dict(st.journal)
        try:
            # One listing gives the running containers and the state of the others (rule 18).
            states = self._container_states(st)
            containers = (
                sorted((s.container for s in states if s.status == "running"), key=lambda c: (c.name, c.id))
                if states is not None
                else self._find_containers(st)
            )
        except TransportError as exc:
            self._terminal(st, pending, "failed", str(exc), [], infra=str(exc))
            return
        states = states or []
        with self._lock:
            st.known = {c.id: c for c in containers}
        crashing = self._note_crashes(st, containers, states)
        if crashing and (pending.files or pending.full or self._lagging(st, containers)):
            self._crash_loop_failure(st, pending, containers, crashing)
            return
        if not containers:
            where = f" or the compose service {', '.join(s for _, s in st.compose)}" if st.compose else ""
            stopped = [s for s in states if s.stopped]
            why = ""
            if stopped:
                why = " (" + "; ".join(f"{s.container.name}: {s.describe()}" for s in stopped[:3]) + ")"
            self._terminal(
                st,
                pending,
                "skipped",
                f"no running container of image {st.ref}{where}{why}; the changes are kept and replayed "
                "when a container starts",
                [],
            )
            return

        # Containers that lack the same changes are updated together (normally all of them).
        groups: dict[frozenset[str] | None, list[ContainerRef]] = {}
        replay: set[str] = set()
        for c in containers:
            wm = st.watermarks.get(c.id, 0)
            missing = frozenset(p for p, s in journal.items() if s > wm)
            if pending.full or (st.spec.initial_sync and c.id not in st.seen):
                groups.setdefault(None, []).append(c)
                replay |= missing
            elif missing:
                groups.setdefault(missing, []).append(c)
        if not groups:
            self._terminal(st, pending, "done", "already up to date", containers)
            return
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
        for n, (key, members) in enumerate(ordered):
            this = pending if n == 0 else _Pending(uuid.uuid4().hex, time.monotonic())
            if n > 0:
                self._emit(st, this, "queued", [], message="queued")
            this.files = set(key) if key is not None else set()
            this.full = key is None
            self._apply(st, this, members, key, target_seq, frozenset(replay))

    def _container_states(self, st: _ImageState) -> list[ContainerState] | None:
        """Every container of the image with its state; None when the transport cannot tell."""
        transport = self.transport
        if not isinstance(transport, SupportsContainerStates):
            return None
        return transport.container_states(st.ref, st.compose)

    def _note_crashes(
        self, st: _ImageState, containers: Sequence[ContainerRef], states: Sequence[ContainerState]
    ) -> dict[str, str]:
        """Record crash-looping containers; return every container still marked (sticky, rule 18).

        A container stays marked while it exists, even once it runs again: only its replacement
        (a new container, presumably of a rebuilt image) or a manual resync clears the mark.
        """
        now = time.time()
        present = {c.id for c in containers} | {s.container.id for s in states if s.status != "removing"}
        with self._lock:
            st.crash = {cid: why for cid, why in st.crash.items() if cid in present}
            for s in states:
                if s.crash_looping(now):
                    st.crash[s.container.id] = f"{s.container.name} ({s.describe()})"
            return dict(st.crash)

    def _lagging(self, st: _ImageState, containers: Sequence[ContainerRef]) -> bool:
        newest = self._image_seq(st)
        return any(st.watermarks.get(c.id, 0) < newest for c in containers) or (
            st.spec.initial_sync and any(c.id not in st.seen for c in containers)
        )

    def _crash_loop_failure(
        self,
        st: _ImageState,
        pending: _Pending,
        containers: Sequence[ContainerRef],
        crashing: dict[str, str],
    ) -> None:
        """Rule 18: nothing is copied; the image needs a rebuild (changes stay pending for new containers)."""
        what = f"Cannot live update because container crashing. Container: {', '.join(sorted(crashing.values()))}"
        self._log(st, f'LiveUpdate "{st.ref}" CrashLoopBackOff: {what}', pending.update_id, kind="error")
        with self._lock:
            # No automatic retry into a crash loop: the next change (or a resync) tries again.
            st.infra_failed.update(c.id for c in containers)
            st.infra_failed.update(crashing)
        self._terminal(
            st,
            pending,
            "failed",
            f"CrashLoopBackOff: {what}. {NO_REBUILD_NOTE}",
            list(containers),
            infra=what,
            reason="CrashLoopBackOff",
        )

    def _apply(
        self,
        st: _ImageState,
        pending: _Pending,
        containers: list[ContainerRef],
        paths: frozenset[str] | None,
        target_seq: int,
        replay: frozenset[str] = frozenset(),
    ) -> None:
        """One update of ``containers``: ``paths`` changed, or (None) a full resync plus ``replay`` deletes."""
        spec = st.spec
        try:
            p: Plan | Fallback
            if paths is None:
                p = self._full_plan(st, replay)
            else:
                p = plan(spec, paths, cwd=self.root)
        except InvalidSyncError as exc:
            self._terminal(st, pending, "failed", f"invalid live_update: {exc}", containers, infra=str(exc))
            return
        if isinstance(p, Fallback):
            self._fallback(st, pending, p, containers, target_seq)
            return
        if paths is None:
            pending.files = {local for local, _ in p.copies} | {local for local, _ in p.delete_sources}
        uid = pending.update_id
        files = sorted(pending.files)
        self._log(st, files_changed_header(files, self.root) if files else "Nothing to sync", uid)

        gone: list[ContainerRef] = []
        infra: list[tuple[ContainerRef, TransportError]] = []
        alive = list(containers)

        def settle(c: ContainerRef, err: BaseException | None) -> bool:
            if err is None:
                return True
            if isinstance(err, ContainerGone):
                gone.append(c)
            elif isinstance(err, TransportError):
                infra.append((c, err))
            else:
                infra.append((c, TransportError(f"{type(err).__name__}: {err}", container=c)))
            return False

        # 1-2: deletes and copies.
        if p.copies or p.deletes:
            tar = build_tar(p.copies, st.matcher) if p.copies else None
            try:
                if tar is not None and tar.unstable:
                    self.changed(tar.unstable)  # changed while being read: sent again with the next batch
                n = len(p.copies) + len(p.deletes)
                self._emit(
                    st,
                    pending,
                    "sync",
                    alive,
                    message=f"sync {n} file{'s' if n != 1 else ''} \u2192 {_names(alive)}",
                )
                for c in alive:
                    for line in will_delete_lines(p.delete_sources, c.display) + will_copy_lines(
                        p.copies, c.display
                    ):
                        self._log(st, line, uid)
                payload: bytes | None = None
                if tar is not None and tar.entries:
                    payload = tar.data if isinstance(tar.data, bytes) else None
                    if payload is None:  # a large spooled archive: one reader at a time
                        big = tar
                        results = [(c, self._sync_one(c, p, big, None)) for c in alive]
                    elif not p.deletes and len(alive) > 1 and self.options.parallel > 1:
                        results = self._sync_many(alive, p, payload)
                    else:
                        results = self._each(alive, lambda c: self._sync_one(c, p, None, payload))
                else:
                    results = self._each(alive, lambda c: self._sync_one(c, p, None, None))
            finally:
                if tar is not None:
                    tar.close()
            alive = [c for c, err in results if settle(c, err)]

        # 3: runs, step by step across the replicas; no replica runs later steps after a failure.
        run_failure: RunFailure | None = None
        inconsistent: tuple[list[str], list[str]] | None = None  # (failed, succeeded) in the failing step
        total = len(p.runs)
        for index, run in enumerate(p.runs, 1):
            if not alive:
                break
            self._emit(
                st,
                pending,
                "run",
                alive,
                step={"index": index, "total": total, "command": run.display},
                message=f"run {index}/{total}: {run.display}",
            )
            self._log(st, cmd_line(index, total, run), uid)
            outcomes = self._each(alive, functools.partial(self._run_one, st, uid, run, len(alive) > 1))
            still: list[ContainerRef] = []
            passed: list[str] = []
            failed_here: list[str] = []
            for c, out in outcomes:
                if isinstance(out, BaseException):
                    settle(c, out)
                    continue
                code, tail = out
                if code == 0:
                    still.append(c)
                    passed.append(c.name)
                elif code == 137:  # rule 25: killed by the runtime is infrastructure
                    settle(
                        c,
                        TransportError(
                            f'command "{run.display}" failed with exit code: 137 {describe_exit(137)}',
                            container=c,
                            exit_code=137,
                            output="\n".join(tail),
                        ),
                    )
                else:
                    still.append(c)  # the replica has the files; only the step failed (rule 23)
                    failed_here.append(c.name)
                    if run_failure is None:
                        run_failure = RunFailure(run, index, total, code, tail, c.name)
            if failed_here and passed:  # rule 24: the replicas no longer agree
                inconsistent = (failed_here, passed)
            alive = still
            if run_failure is not None or infra:
                break

        # 4: restart.
        if p.restart and alive and run_failure is None and not infra:
            self._emit(st, pending, "restart", alive, message=f"restart {_names(alive)}")
            alive = [c for c, err in self._each(alive, self._restart_one) if settle(c, err)]

        self._conclude(st, pending, containers, alive, gone, infra, run_failure, target_seq, inconsistent)

    def _full_plan(self, st: _ImageState, replay: frozenset[str]) -> Plan:
        """Initial sync / resync: every non-ignored file under the syncs, plus deletes of replayed paths."""
        full = initial_sync_plan(st.spec, st.matcher)
        if not replay:
            return full
        try:
            journal_plan = plan(st.spec, replay, cwd=self.root)
        except InvalidSyncError:
            return full
        if isinstance(journal_plan, Fallback) or not journal_plan.deletes:
            return full
        return Plan(
            copies=full.copies,
            deletes=journal_plan.deletes,
            runs=full.runs,
            restart=full.restart,
            changed=tuple(sorted(set(full.changed) | set(journal_plan.changed))),
            delete_sources=journal_plan.delete_sources,
        )

    def _conclude(
        self,
        st: _ImageState,
        pending: _Pending,
        containers: list[ContainerRef],
        alive: list[ContainerRef],
        gone: list[ContainerRef],
        infra: list[tuple[ContainerRef, TransportError]],
        run_failure: RunFailure | None,
        target_seq: int,
        inconsistent: tuple[list[str], list[str]] | None = None,
    ) -> None:
        uid = pending.update_id
        if infra:
            # Rules 25/27: infrastructure.  Replicas that completed every step are up to date; the
            # others keep their changes pending and get them with the next update.
            if run_failure is None:
                self._advance(st, alive, target_seq)
            c, err = infra[0]
            self._log(
                st, f"  \u2192 Failed to update container {c.display}: {err.message}", uid, kind="error"
            )
            message = f"Updating container {c.name}: {err}"
            if err.output.strip() and err.exit_code not in (None, 126, 127):
                message += "\n" + "\n".join(err.output.strip().splitlines()[-OUTPUT_TAIL_LINES:])
            with self._lock:
                st.infra_failed.update(x.id for x, _ in infra)
            self._terminal(st, pending, "failed", message, [c for c, _ in infra] + alive, infra=str(err))
            return
        if run_failure is not None:
            # Rule 23: the user's error. The files stay, the changes are consumed, nothing is rebuilt.
            self._advance(st, alive, target_seq)
            rf = run_failure
            suffix = f" {describe_exit(rf.exit_code)}" if describe_exit(rf.exit_code) else ""
            what = f'command "{rf.run.display}" failed with exit code: {rf.exit_code}{suffix}'
            self._log(st, f"  \u2192 Failed to update container {rf.container}: {what}", uid, kind="error")
            message = f"run {rf.index}/{rf.total} failed in {rf.container}: {what}"
            reason: str | None = None
            if inconsistent is not None:
                # Rule 24: some replicas ran the step fine, others did not; Tilt rebuilds.
                failed_names, passed_names = inconsistent
                reason = "PodsInconsistent"
                detail = (
                    f"containers in inconsistent state: run {rf.index}/{rf.total} failed in "
                    f"{', '.join(failed_names)} but succeeded in {', '.join(passed_names)}"
                )
                self._log(st, f'LiveUpdate "{st.ref}" PodsInconsistent: {detail}', uid, kind="error")
                message = f"PodsInconsistent: {detail}; a full rebuild is needed. {NO_REBUILD_NOTE}\n{what}"
            if rf.output_tail:
                message += "\n" + "\n".join(rf.output_tail)
            self._terminal(st, pending, "failed", message, alive, run_failure=rf, reason=reason)
            return
        if not alive:
            names = ", ".join(c.name for c in gone)
            message = (
                f"container{'s' if len(gone) != 1 else ''} {names} stopped or went away during the update; "
                "the changes are replayed when a container of this image runs again"
            )
            self._terminal(st, pending, "failed", message, gone, infra=message)
            return
        self._advance(st, alive, target_seq)
        for c in alive:
            self._log(st, container_updated_line(c.display), uid)
        elapsed = (time.monotonic() - pending.queued_at) * 1000
        note = f"; {len(gone)} container{'s' if len(gone) != 1 else ''} went away" if gone else ""
        self._terminal(st, pending, "done", f"updated in {elapsed:.0f} ms{note}", alive)

    # per-container work (container pool) ----------------------------------------

    def _each(
        self, containers: Sequence[ContainerRef], fn: Callable[[ContainerRef], Any]
    ) -> list[tuple[ContainerRef, Any]]:
        """Run ``fn`` for every container (concurrently up to ``parallel``); exceptions become results."""

        def guarded(c: ContainerRef) -> Any:
            try:
                return fn(c)
            except Exception as exc:
                return exc

        if len(containers) == 1 or self.options.parallel <= 1:
            return [(c, guarded(c)) for c in containers]
        futures = [(c, self._container_pool.submit(guarded, c)) for c in containers]
        return [(c, f.result()) for c, f in futures]

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except TransportError as exc:
            if not (self.options.retry_transient and exc.transient) or isinstance(exc, ContainerGone):
                raise
            _log.info("transient error, retrying once: %s", exc)
            return fn()

    def _sync_one(
        self, c: ContainerRef, p: Plan, tar: TarResult | None, payload: bytes | None
    ) -> TransportError | None:
        transport = self.transport
        try:
            if p.deletes:
                self._retrying(lambda: transport.delete(c, list(p.deletes)))
            if payload is not None:
                data = payload
                self._retrying(lambda: transport.extract_tar(c, data))
            elif tar is not None:
                self._retrying(lambda: transport.extract_tar(c, tar.chunks()))
        except TransportError as exc:
            return exc
        return None

    def _sync_many(
        self, containers: list[ContainerRef], p: Plan, payload: bytes
    ) -> list[tuple[ContainerRef, TransportError | None]]:
        """Copies only, several containers: one batch through the transport when it can."""
        transport = self.transport
        done: dict[str, TransportError | None] = {}
        if isinstance(transport, SupportsExtractMany):
            try:
                done = transport.extract_tar_many(containers, payload)
            except Exception:  # a bug there must not cost the update: go one by one
                _log.exception("batch extraction failed")
                done = {}

        def finish(c: ContainerRef) -> TransportError | None:
            if c.id not in done:
                return self._sync_one(c, p, None, payload)
            err = done[c.id]
            # The batch was the first attempt: a transient failure gets its one retry (rule 27).
            if (
                err is None
                or not (self.options.retry_transient and err.transient)
                or isinstance(err, ContainerGone)
            ):
                return err
            try:
                transport.extract_tar(c, payload)
            except TransportError as exc:
                return exc
            return None

        rest = [c for c in containers if done.get(c.id, _MISSING) is not None]
        outcomes = dict((c.id, out) for c, out in self._each(rest, finish))
        return [(c, outcomes.get(c.id)) for c in containers]

    def _run_one(
        self, st: _ImageState, uid: str, run: RunStep, multi: bool, c: ContainerRef
    ) -> tuple[int, tuple[str, ...]]:
        lines = _LineSplitter(
            lambda text: self._log(st, text, uid, kind="output", container=c.name if multi else None)
        )
        code = self.transport.exec_run(c, list(run.argv), lines.feed)
        lines.flush()
        return code, lines.tail()

    def _restart_one(self, c: ContainerRef) -> TransportError | None:
        try:
            self._retrying(lambda: self.transport.restart(c))
        except TransportError as exc:
            return exc
        return None

    # outcomes ---------------------------------------------------------------------

    def _advance(self, st: _ImageState, containers: Iterable[ContainerRef], target_seq: int) -> None:
        with self._lock:
            for c in containers:
                st.watermarks[c.id] = max(st.watermarks.get(c.id, 0), target_seq)
                st.seen.add(c.id)
                st.infra_failed.discard(c.id)
            if len(st.watermarks) > _MAX_WATERMARKS:
                live = set(st.known)
                for cid in [k for k in st.watermarks if k not in live][
                    : len(st.watermarks) - _MAX_WATERMARKS
                ]:
                    del st.watermarks[cid]

    def _fallback(
        self,
        st: _ImageState,
        pending: _Pending,
        fb: Fallback,
        containers: list[ContainerRef],
        target_seq: int,
    ) -> None:
        # Nothing is copied for this batch (rule 12) and we do not rebuild: the batch is consumed,
        # its offending paths are listed as needing a rebuild until the containers are replaced.
        self._advance(st, containers, target_seq)
        with self._lock:
            for path in fb.paths:
                if st.journal.get(path, 0) <= target_seq:
                    st.journal.pop(path, None)
                st.needs_rebuild.add(path)
            st.fallback_containers.update(c.id for c in containers)
        message = f"{fb.message}. {NO_REBUILD_NOTE}"
        self._log(st, f'LiveUpdate "{st.ref}" UpdateStopped: {fb.message}', pending.update_id, kind="error")
        self._terminal(st, pending, "fallback", message, containers)

    def _finish_unstarted(self, st: _ImageState, pending: _Pending, why: str) -> None:
        self._terminal(st, pending, "skipped", why, [])

    def _terminal(
        self,
        st: _ImageState,
        pending: _Pending,
        phase: Phase,
        message: str,
        containers: Sequence[ContainerRef],
        *,
        run_failure: RunFailure | None = None,
        infra: str | None = None,
        reason: str | None = None,
    ) -> None:
        elapsed = (time.monotonic() - pending.queued_at) * 1000
        files = tuple(sorted(pending.files))
        result = UpdateResult(
            update_id=pending.update_id,
            image=st.ref,
            resource=st.resource,
            phase=phase,
            message=message,
            files=tuple(self.rel(f) for f in files),
            containers=tuple(containers),
            elapsed_ms=elapsed,
            run_failure=run_failure,
            infra_error=infra,
            reason=reason,
        )
        with self._lock:
            st.last = result
            if phase == "skipped":
                st.state = "skipped"
            elif phase == "failed":
                st.state = "failed"
            elif phase == "done":
                st.state = "ok"
            elif phase == "fallback":
                st.state = "fallback"
        self._emit(st, pending, phase, containers, message=message)
        if self._on_result is not None:
            try:
                self._on_result(result)
            except Exception:
                _log.exception("live-update result handler failed")

    # -------------------------------------------------------------------- output

    def _emit(
        self,
        st: _ImageState,
        pending: _Pending,
        phase: Phase,
        containers: Sequence[ContainerRef],
        *,
        step: dict[str, Any] | None = None,
        message: str = "",
    ) -> None:
        if self._on_event is None:
            return
        event = {
            "updateId": pending.update_id,
            "image": st.ref,
            "resource": st.resource,
            "phase": phase,
            "files": [self.rel(f) for f in sorted(pending.files)],
            "containers": [container_json(c) for c in containers],
            "step": step,
            "elapsedMs": round((time.monotonic() - pending.queued_at) * 1000, 1),
            "message": message,
        }
        try:
            self._on_event(event)
        except Exception:
            _log.exception("live-update event handler failed")

    def _log(
        self,
        st: _ImageState,
        text: str,
        update_id: str | None,
        *,
        kind: Literal["progress", "output", "error"] = "progress",
        container: str | None = None,
    ) -> None:
        if self._on_log is None:
            return
        try:
            self._on_log(LogLine(st.ref, text, kind, update_id, container))
        except Exception:
            _log.exception("live-update log handler failed")

    def _emit_log_all(self, text: str, kind: Literal["progress", "output", "error"]) -> None:
        if self._on_log is not None:
            self._on_log(LogLine("*", text, kind))

    # ------------------------------------------------------------------- monitor

    def _monitor_loop(self) -> None:
        first = True
        subscribed = False
        while not self._stopped.is_set():
            if not subscribed and self._states:
                transport = self.transport
                if isinstance(transport, SupportsContainerEvents):
                    transport.on_containers_changed(
                        self._wake_monitor.set
                    )  # replay without waiting for a poll
                subscribed = True
            try:
                round_ = getattr(self.transport, "discovery_round", None) if self._states else None
                with round_() if round_ is not None else contextlib.nullcontext():
                    self._discover(initial=first)
            except Exception:
                _log.exception("container discovery failed")
            first = False
            self._wake_monitor.wait(self.options.poll_interval_s)
            if self._wake_monitor.is_set():
                self._stopped.wait(0.05)  # coalesce a burst of container events
            self._wake_monitor.clear()

    def _discover(self, *, initial: bool) -> None:
        """Find containers; schedule replay (new container id with changes it lacks) and initial syncs."""
        with self._lock:
            states = list(self._states.values())
        if not states:
            return  # nothing to live-update: do not even connect to Docker
        transport = self.transport
        preparer = transport if isinstance(transport, SupportsPrepare) else None
        all_ids: set[str] = set()
        for st in states:
            if self._stopped.is_set():
                return
            try:
                containers = self._find_containers(st)
            except DaemonUnavailable as exc:
                _log.debug("discovery stopped: %s", exc)
                return  # the other images would ask the same absent daemon
            except TransportError as exc:
                _log.debug("discovery for %s failed: %s", st.ref, exc)
                continue
            all_ids.update(c.id for c in containers)
            with self._lock:
                if self._states.get(st.ref) is not st:
                    continue  # replaced by a reload meanwhile: the next round looks at the new one
                st.known = {c.id: c for c in containers}
                ids = set(st.known)
                if st.fallback_containers and ids and not ids & st.fallback_containers:
                    st.needs_rebuild.clear()  # every container was replaced: presumably a new image
                    st.fallback_containers.clear()
                if initial and st.spec.initial_sync and not self.options.initial_sync_on_start:
                    st.seen.update(ids)
                if not (st.running or st.pending is not None or self._is_paused(st)):
                    newest = self._image_seq(st)
                    lagging = [
                        c
                        for c in containers
                        if st.watermarks.get(c.id, 0) < newest and c.id not in st.infra_failed
                    ]
                    unsynced = st.spec.initial_sync and any(c.id not in st.seen for c in containers)
                    if lagging or unsynced:
                        self._schedule(st, ())
            if preparer is not None:
                for c in containers:
                    try:
                        preparer.prepare(c, st.spec.runs)
                    except Exception:
                        _log.debug("prepare failed for %s", c.name, exc_info=True)
        if preparer is not None:
            preparer.forget(all_ids)


# ------------------------------------------------------------------- helpers


class _DaemonPool:
    """A minimal thread pool of daemon threads: a stuck ``run()`` step never blocks process exit."""

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._max = workers
        self._name = name
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is shut down")
            self._queue.put((future, fn, args))
            if self._idle == 0 and len(self._threads) < self._max:
                t = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(t)
                t.start()
            else:
                self._idle -= 1 if self._idle else 0
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)


class _Intake:
    """Feeds debounced batches to ``on_batch`` on one thread, in order (saves skip the wait)."""

    def __init__(self, debouncer: Debouncer, on_batch: Callable[[Batch], None]) -> None:
        self.debouncer = debouncer
        self._on_batch = on_batch
        self._cond = threading.Condition()
        self._ready: list[Batch] = []
        self._handling = False
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="liveupdate-intake", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def busy(self) -> bool:
        """A batch is open, ready or being handled."""
        with self._cond:
            return bool(self._ready) or self._handling or self.debouncer.is_open

    def submit(self, paths: Iterable[str]) -> None:
        if self.debouncer.add(paths):
            with self._cond:
                self._cond.notify_all()

    def save(self, paths: Iterable[str]) -> None:
        with self._cond:  # flush and enqueue atomically, so busy() never misses a save
            batch = self.debouncer.flush_now(paths)
            if batch is not None:
                self._ready.append(batch)
                self._cond.notify_all()

    def overflow(self) -> None:
        self.debouncer.overflow()
        with self._cond:
            self._cond.notify_all()

    def stop(self, timeout: float) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _next(self) -> Batch | None:
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._ready:
                    self._handling = True
                    return self._ready.pop(0)
                batch = self.debouncer.poll()
                if batch is not None:
                    self._handling = True
                    return batch
                deadline = self.debouncer.deadline()
                self._cond.wait(None if deadline is None else max(0.0, deadline - self.debouncer.clock()))

    def _loop(self) -> None:
        while True:
            batch = self._next()
            if batch is None:
                return
            try:
                self._on_batch(batch)
            except Exception:
                _log.exception("live-update batch handling failed")
            finally:
                with self._cond:
                    self._handling = False
                    self._cond.notify_all()


class _LineSplitter:
    """Turns streamed output bytes into lines; keeps the last lines for failure messages."""

    def __init__(self, emit: Callable[[str], None], keep: int = OUTPUT_TAIL_LINES) -> None:
        self._emit = emit
        self._buf = b""
        self._tail: list[str] = []
        self._keep = keep

    def feed(self, data: bytes) -> None:
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            self._line(line)

    def flush(self) -> None:
        if self._buf:
            self._line(self._buf)
            self._buf = b""

    def _line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        self._tail.append(text)
        if len(self._tail) > self._keep:
            del self._tail[0]
        self._emit(text)

    def tail(self) -> tuple[str, ...]:
        return tuple(self._tail)


def _names(containers: Sequence[ContainerRef]) -> str:
    names = [c.name for c in containers]
    if len(names) > 3:
        return f"{', '.join(names[:3])} +{len(names) - 3} more"
    return ", ".join(names)


def _is_ignore_file(path: str) -> bool:
    base = os.path.basename(path)
    return base in (".dockerignore", ".tiltignore") or base.endswith(".dockerignore")


def _resource_for(model: TiltfileModel, ref: str) -> Resource | None:
    for r in model.resources:
        if ref in r.images or any(image_name(i) == image_name(ref) for i in r.images):
            return r
    return None


def _compose_services(model: TiltfileModel, ref: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for proj in model.compose:
        for svc in proj.services:
            if (svc.image and image_name(svc.image) == image_name(ref)) or svc.name == ref:
                out.append((proj.project_name, svc.name))
    return tuple(out)
