"""Document symbols (functions, top-level names, images, workloads, local resources) and
workspace symbols over every evaluated Tiltfile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import model as m
from . import _names
from ._doc import DocView
from ._lsp import Converter, uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

SK = types.SymbolKind


def _range(conv: Converter, loc: m.Location) -> types.Range:
    return conv.range(loc.range)


def _resources(models: list[m.TiltfileModel], path: str) -> list[tuple[str, str, types.SymbolKind, m.Location]]:
    """(name, detail, kind, location) of what the models declare in ``path``."""
    out: list[tuple[str, str, types.SymbolKind, m.Location]] = []
    seen: set[tuple[str, str]] = set()
    for model in models:
        for img in model.images:
            if img.location is not None and img.location.path == path and ("image", img.ref) not in seen:
                seen.add(("image", img.ref))
                out.append((img.ref, img.kind, SK.Class, img.location))
        for o in model.k8s_objects:
            if o.is_workload and o.source is not None and o.source.path == path and ("k8s", o.selector) not in seen:
                seen.add(("k8s", o.selector))
                out.append((f"{o.kind.lower()}/{o.name}", "k8s workload", SK.Struct, o.source))
        for lr in model.local_resources:
            if lr.location is not None and lr.location.path == path and ("local", lr.name) not in seen:
                seen.add(("local", lr.name))
                out.append((lr.name, "local_resource", SK.Event, lr.location))
        for cfg in model.k8s_resources:
            if cfg.location is not None and cfg.location.path == path:
                name = cfg.new_name or cfg.workload or ""
                if name and ("k8s_resource", name) not in seen:
                    seen.add(("k8s_resource", name))
                    out.append((name, "k8s_resource", SK.Object, cfg.location))
    return out


def document_symbols(server: TiltLanguageServer, uri: str) -> list[types.DocumentSymbol]:
    doc = DocView.of(server, uri)
    if doc is None:
        return []
    idx = _names.index_file(doc.path, doc.text)
    conv = doc.converter()
    out: list[types.DocumentSymbol] = []
    funcs = {f.line: f for f in idx.functions}
    seen: set[str] = set()
    for o in idx.occs:
        if o.scope != _names.GLOBAL or not o.binding or o.name in seen:
            continue
        seen.add(o.name)
        sel = conv.span(o.line, o.col, o.line, o.end)
        if o.kind == "function" and o.line in funcs:
            f = funcs[o.line]
            end_line = f.end_line
            end_col = len(doc.lines[end_line]) if end_line < len(doc.lines) else 0
            sig = _signature(f)
            out.append(
                types.DocumentSymbol(
                    name=o.name,
                    kind=SK.Function,
                    detail=sig,
                    range=conv.span(o.line, 0, end_line, end_col),
                    selection_range=sel,
                )
            )
        elif o.kind == "load":
            out.append(types.DocumentSymbol(name=o.name, kind=SK.Module, detail="load()", range=sel, selection_range=sel))
        else:
            kind = SK.Constant if o.name.isupper() else SK.Variable
            line_end = len(doc.lines[o.line]) if o.line < len(doc.lines) else o.end
            out.append(
                types.DocumentSymbol(
                    name=o.name, kind=kind, range=conv.span(o.line, o.col, o.line, max(line_end, o.end)), selection_range=sel
                )
            )
    for name, detail, kind, loc in _resources(doc.models(), doc.path):
        rng = _range(conv, loc)
        out.append(types.DocumentSymbol(name=name, kind=kind, detail=detail, range=rng, selection_range=rng))
    out.sort(key=lambda s: (s.range.start.line, s.range.start.character))
    return _nest(out)


def _nest(flat: list[types.DocumentSymbol]) -> list[types.DocumentSymbol]:
    """Put symbols whose range lies inside a function's range under that function."""
    top: list[types.DocumentSymbol] = []
    for s in flat:
        parent = next(
            (
                p
                for p in top
                if p.kind == SK.Function
                and p is not s
                and (p.range.start.line, p.range.start.character) <= (s.range.start.line, s.range.start.character)
                and (s.range.end.line, s.range.end.character) <= (p.range.end.line, p.range.end.character)
            ),
            None,
        )
        if parent is not None and s.kind != SK.Function:
            parent.children = [*(parent.children or []), s]
        else:
            top.append(s)
    return top


def _signature(f: _names.FuncDef) -> str:
    a = f.node.args
    names = [p.arg for p in [*a.posonlyargs, *a.args]]
    if a.vararg:
        names.append("*" + a.vararg.arg)
    names += [p.arg for p in a.kwonlyargs]
    if a.kwarg:
        names.append("**" + a.kwarg.arg)
    return f"({', '.join(names)})"


def _matches(query: str, name: str) -> bool:
    if not query:
        return True
    q = query.lower()
    n = name.lower()
    i = 0
    for ch in n:
        if ch == q[i]:
            i += 1
            if i == len(q):
                return True
    return False


def workspace_symbols(server: TiltLanguageServer, query: str) -> list[types.SymbolInformation]:
    out: list[types.SymbolInformation] = []
    files: list[str] = []
    models = server.tilt.models()
    for model in models:
        for f in model.files:
            if f not in files:
                files.append(f)
    for f in files:
        text = server.text_of(f)
        if text is None:
            continue
        idx = _names.index_file(f, text)
        conv = server.converter(f)
        seen: set[str] = set()
        for o in idx.occs:
            if o.scope != _names.GLOBAL or not o.binding or o.kind == "load" or o.name in seen:
                continue
            seen.add(o.name)
            if not _matches(query, o.name):
                continue
            kind = SK.Function if o.kind == "function" else SK.Constant if o.name.isupper() else SK.Variable
            out.append(
                types.SymbolInformation(
                    name=o.name,
                    kind=kind,
                    location=types.Location(uri=uri_of(f), range=conv.span(o.line, o.col, o.line, o.end)),
                    container_name=f.rsplit("/", 1)[-1],
                )
            )
        for name, detail, kind, loc in _resources(models, f):
            if _matches(query, name):
                out.append(
                    types.SymbolInformation(
                        name=name,
                        kind=kind,
                        location=types.Location(uri=uri_of(loc.path), range=conv.range(loc.range)),
                        container_name=detail,
                    )
                )
    return out
