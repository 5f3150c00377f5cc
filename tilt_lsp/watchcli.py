"""``tilt-lsp watch [DIR]``: the live-update engine without an editor.

Watches the project's files, live-updates the running Docker containers of every image with
``live_update`` steps, and prints each update as it happens (one line per step, the output of
``run()`` steps, and a summary line per update).  Ctrl-C stops it cleanly.  ``--once`` resyncs
every image once (all files under its syncs) and exits: 0 when every update succeeded or had
no container to update, 1 otherwise.

Images whose resource is in manual trigger mode (``trigger_mode(TRIGGER_MODE_MANUAL)``,
``k8s_resource(..., trigger_mode=...)``, ``dc_resource(...)``) only collect their changes.
When stdin is a terminal, pressing Enter applies the held changes of every such image; without
a terminal there is no trigger (use the editor's ``tilt.liveUpdate.syncNow`` instead).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any, TextIO

from .liveupdate.engine import MANUAL_TRIGGER_MESSAGE, EngineOptions, LiveUpdateEngine, LogLine, UpdateResult
from .liveupdate.transport.base import TransportError

__all__ = ["cmd_watch", "Printer"]

_OK, _FAIL, _WARN = "\u2714", "\u2718", "\u26a0"


class Printer:
    """Renders engine events for a terminal (colours only on a TTY, and not with NO_COLOR)."""

    def __init__(self, out: TextIO, *, color: bool | None = None, trigger_hint: str = "") -> None:
        self.out = out
        self.trigger_hint = trigger_hint  # appended to "held for the manual trigger" lines
        if color is None:
            color = out.isatty() and not os.environ.get("NO_COLOR")
        self.color = color
        self._lock = threading.Lock()
        self.results: list[UpdateResult] = []

    def _c(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def line(self, text: str) -> None:
        with self._lock:
            self.out.write(text + "\n")
            self.out.flush()

    def event(self, e: dict[str, Any]) -> None:
        image = self._c("1", e["image"])
        phase = e["phase"]
        msg = str(e["message"])
        first, _, rest = msg.partition("\n")
        if phase == "queued":
            files = e["files"]
            what = _file_list(files) if files else "resync"
            self.line(f"{image} \u2026 {what}")
        elif phase in ("sync", "run", "restart"):
            self.line(f"{image}   {self._c('36', first)}")
        elif phase == "done":
            self.line(f"{image} {self._c('32', _OK)} {first}{self._where(e)}")
        elif phase == "failed":
            self.line(f"{image} {self._c('31', _FAIL + ' ' + first)}")
            for extra in rest.splitlines():
                self.line(f"{image}   {self._c('2', extra)}")
        elif phase == "fallback":
            self.line(f"{image} {self._c('33', _WARN + ' ' + first)}")
        elif phase == "skipped":
            if first.startswith(MANUAL_TRIGGER_MESSAGE) and self.trigger_hint:
                first = f"{first}; {self.trigger_hint}"
            self.line(f"{image} {self._c('2', '- ' + first)}")

    def _where(self, e: dict[str, Any]) -> str:
        files = e["files"]
        names = [c["name"] for c in e["containers"]]
        if not files and not names:
            return ""
        return f" ({_file_list(files)} \u2192 {', '.join(names)})" if files else f" ({', '.join(names)})"

    def log(self, line: LogLine) -> None:
        if line.kind == "output":
            prefix = f"{line.container}: " if line.container else ""
            self.line(f"{self._c('1', line.image)}   \u2502 {prefix}{line.text}")

    def result(self, r: UpdateResult) -> None:
        with self._lock:
            self.results.append(r)


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def _read_triggers(engine: LiveUpdateEngine, printer: Printer) -> None:
    """Each line typed on the terminal (Enter) is the manual trigger for every image holding changes."""
    for _ in iter(sys.stdin.readline, ""):
        triggered = engine.trigger()
        if triggered:
            printer.line(f"manual trigger: applying held changes of {', '.join(triggered)}")
        else:
            printer.line("manual trigger: no held changes")


def _file_list(files: list[str], limit: int = 5) -> str:
    shown = ", ".join(files[:limit])
    if len(files) > limit:
        shown += f" +{len(files) - limit} more"
    return shown


def cmd_watch(path: str, debounce_ms: int = 200, docker_host: str | None = None, once: bool = False) -> int:
    from .tiltfile.evaluate import find_tiltfile

    tiltfile = find_tiltfile(path)
    if not os.path.isfile(tiltfile):
        print(f"tilt-lsp watch: no Tiltfile at {tiltfile}", file=sys.stderr)
        return 2
    root = os.path.dirname(tiltfile)
    interactive = not once and _stdin_is_tty()
    printer = Printer(sys.stdout, trigger_hint="press Enter to apply" if interactive else "")

    def make_transport() -> Any:
        from .liveupdate.warmexec import WarmDockerTransport

        return WarmDockerTransport(docker_host)

    engine = LiveUpdateEngine(
        root,
        tiltfile=tiltfile,
        transport_factory=make_transport,
        on_event=printer.event,
        on_log=printer.log,
        on_result=printer.result,
        options=EngineOptions(debounce_ms=debounce_ms),
        watch=not once,
    )
    model = engine.reload()
    if model is None:
        print(f"tilt-lsp watch: cannot evaluate {tiltfile}", file=sys.stderr)
        return 1
    for d in model.diagnostics:
        if d.severity == 1:
            rel = os.path.relpath(d.path)
            print(f"{rel}:{d.range.start.line + 1}: error {d.code} {d.message}", file=sys.stderr)
    images = engine.status()["images"]
    if not images:
        print(
            f"tilt-lsp watch: {os.path.relpath(tiltfile)} declares no image with live_update steps",
            file=sys.stderr,
        )
        return 1
    try:
        for img in images:
            found = engine.transport.find_containers(img["image"])
            names = ", ".join(c.name for c in found) or "none running yet"
            syncs = ", ".join(f"{s['local']} \u2192 {s['remote']}" for s in img["syncs"]) or "no syncs"
            printer.line(f"{printer._c('1', img['image'])}: {syncs}; containers: {names}")
            if img["triggerMode"] == "manual" and not once:
                how = (
                    "press Enter to apply them"
                    if interactive
                    else "stdin is not a terminal, so they cannot be triggered from here"
                )
                printer.line(f"{printer._c('1', img['image'])}: manual trigger mode: changes are held; {how}")
    except TransportError as exc:
        print(f"tilt-lsp watch: {exc}", file=sys.stderr)
        print(
            "Is Docker running? Start it (for example `bash scripts/ensure-docker.sh`) or pass --docker-host.",
            file=sys.stderr,
        )
        return 1

    if once:
        try:
            engine.start()
            engine.sync_now()
            engine.wait_idle(timeout=600)
        except KeyboardInterrupt:
            printer.line("stopping\u2026")
            return 130
        finally:
            engine.stop(timeout=5)
        bad = [r for r in printer.results if r.phase not in ("done", "skipped")]
        return 1 if bad else 0

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)  # stop as cleanly as on Ctrl-C
    engine.start()
    printer.line(
        f"watching {os.path.relpath(root) if root != os.getcwd() else '.'} for changes (Ctrl-C to stop)"
    )
    if interactive:
        threading.Thread(
            target=_read_triggers, args=(engine, printer), name="watch-trigger", daemon=True
        ).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        printer.line("stopping\u2026")
    finally:
        engine.stop(timeout=5)
    return 0
