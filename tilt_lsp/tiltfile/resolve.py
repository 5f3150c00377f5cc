"""Static checks that need no evaluation: undefined names and builtin call signatures.

Starlark resolves names before running a file, so an undefined name is an error
even in a branch that never runs.  We report these statically (all of them, with
did-you-mean), and check calls of Tilt builtins against the keyword names Tilt
really accepts.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from . import catalog
from .binding import IGNORES_ALL_ARGS, IGNORES_KEYWORDS, keyword_hint, param_spec
from .interp import assigned_names
from .syntax import Problem, SourceFile


@dataclass
class _Scope:
    names: set[str]
    parent: _Scope | None

    def has(self, name: str) -> bool:
        s: _Scope | None = self
        while s is not None:
            if name in s.names:
                return True
            s = s.parent
        return False

    def all(self) -> set[str]:
        out: set[str] = set()
        s: _Scope | None = self
        while s is not None:
            out |= s.names
            s = s.parent
        return out


def _params(a: ast.arguments) -> set[str]:
    names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
    if a.vararg:
        names.add(a.vararg.arg)
    if a.kwarg:
        names.add(a.kwarg.arg)
    return names


def check_names(src: SourceFile, module: ast.Module, predeclared: Iterable[str]) -> list[Problem]:
    pre = set(predeclared)
    top = _Scope(assigned_names(module.body) | pre, None)
    out: list[Problem] = []
    globals_shadow = assigned_names(module.body)

    def undefined(node: ast.Name, scope: _Scope) -> None:
        cands = sorted(scope.all())
        hint = difflib.get_close_matches(node.id, cands, n=1, cutoff=0.7)
        msg = f"undefined: {node.id}"
        if hint:
            msg += f" (did you mean {hint[0]}?)"
        out.append(Problem("TL201", msg, src.node_range(node)))

    def visit(node: ast.AST, scope: _Scope) -> None:
        if isinstance(node, ast.FunctionDef):
            for d in [*node.args.defaults, *[x for x in node.args.kw_defaults if x is not None]]:
                visit(d, scope)
            inner = _Scope(_params(node.args) | assigned_names(node.body), scope)
            for s in node.body:
                visit(s, inner)
            return
        if isinstance(node, ast.Lambda):
            for d in [*node.args.defaults, *[x for x in node.args.kw_defaults if x is not None]]:
                visit(d, scope)
            visit(node.body, _Scope(_params(node.args), scope))
            return
        if isinstance(node, (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            names: set[str] = set()
            for g in node.generators:
                for t in ast.walk(g.target):
                    if isinstance(t, ast.Name):
                        names.add(t.id)
            inner = _Scope(names, scope)
            for i, g in enumerate(node.generators):
                visit(g.iter, inner if i else scope)
                for c in g.ifs:
                    visit(c, inner)
            if isinstance(node, ast.DictComp):
                visit(node.key, inner)
                visit(node.value, inner)
            else:
                visit(node.elt, inner)
            return
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            f = node.value.func
            if isinstance(f, ast.Name) and f.id == "load":
                return
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if not scope.has(node.id):
                undefined(node, scope)
            return
        if isinstance(node, ast.Call):
            _check_call(src, node, globals_shadow, out)
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    for stmt in module.body:
        visit(stmt, top)
    return out


def _callee_qualname(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    parts: list[str] = []
    cur: ast.expr = func
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if isinstance(cur, ast.Name):
        parts.append(cur.id)
        return ".".join(reversed(parts))
    return None


def _check_call(src: SourceFile, call: ast.Call, shadowed: set[str], out: list[Problem]) -> None:
    qual = _callee_qualname(call.func)
    if qual is None or qual.split(".", 1)[0] in shadowed:
        return
    fn = catalog.function(qual)
    if fn is None or qual in IGNORES_ALL_ARGS:
        return
    spec = param_spec(qual)
    if spec is None:
        return
    has_star = any(isinstance(a, ast.Starred) for a in call.args)
    has_dstar = any(k.arg is None for k in call.keywords)
    n_pos = len(call.args)
    limit = len(spec.names)
    if qual == "k8s_kind":
        limit = 1
    if not has_star and not spec.varargs and n_pos > limit:
        out.append(
            Problem("TL204", f"{qual}: got {n_pos} arguments, want at most {limit}", src.node_range(call.args[limit]))
        )
    given = set(spec.names[:n_pos])
    unknown_kw = False
    for kw in call.keywords:
        if kw.arg is None or qual in IGNORES_KEYWORDS:
            continue
        if kw.arg in spec.names:
            if kw.arg in given:
                out.append(
                    Problem("TL205", f"{qual}: got multiple values for parameter {kw.arg}", src.node_range(kw))
                )
            given.add(kw.arg)
        elif not spec.kwargs:
            hint = keyword_hint(qual, kw.arg, sorted(given))
            msg = f"{qual}: unexpected keyword argument {kw.arg}"
            if hint:
                msg += f" (did you mean {hint}?)"
            unknown_kw = True
            rng = src.node_range(kw)
            rng = type(rng)(rng.start, type(rng.start)(rng.start.line, rng.start.character + len(kw.arg)))
            out.append(Problem("TL202", msg, rng))
    if not has_star and not has_dstar and not unknown_kw:
        for name in spec.names[: spec.required]:
            if name not in given:
                out.append(Problem("TL203", f"{qual}: missing argument for {name}", src.node_range(call.func)))
                break
