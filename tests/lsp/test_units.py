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
    a = types.Diagnostic(range=rng, message="model problem", source="tilt-lsp")
    b = types.Diagnostic(range=rng, message="container is gone", source="tilt-liveupdate")
    server.set_diagnostics("file:///x/Tiltfile", "model", [a])
    server.set_diagnostics("file:///x/Tiltfile", "liveupdate", [b])
    assert [d.message for d in sent[-1].diagnostics] == ["container is gone", "model problem"]
    server.set_diagnostics("file:///x/Tiltfile", "model", [a], version=7)
    assert sent[-1].version == 7  # the version the diagnostics were computed from
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


# ------------------------------------------------------------------ documents


def test_fast_document_matches_pygls_on_random_edits() -> None:
    import random

    from pygls.workspace import TextDocument

    from tilt_lsp.features.documents import FastTextDocument

    def units(line: str, col: int) -> int:  # code points -> UTF-16 code units
        return len(line[:col].encode("utf-16-le")) // 2

    rng = random.Random(7)
    text = "docker_build('a', '.')\nk8s_yaml('x.yaml')\n\nfor i in range(3):\n    print('é😀', i)\n"
    fast = FastTextDocument("file:///t/Tiltfile", text)
    slow = TextDocument("file:///t/Tiltfile", text)
    pieces = ["", "x", "\n", "ab\ncd", "😀", "é", "    ", "\n\n"]
    for _ in range(400):
        lines = slow.source.split("\n")
        sl = rng.randrange(len(lines))
        el = min(len(lines) - 1, sl + rng.choice([0, 0, 1, 2]))
        sc = rng.randrange(len(lines[sl]) + 1)
        ec = rng.randrange(len(lines[el]) + 1)
        if (el, ec) < (sl, sc):
            el, ec = sl, sc
        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=sl, character=units(lines[sl], sc)),
                end=types.Position(line=el, character=units(lines[el], ec)),
            ),
            text=rng.choice(pieces),
        )
        fast.apply_change(change)
        slow.apply_change(change)
        assert fast.source == slow.source
        got_lines, got_starts = fast.line_index()
        assert got_lines == fast.source.split("\n") and got_starts == line_starts(fast.source)
    assert fast.edits == 400 and len(fast.edit_log) == FastTextDocument.EDIT_LOG_SIZE
    # Past the end (clients do this when appending): the text goes at the end.
    end = types.Position(line=10_000, character=0)
    fast.apply_change(types.TextDocumentContentChangePartial(range=types.Range(start=end, end=end), text="tail"))
    assert fast.source.endswith("tail") and fast.line_index()[0] == fast.source.split("\n")


def test_symbols_follow_edits_incrementally() -> None:
    import random

    from tilt_lsp.features._cursor import rescan_symbols
    from tilt_lsp.features.documents import FastTextDocument

    rng = random.Random(11)
    base = "load('./lib.star', 'a',\n     b='c')\nX = 1\ndef f(p,\n      q=2):\n    y = p\nfor i in []:\n    pass\n"
    doc = FastTextDocument("file:///t/Tiltfile", base * 5)
    pieces = ["", "Z = 3\n", "def g(r,\n s):\n", "\n", "x", "load('m', 'n')\n", "    ", "A, B = 1, 2\n", ")", "("]
    lines, starts = doc.line_index()
    syms = scan_symbols(doc.source, starts, lines)
    seen = doc.edits
    for step in range(300):
        lines = doc.source.split("\n")
        sl = rng.randrange(len(lines))
        el = min(len(lines) - 1, sl + rng.choice([0, 0, 1, 3]))
        sc = rng.randrange(len(lines[sl]) + 1)
        ec = rng.randrange(len(lines[el]) + 1)
        if (el, ec) < (sl, sc):
            el, ec = sl, sc
        doc.apply_change(
            types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=sl, character=sc), end=types.Position(line=el, character=ec)),
                text=rng.choice(pieces),
            )
        )
        if step % 3:  # several edits between two requests, sometimes
            continue
        lines, starts = doc.line_index()
        log = [e[1:] for e in doc.edit_log if e[0] > seen]
        seen = doc.edits
        syms = rescan_symbols(syms, log, doc.source, starts, lines)
        assert list(syms.entries) == list(scan_symbols(doc.source, starts, lines).entries)


def test_notifications_do_not_pile_up_futures() -> None:
    from pygls.workspace import Workspace

    from tilt_lsp.server import create_server

    server = create_server()
    server.protocol._workspace = Workspace(None, types.TextDocumentSyncKind.Incremental)
    for i in range(200):
        server.protocol._handle_notification(
            types.TEXT_DOCUMENT_DID_OPEN,
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=f"file:///p/{i}/Tiltfile", language_id="tiltfile", version=1, text="")
            ),
        )
    assert len(server.workspace.text_documents) == 200
    assert len(server.protocol._request_futures) <= 33


def test_nothing_heavy_is_imported_before_initialize() -> None:
    import subprocess
    import sys

    heavy = [
        "argparse", "concurrent.futures.process", "docker", "jedi", "multiprocessing", "yaml",
        "tilt_lsp.tiltfile.catalog", "tilt_lsp.tiltfile.evaluate", "tilt_lsp.tiltfile.interp",
        "tilt_lsp.features._cursor", "tilt_lsp.features._names", "tilt_lsp.features.completion",
    ]
    code = (
        "import sys\n"
        "import tilt_lsp.cli\n"
        "from tilt_lsp.server import create_server\n"
        "create_server()\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_model_pieces_round_trip_and_the_collector_is_restored(tmp_path: Path) -> None:
    import gc

    from tilt_lsp.tiltfile.evaluate import evaluate
    from tilt_lsp.workspace import _decode_pieces, decode_model_on_loop, encode_model

    root = tmp_path / "Tiltfile"
    (tmp_path / "lib.star").write_text("def helper(x):\n    return x\n")
    names = "".join(f"name_{i} = {i}\n" for i in range(150))  # three pieces of definitions
    root.write_text(
        "load('./lib.star', 'helper')\n" + names + "for i in range(40):\n    local_resource('r%d' % i, cmd='true')\n"
    )
    model = evaluate(str(root), {})
    assert len(model.local_resources) == 40  # more than one piece
    assert len(model.files[str(root)].definitions) > 150 and model.files[str(root)].loads
    assert list(model.files) == [str(root), str(tmp_path / "lib.star")]
    data = encode_model(model)
    assert gc.isenabled()

    async def two() -> list[TiltfileModel]:
        # interleaved on one loop, as two roots' models can be
        return list(await asyncio.gather(decode_model_on_loop(data), decode_model_on_loop(data)))

    a, b = asyncio.run(two())
    assert a == model and b == model
    assert list(a.files) == list(model.files)  # the root first
    assert gc.isenabled()
    pieces = _decode_pieces(data)
    next(pieces)
    assert not gc.isenabled()  # paused while the model is being made
    pieces.close()  # abandoned half-way (the request was cancelled)
    assert gc.isenabled()


def test_replaced_models_are_freed_a_slice_at_a_time_once_nobody_holds_them(tmp_path: Path) -> None:
    import gc
    import weakref

    from tilt_lsp.tiltfile.evaluate import evaluate
    from tilt_lsp.workspace import ModelReaper

    root = tmp_path / "Tiltfile"
    root.write_text(
        "".join(f"name_{i} = {i}\n" for i in range(300)) + "for i in range(100):\n    local_resource('r%d' % i, cmd='true')\n"
    )

    async def main() -> None:
        reaper = ModelReaper()
        model = evaluate(str(root), {})
        gc.collect()  # the evaluator's own state (reference cycles) goes; the server gets models by pickle
        copy = repr(model)
        dead_model = weakref.ref(model)
        dead_resource = weakref.ref(model.local_resources[-1])
        holder = [model]  # a request still using the replaced model
        reaper.retire(model)
        del model
        for _ in range(10):
            await asyncio.sleep(0.01)
        assert dead_model() is not None and repr(holder[0]) == copy  # waited, and left it intact
        assert reaper.reaped == 0
        holder.clear()
        turns = 0
        while reaper.pending():
            await asyncio.sleep(0)
            turns += 1
        assert dead_model() is None and dead_resource() is None
        assert reaper.reaped == 1
        assert turns > 1  # spread over turns of the loop, not freed in one

        # A model held for long does not keep the ones retired after it.
        held = evaluate(str(root), {})
        reaper.retire(held)
        later = evaluate(str(root), {})
        gc.collect()
        dead_later = weakref.ref(later)
        reaper.retire(later)
        del later
        for _ in range(50):
            await asyncio.sleep(0.005)
            if dead_later() is None:
                break
        assert dead_later() is None and reaper.reaped == 2
        assert repr(held) == copy

    asyncio.run(main())


def test_engine_evaluation_yields_to_an_edit(tmp_path: Path) -> None:
    """The live-update engine's evaluation of the saved files is stopped by an edit's and runs again after it."""
    saved_root = str(tmp_path / "Tiltfile")
    # Slow on disk: only the evaluator's time budget (2 s) ends it.
    Path(saved_root).write_text("n = 0\nfor i in range(1000000000):\n    n += i\n")
    other = str(tmp_path / "other" / "Tiltfile")
    Path(other).parent.mkdir()
    Path(other).write_text("")

    async def main() -> None:
        ws = TiltWorkspace(processes=True)
        await ws.evaluate(other, {other: Overlay("local_resource('warm', cmd='true')\n", 1)})
        saved = asyncio.ensure_future(ws.evaluate_saved(saved_root))
        while not ws._saved_preemptible:  # noqa: SLF001 - wait until the worker runs it
            await asyncio.sleep(0.01)
        edited = await ws.evaluate(other, {other: Overlay("local_resource('edited', cmd='true')\n", 2)})
        assert [r.name for r in edited.local_resources] == ["edited"]
        assert ws.saved_preemptions == 1 and not saved.done()
        model = await saved  # evaluated again, to the end
        assert any(d.code == "TL303" for d in model.diagnostics)
        ws.shutdown()

    asyncio.run(main())


def _bare_server() -> Any:
    """A server with an incremental-sync workspace and nothing connected (handlers called directly)."""
    from pygls.workspace import Workspace

    from tilt_lsp.features.documents import _use_fast_documents
    from tilt_lsp.server import create_server

    server = create_server()
    server.protocol._workspace = Workspace(None, types.TextDocumentSyncKind.Incremental)
    _use_fast_documents(server)
    return server


def _open(server: Any, uri: str, text: str) -> None:
    server.protocol._handle_notification(
        types.TEXT_DOCUMENT_DID_OPEN,
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="tiltfile", version=1, text=text)
        ),
    )


def test_completion_never_changes_the_items_it_shares_between_answers(tmp_path: Path) -> None:
    """Short lists get documentation inline, on copies: the shared items (whose JSON is kept,
    see tilt_lsp/wire.py) stay as they were."""
    from tilt_lsp.features import completion

    server = _bare_server()
    server.protocol.client_capabilities = types.ClientCapabilities()  # no snippets: builtins as they are
    uri = (tmp_path / "Tiltfile").as_uri()
    _open(server, uri, "local_r\n")
    shared = {i.label: i for i in completion._builtin_items()}
    assert shared["local_resource"].documentation is None
    result = completion.Completer(server).complete(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=7))
    )
    assert result is not None
    got = {i.label: i for i in result.items}
    assert isinstance(got["local_resource"].documentation, types.MarkupContent)  # inlined: a short list
    assert got["local_resource"] is not shared["local_resource"]
    assert shared["local_resource"].documentation is None


def test_a_document_is_scanned_for_names_just_after_it_opens(tmp_path: Path) -> None:
    """The first completion then only rescans the edited lines."""
    from tilt_lsp.features import _doc, language

    server = _bare_server()
    path = tmp_path / "Tiltfile"
    uri = path.as_uri()

    async def main() -> None:
        server.loop = asyncio.get_running_loop()
        _open(server, uri, "a = 1\ndef f(x):\n    pass\n")
        assert str(path) not in _doc._EDITED_SYMBOLS
        await asyncio.sleep(language.OPEN_SCAN_DELAY_S + 0.05)
        doc, edits, syms = _doc._EDITED_SYMBOLS[str(path)]
        assert doc is server.workspace.text_documents[uri] and edits == doc.edits
        assert set(syms.names()) == {"a", "f"}

    asyncio.run(main())
