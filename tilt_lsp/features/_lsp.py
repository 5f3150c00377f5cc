"""The one place that converts between the model's coordinates and LSP's.

The model counts columns in code points (0-based lines); LSP clients count in UTF-16
code units unless another encoding was negotiated.  URIs become absolute paths here and
nowhere else.  Also home of :func:`safe`, which keeps a failing handler from reaching the
client as an error.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from lsprotocol import types
from pygls import uris
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

if TYPE_CHECKING:
    from ..tiltfile import model as m

log = logging.getLogger("tilt_lsp.features")

# Handler names that raise on purpose (tests prove a failing handler cannot kill the server).
_FAULTS = frozenset(n for n in os.environ.get("TILT_LSP_TEST_FAULTS", "").split(",") if n)

P = ParamSpec("P")
R = TypeVar("R")


def path_of(uri: str) -> str | None:
    p = uris.to_fs_path(uri)
    return os.path.normpath(p) if p else None


def uri_of(path: str) -> str:
    return uris.from_fs_path(path) or ("file://" + path)


def safe(default: Callable[[], Any]) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Log and answer ``default()`` when the handler raises (sync or async handlers)."""

    def deco(fn: Callable[P, Any]) -> Callable[P, Any]:
        if asyncio.iscoroutinefunction(fn):
            afn = cast(Callable[P, Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def awrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                try:
                    if fn.__name__ in _FAULTS:
                        raise RuntimeError(f"injected fault in {fn.__name__}")
                    return await afn(*args, **kwargs)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("%s failed", fn.__name__)
                    return default()

            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            try:
                if fn.__name__ in _FAULTS:
                    raise RuntimeError(f"injected fault in {fn.__name__}")
                return fn(*args, **kwargs)
            except Exception:
                log.exception("%s failed", fn.__name__)
                return default()

        return wrapper

    return deco


# ------------------------------------------------------------------- positions


class Converter:
    """Column conversion for one file, given its lines (without line ends)."""

    def __init__(self, lines: Sequence[str], codec: PositionCodec) -> None:
        self.lines = lines
        self.codec = codec

    def _line(self, n: int) -> str:
        return self.lines[n] if 0 <= n < len(self.lines) else ""

    def to_client(self, line: int, col: int) -> types.Position:
        text = self._line(line)
        if text.isascii():
            return types.Position(line=line, character=col)
        p = self.codec.position_to_client_units([text], ServerTextPosition(0, col))
        return types.Position(line=line, character=p.character)

    def from_client(self, pos: types.Position) -> tuple[int, int]:
        text = self._line(pos.line)
        if text.isascii():
            return pos.line, min(pos.character, len(text))
        p = self.codec.position_from_client_units([text], types.Position(line=0, character=pos.character))
        return pos.line, p.character

    def range(self, r: m.Range) -> types.Range:
        return types.Range(
            start=self.to_client(r.start.line, r.start.character),
            end=self.to_client(r.end.line, r.end.character),
        )

    def span(self, line: int, start: int, end_line: int, end: int) -> types.Range:
        return types.Range(start=self.to_client(line, start), end=self.to_client(end_line, end))


def offset_to_pos(line_starts: Sequence[int], offset: int) -> tuple[int, int]:
    """(line, col) of an offset, given the offsets at which lines start."""
    import bisect

    i = bisect.bisect_right(line_starts, offset) - 1
    return i, offset - line_starts[i]


def line_starts(text: str, lines: Sequence[str] | None = None) -> list[int]:
    """Offsets at which each line of ``text`` starts (``lines`` = ``text.split("\\n")`` if known)."""
    if lines is None:
        lines = text.split("\n")
    return list(itertools.accumulate((len(ln) + 1 for ln in lines[:-1]), initial=0))


#: Model severity (``tilt_lsp.tiltfile.model.Severity``, an IntEnum 1..4) -> LSP severity.
SEVERITY: dict[int, types.DiagnosticSeverity] = {
    1: types.DiagnosticSeverity.Error,
    2: types.DiagnosticSeverity.Warning,
    3: types.DiagnosticSeverity.Information,
    4: types.DiagnosticSeverity.Hint,
}
