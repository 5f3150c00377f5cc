"""References and rename for user names, across the load graph."""

from __future__ import annotations

import keyword
import re
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from . import _names
from ._cursor import KEYWORDS
from ._doc import DocView
from ._graph import Graph, Site
from ._lsp import uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

_IDENT = re.compile(r"^[^\W\d]\w*$")


def _sites(server: TiltLanguageServer, uri: str, position: types.Position, *, for_rename: bool) -> tuple[Graph, _names.Occ, list[Site]] | None:
    doc = DocView.of(server, uri)
    if doc is None:
        return None
    line, col = doc.pos(position)
    graph = Graph(server, doc.path)
    found = graph.symbol_at(doc.path, line, col)
    if found is None:
        return None
    name, occ, identity = found
    origin = identity[0]
    if origin.occ.scope == _names.GLOBAL:
        sites = graph.global_sites(origin.path, origin.occ.name, for_rename=for_rename)
    else:
        idx = graph.index(origin.path)
        sites = [Site(origin.path, o) for o in idx.refs(name, origin.occ.scope)] if idx else []
    return graph, occ, sites


def references(server: TiltLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
    found = _sites(server, params.text_document.uri, params.position, for_rename=False)
    if found is None:
        return []
    graph, _, sites = found
    include_decl = params.context.include_declaration if params.context else True
    out = []
    for s in sites:
        if not include_decl and s.occ.binding and s.occ.kind in ("function", "variable", "parameter"):
            continue
        out.append(graph.location(s))
    return out


def prepare_rename(server: TiltLanguageServer, params: types.PrepareRenameParams) -> types.PrepareRenamePlaceholder | None:
    found = _sites(server, params.text_document.uri, params.position, for_rename=True)
    if found is None:
        return None
    graph, occ, _ = found
    doc = DocView.of(server, params.text_document.uri)
    if doc is None:
        return None
    rng = server.converter(doc.path).span(occ.line, occ.col, occ.line, occ.end)
    return types.PrepareRenamePlaceholder(range=rng, placeholder=occ.name)


def rename(server: TiltLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    new = params.new_name
    if not _IDENT.match(new) or new in KEYWORDS or keyword.iskeyword(new):
        raise JsonRpcInvalidParams(f"{new!r} is not a valid Starlark name")
    found = _sites(server, params.text_document.uri, params.position, for_rename=True)
    if found is None:
        return None
    _, occ, sites = found
    if occ.scope == _names.GLOBAL and new.startswith("_") and any(s.occ.kind in ("load", "exported") for s in sites):
        raise JsonRpcInvalidParams("names starting with _ cannot be loaded from another file")
    changes: dict[str, list[types.TextEdit]] = {}
    for s in sites:
        conv = server.converter(s.path)
        o = s.occ
        changes.setdefault(uri_of(s.path), []).append(
            types.TextEdit(range=conv.span(o.line, o.col, o.line, o.end), new_text=new)
        )
    return types.WorkspaceEdit(changes=changes)
