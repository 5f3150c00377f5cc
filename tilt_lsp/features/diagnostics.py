"""Model diagnostics: evaluate on open, change (debounced), save and close; publish per file.

An evaluation of a root covers every file it loads, so one run publishes for all of them;
a file read by several roots gets the union.  Published under the source ``"model"``
(see ``TiltLanguageServer.set_diagnostics``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import model as m
from ._lsp import SEVERITY, uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

log = logging.getLogger(__name__)

SOURCE = "model"
LSP_SOURCE = "tilt"
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
        self._published: dict[str, set[str]] = {}  # root -> paths we published for it
        self.refreshes = 0

    # ---------------------------------------------------------------- events

    def opened(self, uri: str, path: str) -> None:
        self.schedule(path, 0)

    def changed(self, uri: str, path: str) -> None:
        self.schedule(path, self.server.settings.diagnostics.debounce_ms)

    def saved(self, uri: str, path: str) -> None:
        self.schedule(path, 0)

    def closed(self, uri: str, path: str) -> None:
        # The unsaved text is gone: the files on disk count again.
        self.schedule(path, 0)

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

    async def refresh(self, path: str) -> None:
        self._timers.pop(path, None)
        overlays = self.server.overlays()
        roots = await self.server.tilt.roots_for(path, overlays)
        for root in roots:
            await self.server.tilt.evaluate(root, self.server.overlays())

    # -------------------------------------------------------------- publishing

    def publish(self, root: str, model: m.TiltfileModel) -> None:
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
