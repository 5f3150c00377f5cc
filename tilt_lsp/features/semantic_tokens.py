"""Semantic tokens: builtins, user functions, parameters, and strings that are paths or image refs.

Legend: builtins are ``function``/``namespace``/``variable`` with the ``defaultLibrary``
modifier; user functions are ``function`` (``declaration`` where defined); parameters are
``parameter``; path strings are ``string`` + ``path``; image refs are ``string`` + ``imageRef``.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import catalog
from ..tiltfile import model as m
from ..tiltfile.syntax import dotted_name
from . import _knowledge as K
from . import _names
from ._doc import DocView
from .language import TOKEN_MODIFIERS, TOKEN_TYPES

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)

_T = {name: i for i, name in enumerate(TOKEN_TYPES)}
_M = {name: 1 << i for i, name in enumerate(TOKEN_MODIFIERS)}


def tokens_for(doc: DocView) -> list[tuple[int, int, int, int, int]]:
    """(line, col, length, type, modifiers) in code points, sorted."""
    idx = _names.index_file(doc.path, doc.text)
    out: list[tuple[int, int, int, int, int]] = []
    global_bound = {o.name for o in idx.occs if o.scope == _names.GLOBAL and o.binding}
    user_funcs = {f.name for f in idx.functions}
    models = doc.models()
    for model in models:
        fi = model.files.get(doc.path)
        if fi is not None:
            user_funcs |= {d.name for d in fi.definitions if d.signature}
    params_by_scope: dict[int, set[str]] = {}
    for o in idx.occs:
        if o.kind == "parameter":
            params_by_scope.setdefault(o.scope, set()).add(o.name)
    modules = catalog.modules()
    for o in idx.occs:
        length = o.end - o.col
        if o.kind in ("load", "exported"):
            continue
        if o.scope != _names.GLOBAL and o.name in params_by_scope.get(o.scope, ()):
            out.append((o.line, o.col, length, _T["parameter"], _M["declaration"] if o.binding else 0))
            continue
        if o.kind == "function":
            out.append((o.line, o.col, length, _T["function"], _M["declaration"]))
            continue
        if o.scope == _names.GLOBAL and o.name not in global_bound:
            if o.name in modules:
                out.append((o.line, o.col, length, _T["namespace"], _M["defaultLibrary"]))
            elif catalog.function(o.name) is not None or o.name in K.STARLARK_BUILTINS:
                out.append((o.line, o.col, length, _T["function"], _M["defaultLibrary"]))
            elif catalog.value(o.name) is not None:
                out.append((o.line, o.col, length, _T["variable"], _M["defaultLibrary"] | _M["readonly"]))
            continue
        if o.name in user_funcs and o.scope == _names.GLOBAL:
            out.append((o.line, o.col, length, _T["function"], 0))
    # Module members: os.path.join -> path (namespace), join (function).
    for node in ast.walk(idx.module):
        if not isinstance(node, ast.Attribute):
            continue
        qual = dotted_name(node)
        if qual is None or qual.split(".", 1)[0] in global_bound:
            continue
        r = idx.source.node_range(node)
        if r.start.line != r.end.line:
            continue
        col = r.end.character - len(node.attr)
        if qual in modules:
            out.append((r.end.line, col, len(node.attr), _T["namespace"], _M["defaultLibrary"]))
        elif catalog.function(qual) is not None:
            out.append((r.end.line, col, len(node.attr), _T["function"], _M["defaultLibrary"]))
        elif catalog.value(qual) is not None:
            out.append((r.end.line, col, len(node.attr), _T["variable"], _M["defaultLibrary"] | _M["readonly"]))
    images = {m.image_name(i.ref) for mm in models for i in mm.images}
    images |= {m.image_name(c.image) for mm in models for o in mm.k8s_objects for c in o.containers}
    for s in idx.strings:
        if s.line != s.end_line:
            continue
        fn = catalog.function(s.call) if s.call and s.call.split(".", 1)[0] not in global_bound else None
        param = K.runtime_param_at(fn, s.param_pos or 0, s.param_kw) if fn else None
        key = (s.call or "", param or "")
        if param and key in K.PATH_PARAMS and not s.value.startswith("ext://"):
            out.append((s.line, s.col, s.end - s.col, _T["string"], _M["path"]))
        elif (param and key in K.IMAGE_PARAMS) or (s.value and m.image_name(s.value) in images and " " not in s.value):
            out.append((s.line, s.col, s.end - s.col, _T["string"], _M["imageRef"]))
    out.sort()
    # Drop overlaps (keep the first).
    dedup: list[tuple[int, int, int, int, int]] = []
    for t in out:
        if dedup and dedup[-1][0] == t[0] and t[1] < dedup[-1][1] + dedup[-1][2]:
            continue
        dedup.append(t)
    return dedup


def encode(doc: DocView, toks: list[tuple[int, int, int, int, int]]) -> list[int]:
    conv = doc.converter()
    data: list[int] = []
    prev_line = 0
    prev_col = 0
    for line, col, length, ttype, mods in toks:
        start = conv.to_client(line, col).character
        end = conv.to_client(line, col + length).character
        dl = line - prev_line
        dc = start - prev_col if dl == 0 else start
        data.extend([dl, dc, end - start, ttype, mods])
        prev_line, prev_col = line, start
    return data


def semantic_tokens(server: TiltLanguageServer, uri: str) -> types.SemanticTokens | None:
    doc = DocView.of(server, uri)
    if doc is None:
        return None
    return types.SemanticTokens(data=encode(doc, tokens_for(doc)))
