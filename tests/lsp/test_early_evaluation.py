"""Evaluations start before the debounce ends; their diagnostics are published when it ends.

The server runs in-process with an injected evaluator whose runs the test releases by hand,
so every ordering below is decided by the test, not by how fast this machine is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import Workspace

from tilt_lsp import workspace as ws_mod
from tilt_lsp.server import create_server
from tilt_lsp.tiltfile.interp import EvaluationCancelled
from tilt_lsp.tiltfile.model import Diagnostic, Position, Range, Severity, TiltfileModel
from tilt_lsp.workspace import Overlay, TiltWorkspace


class _Gated:
    """An evaluator whose runs wait for the test: ``release(text)`` lets the run of ``text`` end."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self._gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def gate(self, text: str) -> threading.Event:
        with self._lock:
            return self._gates.setdefault(text, threading.Event())

    def release(self, text: str) -> None:
        self.gate(text).set()

    def __call__(self, root: str, overlays: Mapping[str, str], cancel: threading.Event) -> TiltfileModel:
        text = overlays.get(root, "")
        self.started.append(text)
        gate = self.gate(text)
        while not gate.wait(0.01):
            if cancel.is_set():
                raise EvaluationCancelled()
        rng = Range(Position(0, 0), Position(0, 1))
        diags = (Diagnostic(root, rng, Severity.ERROR, "TL201", f"problem in {text!r}"),)
        return TiltfileModel(tiltfile=root, files=(root,), diagnostics=diags)


async def _until(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.005)


def test_early_evaluation_is_held_until_the_debounce_ends(tmp_path: Path) -> None:
    root = tmp_path / "Tiltfile"
    root.write_text("v1")
    uri = root.as_uri()
    gated = _Gated()
    server = create_server(features=("documents", "diagnostics"), evaluator=gated)
    server.settings = dataclasses.replace(
        server.settings, diagnostics=dataclasses.replace(server.settings.diagnostics, debounce_ms=1500)
    )
    events: list[tuple[str, object]] = []
    server.text_document_publish_diagnostics = lambda p: events.append(("publish", p))  # type: ignore[method-assign]
    feature = server.features["diagnostics"]
    refresh = feature.refresh

    async def traced_refresh(path: str) -> None:
        events.append(("refresh", path))
        await refresh(path)

    feature.refresh = traced_refresh

    async def main() -> None:
        server.loop = asyncio.get_running_loop()
        server.protocol._workspace = Workspace(tmp_path.as_uri(), types.TextDocumentSyncKind.Incremental, [])  # noqa: SLF001
        server.workspace.put_text_document(types.TextDocumentItem(uri=uri, language_id="tiltfile", version=1, text="v1"))
        feature.opened(uri, str(root))
        await _until(lambda: gated.started == ["v1"])
        await asyncio.sleep(0.6)  # the root's evaluation "takes" 0.6 s
        gated.release("v1")
        await _until(lambda: any(k == "publish" for k, _ in events))
        assert server.tilt.last_duration(str(root)) >= 0.6
        events.clear()

        # An edit: with a 1.5 s debounce and a 0.6 s evaluation, the evaluation starts ~0.75 s
        # before the debounce ends.
        server.workspace.get_text_document(uri).apply_change(
            types.TextDocumentContentChangeWholeDocument(text="v2")
        )
        server.workspace.get_text_document(uri).version = 2
        feature.changed(uri, str(root))
        await _until(lambda: "v2" in gated.started)
        assert events == []  # started early: no refresh yet, nothing published
        gated.release("v2")
        await _until(lambda: server.tilt.model(str(root)) is not None and server.tilt.evaluated_version(str(root), str(root)) == 2)
        await asyncio.sleep(0.05)
        # The model is installed (completion and hover have it) but its diagnostics wait for the debounce.
        assert [k for k, _ in events] == []
        await _until(lambda: any(k == "publish" for k, _ in events))
        kinds = [k for k, _ in events]
        assert kinds.index("refresh") < kinds.index("publish")
        published = next(p for k, p in events if k == "publish")
        assert published.version == 2  # type: ignore[attr-defined]
        assert [d.message for d in published.diagnostics] == ["problem in 'v2'"]  # type: ignore[attr-defined]
        assert gated.started.count("v2") == 1  # the refresh did not evaluate again
        server.tilt.shutdown()

    asyncio.run(main())


def test_superseded_evaluation_runs_to_the_end_when_the_model_is_old(monkeypatch: pytest.MonkeyPatch) -> None:
    """Typing without pause must not starve the model: past MAX_MODEL_AGE_S the running
    evaluation is left to finish; a fresh model makes superseded ones cancellable again."""
    monkeypatch.setattr(ws_mod, "MAX_MODEL_AGE_S", 0.2)
    gated = _Gated()
    root = "/p/Tiltfile"

    async def main() -> None:
        ws = TiltWorkspace(evaluator=gated)
        first = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("a", 1)}))
        await _until(lambda: gated.started == ["a"])
        await asyncio.sleep(0.3)  # the root has had no model for longer than allowed
        second = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("b", 2)}))
        await asyncio.sleep(0.1)
        assert ws.cancelled(root) == 0  # "a" keeps running
        gated.release("a")
        await _until(lambda: "b" in gated.started)
        assert ws.evaluated_version(root, root) == 1  # "a"'s model was installed
        # Now the model is fresh: superseding "b" cancels it.
        third = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("c", 3)}))
        await _until(lambda: ws.cancelled(root) == 1)
        gated.release("c")
        models = await asyncio.gather(first, second, third)
        assert gated.started == ["a", "b", "c"]
        assert models[1] is models[2] and ws.evaluated_version(root, root) == 3
        ws.shutdown()

    asyncio.run(main())
