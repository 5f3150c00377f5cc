"""The load graph around a document: which file a load() names, who loads a file, where a
name really comes from, and every occurrence of a top-level name across files."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from . import _names
from ._lsp import uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer


@dataclass(frozen=True)
class Site:
    path: str
    occ: _names.Occ


class Graph:
    def __init__(self, server: TiltLanguageServer, path: str) -> None:
        self.server = server
        self.path = path
        self.models = server.tilt.models_for(path)
        files: list[str] = []
        for model in [*self.models, *server.tilt.models()]:
            for f in model.files:
                if f not in files:
                    files.append(f)
        if path not in files:
            files.insert(0, path)
        self.files = files
        self._idx: dict[str, _names.FileIndex | None] = {}

    def index(self, path: str) -> _names.FileIndex | None:
        if path not in self._idx:
            text = self.server.text_of(path)
            self._idx[path] = _names.index_file(path, text) if text is not None else None
        return self._idx[path]

    def resolve(self, from_path: str, module: str) -> str | None:
        for model in [*self.models, *self.server.tilt.models()]:
            fi = model.files.get(from_path)
            if fi is None:
                continue
            for e in fi.loads:
                if e.module == module and e.path:
                    return e.path
        if module.startswith("ext://"):
            return None
        p = module if os.path.isabs(module) else os.path.normpath(os.path.join(os.path.dirname(from_path), module))
        if os.path.isdir(p):
            p = os.path.join(p, "Tiltfile")
        return p if (os.path.isfile(p) or self.server.open_text(p) is not None) else None

    def origin(self, path: str, name: str, depth: int = 0) -> Site | None:
        """The top-level binding that ``name`` (global in ``path``) comes from, following loads."""
        idx = self.index(path)
        if idx is None or depth > 16:
            return None
        defs = idx.global_defs(name)
        if not defs:
            return None
        d = defs[0]
        if d.kind != "load":
            return Site(path, d)
        for ld in idx.loads:
            for ln in ld.names:
                if ln.local == name:
                    target = self.resolve(path, ld.module)
                    if target is None:
                        return Site(path, d)
                    further = self.origin(target, ln.exported, depth + 1)
                    return further or Site(path, d)
        return Site(path, d)

    def loaders(self, target: str) -> list[tuple[str, _names.LoadStmt]]:
        out: list[tuple[str, _names.LoadStmt]] = []
        for f in self.files:
            idx = self.index(f)
            if idx is None:
                continue
            for ld in idx.loads:
                if self.resolve(f, ld.module) == target:
                    out.append((f, ld))
        return out

    def global_sites(self, path: str, name: str, *, for_rename: bool, seen: set[tuple[str, str]] | None = None) -> list[Site]:
        """Every occurrence of the top-level ``name`` of ``path`` and of what loads it."""
        seen = seen if seen is not None else set()
        if (path, name) in seen:
            return []
        seen.add((path, name))
        idx = self.index(path)
        if idx is None:
            return []
        out = [Site(path, o) for o in _names.iter_global_refs(idx, name)]
        for f, ld in self.loaders(path):
            for ln in ld.names:
                if ln.exported != name:
                    continue
                aliased = ln.local != ln.exported
                if aliased:
                    out.append(Site(f, ln.exported_occ))
                    if not for_rename:
                        out.extend(self.global_sites(f, ln.local, for_rename=False, seen=seen))
                else:
                    out.extend(self.global_sites(f, ln.local, for_rename=for_rename, seen=seen))
        uniq: dict[tuple[str, int, int], Site] = {}
        for s in out:
            uniq.setdefault((s.path, s.occ.line, s.occ.col), s)
        return list(uniq.values())

    def location(self, site: Site) -> types.Location:
        conv = self.server.converter(site.path)
        o = site.occ
        return types.Location(uri=uri_of(site.path), range=conv.span(o.line, o.col, o.line, o.end))

    def symbol_at(self, path: str, line: int, col: int) -> tuple[str, _names.Occ, list[Site]] | None:
        """(name, occurrence under the cursor, identity) where identity is the list of sites to
        search: for a global the origin site, for a local the binding sites in its scope."""
        idx = self.index(path)
        if idx is None:
            return None
        occ = idx.at(line, col)
        if occ is None:
            return None
        if occ.kind == "exported":
            for ld in idx.loads:
                for ln in ld.names:
                    if ln.exported_occ == occ:
                        target = self.resolve(path, ld.module)
                        if target is None:
                            return None
                        site = self.origin(target, ln.exported)
                        return (occ.name, occ, [site]) if site else None
            return None
        if occ.scope == _names.GLOBAL:
            site = self.origin(path, occ.name)
            return (occ.name, occ, [site]) if site else None
        binds = [Site(path, o) for o in idx.refs(occ.name, occ.scope) if o.binding]
        return (occ.name, occ, binds) if binds else None
