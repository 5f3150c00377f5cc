"""Model diagnostics: evaluate on open, change (debounced), save and close; publish per file.

An evaluation of a root covers every file it loads, so one run publishes for all of them;
a file read by several roots gets the union.  Published under the source ``"model"``
(see ``TiltLanguageServer.set_diagnostics``).

The debounce decides when diagnostics are *published*, not when the work starts: after an
edit, the evaluation of each root that reads the file is started early enough, judging by how
long the root's last evaluation took, to be done when the debounce ends (almost at once, for a
root slower than the debounce).  Its model is installed as soon as it is ready (completion and
hover use it) but published only when the debounce ends; an edit meanwhile supersedes it.  So
a 5,000-line Tiltfile's diagnostics arrive with the debounce rather than an evaluation later.
(Option ``diagnostics.evaluateEarly``, default on: off, evaluations start when the debounce ends.)

When the last evaluation of a root was slow (a big Tiltfile), an edit first publishes the
edited file's static diagnostics (syntax, dialect, undefined names, call signatures: what the
evaluation process finds by parsing alone), keeping the previous model's other diagnostics,
and the model's full set replaces them when the evaluation finishes.  Each publish carries
the document version its diagnostics were computed from.

Only Tiltfiles (``Tiltfile``, ``Tiltfile.*``, ``*.tiltfile``) and the files some Tiltfile
loads get model diagnostics.  Clients also report saves of other files (the live-update
engine syncs them); those are never evaluated as Starlark.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Collection
from typing import TYPE_CHECKING

from lsprotocol import types

from ..workspace import is_tiltfile_name
from ._lsp import SEVERITY, uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer
    from ..tiltfile import model as m

log = logging.getLogger(__name__)

SOURCE = "model"
#: Roots whose last evaluation took this long get the edited file's static diagnostics first
#: (``TILT_LSP_STATIC_FIRST_MS`` overrides it: the tests use 0 to make every root "slow").
STATIC_FIRST_AFTER_S = float(os.environ.get("TILT_LSP_STATIC_FIRST_MS", "150")) / 1000
#: Codes of problems found without evaluating (syntax and dialect, names and call signatures).
STATIC_FAMILIES = ("TL1", "TL2")
#: An early evaluation starts this many times the root's last evaluation time, plus
#: ``EARLY_SLACK_S``, before the debounce ends; not at all when that gains less than ``EARLY_MIN_GAIN_S``.
EARLY_MARGIN = 1.25
EARLY_SLACK_S = 0.015
EARLY_MIN_GAIN_S = 0.02
#: ... and, while an evaluation of the root is running or queued, never sooner than this after
#: the edit: keys typed faster than this (a held key, a paste in pieces) do not each stop the
#: running evaluation and start another.
EARLY_MIN_DELAY_S = 0.02
LSP_SOURCE = "tilt-lsp"
DOCS_URL = "https://docs.tilt.dev/api.html"


def to_lsp(server: TiltLanguageServer, d: m.Diagnostic) -> types.Diagnostic:
    conv = server.converter(d.path)
    tags: list[types.DiagnosticTag] = []
    if d.deprecated:
        tags.append(types.DiagnosticTag.Deprecated)
    if d.unnecessary:
        tags.append(types.DiagnosticTag.Unnecessary)
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri_of(r.location.path), range=server.converter(r.location.path).range(r.location.range)),
            message=r.message,
        )
        for r in d.related
    ]
    return types.Diagnostic(
        range=conv.range(d.range),
        message=d.message,
        severity=SEVERITY[d.severity],
        code=d.code,
        source=LSP_SOURCE,
        related_information=related or None,
        tags=tags or None,
        data=dict(d.data) if d.data else None,
    )


class DiagnosticsFeature:
    def __init__(self, server: TiltLanguageServer) -> None:
        self.server = server
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._early: dict[str, asyncio.TimerHandle] = {}  # root -> its early evaluation
        self._held: dict[str, m.TiltfileModel] = {}  # root -> model waiting for a debounce to end
        self._published: dict[str, set[str]] = {}  # root -> paths we published for it
        # path -> document version of the newest diagnostics published from a model / statically
        self._model_versions: dict[str, int] = {}
        self._static_versions: dict[str, int] = {}
        self.refreshes = 0
        self.static_publishes = 0

    # ---------------------------------------------------------------- events

    def opened(self, uri: str, path: str) -> None:
        self.schedule(path, 0)

    def changed(self, uri: str, path: str) -> None:
        options = self.server.settings.diagnostics
        self.schedule(path, options.debounce_ms)
        if options.evaluate_early:
            self._evaluate_early(path, options.debounce_ms)

    def saved(self, uri: str, path: str) -> None:
        if not self.is_model_file(path):
            self._skip(path)
            return
        if self.server.open_text(path) is None:
            # Saved by another tool (the client reports it): the disk changed under the models.
            self.server.tilt.bump_disk_generation()
        self.schedule(path, 0)

    def closed(self, uri: str, path: str) -> None:
        # The unsaved text is gone: the files on disk count again.
        if not self.is_model_file(path):
            self._skip(path)
            return
        self.schedule(path, 0)

    def is_model_file(self, path: str) -> bool:
        """A Tiltfile, or a file that the newest model of some Tiltfile loads."""
        return is_tiltfile_name(path) or bool(self.server.tilt.known_roots_for(path))

    @staticmethod
    def _skip(path: str) -> None:
        log.debug("no model diagnostics for %s: not a Tiltfile, and no Tiltfile loads it", path)

    def files_changed(self, paths: list[str]) -> None:
        roots = {r for p in paths for r in self.server.tilt.known_roots_for(p)}
        roots.update(r for r in self.server.tilt.roots() if self.server.tilt.model(r) is not None)
        for root in roots:
            self.schedule(root, self.server.settings.diagnostics.debounce_ms)

    # ------------------------------------------------------------- scheduling

    def schedule(self, path: str, delay_ms: int) -> None:
        loop = self.server.loop
        if loop is None:
            return
        old = self._timers.pop(path, None)
        if old is not None:
            old.cancel()
        if delay_ms <= 0:
            self.server.run_task(self.refresh(path), f"diagnostics for {path}")
            return
        self._timers[path] = loop.call_later(
            delay_ms / 1000, lambda: self.server.run_task(self.refresh(path), f"diagnostics for {path}")
        )

    def _evaluate_early(self, path: str, debounce_ms: int) -> None:
        """Start the evaluations of ``path``'s roots so that they end with the debounce."""
        loop = self.server.loop
        if loop is None or debounce_ms <= 0:
            return
        debounce = debounce_ms / 1000
        for root in self.server.tilt.known_roots_for(path):
            took = self.server.tilt.last_duration(root)
            if took <= 0:
                continue  # no model yet: the debounce's refresh finds the roots
            busy = self.server.tilt.is_evaluating(root)
            start = max(EARLY_MIN_DELAY_S if busy else 0.0, debounce - (took * EARLY_MARGIN + EARLY_SLACK_S))
            old = self._early.pop(root, None)
            if old is not None:
                old.cancel()
            if debounce - start < EARLY_MIN_GAIN_S:
                continue
            self._early[root] = loop.call_later(start, self._start_early, root)

    def _start_early(self, root: str) -> None:
        self._early.pop(root, None)
        self.server.run_task(self.server.tilt.evaluate(root, self.server.overlays()), f"early evaluation of {root}")

    def _debouncing(self, root: str, files: Collection[str]) -> bool:
        """An edit of one of ``files`` (what an evaluation of ``root`` read) is still in its debounce."""
        return any(p == root or p in files for p in self._timers)

    async def refresh(self, path: str) -> None:
        self._timers.pop(path, None)
        overlays = self.server.overlays()
        # A file that is not a Tiltfile is looked up among the Tiltfiles above it (one of them
        # may load it) but never evaluated on its own.
        roots = await self.server.tilt.roots_for(path, overlays, standalone=is_tiltfile_name(path))
        if not roots:
            self._skip(path)
        for root in roots:
            overlays = self.server.overlays()
            if (
                path in overlays
                and self.server.tilt.model(root) is not None
                and self.server.tilt.last_duration(root) >= STATIC_FIRST_AFTER_S
                and not self.server.tilt.is_pending(root, overlays)  # the early evaluation is on it
            ):
                # A slow root: syntax and name errors of the edited file first, the model's later.
                self.server.run_task(self.publish_static(root, path, overlays[path].version), f"static diagnostics for {path}")
            await self.server.tilt.evaluate(root, overlays)
            held = self._held.get(root)
            if held is not None and held is self.server.tilt.model(root) and not self._debouncing(root, held.files):
                self.publish(root, held)  # evaluated early; its debounce is over now

    async def publish_static(self, root: str, path: str, version: int | None) -> None:
        """Publish the edited file's static diagnostics, with the model's others kept meanwhile."""
        overlays = self.server.overlays()
        if path not in overlays or overlays[path].version != version:
            return  # edited again: a newer refresh is on its way
        static = await self.server.tilt.static_diagnostics(root, path, overlays)
        if static is None or version is None:
            return
        if self._model_versions.get(path, -1) >= version:
            return  # the model of this version (or a newer one) was published first
        self._static_versions[path] = version
        kept: list[m.Diagnostic] = []
        for mm in self.server.tilt.models_for(path):
            # Evaluation-time problems (families 3 to 9) stay until the new model replaces them.
            kept.extend(d for d in mm.diagnostics if d.path == path and not d.code.startswith(STATIC_FAMILIES))
        try:
            lsp = [to_lsp(self.server, d) for d in [*static, *kept]]
        except Exception:
            log.exception("converting diagnostics for %s failed", path)
            return
        self.static_publishes += 1
        log.debug("static diagnostics of %s (version %s): %d, before the model's", path, version, len(static))
        self.server.set_diagnostics(uri_of(path), SOURCE, lsp, version=version)

    # -------------------------------------------------------------- publishing

    def publish(self, root: str, model: m.TiltfileModel) -> None:
        """Model listener: a new model of ``root`` is installed."""
        if self._debouncing(root, model.files):
            self._held[root] = model  # the refresh at the end of the debounce publishes it
            return
        self._held.pop(root, None)
        self.refreshes += 1
        paths = set(model.files) | {d.path for d in model.diagnostics} | {root}
        stale = self._published.get(root, set())
        self._published[root] = paths
        by_path: dict[str, list[m.Diagnostic]] = {}
        models = [mm for mm in self.server.tilt.models()]
        for p in paths | stale:
            seen: set[tuple[object, ...]] = set()
            out: list[m.Diagnostic] = []
            for mm in models:
                if mm is not model and p not in mm.files:
                    continue
                for d in mm.diagnostics:
                    if d.path != p:
                        continue
                    k = (d.range, d.code, d.message)
                    if k not in seen:
                        seen.add(k)
                        out.append(d)
            by_path[p] = out
        for p, diags in by_path.items():
            if not diags and p not in stale and not self.server.diagnostics_of(uri_of(p), SOURCE):
                # Nothing to say and nothing to clear; still publish for the files the user has open.
                if self.server.open_text(p) is None:
                    continue
            try:
                lsp = [to_lsp(self.server, d) for d in diags]
            except Exception:
                log.exception("converting diagnostics for %s failed", p)
                continue
            version = self.server.tilt.evaluated_version(root, p)
            if version is not None:
                if self._static_versions.get(p, -1) > version and self.server.tilt.is_evaluating(root):
                    # Static diagnostics of a newer text are shown and the model of that text is
                    # coming: do not bring back the older text's diagnostics meanwhile.
                    continue
                self._model_versions[p] = version
                log.debug("model diagnostics of %s (version %s): %d", p, version, len(lsp))
                self.server.set_diagnostics(uri_of(p), SOURCE, lsp, version=version)
            else:
                self.server.set_diagnostics(uri_of(p), SOURCE, lsp)


def register(server: TiltLanguageServer) -> None:
    feature = DiagnosticsFeature(server)
    server.features["diagnostics"] = feature
    server.on_open.append(feature.opened)
    server.on_change.append(feature.changed)
    server.on_save.append(feature.saved)
    server.on_close.append(feature.closed)
    server.on_files_changed.append(feature.files_changed)
    server.tilt.on_model(feature.publish)


__all__ = ["DiagnosticsFeature", "SOURCE", "register", "to_lsp"]
