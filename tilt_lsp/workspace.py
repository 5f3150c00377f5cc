"""Which Tiltfile a document belongs to, and the evaluated models of those Tiltfiles.

A *root* is a Tiltfile that Tilt would be started with.  Every document maps to the
roots whose evaluation reads it (``model.files``); a document that no known root reads
is looked up among the Tiltfiles of its ancestor folders, bounded by its workspace folder
("each Tiltfile belongs to its folder"), and failing that it is a root of its own.

Evaluation is pure Python and can take a while on a big Tiltfile, so it never runs on the
protocol loop: it runs in a worker *process* (so that it does not compete with the loop for
the GIL; parsing a big file holds the GIL for a long time), falling back to a worker thread
when processes are unavailable.  Each root has one evaluation at a time: requests
that arrive meanwhile are coalesced into a single follow-up run with the newest overlays
(latest wins; superseded requests are dropped before they start).  Results are cached
per root by the versions of the open documents the evaluation could read plus a disk
generation that file saves and watched-file events bump.

This module knows nothing about LSP; the server feeds it paths, texts and versions.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from .tiltfile.model import TiltfileModel

log = logging.getLogger(__name__)

TILTFILE_NAMES = ("Tiltfile",)
DEFAULT_TIME_BUDGET_S = 2.0
# Without workspace folders, look this many folders up for a Tiltfile that loads a file.
_MAX_ANCESTORS = 4


def is_tiltfile_name(path: str) -> bool:
    base = os.path.basename(path)
    return base == "Tiltfile" or base.endswith(".tiltfile") or base.startswith("Tiltfile.")


def _evaluate_in_worker(root: str, overlays: Mapping[str, str]) -> TiltfileModel:
    """Runs in the evaluation process."""
    from .tiltfile.evaluate import evaluate

    return evaluate(root, overlays, time_budget_s=DEFAULT_TIME_BUDGET_S)


def _warm_worker() -> bool:
    import tilt_lsp.tiltfile.evaluate  # noqa: F401 - import once, before the first real request

    return True


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
    # The newest request not yet started: (key, overlays, generation).
    wanted: tuple[CacheKey, dict[str, Overlay], int] | None = None
    generation: int = 0
    done_generation: int = 0
    runner: asyncio.Task[None] | None = None
    waiters: list[tuple[int, asyncio.Future[TiltfileModel]]] = field(default_factory=list)


ModelListener = Callable[[str, "TiltfileModel"], None]


class TiltWorkspace:
    """Roots, their models, and the evaluation scheduler."""

    def __init__(
        self,
        *,
        evaluator: Callable[[str, Mapping[str, str]], TiltfileModel] | None = None,
        max_workers: int = 2,
        processes: bool = True,
    ) -> None:
        self._evaluator = evaluator
        self._executor: ThreadPoolExecutor | None = None
        self._processes: ProcessPoolExecutor | None = None
        self._use_processes = processes and evaluator is None
        self._max_workers = max_workers
        self._roots: dict[str, _Root] = {}
        self._file_roots: dict[str, set[str]] = {}
        self._folders: list[str] = []
        self._disk_generation = 0
        self._listeners: list[ModelListener] = []
        self._standalone: set[str] = set()  # roots only because nothing else loads them
        self.evaluations = 0  # how many evaluations actually ran (for tests and logs)

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
        self._index(root, None)
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
        if r.model is not None and r.key == key and r.wanted is None:
            return r.model
        if r.wanted is not None and r.wanted[0] == key:
            gen = r.wanted[2]
        else:
            r.generation += 1
            gen = r.generation
            r.wanted = (key, dict(overlays), gen)
        fut: asyncio.Future[TiltfileModel] = asyncio.get_running_loop().create_future()
        r.waiters.append((gen, fut))
        if r.runner is None or r.runner.done():
            r.runner = asyncio.ensure_future(self._run(r))
        return await asyncio.shield(fut)

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
            try:
                model = await self._evaluate_off_loop(loop, r.path, texts)
            except Exception as e:  # noqa: BLE001 - the evaluator should never raise; keep the loop alive
                log.exception("evaluating %s failed", r.path)
                for _, fut in r.waiters:
                    if not fut.done():
                        fut.set_exception(e)
                r.waiters.clear()
                continue
            if self._roots.get(r.path) is not r:  # forgotten meanwhile
                return
            r.model, r.key, r.done_generation = model, key, gen
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

    async def _evaluate_off_loop(
        self, loop: asyncio.AbstractEventLoop, root: str, texts: dict[str, str]
    ) -> TiltfileModel:
        if self._use_processes:
            try:
                model: TiltfileModel = await loop.run_in_executor(self._process_pool(), _evaluate_in_worker, root, texts)
                self.evaluations += 1
                return model
            except Exception as e:  # noqa: BLE001 - broken pool, pickling: evaluate in a thread instead
                log.warning("evaluation process failed (%s); evaluating in a thread from now on", e)
                self._use_processes = False
                self._shutdown_processes()
        return await loop.run_in_executor(self._pool(), self._evaluate_sync, root, texts)

    def _process_pool(self) -> ProcessPoolExecutor:
        if self._processes is None:
            import multiprocessing  # deferred: slow to import, and not needed to answer initialize
            from concurrent.futures import ProcessPoolExecutor

            self._processes = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
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

    def _evaluate_sync(self, root: str, overlays: Mapping[str, str]) -> TiltfileModel:
        self.evaluations += 1
        if self._evaluator is not None:
            return self._evaluator(root, overlays)
        from .tiltfile.evaluate import evaluate

        return evaluate(root, overlays, time_budget_s=DEFAULT_TIME_BUDGET_S)

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

    async def roots_for(self, path: str, overlays: Mapping[str, Overlay]) -> list[str]:
        """Roots that read ``path``: known ones, else evaluate the Tiltfiles above it, else itself."""
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
        if path not in self._roots:
            self._standalone.add(path)
        return [path]

    def shutdown(self) -> None:
        self._shutdown_processes()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


__all__ = ["Overlay", "TiltWorkspace", "is_tiltfile_name"]
