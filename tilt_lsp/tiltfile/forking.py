"""Run a pure computation in a forked child while this process goes on (POSIX only).

The evaluator uses this to run a large file's static checks (dialect, names and call
signatures) on the second core while it evaluates the same, already parsed, syntax tree:
the child inherits the tree through ``fork()`` (copy-on-write), so nothing but the (small)
result crosses the pipe.  Anything unusual (no ``fork``, other threads alive, the child
failing or taking too long) makes the caller compute the result itself: results never
depend on whether a child was used.
"""

from __future__ import annotations

import gc
import marshal
import os
import select
import signal
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

# Set TILT_LSP_NO_FORK=1 to never fork (debugging, or platforms where fork misbehaves).
_DISABLED = bool(os.environ.get("TILT_LSP_NO_FORK"))


def can_fork() -> bool:
    """Whether forking is available, useful (two or more cores) and safe here.

    After ``fork()`` only the calling thread exists in the child; a lock held by any other
    thread at that moment would stay locked for good.  So we fork only when no thread but
    the caller and the main thread (which must be waiting for the caller) is alive.
    """
    if _DISABLED or not hasattr(os, "fork") or _cores() < 2:
        return False
    allowed = {threading.get_ident(), threading.main_thread().ident}
    return all(t.ident in allowed for t in threading.enumerate())


def _cores() -> int:
    """CPUs this process may run on (a child on the only core would just take turns with us)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class ForkedCall:
    """``fn()`` running in a child process; its result must be marshal-able."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        r, w = os.pipe()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns about fork() in a process with threads; can_fork() checked it.
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        if pid == 0:  # pragma: no cover - runs in the child (coverage does not see it)
            code = 1
            try:
                os.close(r)
                gc.disable()  # short-lived: never pay for (or copy pages for) a collection
                data = memoryview(marshal.dumps(fn()))
                while data:
                    data = data[os.write(w, data) :]
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self._pid = pid
        self._fd: int | None = r

    def result(self, timeout: float) -> Any | None:
        """The child's result, or None when it failed or did not finish within ``timeout`` seconds."""
        fd = self._fd
        if fd is None:
            return None
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        ok = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    break
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    ok = True
                    break
                chunks.append(chunk)
        except (OSError, ValueError):
            ok = False
        finally:
            self._close()
        if not ok:
            self._kill()
            return None
        status = self._reap()
        if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
        try:
            return marshal.loads(b"".join(chunks))
        except (EOFError, ValueError, TypeError):
            return None

    def cancel(self) -> None:
        """Stop the child (if still running) and release everything."""
        if self._fd is None:
            return
        self._close()
        self._kill()

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None

    def _kill(self) -> None:
        try:
            os.kill(self._pid, signal.SIGKILL)
        except OSError:
            pass
        self._reap()

    def _reap(self) -> int | None:
        try:
            _, status = os.waitpid(self._pid, 0)
        except ChildProcessError:
            return None
        return status
