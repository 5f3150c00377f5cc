"""Which Tiltfile a document belongs to, and the evaluated models of those Tiltfiles.

A *root* is a Tiltfile that Tilt would be started with.  Every document maps to the
roots whose evaluation reads it (``model.files``); a document that no known root reads
is looked up among the Tiltfiles of its ancestor folders, bounded by its workspace folder
("each Tiltfile belongs to its folder"), and failing that it is a root of its own (only
when it is a Tiltfile: callers say so with ``standalone=``).

Evaluation is pure Python and can take a while on a big Tiltfile, so it never runs on the
protocol loop: it runs in a worker *process*, so that it competes with the loop neither for
the GIL (``ast.parse`` of a 5,000-line file holds it for tens of milliseconds) nor for the
garbage collector (an evaluation allocates hundreds of thousands of objects).  It falls back
to a worker thread when processes are unavailable.  The worker sends the model back as a
series of small pickles, decoded on the loop one per turn, so a request waits for at most one.

Each root has one evaluation at a time: requests that arrive meanwhile are coalesced into a
single follow-up run with the newest overlays, and the running evaluation, now superseded,
is cancelled (its cancel event is set and the evaluator stops at its next check): latest
wins.  So that a user who keeps typing still gets models, the running evaluation is left to
finish when the root's model is more than about a second old.  The worker process runs at a lower priority.  Results are cached per root by the versions of the open documents the evaluation
could read plus a disk generation that file saves and watched-file events bump.

:meth:`TiltWorkspace.static_diagnostics` gives the syntax and name diagnostics of one file
without evaluating it (the worker parses it; the parse is cached there, so the evaluation
that follows does not parse it again).

This module knows nothing about LSP; the server feeds it paths, texts and versions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from .tiltfile.model import Diagnostic, TiltfileModel

log = logging.getLogger(__name__)

TILTFILE_NAMES = ("Tiltfile",)
DEFAULT_TIME_BUDGET_S = 2.0
# Without workspace folders, look this many folders up for a Tiltfile that loads a file.
_MAX_ANCESTORS = 4
#: The evaluation process runs at this lower scheduling priority (``nice``).
WORKER_NICENESS = 5
#: A superseded evaluation is cancelled, unless the root's model is older than this many seconds
#: (or three evaluations' time, if longer): then it runs to the end, so that typing in pauses
#: shorter than an evaluation still refreshes the model now and then.
MAX_MODEL_AGE_S = 1.0
#: The live-update engine's evaluation of the saved files yields to the editor's: it waits for
#: a pause in them (at most this long) and is stopped by an edit at most this many times.
EDITOR_QUIET_S = 0.5
EDITOR_PAUSE_MAX_S = 10.0
MAX_SAVED_PREEMPTIONS = 3
# The evaluator's hint in a message ("undefined: k8s_yamll (did you mean k8s_yaml?)").
_DID_YOU_MEAN = re.compile(r"\(did you mean \.?([\w.]+)\?\)")

#: ``evaluator(root, overlays, cancel)``: an injected evaluator (tests); it may stop early when
#: ``cancel`` is set, by raising any exception whose class is named ``EvaluationCancelled``.
Evaluator = Callable[[str, Mapping[str, str], threading.Event], "TiltfileModel"]


def is_tiltfile_name(path: str) -> bool:
    base = os.path.basename(path)
    return base == "Tiltfile" or base.endswith(".tiltfile") or base.startswith("Tiltfile.")


class _Cancelled(Exception):
    """The evaluation was superseded and stopped early."""


def _is_cancellation(e: BaseException) -> bool:
    return isinstance(e, _Cancelled) or type(e).__name__ == "EvaluationCancelled"


# ------------------------------------------------------------ the worker process

# Set in the worker process by _init_worker: the event the server sets to stop the running evaluation.
_worker_cancel: Any = None


def _init_worker(cancel: Any) -> None:
    global _worker_cancel
    _worker_cancel = cancel
    try:
        # Background work: on a busy machine the protocol loop gets the CPU first.
        os.nice(WORKER_NICENESS)
    except (AttributeError, OSError):
        pass


def _warm_worker() -> bool:
    import tilt_lsp.tiltfile.evaluate  # noqa: F401 - import once, before the first real request

    return True


def _trim_parse_cache(drop: Iterable[str] = ()) -> None:
    """Keep one parsed version per file in the evaluator's parse cache (the newest used), and
    none of the files in ``drop``.

    The cache is keyed by (path, text): every keystroke in a big Tiltfile would otherwise keep
    another full AST of it alive, up to the cache's size (hundreds of MB for a 5,000-line file).
    After an evaluation, the documents being edited are dropped too: their next version will
    differ, so their AST would only take memory.
    """
    try:
        from .tiltfile import evaluate as ev

        cache = ev._PARSE_CACHE  # noqa: SLF001 - no public API for this yet
        lock = ev._PARSE_CACHE_LOCK  # noqa: SLF001
    except (ImportError, AttributeError):
        return
    with lock:
        seen: set[object] = set(drop)
        for key in reversed(list(cache)):
            path = key[0] if isinstance(key, tuple) and key else key
            if path in seen:
                del cache[key]
            else:
                seen.add(path)


def release_memory() -> None:
    """Give the C heap's free pages back to the system (glibc only; no-op elsewhere).

    A 5,000-line Tiltfile's evaluation peaks at two ASTs and two models; without this the
    process keeps that peak as its resident size for good.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


def _evaluate_in_worker(root: str, overlays: Mapping[str, str]) -> bytes | None:
    """Runs in the evaluation process: the pickled model, or None when cancelled."""
    import gc

    from .tiltfile.evaluate import evaluate
    from .tiltfile.interp import EvaluationCancelled

    model: TiltfileModel | None = None
    try:
        model = evaluate(root, overlays, time_budget_s=DEFAULT_TIME_BUDGET_S, cancel=_worker_cancel)
    except EvaluationCancelled:
        pass
    finally:
        _trim_parse_cache(drop=overlays)
    if model is None:
        release_memory()  # what the stopped evaluation had built
        return None
    # The model is young: collections while it is pickled would walk all of it (tens of ms).
    gc.disable()
    try:
        data = encode_model(model)
    finally:
        gc.enable()
    del model
    release_memory()
    return data


def static_diagnostics_of(root: str, path: str, overlays: Mapping[str, str]) -> list[Diagnostic]:
    """Syntax, dialect and name diagnostics of ``path`` as evaluating ``root`` would report them.

    Parses through the evaluator's parse cache, so a following evaluation reuses the parse.
    """
    from .tiltfile import codes
    from .tiltfile import evaluate as ev
    from .tiltfile.model import Diagnostic

    text = overlays.get(path)
    if text is None:
        return []
    evaluation = ev._Evaluation(root, overlays, DEFAULT_TIME_BUDGET_S, 1)  # noqa: SLF001 - see the report
    try:
        _, problems, _ = evaluation._analyze_source(path, text)  # noqa: SLF001
    finally:
        evaluation.close()
    out: list[Diagnostic] = []
    for p in problems:
        hint = _DID_YOU_MEAN.search(p.message)
        data = {"replace": hint.group(1)} if hint else None
        out.append(Diagnostic(path, p.range, codes.severity_of(p.code), p.code, p.message, (), data))
    return out


def _static_in_worker(root: str, path: str, overlays: Mapping[str, str]) -> list[Diagnostic]:
    try:
        return static_diagnostics_of(root, path, overlays)
    finally:
        _trim_parse_cache()


# ------------------------------------------------------------- decoding models


#: Elements of a model's tuple fields per pickle piece (see :func:`encode_model`).
_PIECE = 16
#: Definitions of a file per piece: they are smaller than images or resources.
_DEFS_PIECE = 64


def encode_model(model: TiltfileModel) -> bytes:
    """The model as a sequence of small pickles (for :func:`decode_model_on_loop`), in the worker.

    One piece per field, tuple fields cut into pieces of ``_PIECE`` elements, and the files
    one by one with their definitions cut into pieces of ``_DEFS_PIECE`` (a 5,000-line file
    defines thousands of names): each piece is decoded holding the interpreter lock, so small
    pieces keep the protocol loop's waits short.
    """
    import dataclasses
    import io
    import pickle

    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)

    def piece(p: tuple[str, str, Any]) -> None:
        pickler.dump(p)
        pickler.clear_memo()

    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if f.name == "files":
            for path, fi in value.items():
                piece((f.name, "file", (path, fi.path, fi.loads)))
                for start in range(0, len(fi.definitions), _DEFS_PIECE):
                    piece((f.name, "defs", (path, fi.definitions[start : start + _DEFS_PIECE])))
        elif isinstance(value, tuple) and len(value) > _PIECE:
            for start in range(0, len(value), _PIECE):
                piece((f.name, "chunk", value[start : start + _PIECE]))
        else:
            piece((f.name, "whole", value))
    return out.getvalue()


def _decode_pieces(data: bytes) -> Iterator[TiltfileModel | None]:
    """Decode the pieces of :func:`encode_model` one by one: yields None after each piece,
    then the model.  The garbage collector is paused from the first piece until the new
    objects are frozen at the end: a model is tens of thousands of long-lived objects, and
    collections that walk them while they are made (pieces promoted generation by generation)
    only cost time, several milliseconds each, paid by whichever request triggers them."""
    import gc
    import io
    import pickle

    from .tiltfile.model import FileInfo, TiltfileModel

    global _gc_pauses, _gc_was_enabled
    values: dict[str, Any] = {}
    chunked: dict[str, list[Any]] = {}
    files: dict[str, tuple[str, Any, list[Any]]] = {}  # key -> (path, loads, definitions)
    source = io.BytesIO(data)
    if _gc_pauses == 0:
        _gc_was_enabled = gc.isenabled()
    _gc_pauses += 1
    gc.disable()
    try:
        while source.tell() < len(data):
            name, how, value = pickle.Unpickler(source).load()
            if how == "chunk":
                chunked.setdefault(name, []).extend(value)
            elif how == "file":
                key, path, loads = value
                files[key] = (path, loads, [])
            elif how == "defs":
                files[value[0]][2].extend(value[1])
            else:
                values[name] = value
            yield None
        for name, items in chunked.items():
            values[name] = tuple(items)
        if files:
            values["files"] = {k: FileInfo(p, tuple(defs), loads) for k, (p, loads, defs) in files.items()}
        model = TiltfileModel(**values)
        gc.freeze()
    finally:
        _gc_pauses -= 1
        if _gc_pauses == 0 and _gc_was_enabled:
            gc.enable()
    yield model


# Decodes in progress (they may interleave on the loop), and whether the collector was on before the first.
_gc_pauses = 0
_gc_was_enabled = True


async def decode_model_on_loop(data: bytes) -> TiltfileModel:
    """Rebuild a model on the event loop, one small piece per turn of the loop.

    Requests that arrive meanwhile wait for at most one piece (about a millisecond) and then
    run with the whole interpreter to themselves, which a decode on another thread (sharing the
    interpreter lock) cannot give them.
    """
    for model in _decode_pieces(data):
        if model is not None:
            return model
        await asyncio.sleep(0)
    raise ValueError("incomplete model data")


#: How long a replaced model waits for its other holders (a request in progress, diagnostics
#: held for the debounce) before the reaper gives up on it and leaves it to them.
REAP_WAIT_S = 30.0
#: At most this many replaced models wait here for their holders (a bound on the memory they keep).
REAP_MAX_WAITING = 4
#: Loop time spent freeing a replaced model's objects per turn of the loop.
REAP_SLICE_S = 0.0005
_REAP_POLL_S = 0.02


class ModelReaper:
    """Frees replaced models a slice per turn of the event loop.

    A model is tens of thousands of objects.  Dropping its last reference frees them all at
    once (5-10 ms for a 5,000-line Tiltfile's), on the loop, in front of whichever request is
    waiting.  Retired models stay here until nobody else holds them; then their elements are
    moved to lists, the model itself is dropped (cheap: its tuples still have their elements
    referenced from here) and the lists are emptied a few elements at a time.  Models are never
    modified, so a holder that appears later still sees an intact model.
    """

    def __init__(self) -> None:
        self._models: deque[tuple[float, TiltfileModel]] = deque()
        self._parts: list[list[Any]] = []
        self._task: asyncio.Task[None] | None = None
        self.reaped = 0  # models taken apart here (the others were freed by their last holder)

    def retire(self, model: TiltfileModel) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to spread the work over: the caller's reference is the last one
        self._models.append((time.monotonic(), model))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._reap(), name="tilt-lsp model reaper")

    def pending(self) -> int:
        return len(self._models) + len(self._parts)

    async def _reap(self) -> None:
        import sys

        while self._models or self._parts:
            if self._parts:
                self._free_slice()
                await asyncio.sleep(0)
                continue
            free = None
            model: TiltfileModel | None = None
            for i, (_, model) in enumerate(self._models):
                # References: the deque's tuple, this loop's variable, getrefcount's argument.
                if sys.getrefcount(model) <= 3:
                    free = i
                    break
            model = None
            if free is not None:
                model = self._models[free][1]
                del self._models[free]
                self._parts = _parts_of(model)
                model = None
                self.reaped += 1
                continue
            # All still held: let go of those held too long, or of the oldest when too many wait
            # (their holders free them), so that a long-held model does not keep the ones after it.
            now = time.monotonic()
            while self._models and (now - self._models[0][0] > REAP_WAIT_S or len(self._models) > REAP_MAX_WAITING):
                self._models.popleft()
            if self._models:
                await asyncio.sleep(_REAP_POLL_S)

    def _free_slice(self) -> None:
        deadline = time.perf_counter() + REAP_SLICE_S
        parts = self._parts
        while parts and time.perf_counter() < deadline:
            part = parts[-1]
            del part[-8:]
            if not part:
                parts.pop()


def _parts_of(model: TiltfileModel) -> list[list[Any]]:
    """The model's bulk (elements of its tuple fields, its files' definitions) as new lists."""
    import dataclasses

    parts: list[list[Any]] = []
    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if f.name == "files":
            for fi in value.values():
                parts.append(list(fi.definitions))
                parts.append(list(fi.loads))
        elif isinstance(value, tuple) and len(value) > 1:
            parts.append(list(value))
    return [p for p in parts if p]


@dataclass(frozen=True)
class Overlay:
    """An open document: its unsaved text and the client's version number."""

    text: str
    version: int | None


CacheKey = tuple[int, frozenset[tuple[str, int | None]]]


@dataclass
class _Root:
    path: str
    model: TiltfileModel | None = None
    key: CacheKey | None = None
    # Versions of the open documents the current model was evaluated with (path -> version).
    versions: dict[str, int | None] = field(default_factory=dict)
    # The newest request not yet started: (key, overlays, generation).
    wanted: tuple[CacheKey, dict[str, Overlay], int] | None = None
    generation: int = 0
    done_generation: int = 0
    runner: asyncio.Task[None] | None = None
    waiters: list[tuple[int, asyncio.Future[TiltfileModel]]] = field(default_factory=list)
    # The evaluation in progress: its key, and the event that stops it.
    running: CacheKey | None = None
    cancel: threading.Event | None = None
    last_duration_s: float = 0.0
    cancelled: int = 0  # evaluations of this root stopped early because a newer one was wanted
    # time.monotonic() when the current model was installed (when the root was made, before that)
    model_at: float = field(default_factory=time.monotonic)


ModelListener = Callable[[str, "TiltfileModel"], None]


class TiltWorkspace:
    """Roots, their models, and the evaluation scheduler."""

    def __init__(
        self,
        *,
        evaluator: Evaluator | None = None,
        max_workers: int = 2,
        processes: bool = True,
    ) -> None:
        self._evaluator = evaluator
        self._executor: ThreadPoolExecutor | None = None
        self._processes: ProcessPoolExecutor | None = None
        self._process_cancel: Any = None  # multiprocessing Event shared with the worker process
        self._use_processes = processes and evaluator is None
        self._max_workers = max_workers
        # One job at a time in the worker process, so that its cancel event has one meaning.
        self._worker_lock: asyncio.Lock | None = None
        self._worker_job: _Root | None = None
        self._saved_preemptible = False  # the worker runs evaluate_saved's job, which an edit may stop
        self._editor_done = 0.0  # time.monotonic() when the editor's last evaluation ended
        self._roots: dict[str, _Root] = {}
        self._file_roots: dict[str, set[str]] = {}
        self._folders: list[str] = []
        self._disk_generation = 0
        self._listeners: list[ModelListener] = []
        self.reaper = ModelReaper()
        self._standalone: set[str] = set()  # roots only because nothing else loads them
        self.evaluations = 0  # how many evaluations actually ran (for tests and logs)
        self.saved_preemptions = 0  # evaluate_saved runs stopped for an edit

    # ------------------------------------------------------------------ folders

    def set_folders(self, folders: Iterable[str]) -> None:
        self._folders = sorted({os.path.normpath(f) for f in folders}, key=len, reverse=True)

    def add_folder(self, folder: str) -> None:
        self.set_folders([*self._folders, folder])

    def remove_folder(self, folder: str) -> None:
        folder = os.path.normpath(folder)
        self.set_folders(f for f in self._folders if f != folder)

    @property
    def folders(self) -> list[str]:
        return list(self._folders)

    def folder_of(self, path: str) -> str | None:
        """The innermost workspace folder holding ``path``."""
        for folder in self._folders:  # longest first
            if path == folder or path.startswith(folder.rstrip(os.sep) + os.sep):
                return folder
        return None

    def folder_tiltfiles(self) -> list[str]:
        return [p for f in self._folders if os.path.isfile(p := os.path.join(f, "Tiltfile"))]

    # ------------------------------------------------------------------ models

    def on_model(self, listener: ModelListener) -> None:
        """Call ``listener(root, model)`` on the loop each time a root gets its newest model."""
        self._listeners.append(listener)

    def model(self, root: str) -> TiltfileModel | None:
        r = self._roots.get(root)
        return r.model if r else None

    def roots(self) -> list[str]:
        return list(self._roots)

    def models(self) -> list[TiltfileModel]:
        return [r.model for r in self._roots.values() if r.model is not None]

    def known_roots_for(self, path: str) -> list[str]:
        """Roots whose newest model read ``path`` (sorted, possibly empty)."""
        return sorted(self._file_roots.get(os.path.normpath(path), ()))

    def models_for(self, path: str) -> list[TiltfileModel]:
        out = []
        for root in self.known_roots_for(path):
            m = self.model(root)
            if m is not None:
                out.append(m)
        return out

    def evaluated_version(self, root: str, path: str) -> int | None:
        """The version of the open document ``path`` that the current model of ``root`` read
        (None: it read the file on disk)."""
        r = self._roots.get(root)
        return r.versions.get(path) if r is not None else None

    def last_duration(self, root: str) -> float:
        """Seconds the last finished evaluation of ``root`` took (0 when none finished yet)."""
        r = self._roots.get(root)
        return r.last_duration_s if r is not None else 0.0

    def is_evaluating(self, root: str) -> bool:
        r = self._roots.get(root)
        return r is not None and (r.running is not None or r.wanted is not None)

    def cancelled(self, root: str) -> int:
        r = self._roots.get(root)
        return r.cancelled if r is not None else 0

    def candidate_roots(self, path: str) -> list[str]:
        """Tiltfiles in the folders above ``path`` (nearest first) that might load it."""
        path = os.path.normpath(path)
        folder = self.folder_of(path)
        out: list[str] = []
        d = os.path.dirname(path)
        for _ in range(64 if folder else _MAX_ANCESTORS):
            cand = os.path.join(d, "Tiltfile")
            if cand != path and (os.path.isfile(cand) or cand in self._roots):
                out.append(cand)
            if folder is not None and d == folder:
                break
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
        return out

    def bump_disk_generation(self) -> None:
        """Files changed on disk: every cached model is stale."""
        self._disk_generation += 1

    def forget(self, root: str) -> None:
        r = self._roots.pop(root, None)
        self._standalone.discard(root)
        if r is None:
            return
        self._stop(r)
        self._index(root, None)
        if r.model is not None:
            self.reaper.retire(r.model)
            r.model = None
        for _, fut in r.waiters:
            if not fut.done():
                fut.cancel()

    # -------------------------------------------------------------- evaluation

    def _key(self, root: str, overlays: Mapping[str, Overlay]) -> CacheKey:
        r = self._roots.get(root)
        relevant = set(r.model.files) if r and r.model else set()
        relevant.add(root)
        return (
            self._disk_generation,
            frozenset((p, o.version) for p, o in overlays.items() if p in relevant),
        )

    def is_fresh(self, root: str, overlays: Mapping[str, Overlay]) -> bool:
        r = self._roots.get(root)
        return r is not None and r.model is not None and r.key == self._key(root, overlays)

    async def evaluate(self, root: str, overlays: Mapping[str, Overlay]) -> TiltfileModel:
        """The model of ``root`` for these overlays (cached, coalesced, off the loop)."""
        r = self._roots.get(root)
        if r is None:
            r = self._roots[root] = _Root(root)
        key = self._key(root, overlays)
        if r.model is not None and r.key == key and r.wanted is None and r.running is None:
            return r.model
        if r.wanted is not None and r.wanted[0] == key:
            gen = r.wanted[2]
        elif r.wanted is None and r.running == key:
            gen = r.generation  # the evaluation in progress is the one wanted
        else:
            r.generation += 1
            gen = r.generation
            r.wanted = (key, dict(overlays), gen)
            if r.running is not None and r.running != key and not self._model_too_old(r):
                self._stop(r)  # superseded: latest wins
        self._preempt_saved()
        fut: asyncio.Future[TiltfileModel] = asyncio.get_running_loop().create_future()
        r.waiters.append((gen, fut))
        if r.runner is None or r.runner.done():
            r.runner = asyncio.ensure_future(self._run(r))
        return await asyncio.shield(fut)

    @staticmethod
    def _model_too_old(r: _Root) -> bool:
        return time.monotonic() - r.model_at > max(MAX_MODEL_AGE_S, 3 * r.last_duration_s)

    def is_pending(self, root: str, overlays: Mapping[str, Overlay]) -> bool:
        """True when the model of ``root`` for these overlays is installed, being evaluated or queued."""
        r = self._roots.get(root)
        if r is None:
            return False
        key = self._key(root, overlays)
        return (r.model is not None and r.key == key) or r.running == key or (r.wanted is not None and r.wanted[0] == key)

    def _stop(self, r: _Root) -> None:
        """Ask the running evaluation of ``r`` to stop."""
        if r.cancel is not None:
            r.cancel.set()
        if self._worker_job is r and self._process_cancel is not None:
            self._process_cancel.set()

    def _preempt_saved(self) -> None:
        """The editor wants an evaluation: stop the live-update engine's, which starts again later."""
        if self._saved_preemptible and self._process_cancel is not None:
            self._process_cancel.set()

    def cancel_pending(self, root: str) -> None:
        """Drop a queued (not yet started) evaluation of ``root``."""
        r = self._roots.get(root)
        if r is not None:
            r.wanted = None

    async def _run(self, r: _Root) -> None:
        loop = asyncio.get_running_loop()
        while r.wanted is not None:
            key, overlays, gen = r.wanted
            r.wanted = None
            texts = {p: o.text for p, o in overlays.items()}
            r.running, r.cancel = key, threading.Event()
            started = time.perf_counter()
            try:
                model = await self._evaluate_off_loop(loop, r, texts)
            except Exception as e:  # noqa: BLE001 - the evaluator should never raise; keep the loop alive
                if _is_cancellation(e):
                    if self._roots.get(r.path) is not r:  # forgotten meanwhile
                        return
                    r.cancelled += 1
                    log.debug("evaluation of %s superseded after %.0f ms", r.path, (time.perf_counter() - started) * 1000)
                    if r.wanted is None:  # nothing newer after all (dropped meanwhile): run this one again
                        r.wanted = (key, overlays, gen)
                    continue
                log.exception("evaluating %s failed", r.path)
                for _, fut in r.waiters:
                    if not fut.done():
                        fut.set_exception(e)
                r.waiters.clear()
                continue
            finally:
                r.running, r.cancel = None, None
                self._editor_done = time.monotonic()
            if self._roots.get(r.path) is not r:  # forgotten meanwhile
                return
            r.last_duration_s = time.perf_counter() - started
            r.model_at = time.monotonic()
            if r.model is not None:
                self.reaper.retire(r.model)
            r.model, r.key, r.done_generation = model, key, gen
            r.versions = {p: o.version for p, o in overlays.items()}
            self._index(r.path, model)
            keep: list[tuple[int, asyncio.Future[TiltfileModel]]] = []
            for wgen, fut in r.waiters:
                if wgen <= gen:
                    if not fut.done():
                        fut.set_result(model)
                else:
                    keep.append((wgen, fut))
            r.waiters = keep
            if r.wanted is None:
                for listener in list(self._listeners):
                    try:
                        listener(r.path, model)
                    except Exception:
                        log.exception("model listener failed")

    def _lock(self) -> asyncio.Lock:
        if self._worker_lock is None:
            self._worker_lock = asyncio.Lock()
        return self._worker_lock

    async def _evaluate_off_loop(
        self, loop: asyncio.AbstractEventLoop, r: _Root, texts: dict[str, str]
    ) -> TiltfileModel:
        if self._use_processes:
            try:
                async with self._lock():
                    if r.cancel is not None and r.cancel.is_set():
                        raise _Cancelled()
                    pool = self._process_pool()
                    self._process_cancel.clear()
                    self._worker_job = r
                    try:
                        data = await loop.run_in_executor(pool, _evaluate_in_worker, r.path, texts)
                    finally:
                        self._worker_job = None
                self.evaluations += 1
                if data is None:
                    raise _Cancelled()
                return await decode_model_on_loop(data)
            except _Cancelled:
                raise
            except Exception as e:  # noqa: BLE001 - broken pool, pickling: evaluate in a thread instead
                log.warning("evaluation process failed (%s); evaluating in a thread from now on", e)
                self._use_processes = False
                self._shutdown_processes()
        cancel = r.cancel or threading.Event()
        return await loop.run_in_executor(self._pool(), self._evaluate_sync, r.path, texts, cancel)

    async def evaluate_saved(self, root: str) -> TiltfileModel:
        """The model of ``root`` as saved on disk (no open documents), for the live-update engine.

        Evaluated in the evaluation process like every other model, so that the server process
        neither spends its CPU on it nor keeps a second AST; not cached, not published, and not
        counted in :attr:`evaluations` (it is not the model the editor shows).  The editor comes
        first: this waits for a pause in the editor's evaluations (``EDITOR_QUIET_S``), and an
        edit meanwhile stops it (it starts again after that edit's evaluation), at most
        ``MAX_SAVED_PREEMPTIONS`` times.
        """
        loop = asyncio.get_running_loop()
        if self._use_processes:
            try:
                preempted = 0
                while True:
                    await self._editor_pause()
                    async with self._lock():
                        pool = self._process_pool()
                        self._process_cancel.clear()
                        self._saved_preemptible = preempted < MAX_SAVED_PREEMPTIONS
                        try:
                            data = await loop.run_in_executor(pool, _evaluate_in_worker, root, {})
                        finally:
                            self._saved_preemptible = False
                    if data is not None:
                        return await decode_model_on_loop(data)
                    preempted += 1
                    self.saved_preemptions += 1
                    if preempted > MAX_SAVED_PREEMPTIONS:
                        break  # the worker gave up on its own: evaluate in a thread below
            except Exception as e:  # noqa: BLE001 - evaluate in a thread instead
                log.debug("evaluating %s in the evaluation process failed: %s", root, e)
        return await loop.run_in_executor(self._pool(), self._evaluate_in_thread, root, {}, threading.Event())

    async def _editor_pause(self) -> None:
        """Until the editor's evaluations pause: none running or queued, and none for EDITOR_QUIET_S
        (the user stopped typing); at most EDITOR_PAUSE_MAX_S."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EDITOR_PAUSE_MAX_S
        while loop.time() < deadline and (
            any(r.running is not None or r.wanted is not None for r in self._roots.values())
            or time.monotonic() - self._editor_done < EDITOR_QUIET_S
        ):
            await asyncio.sleep(0.05)

    async def static_diagnostics(self, root: str, path: str, overlays: Mapping[str, Overlay]) -> list[Diagnostic] | None:
        """Syntax and name diagnostics of the open document ``path`` (read by ``root``), quickly.

        None when they are not available (no evaluation process, or it failed).
        """
        if not self._use_processes:
            return None
        texts = {p: o.text for p, o in overlays.items()}
        if path not in texts:
            return None
        loop = asyncio.get_running_loop()
        try:
            async with self._lock():
                return await loop.run_in_executor(self._process_pool(), _static_in_worker, root, path, texts)
        except Exception as e:  # noqa: BLE001 - the full evaluation still comes
            log.debug("static diagnostics of %s failed: %s", path, e)
            return None

    def _process_pool(self) -> ProcessPoolExecutor:
        if self._processes is None:
            import multiprocessing  # deferred: slow to import, and not needed to answer initialize
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("spawn")
            self._process_cancel = ctx.Event()
            self._processes = ProcessPoolExecutor(
                max_workers=1, mp_context=ctx, initializer=_init_worker, initargs=(self._process_cancel,)
            )
        return self._processes

    def warm_up(self) -> None:
        """Start the evaluation process now (in the background) rather than on the first edit."""
        if self._use_processes:
            try:
                self._process_pool().submit(_warm_worker)
            except Exception as e:  # noqa: BLE001
                log.warning("cannot start the evaluation process: %s", e)
                self._use_processes = False

    def _shutdown_processes(self) -> None:
        if self._processes is not None:
            self._processes.shutdown(wait=False, cancel_futures=True)
            self._processes = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="tilt-eval")
        return self._executor

    def _evaluate_sync(self, root: str, overlays: Mapping[str, str], cancel: threading.Event) -> TiltfileModel:
        self.evaluations += 1
        return self._evaluate_in_thread(root, overlays, cancel)

    def _evaluate_in_thread(
        self, root: str, overlays: Mapping[str, str], cancel: threading.Event
    ) -> TiltfileModel:
        if self._evaluator is not None:
            return self._evaluator(root, overlays, cancel)
        from .tiltfile.evaluate import evaluate

        try:
            return evaluate(root, overlays, time_budget_s=DEFAULT_TIME_BUDGET_S, cancel=cancel)
        finally:
            _trim_parse_cache()

    def _index(self, root: str, model: TiltfileModel | None) -> None:
        for roots in self._file_roots.values():
            roots.discard(root)
        if model is not None:
            for p in model.files:
                self._file_roots.setdefault(os.path.normpath(p), set()).add(root)
            self._file_roots.setdefault(root, set()).add(root)
            # A file that was its own root is now read by a real one: it is not a root any more.
            for p in list(self._standalone):
                if p != root and p in model.files:
                    self._standalone.discard(p)
                    self.forget(p)
        for p in [p for p, roots in self._file_roots.items() if not roots]:
            del self._file_roots[p]

    async def roots_for(self, path: str, overlays: Mapping[str, Overlay], *, standalone: bool = True) -> list[str]:
        """Roots that read ``path``: known ones, else evaluate the Tiltfiles above it, else itself.

        With ``standalone=False`` a file that no Tiltfile reads gets no roots (``[]``) instead of
        being evaluated as a root of its own: only Tiltfiles may be roots.
        """
        path = os.path.normpath(path)
        known = self.known_roots_for(path)
        if known:
            return known
        for cand in self.candidate_roots(path):
            r = self._roots.get(cand)
            if r is None or r.model is None:
                try:
                    await self.evaluate(cand, overlays)
                except Exception:
                    log.exception("evaluating candidate root %s failed", cand)
                    continue
            known = self.known_roots_for(path)
            if known:
                return known
        if not standalone:
            return []
        if path not in self._roots:
            self._standalone.add(path)
        return [path]

    def shutdown(self) -> None:
        self._shutdown_processes()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


__all__ = ["Evaluator", "Overlay", "TiltWorkspace", "decode_model_on_loop", "encode_model", "is_tiltfile_name", "static_diagnostics_of"]
