"""The language server: state, wiring of the feature modules, and ``run_server``.

No feature logic lives here.  :class:`TiltLanguageServer` owns what the features share
(settings, the :class:`~tilt_lsp.workspace.TiltWorkspace`, diagnostics kept per source,
document events) and :func:`create_server` registers the feature modules in order.  Each
module named in :data:`FEATURES` exposes ``register(server)``; ``features/language.py``
registers the requests and imports their implementations on first use.  The live-update
adapter (``features/liveupdate.py``) is registered the same way when it exists.

Start-up is kept short: nothing heavy is imported before ``initialize`` is answered.  After
``initialized`` the evaluation process is started and the feature implementations are
imported on a thread; then the objects alive so far are moved out of the garbage
collector's sight (``gc.freeze``), as is each newly installed model, so that collections
stay short while the user types (a full collection of a big model takes tens of ms).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from .features._lsp import Converter, line_starts, path_of, uri_of
from .settings import Settings
from .workspace import Overlay, TiltWorkspace

log = logging.getLogger("tilt_lsp")

SERVER_NAME = "tilt-lsp"
# Kept in step with pyproject.toml; importlib.metadata would cost ~50 ms of start-up.
SERVER_VERSION = "0.1.0"

#: Feature modules, in registration order.  ``documents`` must come first: it owns the
#: text-sync notifications and turns them into the server's document events.
FEATURES: tuple[str, ...] = (
    "documents",
    "diagnostics",
    "language",  # every request-answering feature, each module imported on first use
)
#: Registered after the built-in features when the module exists (another issue builds it).
OPTIONAL_FEATURES: tuple[str, ...] = ("liveupdate",)

DocumentListener = Callable[[str, str], None]  # (uri, path)
_CURRENT = object()  # set_diagnostics: publish with the document's current version


class _Lines:
    __slots__ = ("key", "lines", "starts")

    def __init__(self, key: object, text: str | None, index: tuple[list[str], list[int]] | None = None) -> None:
        self.key = key
        if index is not None:
            self.lines, self.starts = index
        else:
            self.lines = (text or "").split("\n")
            self.starts = line_starts(text or "", self.lines)


class _Protocol(LanguageServerProtocol):
    """pygls' protocol, minus a leak.

    pygls 2.1 files the future of every notification whose built-in handler is a generator
    (didOpen, didChange, didSave, ...) under a fresh id in ``_request_futures`` and never
    removes it: one future (with its lock and condition) per keystroke.  Done futures are
    dropped here; requests' futures are removed by pygls itself when answered.
    """

    def _handle_notification(self, method_name: str, params: Any) -> None:
        super()._handle_notification(method_name, params)
        futures: dict[Any, Any] = self._request_futures
        if len(futures) > 32:
            for key in [k for k, f in futures.items() if f.done()]:
                del futures[key]

    def _send_data(self, data: Any) -> None:
        # Completion lists are written from their items' kept JSON (see tilt_lsp/wire.py).
        result = getattr(data, "result", None)
        if isinstance(result, types.CompletionList) and self.writer is not None and self._include_headers:
            from . import wire

            try:
                body = wire.completion_response(data.id, result, self._converter.unstructure).encode("utf-8")
            except Exception:  # noqa: BLE001 - pygls' own path below still answers
                logging.getLogger(__name__).exception("encoding a completion list failed")
            else:
                header = f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
                try:
                    res = self.writer.write(header.encode("ascii") + body)
                    if inspect.isawaitable(res):
                        asyncio.ensure_future(res)
                except BrokenPipeError:
                    raise
                except Exception as error:  # noqa: BLE001 - as pygls reports a failed write
                    logging.getLogger(__name__).exception("sending a completion list failed")
                    self._server._report_server_error(error, JsonRpcInternalError)  # noqa: SLF001
                return
        super()._send_data(data)


class TiltLanguageServer(LanguageServer):
    """State shared by the feature modules."""

    def __init__(self, *, evaluator: Any = None) -> None:
        super().__init__(
            SERVER_NAME,
            SERVER_VERSION,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=_Protocol,
        )
        self.settings = Settings()
        self.tilt = TiltWorkspace(evaluator=evaluator)
        self._diagnostics: dict[str, dict[str, list[types.Diagnostic]]] = {}
        self._reported: set[str] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._lines: dict[str, _Lines] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        # Feature objects that others may need (e.g. "diagnostics"), by name.
        self.features: dict[str, Any] = {}
        # Document events, fired by features/documents.py after pygls updated its copy.
        self.on_open: list[DocumentListener] = []
        self.on_change: list[DocumentListener] = []
        self.on_save: list[DocumentListener] = []
        self.on_close: list[DocumentListener] = []
        self.on_settings: list[Callable[[Settings], None]] = []
        self.on_files_changed: list[Callable[[list[str]], None]] = []

    # -------------------------------------------------------------- documents

    def overlays(self) -> dict[str, Overlay]:
        """Unsaved text of every open document, by absolute path."""
        out: dict[str, Overlay] = {}
        for uri, doc in self.workspace.text_documents.items():
            p = path_of(uri)
            if p is not None:
                out[p] = Overlay(doc.source, doc.version)
        return out

    def open_text(self, path: str) -> str | None:
        doc = self.workspace.text_documents.get(uri_of(path))
        return doc.source if doc is not None else None

    def text_of(self, path: str) -> str | None:
        """The editor's text when the file is open, else the file on disk."""
        text = self.open_text(path)
        if text is not None:
            return text
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return None

    def _line_cache(self, path: str) -> _Lines:
        doc = self.workspace.text_documents.get(uri_of(path))
        key: object
        if doc is not None:
            line_index = getattr(doc, "line_index", None)  # FastTextDocument keeps it up to date
            if line_index is not None:
                return _Lines(None, None, line_index())
            key = ("doc", doc.version, id(doc))
            cached = self._lines.get(path)
            if cached is not None and cached.key == key:
                return cached
            entry = _Lines(key, doc.source)
        else:
            try:
                key = ("disk", os.stat(path).st_mtime_ns)
            except OSError:
                key = ("missing",)
            cached = self._lines.get(path)
            if cached is not None and cached.key == key:
                return cached
            entry = _Lines(key, self.text_of(path) or "")
        if len(self._lines) > 256:
            self._lines.clear()
        self._lines[path] = entry
        return entry

    def lines_of(self, path: str) -> list[str]:
        return self._line_cache(path).lines

    def line_starts_of(self, path: str) -> list[int]:
        return self._line_cache(path).starts

    def converter(self, path: str) -> Converter:
        return Converter(self.lines_of(path), self.workspace.position_codec)

    # ------------------------------------------------------------ diagnostics

    def set_diagnostics(
        self, uri: str, source: str, diagnostics: Sequence[types.Diagnostic], *, version: int | None | object = _CURRENT
    ) -> None:
        """Replace the diagnostics ``source`` reports for ``uri`` and publish the union of all sources.

        Sources are independent: the model's diagnostics ("model") never overwrite the live-update
        engine's ("liveupdate") and vice versa.  ``version`` is the document version the
        diagnostics were computed from (default: the current one).  Safe to call from any thread.
        """
        if self.loop is not None and not self._on_loop():
            self.loop.call_soon_threadsafe(
                functools.partial(self.set_diagnostics, uri, source, list(diagnostics), version=version)
            )
            return
        per_source = self._diagnostics.setdefault(uri, {})
        if diagnostics:
            per_source[source] = list(diagnostics)
        else:
            per_source.pop(source, None)
        merged = [d for src in sorted(per_source) for d in per_source[src]]
        if not per_source:
            self._diagnostics.pop(uri, None)
        if isinstance(version, int) or version is None:
            published: int | None = version
        else:
            try:
                doc = self.workspace.text_documents.get(uri)
            except RuntimeError:  # not initialized yet
                doc = None
            published = doc.version if doc else None
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=merged, version=published)
        )

    def diagnostics_of(self, uri: str, source: str | None = None) -> list[types.Diagnostic]:
        per_source = self._diagnostics.get(uri, {})
        if source is not None:
            return list(per_source.get(source, ()))
        return [d for src in sorted(per_source) for d in per_source[src]]

    def uris_with_diagnostics(self, source: str) -> list[str]:
        return [u for u, per in self._diagnostics.items() if source in per]

    # ---------------------------------------------------------------- helpers

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    def run_task(self, coro: Coroutine[Any, Any, Any], name: str = "task") -> asyncio.Future[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and (exc := t.exception()) is not None:
                log.error("%s failed", name, exc_info=exc)

        task.add_done_callback(done)
        return task

    def report_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Show ``message`` to the user, once per server lifetime."""
        if message in self._reported:
            return
        self._reported.add(message)
        log.warning("%s", message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def apply_settings(self, settings: Settings) -> None:
        self.settings = settings
        _LspLogHandler.level_for(self, settings.trace)
        for cb in list(self.on_settings):
            try:
                cb(settings)
            except Exception:
                log.exception("settings listener failed")

    def warm_up(self) -> None:
        """After ``initialized``: start the evaluation process, import the features' modules."""
        self.tilt.warm_up()
        loop = self.loop

        def work() -> None:
            from . import codecache

            codecache.save()  # the start-up's generated code, for the next start
            try:
                importlib.import_module("tilt_lsp.features.language").warm_up(self)
            except Exception:
                log.exception("warming up failed")
            codecache.save()  # and the (un)structure functions of the requests
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(_freeze_heap)

        threading.Thread(target=work, name="tilt-lsp-warm-up", daemon=True).start()

    def fire(self, listeners: Sequence[DocumentListener], uri: str) -> None:
        p = path_of(uri)
        if p is None:
            return
        for cb in list(listeners):
            try:
                cb(uri, p)
            except Exception:
                log.exception("document listener failed")

    def report_server_error(self, error: Exception, source: Any) -> None:
        # Failures are logged where they happen; never pop up dialogs for them.
        log.error("server error: %s", error)

    def shutdown(self) -> None:
        self.tilt.shutdown()
        super().shutdown()  # type: ignore[no-untyped-call]
        from . import codecache

        codecache.save()  # a session too short for the warm-up to save it


# -------------------------------------------------------------------- logging


class _LspLogHandler(logging.Handler):
    """Forward our log records to the client as window/logMessage."""

    _TYPES = {
        logging.ERROR: types.MessageType.Error,
        logging.WARNING: types.MessageType.Warning,
        logging.INFO: types.MessageType.Info,
        logging.DEBUG: types.MessageType.Log,
    }

    def __init__(self, server: TiltLanguageServer) -> None:
        super().__init__(logging.INFO)
        self.server = server
        self._local = threading.local()

    @staticmethod
    def level_for(server: TiltLanguageServer, trace: str) -> None:
        level = {"off": logging.INFO, "messages": logging.INFO, "verbose": logging.DEBUG}.get(trace, logging.INFO)
        for h in logging.getLogger("tilt_lsp").handlers:
            if isinstance(h, _LspLogHandler) and h.server is server:
                h.setLevel(level)
        logging.getLogger("tilt_lsp").setLevel(min(level, logging.INFO))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "busy", False) or self.server.loop is None:
            return
        try:
            msg = self.format(record)
        except Exception:  # noqa: BLE001
            return
        mtype = self._TYPES.get(record.levelno, types.MessageType.Log)
        if record.levelno > logging.ERROR:
            mtype = types.MessageType.Error
        params = types.LogMessageParams(type=mtype, message=msg)
        self.server.loop.call_soon_threadsafe(self._send, params)

    def _send(self, params: types.LogMessageParams) -> None:
        self._local.busy = True
        try:
            self.server.window_log_message(params)
        except Exception:  # noqa: BLE001 - the transport may be gone
            pass
        finally:
            self._local.busy = False


# --------------------------------------------------------------------- factory


def _freeze_heap(*_: object) -> None:
    """Exclude every object alive now from future garbage collections.

    Called once start-up imports are done and after each model is installed: both are large
    and long-lived, and a full collection would otherwise walk them again and again, pausing
    the loop (and every thread) each time.  Frozen objects are still freed by reference
    counting when they are dropped (models hold no reference cycles).

    Then the C heap's free pages go back to the system, on a thread (the call releases the
    interpreter lock): each edit of a large document allocates and frees a copy of its text,
    and without this the process keeps its high-water mark as resident memory.
    """
    gc.freeze()
    from .workspace import release_memory

    threading.Thread(target=release_memory, name="tilt-lsp-trim", daemon=True).start()



def create_server(*, features: Sequence[str] = FEATURES, evaluator: Any = None) -> TiltLanguageServer:
    """Build a server with the given feature modules registered in order."""
    server = TiltLanguageServer(evaluator=evaluator)
    for name in features:
        importlib.import_module(f"tilt_lsp.features.{name}").register(server)
    for name in OPTIONAL_FEATURES:
        try:
            mod = importlib.import_module(f"tilt_lsp.features.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"tilt_lsp.features.{name}":
                raise
            continue
        mod.register(server)
    server.tilt.on_model(_freeze_heap)
    return server


def _setup_logging(server: TiltLanguageServer) -> None:
    root = logging.getLogger("tilt_lsp")
    root.setLevel(logging.INFO)
    if not any(isinstance(h, logging.StreamHandler) and getattr(h, "stream", None) is sys.stderr for h in root.handlers):
        err = logging.StreamHandler(sys.stderr)
        err.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(err)
    lsp = _LspLogHandler(server)
    lsp.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(lsp)
    root.propagate = False
    # pygls logs through the root logger; keep it on stderr only.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)


def run_server(tcp: str | None = None) -> int:
    """Serve on stdio, or on ``HOST:PORT`` when ``tcp`` is given.  Returns the exit code."""
    server = create_server()
    _setup_logging(server)
    # Keep the protocol loop responsive while an evaluation holds the GIL in a worker.
    sys.setswitchinterval(0.001)
    if tcp:
        host, _, port = tcp.rpartition(":")
        try:
            port_no = int(port)
        except ValueError:
            print(f"tilt-lsp: --tcp wants HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
        server.start_tcp(host or "127.0.0.1", port_no)
    else:
        # The protocol owns the real stdout; anything else that writes to fd 1 (a library's
        # print, a child process) lands on stderr instead of corrupting the stream.
        protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        sys.stdout = sys.stderr
        from .stdio import serve_stdio

        serve_stdio(server, sys.stdin.buffer, protocol_out)
    return 0


__all__ = ["FEATURES", "TiltLanguageServer", "create_server", "run_server"]
