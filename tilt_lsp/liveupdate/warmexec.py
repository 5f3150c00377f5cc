"""Docker transport with pre-started execs: the exec start cost leaves the critical path.

Measured on the reference machine (Docker 20.10, 2 CPUs), starting an exec is ~45-55 ms of
runc work, and the daemon serialises much of it: 10 containers updated at once still cost
~4.5x one container, because each needs its own ``exec`` of ``tar`` (and of every run step).
The cost is in *starting* the process, not in what it does.  So for every container of a
live-update image this transport keeps, started in advance and idle:

* one ``tar -C / -x -f -`` exec, which blocks reading its stdin until an update streams the
  archive into it (then it extracts and exits, exactly like a fresh exec would);
* one gated exec per ``run()`` step: ``sh -c 'IFS= read -r _ || exit 0; exec "$@"' - <argv>``
  waits for one line on stdin and then *replaces itself* with the step's command, so the
  command runs with the container's default user, workdir and environment, sees the files
  synced before it, and its output and exit code are those of the command itself.

A used exec is replaced in the background right away.  Before use, the connection is checked
(a process that already printed something or exited, for instance because the image has no
``sh``, or because the container restarted, is discarded); anything not ready falls back to
an ordinary exec, so behaviour never depends on the warm path.  ``close()`` (and a container
leaving) closes the connections: the idle processes see end-of-input and exit.  Cost: one
idle ``tar`` process and one idle ``sh`` per run step in each container.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tilt_lsp.liveupdate.transport.base import (
    TAR_EXTRACT_ARGV,
    ContainerRef,
    OutputCallback,
    TarData,
    TransportError,
    classify_helper_failure,
    iter_chunks,
)
from tilt_lsp.liveupdate.transport.docker import DockerTransport, _ExecStream, _TailBuffer
from tilt_lsp.tiltfile.model import RunStep

__all__ = ["GATE_SCRIPT", "WarmDockerTransport", "gated_argv"]

log = logging.getLogger(__name__)

GATE_SCRIPT = 'IFS= read -r _ || exit 0; exec "$@"'
_TAR_KEY: tuple[str, ...] = ("tar",)
_START_WAIT_S = 5.0
# Replacements start only after this long without a warm exec being used, so that starting
# them (heavy work for the daemon) never competes with the rest of an update in progress.
REPLENISH_QUIET_S = 0.25


def gated_argv(argv: Sequence[str]) -> list[str]:
    """The command of a gated exec: waits for one line on stdin, then execs ``argv``."""
    return ["sh", "-c", GATE_SCRIPT, "tilt-lsp-run", *argv]


@dataclass
class _Warm:
    exec_id: str
    stream: _ExecStream

    def usable(self) -> bool:
        """Still waiting for input: no early output, connection open."""
        if self.stream._pending:
            return False
        sock = self.stream._sock
        try:
            sock.setblocking(False)
            try:
                sock.recv(1, socket.MSG_PEEK)
            finally:
                sock.settimeout(None)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False  # EOF or output: the process ended or complained

    def close(self) -> None:
        self.stream.close()


@dataclass
class _Slot:
    runs: dict[tuple[str, ...], RunStep] = field(default_factory=dict)
    broken: set[tuple[str, ...]] = field(default_factory=set)  # keys whose process cannot start here


class _StartFailed(Exception):
    pass


class WarmDockerTransport(DockerTransport):
    """:class:`DockerTransport` plus pre-started ``tar`` and run-step execs (see module docstring)."""

    def __init__(self, docker_host: str | None = None, **kwargs: Any) -> None:
        super().__init__(docker_host, **kwargs)
        self._warm: dict[tuple[str, tuple[str, ...]], _Warm] = {}
        self._slots: dict[str, _Slot] = {}
        self._warm_lock = threading.Lock()
        self._work: queue.SimpleQueue[tuple[ContainerRef, tuple[str, ...]] | None] = queue.SimpleQueue()
        self._queued: set[tuple[str, tuple[str, ...]]] = set()
        self._closed = False
        self._warmer = threading.Thread(target=self._warm_loop, name="docker-warm-exec", daemon=True)
        self._warmer.start()
        self.warm_hits = 0
        self.warm_misses = 0
        self._last_use = 0.0

    # ------------------------------------------------------------------ hooks

    def prepare(self, c: ContainerRef, runs: Sequence[RunStep]) -> None:
        """Make sure ``c`` has a warm tar exec and one per run step (started in the background)."""
        keys = [_TAR_KEY] + [_run_key(r.argv) for r in runs]
        with self._warm_lock:
            if self._closed:
                return
            slot = self._slots.setdefault(c.id, _Slot())
            slot.runs = {_run_key(r.argv): r for r in runs}
            for key in keys:
                self._enqueue_locked(c, key)

    def forget(self, keep: Iterable[str]) -> None:
        """Drop the warm execs of containers not in ``keep`` (gone, or no longer of interest)."""
        keep_ids = set(keep)
        with self._warm_lock:
            stale = [k for k in self._warm if k[0] not in keep_ids]
            dropped = [self._warm.pop(k) for k in stale]
            for cid in [cid for cid in self._slots if cid not in keep_ids]:
                del self._slots[cid]
        for w in dropped:
            w.close()

    def close(self) -> None:
        with self._warm_lock:
            self._closed = True
            warm, self._warm = list(self._warm.values()), {}
        self._work.put(None)
        for w in warm:
            w.close()
        super().close()

    # ---------------------------------------------------------------- updates

    def extract_tar(self, c: ContainerRef, tar: TarData) -> None:
        w = self._take(c, _TAR_KEY)
        if w is None:
            super().extract_tar(c, tar)
            return
        out = _TailBuffer()
        code = self._finish(c, w, iter_chunks(tar), out, timeout=self.tar_timeout, what="tar -C / -x -f -")
        if code != 0:
            self._raise_if_stopped(c)
            raise classify_helper_failure("tar", code, out.text(), container=c)

    def exec_run(self, c: ContainerRef, argv: Sequence[str], on_output: OutputCallback) -> int:
        w = self._take(c, _run_key(argv)) if argv else None
        if w is None:
            return super().exec_run(c, argv, on_output)
        code = self._finish(c, w, [b"\n"], on_output, timeout=self.exec_timeout, what=" ".join(argv))
        if code == 137:
            self._raise_if_stopped(c, settle_s=1.0)
        return code

    def restart(self, c: ContainerRef) -> None:
        with self._warm_lock:
            dead = [self._warm.pop(k) for k in [k for k in self._warm if k[0] == c.id]]
        for w in dead:
            w.close()
        super().restart(c)
        self._replenish(c)

    # --------------------------------------------------------------- internals

    def _take(self, c: ContainerRef, key: tuple[str, ...]) -> _Warm | None:
        with self._warm_lock:
            self._last_use = time.monotonic()
            w = self._warm.pop((c.id, key), None)
        if w is None:
            self.warm_misses += 1
            return None
        if not w.usable():
            w.close()
            self.warm_misses += 1
            self._replenish(c)
            return None
        self.warm_hits += 1
        return w

    def _finish(
        self,
        c: ContainerRef,
        w: _Warm,
        stdin: Iterable[bytes],
        on_output: OutputCallback,
        *,
        timeout: float | None,
        what: str,
    ) -> int:
        """Feed a warm exec, stream its output, return its exit code (then start its successor)."""
        stream = w.stream
        expired = threading.Event()
        timer: threading.Timer | None = None
        if timeout is not None:

            def expire() -> None:
                expired.set()
                stream.abort()

            timer = threading.Timer(timeout, expire)
            timer.daemon = True
            timer.start()
        write_error: OSError | None = None
        try:
            write_error = self._pump(stream, stdin, on_output)
        except OSError as exc:
            if expired.is_set():
                raise TransportError(
                    f"`{what}` timed out after {timeout:g}s", container=c, transient=True
                ) from exc
            self._raise_if_stopped(c)
            raise TransportError(
                f"connection to the Docker daemon broke during `{what}`: {exc}", container=c, transient=True
            ) from exc
        finally:
            if timer is not None:
                timer.cancel()
            stream.close()
            self._replenish(c)
        if expired.is_set():
            raise TransportError(f"`{what}` timed out after {timeout:g}s", container=c, transient=True)
        code = self._exit_code(c, w.exec_id, what)
        if write_error is not None and code == 0:
            raise TransportError(
                f"sending input to `{what}` failed: {write_error}", container=c, transient=True
            )
        return code

    def _replenish(self, c: ContainerRef) -> None:
        with self._warm_lock:
            if self._closed or c.id not in self._slots:
                return
            for key in [_TAR_KEY, *self._slots[c.id].runs]:
                self._enqueue_locked(c, key)

    def _enqueue_locked(self, c: ContainerRef, key: tuple[str, ...]) -> None:
        ident = (c.id, key)
        slot = self._slots.get(c.id)
        if ident in self._warm or ident in self._queued or (slot is not None and key in slot.broken):
            return
        self._queued.add(ident)
        self._work.put((c, key))

    def _warm_loop(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            c, key = item
            while True:  # let an update in progress finish first
                idle = time.monotonic() - self._last_use
                if idle >= REPLENISH_QUIET_S or self._closed:
                    break
                time.sleep(REPLENISH_QUIET_S - idle)
            with self._warm_lock:
                self._queued.discard((c.id, key))
                wanted = not self._closed and c.id in self._slots and (c.id, key) not in self._warm
                if wanted and key != _TAR_KEY:
                    wanted = key in self._slots[c.id].runs
            if not wanted:
                continue
            argv = list(TAR_EXTRACT_ARGV) if key == _TAR_KEY else gated_argv(key[1:])
            try:
                w = self._start_exec(c, argv)
            except _StartFailed as exc:  # no tar / no sh in the image: plain execs from now on
                log.debug("cannot pre-start %s in %s: %s", argv[0], c.short_id, exc)
                with self._warm_lock:
                    if c.id in self._slots:
                        self._slots[c.id].broken.add(key)
                continue
            except Exception as exc:  # the container went away, the daemon is busy...: cold path later
                log.debug("could not pre-start %s in %s: %s", argv[0], c.short_id, exc)
                continue
            with self._warm_lock:
                keep = not self._closed and c.id in self._slots and (c.id, key) not in self._warm
                if keep:
                    self._warm[(c.id, key)] = w
            if not keep:
                w.close()

    def _start_exec(self, c: ContainerRef, argv: list[str]) -> _Warm:
        """Start ``argv`` with stdin attached and wait until the process runs (not just the exec)."""
        with self._translate(c, f"pre-starting exec `{argv[0]}`"):
            created = self.api.exec_create(c.id, argv, stdin=True, stdout=True, stderr=True, tty=False)
            exec_id = str(created["Id"])
            stream = _ExecStream(self.api.exec_start(exec_id, socket=True))
        w = _Warm(exec_id, stream)
        try:
            deadline = time.monotonic() + _START_WAIT_S
            while True:
                with self._translate(c, "inspecting a pre-started exec"):
                    info = self.api.exec_inspect(exec_id)
                if info.get("Running") and info.get("Pid"):
                    return w
                if info.get("ExitCode") is not None and not info.get("Running"):
                    raise _StartFailed(f"`{argv[0]}` exited with {info.get('ExitCode')}")
                if time.monotonic() > deadline:
                    raise _StartFailed(f"`{argv[0]}` did not start")
                time.sleep(0.005)
        except BaseException:
            w.close()
            raise


def _run_key(argv: Sequence[str]) -> tuple[str, ...]:
    return ("run", *argv)
