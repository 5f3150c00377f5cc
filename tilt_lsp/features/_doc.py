"""A read-only view of one document for a request: text, lines, positions, cached analyses."""

from __future__ import annotations

import functools
import os
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ..tiltfile import model as m
from . import _cursor
from ._lsp import Converter, path_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

_SYMBOL_CACHE: dict[str, tuple[object, _cursor.FileSymbols]] = {}
# path -> (document, its edit number, symbols then): updated per edit for open documents
_EDITED_SYMBOLS: dict[str, tuple[object, int, _cursor.FileSymbols]] = {}
# Above this many edits since the last scan, scan the whole document again.
_MAX_INCREMENTAL_EDITS = 32


@dataclass
class DocView:
    server: TiltLanguageServer
    uri: str
    path: str
    text: str
    lines: list[str]
    starts: list[int]
    version: int | None
    document: Any = None  # pygls' document when the file is open (a FastTextDocument)

    @staticmethod
    def of(server: TiltLanguageServer, uri: str) -> DocView | None:
        path = path_of(uri)
        if path is None:
            return None
        doc = server.workspace.text_documents.get(uri)
        if doc is None:
            text = server.text_of(path)
            if text is None:
                return None
            version = None
        else:
            text = doc.source
            version = doc.version
        return DocView(server, uri, path, text, server.lines_of(path), server.line_starts_of(path), version, doc)

    @property
    def dir(self) -> str:
        return os.path.dirname(self.path)

    def converter(self) -> Converter:
        return Converter(self.lines, self.server.workspace.position_codec)

    def pos(self, p: types.Position) -> tuple[int, int]:
        line = min(max(p.line, 0), max(len(self.lines) - 1, 0))
        if p.line >= len(self.lines):
            return line, len(self.lines[line]) if self.lines else 0
        return self.converter().from_client(types.Position(line=line, character=p.character))

    def context(self, p: types.Position, *, full: bool = False) -> _cursor.Context:
        line, col = self.pos(p)
        return _cursor.analyze(self.text, self.starts, self.lines, line, col, full=full)

    def symbols(self) -> _cursor.FileSymbols:
        doc = self.document
        edits: int | None = getattr(doc, "edits", None)
        if edits is not None:
            return self._edited_symbols(doc, edits)
        key = (self.version, len(self.text), hash(self.text) if self.version is None else 0)
        cached = _SYMBOL_CACHE.get(self.path)
        if cached is not None and cached[0] == key:
            return cached[1]
        syms = _cursor.scan_symbols(self.text, self.starts, self.lines)
        if len(_SYMBOL_CACHE) > 64:
            _SYMBOL_CACHE.clear()
        _SYMBOL_CACHE[self.path] = (key, syms)
        return syms

    def _edited_symbols(self, doc: Any, edits: int) -> _cursor.FileSymbols:
        """Symbols of an open document, rescanning only the lines edited since the last call."""
        cached = _EDITED_SYMBOLS.get(self.path)
        syms: _cursor.FileSymbols | None = None
        if cached is not None and cached[0] is doc:
            if cached[1] == edits:
                return cached[2]
            log = [e for e in self.document.edit_log if e[0] > cached[1]]
            if (
                log
                and log[0][0] == cached[1] + 1
                and len(log) <= _MAX_INCREMENTAL_EDITS
                and all(e[2] < 1 << 39 for e in log)
            ):
                syms = _cursor.rescan_symbols(cached[2], [e[1:] for e in log], self.text, self.starts, self.lines)
        if syms is None:
            syms = _cursor.scan_symbols(self.text, self.starts, self.lines)
        if len(_EDITED_SYMBOLS) > 64:
            _EDITED_SYMBOLS.clear()
        _EDITED_SYMBOLS[self.path] = (doc, edits, syms)
        return syms

    def local_symbols(self, line: int) -> list[_cursor.Symbol]:
        return _cursor.local_symbols(self.text, self.starts, self.lines, line)

    # --------------------------------------------------------------- model

    def models(self) -> list[m.TiltfileModel]:
        return self.server.tilt.models_for(self.path)

    def file_info(self) -> m.FileInfo | None:
        for model in self.models():
            fi = model.files.get(self.path)
            if fi is not None:
                return fi
        return None

    def offset(self, line: int, col: int) -> int:
        return self.starts[line] + col if line < len(self.starts) else len(self.text)

    def line_col(self, offset: int) -> tuple[int, int]:
        import bisect

        i = bisect.bisect_right(self.starts, offset) - 1
        return i, offset - self.starts[i]

    def lsp_range(self, start: int, end: int) -> types.Range:
        sl, sc = self.line_col(start)
        el, ec = self.line_col(end)
        return self.converter().span(sl, sc, el, ec)


# id(model) -> (weak reference to the model, its index).  Weak: the index must not keep old
# models alive (a 5,000-line Tiltfile's model is tens of thousands of objects; holding dozens of
# them cost memory, and dropping them all at once stalled a request for ~100 ms).
_DEF_INDEX: dict[int, tuple[weakref.ref[m.TiltfileModel], dict[str, dict[str, m.Definition]]]] = {}


def _forget_index(key: int, ref: weakref.ref[m.TiltfileModel]) -> None:
    hit = _DEF_INDEX.get(key)
    if hit is not None and hit[0] is ref:
        del _DEF_INDEX[key]


def _definitions(model: m.TiltfileModel) -> dict[str, dict[str, m.Definition]]:
    """path -> name -> first definition, per model (models are immutable, so cache by identity)."""
    key = id(model)
    hit = _DEF_INDEX.get(key)
    if hit is not None and hit[0]() is model:
        return hit[1]
    index: dict[str, dict[str, m.Definition]] = {}
    for path, fi in model.files.items():
        names: dict[str, m.Definition] = {}
        for d in fi.definitions:
            names.setdefault(d.name, d)
        index[path] = names
    ref: weakref.ref[m.TiltfileModel] = weakref.ref(model, functools.partial(_forget_index, key))
    _DEF_INDEX[key] = (ref, index)
    return index


def model_definition(models: list[m.TiltfileModel], path: str, name: str) -> m.Definition | None:
    for model in models:
        d = _definitions(model).get(path, {}).get(name)
        if d is not None:
            return d
    return None


def follow_load(models: list[m.TiltfileModel], path: str, name: str, depth: int = 0) -> tuple[str, m.Definition] | None:
    """Where a name bound by load() in ``path`` is really defined: (file, definition)."""
    if depth > 16:
        return None
    for model in models:
        fi = model.files.get(path)
        if fi is None:
            continue
        for edge in fi.loads:
            for local, exported in edge.symbols:
                if local != name or edge.path is None:
                    continue
                target = model.files.get(edge.path)
                if target is None:
                    continue
                for d in target.definitions:
                    if d.name == exported:
                        if d.kind == "load":
                            further = follow_load(models, edge.path, exported, depth + 1)
                            if further is not None:
                                return further
                        return edge.path, d
    return None
