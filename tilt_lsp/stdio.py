"""Serving LSP on stdin/stdout with stdin read by the event loop itself.

pygls reads stdin on its thread pool: every header line and every body is one
``run_in_executor`` hop, three per message, each a thread wake-up plus a hand-over of the
interpreter lock back to the loop.  When anything else in the process wants the lock (a model
being decoded, the live-update engine's threads), a keystroke's ``didChange`` and the
completion request behind it wait in those hops; that was most of our completion latency
beyond the median.  Here stdin is an asyncio pipe: bytes are parsed on the loop the moment
they arrive, with no thread in between.

The pipe reader puts fd 0 into non-blocking mode, which is shared by everything that has the
same open file.  So it is used only when stdin is a pipe, a socket or a character device that
is not a terminal and is not the same open file as stdout; otherwise pygls' own reader serves.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import IO, TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

#: Longest header line accepted (the body is read by length, not by line).
_LINE_LIMIT = 1 << 16


def loop_can_read(stdin: IO[bytes], stdout: IO[bytes]) -> bool:
    """True when ``stdin`` can be an asyncio pipe without affecting ``stdout`` (see above)."""
    try:
        fd = stdin.fileno()
        st = os.fstat(fd)
    except (OSError, ValueError, AttributeError):
        return False
    if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        return False
    if os.isatty(fd):
        return False
    import fcntl

    if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
        return True  # a read-only open file (a pipe's read end) cannot be stdout as well
    try:
        out = os.fstat(stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return True
    # A socket (or a device opened for both) used both ways: non-blocking would reach stdout too.
    return (st.st_dev, st.st_ino) != (out.st_dev, out.st_ino)


class LoopReader:
    """pygls' reader interface (``readline``/``readexactly``) over an asyncio pipe on stdin."""

    def __init__(self, stdin: IO[bytes]) -> None:
        self._stdin = stdin
        self._stream: asyncio.StreamReader | None = None

    async def _ensure(self) -> asyncio.StreamReader:
        if self._stream is None:
            loop = asyncio.get_running_loop()
            stream = asyncio.StreamReader(limit=_LINE_LIMIT, loop=loop)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), self._stdin)
            self._stream = stream
        return self._stream

    async def readline(self) -> bytes:
        stream = await self._ensure()
        try:
            return await stream.readline()
        except ValueError:  # a "line" longer than the limit: not LSP; end the session
            log.error("stdin sent a header line longer than %d bytes; closing", _LINE_LIMIT)
            return b""

    async def readexactly(self, n: int) -> bytes:
        stream = await self._ensure()
        try:
            return await stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""  # end of input: pygls ends its loop on an empty read


def serve_stdio(server: LanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Serve ``server`` on these streams until the client exits or the input ends."""
    if not loop_can_read(stdin, stdout):
        server.start_io(stdin, stdout)
        return
    try:
        from pygls.io_ import StdoutWriter, run_async
    except ImportError:  # another pygls layout: its own reader still works
        server.start_io(stdin, stdout)
        return
    # What pygls' start_io does, with our reader in place of its thread-pool reader.
    server._stop_event = stop = threading.Event()  # noqa: SLF001 - pygls checks it to stop the loop
    server.protocol.set_writer(StdoutWriter(stdout))
    try:
        asyncio.run(
            run_async(
                stop_event=stop,
                reader=LoopReader(stdin),
                protocol=server.protocol,
                logger=logging.getLogger("pygls.server"),
                error_handler=server.report_server_error,
            )
        )
    except BrokenPipeError:
        log.error("the client closed the connection; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated
        sys.stderr.flush()


__all__ = ["LoopReader", "loop_can_read", "serve_stdio"]
