"""Live update in the editor: the adapter between the LSP server and the live-update engine.

* One :class:`~tilt_lsp.liveupdate.engine.LiveUpdateEngine` per workspace folder holding a
  ``Tiltfile``, started after ``initialize`` when ``liveUpdate.enabled`` is true (clients turn
  it off for untrusted workspaces); settings changes restart or stop the engines.  The docker
  SDK is imported only when an engine first talks to the daemon.
* ``textDocument/didSave`` goes to the engine at once (no debounce) when ``liveUpdate.onSave``;
  ``liveUpdate.watch`` runs the engine's own file watcher for changes made outside the editor.
* Engine events arrive on engine threads and are posted to the event loop
  (``call_soon_threadsafe``) before anything is sent: ``tilt/liveUpdate`` notifications carry
  the engine's event dicts unchanged; when the client supports it, each update also gets a
  ``window/workDoneProgress/create`` + ``$/progress`` begin / report / end with a fresh uuid token.
* A failing ``run()`` step becomes an error diagnostic on that step in the Tiltfile (exit code
  and last output lines), published under the source ``"liveupdate"`` and cleared by the next
  successful update of the image; ``window/showMessage`` once per new failure.  Run output and
  the Tilt-style update log go to ``window/logMessage``.
* Commands: ``tilt.liveUpdate.syncNow`` [image | file], ``.pause`` [image], ``.resume`` [image],
  ``.status``.  For an image in manual trigger mode, ``syncNow`` is the trigger (held changes
  are applied; with none held the engine reports that a full rebuild is needed); ``status``
  lists held changes under ``pendingFiles`` with ``triggerMode`` and ``waitingForTrigger``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..settings import Settings
from ._lsp import path_of, uri_of

if TYPE_CHECKING:
    from ..liveupdate.engine import LiveUpdateEngine, LogLine, UpdateResult
    from ..server import TiltLanguageServer
    from ..tiltfile.model import TiltfileModel

log = logging.getLogger(__name__)

NOTIFICATION = "tilt/liveUpdate"
DIAGNOSTIC_SOURCE = "liveupdate"  # key for TiltLanguageServer.set_diagnostics
LSP_SOURCE = "tilt-lsp"
RUN_FAILED_CODE = "TL410"
CMD_SYNC_NOW = "tilt.liveUpdate.syncNow"
CMD_PAUSE = "tilt.liveUpdate.pause"
CMD_RESUME = "tilt.liveUpdate.resume"
CMD_STATUS = "tilt.liveUpdate.status"
COMMANDS = (CMD_SYNC_NOW, CMD_PAUSE, CMD_RESUME, CMD_STATUS)


@dataclass(frozen=True)
class _Config:
    enabled: bool
    watch: bool
    debounce_ms: int
    docker_host: str | None

    @staticmethod
    def of(s: Settings) -> _Config:
        lu = s.live_update
        return _Config(lu.enabled, lu.watch, lu.debounce_ms, s.docker.host)


@dataclass
class _Progress:
    queue: asyncio.Queue[dict[str, Any]]
    task: asyncio.Future[Any] | None = None


@dataclass
class _ImageFailure:
    signature: tuple[Any, ...]
    diagnostic: tuple[str, types.Diagnostic] | None = None  # (uri, diagnostic)


@dataclass
class _EngineSlot:
    engine: LiveUpdateEngine
    failures: dict[str, _ImageFailure] = field(default_factory=dict)  # image -> current failure


class LiveUpdateFeature:
    def __init__(self, server: TiltLanguageServer) -> None:
        self.server = server
        self.slots: dict[str, _EngineSlot] = {}  # Tiltfile path -> engine
        self._config: _Config | None = None
        self._progress: dict[str, _Progress] = {}
        self._published: dict[str, list[types.Diagnostic]] = {}  # uri -> live-update diagnostics
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle

    @property
    def config(self) -> _Config:
        return _Config.of(self.server.settings)

    def settings_changed(self, settings: Settings) -> None:
        loop = self.server.loop
        if loop is None:
            return
        loop.call_soon(self.reconfigure)  # after the initialize response has gone out

    def reconfigure(self) -> None:
        """Start, restart or stop engines so that they match the settings and folders."""
        config = self.config
        if config != self._config:
            self._config = config
            self._stop_all()
        if not config.enabled:
            return
        for tiltfile in self.server.tilt.folder_tiltfiles():
            if tiltfile not in self.slots:
                self._start(tiltfile, config)

    def _start(self, tiltfile: str, config: _Config) -> None:
        root = os.path.dirname(tiltfile)

        def transport() -> Any:
            from ..liveupdate.warmexec import WarmDockerTransport

            return WarmDockerTransport(config.docker_host)

        # Imported here, not at start-up: the engine (tar, watchdog, ignore rules, the model
        # types) is not needed to answer initialize, and many sessions never enable it.
        from ..liveupdate.engine import EngineOptions, LiveUpdateEngine

        engine = LiveUpdateEngine(
            root,
            tiltfile=tiltfile,
            transport_factory=transport,
            load_model=self._load_saved_model,
            on_event=self._post(self._on_event),
            on_log=self._post(self._on_log),
            on_result=self._post(lambda r, tf=tiltfile: self._on_result(tf, r)),
            options=EngineOptions(debounce_ms=config.debounce_ms),
            watch=config.watch,
        )
        self.slots[tiltfile] = _EngineSlot(engine)
        threading.Thread(
            target=self._start_engine, args=(engine,), name="liveupdate-start", daemon=True
        ).start()

    def _load_saved_model(self, tiltfile: str) -> TiltfileModel:
        """The engine's model of ``tiltfile`` as saved, evaluated by the workspace's evaluation process.

        Called on engine threads; blocks until the model is there.  Evaluating in the server
        process instead would hold the interpreter lock for as long as a large Tiltfile takes
        (stalling completion) and keep a second syntax tree in memory.
        """
        loop = self.server.loop
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if loop is None or loop.is_closed() or on_loop:
            from ..tiltfile.evaluate import evaluate

            return evaluate(tiltfile)
        future = asyncio.run_coroutine_threadsafe(self.server.tilt.evaluate_saved(tiltfile), loop)
        return future.result(timeout=120)

    @staticmethod
    def _start_engine(engine: LiveUpdateEngine) -> None:
        try:
            engine.start()
        except Exception:
            log.exception("starting live update for %s failed", engine.tiltfile)

    def _stop_all(self) -> None:
        slots, self.slots = list(self.slots.values()), {}
        for slot in slots:
            for failure in slot.failures.values():
                failure.diagnostic = None
        self._publish_diagnostics()
        for slot in slots:
            threading.Thread(target=slot.engine.stop, name="liveupdate-stop", daemon=True).start()

    def shutdown(self) -> None:
        slots, self.slots = list(self.slots.values()), {}
        for slot in slots:
            try:
                slot.engine.stop(timeout=2)
            except Exception:
                log.exception("stopping live update failed")

    # ------------------------------------------------------------------ intake

    def saved(self, uri: str, path: str) -> None:
        config = self.config
        if not config.enabled:
            return
        self.reconfigure()  # cheap; starts engines for folders (or Tiltfiles) that appeared since
        if not self.server.settings.live_update.on_save:
            return
        for tiltfile, slot in self.slots.items():
            model = slot.engine.model
            if _within(path, os.path.dirname(tiltfile)) or (model is not None and path in model.files):
                slot.engine.save([path])

    # ------------------------------------------------------------- engine → loop

    def _post(self, fn: Any) -> Any:
        def post(arg: Any) -> None:
            loop = self.server.loop
            if loop is None or loop.is_closed():
                return
            try:
                loop.call_soon_threadsafe(fn, arg)
            except RuntimeError:  # loop closed during shutdown
                pass

        return post

    def _on_event(self, event: dict[str, Any]) -> None:
        try:
            self.server.protocol.notify(NOTIFICATION, event)
        except Exception:
            log.debug("sending %s failed", NOTIFICATION, exc_info=True)
        if self._progress_supported():
            self._progress_event(event)

    def _on_log(self, line: LogLine) -> None:
        mtype = {
            "output": types.MessageType.Log,
            "progress": types.MessageType.Info,
            "error": types.MessageType.Error,
        }[line.kind]
        who = f"{line.container}: " if line.container else ""
        try:
            self.server.window_log_message(
                types.LogMessageParams(type=mtype, message=f"[live update {line.image}] {who}{line.text}")
            )
        except Exception:
            log.debug("window/logMessage failed", exc_info=True)

    # ----------------------------------------------------------------- progress

    def _progress_supported(self) -> bool:
        window = self.server.client_capabilities.window
        return bool(window and window.work_done_progress)

    def _progress_event(self, event: dict[str, Any]) -> None:
        uid = event["updateId"]
        state = self._progress.get(uid)
        if state is None:
            state = _Progress(asyncio.Queue())
            self._progress[uid] = state
            state.task = self.server.run_task(self._progress_task(uid, state), f"progress {uid}")
        state.queue.put_nowait(event)

    async def _progress_task(self, uid: str, state: _Progress) -> None:
        token = str(uuid.uuid4())
        progress = self.server.work_done_progress
        created = True
        try:
            await progress.create_async(token)
        except Exception as exc:  # the client refused: keep the notifications only
            log.debug("workDoneProgress/create failed: %s", exc)
            created = False
        began = False
        try:
            while True:
                event = await state.queue.get()
                phase = event["phase"]
                message = _first_line(event["message"])
                if not created:
                    if phase in _terminal_phases():
                        return
                    continue
                if not began:
                    began = True
                    progress.begin(
                        token,
                        types.WorkDoneProgressBegin(
                            title=f"Live update {event['image']}",
                            message=_files_summary(event["files"]) if phase == "queued" else message,
                            cancellable=False,
                        ),
                    )
                    if phase == "queued":
                        continue
                if phase in _terminal_phases():
                    progress.end(token, types.WorkDoneProgressEnd(message=message))
                    return
                if phase != "queued":
                    progress.report(token, types.WorkDoneProgressReport(message=message))
        finally:
            self._progress.pop(uid, None)
            progress.tokens.pop(token, None)  # pygls never prunes its token table

    # --------------------------------------------------------- results, diagnostics

    def _on_result(self, tiltfile: str, result: UpdateResult) -> None:
        slot = self.slots.get(tiltfile)
        if slot is None:
            return
        image = result.image
        current = slot.failures.get(image)
        if result.phase == "done":
            if current is not None:
                del slot.failures[image]
                if current.diagnostic is not None:
                    self._publish_diagnostics()
            return
        if result.phase not in ("failed", "fallback"):
            return
        rf = result.run_failure
        if rf is not None:
            signature: tuple[Any, ...] = ("run", rf.index, rf.run.argv, rf.exit_code)
        else:
            signature = (result.phase, _first_line(result.message))
        diagnostic = self._run_diagnostic(result) if rf is not None else None
        failure = _ImageFailure(
            signature, diagnostic if diagnostic else (current.diagnostic if current else None)
        )
        slot.failures[image] = failure
        if rf is not None or (current and current.diagnostic):
            self._publish_diagnostics()
        if (current is None or current.signature != signature) and not self._client_shows_failures():
            kind = types.MessageType.Warning if result.phase == "fallback" else types.MessageType.Error
            verb = "cannot live-update" if result.phase == "fallback" else "live update failed for"
            try:
                self.server.window_show_message(
                    types.ShowMessageParams(
                        type=kind, message=f"Tilt: {verb} {image}: {_first_line(result.message)}"
                    )
                )
            except Exception:
                log.debug("window/showMessage failed", exc_info=True)

    def _client_shows_failures(self) -> bool:
        """Clients that render `tilt/liveUpdate` failures themselves (our VS Code extension says so
        with `experimental.tiltLiveUpdate.notifications`) get no second pop-up from us."""
        experimental = getattr(self.server.client_capabilities, "experimental", None)
        if isinstance(experimental, dict):
            flag = experimental.get("tiltLiveUpdate")
            return isinstance(flag, dict) and flag.get("notifications") is True
        return False

    def _run_diagnostic(self, result: UpdateResult) -> tuple[str, types.Diagnostic] | None:
        rf = result.run_failure
        if rf is None or rf.run.location is None:
            return None
        loc = rf.run.location
        from ..liveupdate.transport.base import describe_exit

        suffix = f" {describe_exit(rf.exit_code)}" if describe_exit(rf.exit_code) else ""
        message = (
            f"live update of {result.image}: run {rf.index}/{rf.total} failed in {rf.container} "
            f"with exit code {rf.exit_code}{suffix}"
        )
        if rf.output_tail:
            message += "\n" + "\n".join(rf.output_tail)
        diagnostic = types.Diagnostic(
            range=self.server.converter(loc.path).range(loc.range),
            message=message,
            severity=types.DiagnosticSeverity.Error,
            code=RUN_FAILED_CODE,
            source=LSP_SOURCE,
        )
        return uri_of(loc.path), diagnostic

    def _publish_diagnostics(self) -> None:
        by_uri: dict[str, list[types.Diagnostic]] = {}
        for slot in self.slots.values():
            for failure in slot.failures.values():
                if failure.diagnostic is not None:
                    uri, diag = failure.diagnostic
                    by_uri.setdefault(uri, []).append(diag)
        for uri in set(self._published) | set(by_uri):
            diags = by_uri.get(uri, [])
            if diags == self._published.get(uri, []):
                continue
            self.server.set_diagnostics(uri, DIAGNOSTIC_SOURCE, diags)
        self._published = by_uri

    # ----------------------------------------------------------------- commands

    def _require_enabled(self) -> None:
        if not self.config.enabled:
            raise ValueError(
                "live update is off (setting tilt.liveUpdate.enabled, or the workspace is not trusted)"
            )
        if not self.slots:
            raise ValueError("no Tiltfile in the workspace folders")

    def sync_now(self, args: tuple[Any, ...]) -> dict[str, Any]:
        self._require_enabled()
        target = _target(args)
        images: list[str] = []
        errors: list[str] = []
        for slot in self.slots.values():
            try:
                images.extend(slot.engine.sync_now(target))
            except ValueError as exc:
                errors.append(str(exc))
        if target is not None and not images and errors:
            raise ValueError(errors[0])
        return {"images": images}

    def pause(self, args: tuple[Any, ...], *, resume: bool = False) -> dict[str, Any]:
        self._require_enabled()
        target = _target(args)
        images: list[str] = []
        errors: list[str] = []
        for slot in self.slots.values():
            try:
                images.extend(slot.engine.resume(target) if resume else slot.engine.pause(target))
            except ValueError as exc:
                errors.append(str(exc))
        if target is not None and not images and errors:
            raise ValueError(errors[0])
        return {"images": images, "paused": not resume}

    def status(self) -> dict[str, Any]:
        images: list[dict[str, Any]] = []
        engines: list[dict[str, Any]] = []
        for tiltfile, slot in self.slots.items():
            st = slot.engine.status()
            images.extend(st["images"])
            engines.append({"tiltfile": tiltfile, "paused": st["paused"], "modelError": st["modelError"]})
        return {
            "enabled": self.config.enabled,
            "paused": bool(engines) and all(e["paused"] for e in engines),
            "images": images,
            "engines": engines,
        }


# ------------------------------------------------------------------- helpers


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def _files_summary(files: list[str]) -> str:
    if not files:
        return "resync"
    if len(files) == 1:
        return files[0]
    return f"{len(files)} files"


def _target(args: tuple[Any, ...]) -> str | None:
    """The optional image or file argument of a command (a string, or {"image"|"file"|"uri": ...})."""
    if not args:
        return None
    arg = args[0]
    if isinstance(arg, dict):
        arg = arg.get("image") or arg.get("file") or arg.get("uri") or arg.get("path")
    elif arg is not None and not isinstance(arg, str):
        as_dict = getattr(arg, "_asdict", None)
        if as_dict is not None:
            d = as_dict()
            arg = d.get("image") or d.get("file") or d.get("uri") or d.get("path")
    if not isinstance(arg, str) or not arg.strip():
        return None
    if arg.startswith("file://"):
        return path_of(arg) or arg
    return arg


def _terminal_phases() -> frozenset[str]:
    from ..liveupdate.engine import TERMINAL_PHASES  # the engine is imported lazily (see _start)

    return TERMINAL_PHASES


def register(server: TiltLanguageServer) -> None:
    feature = LiveUpdateFeature(server)
    server.features["liveupdate"] = feature
    server.on_settings.append(feature.settings_changed)
    server.on_save.append(feature.saved)

    @server.command(CMD_SYNC_NOW)
    def sync_now(*args: Any) -> dict[str, Any]:
        return feature.sync_now(args)

    @server.command(CMD_PAUSE)
    def pause(*args: Any) -> dict[str, Any]:
        return feature.pause(args)

    @server.command(CMD_RESUME)
    def resume(*args: Any) -> dict[str, Any]:
        return feature.pause(args, resume=True)

    @server.command(CMD_STATUS)
    def status(*args: Any) -> dict[str, Any]:
        return feature.status()

    @server.feature(types.SHUTDOWN)
    def shutdown(*args: Any) -> None:
        feature.shutdown()


__all__ = ["COMMANDS", "DIAGNOSTIC_SOURCE", "LiveUpdateFeature", "NOTIFICATION", "register"]
