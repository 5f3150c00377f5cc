"""Go to definition: user names (across load()), the file a load() names, path strings,
and image refs (the build that makes them)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import catalog
from ..tiltfile import model as m
from . import _knowledge as K
from ._doc import DocView
from ._graph import Graph
from ._lsp import uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

_TOP = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))


def _file_location(path: str) -> types.Location:
    return types.Location(uri=uri_of(path), range=_TOP)


def definitions(server: TiltLanguageServer, uri: str, position: types.Position) -> list[types.Location]:
    doc = DocView.of(server, uri)
    if doc is None:
        return []
    line, col = doc.pos(position)
    graph = Graph(server, doc.path)
    idx = graph.index(doc.path)
    if idx is None:
        return []
    ld = idx.load_at(line, col)
    if ld is not None:
        target = graph.resolve(doc.path, ld.module)
        return [_file_location(target)] if target else []
    found = graph.symbol_at(doc.path, line, col)
    if found is not None:
        _, _, sites = found
        return [graph.location(s) for s in sites[:1]]
    s = idx.string_at(line, col)
    if s is None:
        return []
    fn = catalog.function(s.call) if s.call else None
    param = K.runtime_param_at(fn, s.param_pos or 0, s.param_kw) if fn else None
    if s.call and param and (s.call, param) in K.IMAGE_PARAMS or _is_image(graph.models, s.value):
        locs = [
            types.Location(uri=uri_of(img.location.path), range=server.converter(img.location.path).range(img.location.range))
            for model in graph.models
            for img in model.images
            if img.location is not None and (img.ref == s.value or m.image_name(img.ref) == m.image_name(s.value))
        ]
        if locs:
            return locs
    value = s.value
    if not value or "\n" in value or len(value) > 1024:
        return []
    path = os.path.expanduser(value)
    path = path if os.path.isabs(path) else os.path.normpath(os.path.join(doc.dir, path))
    if os.path.isfile(path):
        return [_file_location(path)]
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "Tiltfile")) and s.call in ("load", "include", "load_dynamic"):
        return [_file_location(os.path.join(path, "Tiltfile"))]
    return []


def _is_image(models: list[m.TiltfileModel], value: str) -> bool:
    if not value or " " in value:
        return False
    return any(img.ref == value or m.image_name(img.ref) == m.image_name(value) for mm in models for img in mm.images)
