"""Name occurrences of one file, with Starlark scoping, from its syntax tree.

Used by go-to-definition, references, rename, document symbols and semantic tokens.
The tree comes from ``syntax.parse_source`` (which recovers statement by statement), so
a broken statement only hides the names inside it.  Columns are code points.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..tiltfile.syntax import SourceFile, dotted_name, parse_source

GLOBAL = 0


@dataclass(frozen=True)
class Occ:
    name: str
    line: int
    col: int
    end: int  # end column (same line)
    scope: int  # GLOBAL or an id of the function/comprehension scope that binds it
    binding: bool
    kind: str  # function | variable | parameter | load | ref | exported (the 'x' of load(..., y='x'))

    def contains(self, line: int, col: int) -> bool:
        return self.line == line and self.col <= col <= self.end


@dataclass(frozen=True)
class LoadName:
    local: str
    exported: str
    local_occ: Occ  # where the local name is written (the string, or the alias keyword)
    exported_occ: Occ  # where the exported name is written (inside the quotes)


@dataclass(frozen=True)
class LoadStmt:
    module: str
    line: int
    col: int  # of the string body
    end: int
    names: tuple[LoadName, ...]


@dataclass(frozen=True)
class StringLit:
    value: str
    line: int
    col: int  # the token, quotes included
    end_line: int
    end: int
    call: str | None  # dotted callee when the string is (inside) an argument
    param_pos: int | None  # positional index
    param_kw: str | None  # keyword name


@dataclass(frozen=True)
class FuncDef:
    name: str
    line: int
    col: int
    end: int
    end_line: int
    node: ast.FunctionDef
    scope: int  # the scope its body opens


@dataclass
class FileIndex:
    path: str
    source: SourceFile
    module: ast.Module
    occs: list[Occ] = field(default_factory=list)
    loads: list[LoadStmt] = field(default_factory=list)
    strings: list[StringLit] = field(default_factory=list)
    functions: list[FuncDef] = field(default_factory=list)
    calls: list[ast.Call] = field(default_factory=list)

    def at(self, line: int, col: int) -> Occ | None:
        best: Occ | None = None
        for o in self.occs:
            if o.contains(line, col):
                if best is None or (o.end - o.col) < (best.end - best.col):
                    best = o
        return best

    def string_at(self, line: int, col: int) -> StringLit | None:
        for s in self.strings:
            if (s.line, s.col) <= (line, col) <= (s.end_line, s.end):
                return s
        return None

    def load_at(self, line: int, col: int) -> LoadStmt | None:
        for ld in self.loads:
            if ld.line == line and ld.col <= col <= ld.end:
                return ld
        return None

    def global_defs(self, name: str) -> list[Occ]:
        return [o for o in self.occs if o.name == name and o.scope == GLOBAL and o.binding]

    def refs(self, name: str, scope: int) -> list[Occ]:
        return [o for o in self.occs if o.name == name and o.scope == scope and o.kind != "exported"]

    def line_of_global(self, name: str) -> Occ | None:
        defs = self.global_defs(name)
        return defs[0] if defs else None


_DEF_NAME = re.compile(r"def\s+([^\W\d]\w*)")


def _bound_in(body: list[ast.stmt]) -> set[str]:
    """Names assigned in a block (not inside nested defs or comprehensions)."""
    out: set[str] = set()

    def targets(t: ast.AST) -> None:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                out.add(n.id)

    def visit(stmts: list[ast.stmt]) -> None:
        for s in stmts:
            if isinstance(s, ast.FunctionDef):
                out.add(s.name)
            elif isinstance(s, ast.Assign):
                for t in s.targets:
                    targets(t)
            elif isinstance(s, (ast.AugAssign, ast.AnnAssign)):
                targets(s.target)
            elif isinstance(s, ast.For):
                targets(s.target)
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, (ast.If, ast.While)):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
                c = s.value
                if isinstance(c.func, ast.Name) and c.func.id == "load":
                    for a in c.args[1:]:
                        if isinstance(a, ast.Constant) and isinstance(a.value, str):
                            out.add(a.value)
                    for kw in c.keywords:
                        if kw.arg:
                            out.add(kw.arg)

    visit(body)
    return out


class _Builder:
    def __init__(self, idx: FileIndex) -> None:
        self.idx = idx
        self.src = idx.source
        self._next_scope = 1

    def pos(self, node: ast.AST) -> tuple[int, int, int, int]:
        r = self.src.node_range(node)
        return r.start.line, r.start.character, r.end.line, r.end.character

    def add(self, name: str, line: int, col: int, scope: int, binding: bool, kind: str) -> None:
        self.idx.occs.append(Occ(name, line, col, col + len(name), scope, binding, kind))

    def build(self) -> None:
        module = self.idx.module
        scopes: list[tuple[int, set[str]]] = [(GLOBAL, _bound_in(module.body))]
        for stmt in module.body:
            self.stmt(stmt, scopes)

    def resolve(self, name: str, scopes: list[tuple[int, set[str]]]) -> int:
        for sid, names in reversed(scopes):
            if name in names:
                return sid
        return GLOBAL

    def stmt(self, s: ast.stmt, scopes: list[tuple[int, set[str]]]) -> None:
        cur = scopes[-1][0]
        if isinstance(s, ast.FunctionDef):
            line0 = s.lineno - 1
            text = self.src.lines[line0] if line0 < len(self.src.lines) else ""
            mt = _DEF_NAME.search(text, self.src.col(s.lineno, s.col_offset))
            col = mt.start(1) if mt else 0
            self.add(s.name, line0, col, cur, True, "function")
            for d in [*s.args.defaults, *[x for x in s.args.kw_defaults if x is not None]]:
                self.expr(d, scopes)
            sid = self._next_scope
            self._next_scope += 1
            a = s.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
            if a.vararg:
                params.append(a.vararg)
            if a.kwarg:
                params.append(a.kwarg)
            names = {p.arg for p in params} | _bound_in(s.body)
            for p in params:
                pl, pc, _, _ = self.pos(p)
                self.add(p.arg, pl, pc, sid, True, "parameter")
            end_line = (s.end_lineno or s.lineno) - 1
            self.idx.functions.append(FuncDef(s.name, line0, col, col + len(s.name), end_line, s, sid))
            inner = [*scopes, (sid, names)]
            for b in s.body:
                self.stmt(b, inner)
            return
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            c = s.value
            if isinstance(c.func, ast.Name) and c.func.id == "load" and cur == GLOBAL:
                self.load(c)
                return
        for child in ast.iter_child_nodes(s):
            if isinstance(child, ast.stmt):
                self.stmt(child, scopes)
            elif isinstance(child, ast.expr):
                self.expr(child, scopes)

    def load(self, c: ast.Call) -> None:
        if not c.args or not (isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)):
            return
        first = c.args[0]
        l0, c0, _, e0 = self.pos(first)
        names: list[LoadName] = []
        for a in c.args[1:]:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                al, ac, _, _ = self.pos(a)
                occ = Occ(a.value, al, ac + 1, ac + 1 + len(a.value), GLOBAL, True, "load")
                self.idx.occs.append(occ)
                names.append(LoadName(a.value, a.value, occ, occ))
        for kw in c.keywords:
            if kw.arg and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                kl, kc, _, _ = self.pos(kw)
                local = Occ(kw.arg, kl, kc, kc + len(kw.arg), GLOBAL, True, "load")
                vl, vc, _, _ = self.pos(kw.value)
                exported = Occ(kw.value.value, vl, vc + 1, vc + 1 + len(kw.value.value), GLOBAL, False, "exported")
                self.idx.occs.extend([local, exported])
                names.append(LoadName(kw.arg, kw.value.value, local, exported))
        self.idx.loads.append(LoadStmt(str(first.value), l0, c0 + 1, e0 - 1, tuple(names)))
        self.string(first, "load", 0, None)

    def string(self, node: ast.Constant, call: str | None, pos: int | None, kw: str | None) -> None:
        l0, c0, l1, c1 = self.pos(node)
        self.idx.strings.append(StringLit(str(node.value), l0, c0, l1, c1, call, pos, kw))

    def expr(self, e: ast.expr, scopes: list[tuple[int, set[str]]], call: tuple[str | None, int | None, str | None] | None = None) -> None:
        if isinstance(e, ast.Name):
            l0, c0, _, _ = self.pos(e)
            binding = isinstance(e.ctx, ast.Store)
            sid = self.resolve(e.id, scopes)
            self.add(e.id, l0, c0, sid, binding, "variable" if binding else "ref")
            return
        if isinstance(e, ast.Constant) and isinstance(e.value, str):
            if call is not None:
                self.string(e, *call)
            else:
                self.string(e, None, None, None)
            return
        if isinstance(e, ast.Call):
            self.idx.calls.append(e)
            callee = dotted_name(e.func)
            self.expr(e.func, scopes)
            for i, a in enumerate(e.args):
                self.expr(a, scopes, (callee, i, None))
            for kw in e.keywords:
                self.expr(kw.value, scopes, (callee, None, kw.arg))
            return
        if isinstance(e, (ast.List, ast.Tuple)) and call is not None:
            for elt in e.elts:
                self.expr(elt, scopes, call)
            return
        if isinstance(e, ast.Lambda):
            sid = self._next_scope
            self._next_scope += 1
            largs = e.args
            params = [*largs.posonlyargs, *largs.args, *largs.kwonlyargs]
            for p in params:
                pl, pc, _, _ = self.pos(p)
                self.add(p.arg, pl, pc, sid, True, "parameter")
            self.expr(e.body, [*scopes, (sid, {p.arg for p in params})])
            return
        if isinstance(e, (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            sid = self._next_scope
            self._next_scope += 1
            names: set[str] = set()
            for g in e.generators:
                for t in ast.walk(g.target):
                    if isinstance(t, ast.Name):
                        names.add(t.id)
            inner = [*scopes, (sid, names)]
            for i, g in enumerate(e.generators):
                self.expr(g.iter, inner if i else scopes)
                self.expr(g.target, inner)
                for cond in g.ifs:
                    self.expr(cond, inner)
            if isinstance(e, ast.DictComp):
                self.expr(e.key, inner)
                self.expr(e.value, inner)
            else:
                self.expr(e.elt, inner)
            return
        for child in ast.iter_child_nodes(e):
            if isinstance(child, ast.expr):
                self.expr(child, scopes)
            elif isinstance(child, ast.comprehension):
                pass
            elif isinstance(child, ast.keyword):
                self.expr(child.value, scopes)


_CACHE: dict[str, tuple[int, FileIndex]] = {}


def index_file(path: str, text: str) -> FileIndex:
    """Index of ``text`` (cached by content)."""
    key = hash(text)
    cached = _CACHE.get(path)
    if cached is not None and cached[0] == key and cached[1].source.text == text:
        return cached[1]
    parsed = parse_source(path, text)
    idx = FileIndex(path, parsed.source, parsed.module)
    _Builder(idx).build()
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[path] = (key, idx)
    return idx


def iter_global_refs(idx: FileIndex, name: str) -> Iterator[Occ]:
    for o in idx.occs:
        if o.name == name and o.scope == GLOBAL and o.kind != "exported":
            yield o
