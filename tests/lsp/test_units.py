"""Unit tests for the pieces under the features: options, scheduling, cursor analysis."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types

from tilt_lsp import settings
from tilt_lsp.features._cursor import analyze, scan_symbols
from tilt_lsp.features._lsp import line_starts
from tilt_lsp.features.code_actions import dockerfile_workdir
from tilt_lsp.server import TiltLanguageServer
from tilt_lsp.tiltfile.interp import EvaluationCancelled
from tilt_lsp.tiltfile.model import TiltfileModel
from tilt_lsp.workspace import Overlay, TiltWorkspace

# ---------------------------------------------------------------- settings


def test_settings_defaults() -> None:
    s, problems = settings.parse(None)
    assert problems == []
    assert s.diagnostics.debounce_ms == 200
    assert s.live_update.enabled and s.live_update.on_save and s.live_update.watch
    assert s.live_update.debounce_ms == 200 and s.docker.host is None and s.trace == "off"


def test_settings_shapes() -> None:
    nested, _ = settings.parse({"settings": {"diagnostics": {"debounceMs": 50}, "docker": {"host": "tcp://x:2375"}}})
    flat, _ = settings.parse({"settings": {"diagnostics.debounceMs": 50, "liveUpdate.watch": False}})
    conf, _ = settings.parse({"settings": {"tilt": {"trace": "verbose"}}}, from_configuration=True)
    assert nested.diagnostics.debounce_ms == 50 and nested.docker.host == "tcp://x:2375"
    assert flat.diagnostics.debounce_ms == 50 and flat.live_update.watch is False
    assert conf.trace == "verbose"


def test_settings_invalid_values_fall_back() -> None:
    s, problems = settings.parse({"settings": {"liveUpdate": {"enabled": "yes", "debounceMs": -3}, "trace": 7}})
    assert s.live_update.enabled is True and s.live_update.debounce_ms == 200 and s.trace == "off"
    assert {p.key for p in problems} == {"liveUpdate.enabled", "liveUpdate.debounceMs", "trace"}
    assert all("default" in str(p) for p in problems)


def test_settings_trace_as_vscode_sends_it() -> None:
    # VS Code's `tilt.trace.server` arrives as {"trace": {"server": ...}}: no complaint.
    s, problems = settings.parse({"settings": {"trace": {"server": "verbose"}}})
    assert problems == [] and s.trace == "verbose"
    s, problems = settings.parse({"settings": {"tilt": {"trace": {"server": "off"}}}}, from_configuration=True)
    assert problems == [] and s.trace == "off"
    s, problems = settings.parse({"settings": {"trace.server": "messages"}})
    assert problems == [] and s.trace == "messages"
    s, problems = settings.parse({"settings": {"trace": {"server": "loud"}}})
    assert s.trace == "off" and [p.key for p in problems] == ["trace"]
    s, problems = settings.parse({"settings": {"trace": {"client": "verbose"}}})
    assert s.trace == "off" and [p.key for p in problems] == ["trace"]


# ------------------------------------------------------- diagnostics sources


def test_set_diagnostics_publishes_union_of_sources() -> None:
    server = TiltLanguageServer()
    sent: list[types.PublishDiagnosticsParams] = []
    server.text_document_publish_diagnostics = sent.append  # type: ignore[method-assign]
    rng = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=1))
    a = types.Diagnostic(range=rng, message="model problem", source="tilt")
    b = types.Diagnostic(range=rng, message="container is gone", source="tilt-liveupdate")
    server.set_diagnostics("file:///x/Tiltfile", "model", [a])
    server.set_diagnostics("file:///x/Tiltfile", "liveupdate", [b])
    assert [d.message for d in sent[-1].diagnostics] == ["container is gone", "model problem"]
    server.set_diagnostics("file:///x/Tiltfile", "model", [])
    assert [d.message for d in sent[-1].diagnostics] == ["container is gone"]
    assert server.diagnostics_of("file:///x/Tiltfile", "liveupdate") == [b]


# -------------------------------------------------------------- scheduling


def test_evaluation_is_cached_coalesced_and_off_the_loop() -> None:
    calls: list[tuple[str, dict[str, str]]] = []
    threads: set[str] = set()
    gate = threading.Event()

    def fake(root: str, overlays: Mapping[str, str], cancel: threading.Event) -> TiltfileModel:
        threads.add(threading.current_thread().name)
        gate.wait(5)
        calls.append((root, dict(overlays)))
        return TiltfileModel(tiltfile=root)

    async def main() -> None:
        ws = TiltWorkspace(evaluator=fake)
        root = "/p/Tiltfile"
        first = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("a", 1)}))
        await asyncio.sleep(0.05)  # first run started and is blocked on the gate
        second = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("b", 2)}))
        third = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("c", 3)}))
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(first, second, third)
        # v1 ran; v2 was superseded by v3 before it started (latest wins)
        assert [c[1][root] for c in calls] == ["a", "c"]
        # same versions again: served from the cache
        await ws.evaluate(root, {root: Overlay("c", 3)})
        assert len(calls) == 2
        ws.bump_disk_generation()
        await ws.evaluate(root, {root: Overlay("c", 3)})
        assert len(calls) == 3
        ws.shutdown()

    asyncio.run(main())
    assert threads and all(t.startswith("tilt-eval") for t in threads)


def test_loop_stays_responsive_during_evaluation() -> None:
    gate = threading.Event()

    def blocked(root: str, overlays: Mapping[str, str], cancel: threading.Event) -> TiltfileModel:
        # Only the event loop can open the gate: if evaluation ran on the loop, this would hang.
        assert gate.wait(30), "the loop never ran while the evaluation was in progress"
        return TiltfileModel(tiltfile=root)

    async def main() -> TiltfileModel:
        ws = TiltWorkspace(evaluator=blocked)
        task = asyncio.ensure_future(ws.evaluate("/p/Tiltfile", {}))
        await asyncio.sleep(0.01)
        assert not task.done()
        gate.set()
        model = await task
        ws.shutdown()
        return model

    assert asyncio.run(main()).tiltfile == "/p/Tiltfile"


def test_superseded_evaluation_is_cancelled() -> None:
    started = threading.Event()
    seen: list[str] = []

    def slow(root: str, overlays: Mapping[str, str], cancel: threading.Event) -> TiltfileModel:
        seen.append(overlays[root])
        if overlays[root] == "old":
            started.set()
            # Runs until told to stop: only cancellation can end it.
            assert cancel.wait(30), "the superseded evaluation was never cancelled"
            raise EvaluationCancelled()
        return TiltfileModel(tiltfile=root, output=())

    async def main() -> None:
        ws = TiltWorkspace(evaluator=slow)
        root = "/p/Tiltfile"
        first = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("old", 1)}))
        while not started.is_set():
            await asyncio.sleep(0.01)
        second = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("new", 2)}))
        m1, m2 = await asyncio.gather(first, second)
        # Both waiters get the newest model; the old run stopped early and produced none.
        assert m1 is m2 and seen == ["old", "new"]
        assert ws.cancelled(root) == 1 and ws.evaluated_version(root, root) == 2
        ws.shutdown()

    asyncio.run(main())


def test_superseded_evaluation_is_cancelled_in_the_worker_process(tmp_path: Path) -> None:
    root = str(tmp_path / "Tiltfile")
    endless = "n = 0\nfor i in range(1000000000):\n    n += i\n"
    Path(root).write_text(endless)

    async def main() -> None:
        ws = TiltWorkspace(processes=True)
        # Warm the process so that the first evaluation is surely running when superseded.
        quick = "local_resource('warm', cmd='true')\n"
        await ws.evaluate(root, {root: Overlay(quick, 1)})
        first = asyncio.ensure_future(ws.evaluate(root, {root: Overlay(endless, 2)}))
        await asyncio.sleep(0.3)
        second = asyncio.ensure_future(ws.evaluate(root, {root: Overlay("local_resource('new', cmd='true')\n", 3)}))
        m1, m2 = await asyncio.gather(first, second)
        assert m1 is m2 and [r.name for r in m2.local_resources] == ["new"]
        # Stopped by the cancel event, not by the evaluator's time budget (TL303).
        assert ws.cancelled(root) == 1
        assert not [d for d in m2.diagnostics if d.code == "TL303"]
        ws.shutdown()

    asyncio.run(main())


def test_static_diagnostics_in_the_worker_process(tmp_path: Path) -> None:
    root = str(tmp_path / "Tiltfile")
    Path(root).write_text("")
    text = "k8s_yamll('a.yaml')\nx = (\n"

    async def main() -> None:
        ws = TiltWorkspace(processes=True)
        diags = await ws.static_diagnostics(root, root, {root: Overlay(text, 4)})
        assert diags is not None
        assert {d.code for d in diags} >= {"TL101"}
        ws.shutdown()

    asyncio.run(main())


# ------------------------------------------------------------------ cursor


def _ctx(src: str) -> Any:
    i = src.index("|")
    text = src.replace("|", "")
    starts = line_starts(text)
    lines = text.split("\n")
    line = text.count("\n", 0, i)
    return analyze(text, starts, lines, line, i - starts[line], full=True)


def test_cursor_call_context() -> None:
    c = _ctx("docker_build('img', '.', dockerfile='x', |)")
    assert c.call.callee == "docker_build" and c.call.positional == 2 and c.call.keywords == ["dockerfile"]
    c = _ctx("k8s_resource('a', resource_deps=['b', '|'])")
    call, inner = c.call_and_brackets()
    assert call.keyword == "resource_deps" and inner == ["["] and c.in_string
    c = _ctx("x = os.path.jo|")
    assert c.receiver == "os.path" and c.word == "jo"
    c = _ctx("def f(a, |")
    assert c.call is None
    c = _ctx("'''docstring with ( in it'''\nfoo(|")
    assert c.call.callee == "foo"


def test_scan_symbols() -> None:
    text = "load('./a.star', 'x', y='z')\nA, B = 1, 2\ndef f(p, q=1, *r, **s):\n    local = 1\nfor i in []:\n    pass\n"
    syms = scan_symbols(text, line_starts(text), text.split("\n")).globals()
    assert {"x", "y", "A", "B", "f", "i"} <= set(syms)
    assert syms["y"].exported == "z" and syms["f"].params == ("p", "q", "*r", "**s")
    assert "local" not in syms


def test_dockerfile_workdir() -> None:
    assert dockerfile_workdir("FROM a\nWORKDIR /app\nWORKDIR src\n", None) == "/app/src"
    assert dockerfile_workdir("FROM a AS build\nWORKDIR /b\nFROM build AS dev\nRUN x\n", "dev") == "/b"
    assert dockerfile_workdir("FROM a\nRUN x\n", None) is None
    assert dockerfile_workdir("FROM a\nWORKDIR $HOME\n", None) is None
    assert dockerfile_workdir("FROM a AS x\nWORKDIR /x\nFROM b\nWORKDIR /y\n", "x") == "/x"
