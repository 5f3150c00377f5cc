"""Static checks that need no evaluation: undefined names and builtin call signatures.

Starlark resolves names before running a file, so an undefined name is an error
even in a branch that never runs.  We report these statically (all of them, with
did-you-mean), and check calls of Tilt builtins against the keyword names Tilt
really accepts.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import catalog
from .binding import IGNORES_ALL_ARGS, IGNORES_KEYWORDS, keyword_hint, param_spec
from .interp import assigned_names
from .model import Range
from .syntax import _CHILD_FIELDS, Problem, SourceFile, dotted_name


@dataclass
class _Scope:
    names: set[str] | frozenset[str]
    parent: _Scope | None

    def has(self, name: str) -> bool:
        s: _Scope | None = self
        while s is not None:
            if name in s.names:
                return True
            s = s.parent
        return False

    def local_names(self) -> set[str]:
        """Names bound in enclosing function/comprehension scopes (not the file's top level)."""
        out: set[str] = set()
        s: _Scope | None = self
        while s is not None and s.parent is not None:
            out |= s.names
            s = s.parent
        return out

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
    globals_shadow = assigned_names(module.body)
    return check_names_in(src, module.body, globals_shadow | set(predeclared), globals_shadow)


def check_names_in(
    src: SourceFile,
    stmts: list[ast.stmt],
    top_names: set[str] | frozenset[str],
    globals_shadow: set[str] | frozenset[str],
    seen: set[str] | None = None,
    undefined_seen: list[bool] | None = None,
) -> list[Problem]:
    """check_names over some of a file's top-level statements.

    ``top_names`` are the names defined at the file's top level (its own assignments, which
    are ``globals_shadow``, and the predeclared ones).  The problems of a file are those of its
    statements, in order.  With ``seen``, every identifier met is added to it (what the result
    may depend on besides ``top_names``'s members); ``undefined_seen[0]`` is set when an
    undefined-name problem was reported (its hint depends on all of ``top_names``).
    """
    top = _Scope(top_names, None)
    out: list[Problem] = []

    def undefined(node: ast.Name, scope: _Scope) -> None:
        if undefined_seen is not None:
            undefined_seen[0] = True
        cands = sorted(scope.all())
        hint = difflib.get_close_matches(node.id, cands, n=1, cutoff=0.7)
        msg = f"undefined: {node.id}"
        if hint:
            msg += f" (did you mean {hint[0]}?)"
        out.append(Problem("TL201", msg, src.node_range(node)))

    def shadowed(name: str, scope: _Scope) -> bool:
        return name in globals_shadow or (scope is not top and name in scope.local_names())

    # Iterative walk (files can be large): each entry is (node, scope it is evaluated in).
    stack: list[tuple[ast.AST, _Scope]] = [(stmt, top) for stmt in reversed(stmts)]
    push = stack.append
    pop = stack.pop
    top_names = top.names
    special = _NAMES_SPECIAL
    child_fields = _CHILD_FIELDS
    AST, Name, Constant, Load = ast.AST, ast.Name, ast.Constant, ast.Load
    while stack:
        node, scope = pop()
        t = type(node)
        if t is Name:
            assert isinstance(node, ast.Name)
            if seen is not None:
                seen.add(node.id)
            if node.ctx.__class__ is Load:
                name = node.id
                if not (name in top_names if scope is top else scope.has(name)):
                    undefined(node, scope)
            continue
        if t is Constant:
            continue
        if t not in special:
            fields = child_fields[t]
            for fname in reversed(fields):
                v = getattr(node, fname, None)
                if v.__class__ is list:
                    for x in reversed(v):
                        if isinstance(x, AST):
                            push((x, scope))
                elif isinstance(v, AST):
                    push((v, scope))
            continue
        if t is ast.FunctionDef or t is ast.Lambda:
            assert isinstance(node, (ast.FunctionDef, ast.Lambda))
            a = node.args
            for d in [*a.defaults, *[x for x in a.kw_defaults if x is not None]]:
                push((d, scope))
            if isinstance(node, ast.FunctionDef):
                inner = _Scope(_params(a) | assigned_names(node.body), scope)
                for st in reversed(node.body):
                    push((st, inner))
            else:
                push((node.body, _Scope(_params(a), scope)))
            continue
        if t in _COMPREHENSIONS:
            assert isinstance(node, (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp))
            names: set[str] = set()
            for g in node.generators:
                for n in ast.walk(g.target):
                    if isinstance(n, ast.Name):
                        names.add(n.id)
            inner = _Scope(names, scope)
            for i, g in enumerate(node.generators):
                push((g.iter, inner if i else scope))
                for c in g.ifs:
                    push((c, inner))
            if isinstance(node, ast.DictComp):
                push((node.key, inner))
                push((node.value, inner))
            else:
                push((node.elt, inner))
            continue
        if t is ast.Expr:
            assert isinstance(node, ast.Expr)
            v = node.value
            if isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "load":
                continue
        elif t is ast.Call:
            assert isinstance(node, ast.Call)
            _check_call(src, node, scope, shadowed, out)
        elif t is ast.Attribute:
            assert isinstance(node, ast.Attribute)
            mod = dotted_name(node.value)
            if mod in MODULE_MEMBERS and mod.split(".", 1)[0] not in globals_shadow:
                if scope is top or mod.split(".", 1)[0] not in scope.local_names():
                    members = MODULE_MEMBERS[mod]
                    if node.attr not in members:
                        p = node_end_range(src, node, len(node.attr))
                        out.append(Problem("TL201", missing_member_message(mod, node.attr, members), p))
        fields = child_fields[t]
        for fname in reversed(fields):
            v = getattr(node, fname, None)
            if v.__class__ is list:
                for x in reversed(v):
                    if isinstance(x, AST):
                        push((x, scope))
            elif isinstance(v, AST):
                push((v, scope))
    return out


_COMPREHENSIONS = (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)
# Node types check_names looks at itself (all others only have their children visited).
_NAMES_SPECIAL = frozenset({ast.FunctionDef, ast.Lambda, *_COMPREHENSIONS, ast.Expr, ast.Call, ast.Attribute})


def _module_members() -> dict[str, frozenset[str]]:
    """Members of Tilt's predeclared modules (os, os.path, config, shlex, sys, v1alpha1)."""
    out: dict[str, set[str]] = {}
    for fn in catalog.function_heads():
        if fn.module:
            out.setdefault(fn.module, set()).add(fn.name)
    for qual in catalog.values():
        if "." in qual:
            mod, name = qual.rsplit(".", 1)
            out.setdefault(mod, set()).add(name)
    for mod in list(out):
        if "." in mod:
            parent, name = mod.rsplit(".", 1)
            out.setdefault(parent, set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


MODULE_MEMBERS = _module_members()


def missing_member_message(module: str, attr: str, members: Iterable[str]) -> str:
    """Wording shared by the static check and the evaluator (so that one of them is kept)."""
    msg = f'module "{module}" has no .{attr} field or method'
    near = difflib.get_close_matches(attr, sorted(members), n=1, cutoff=0.6)
    if near:
        msg += f" (did you mean .{near[0]}?)"
    return msg


def node_end_range(src: SourceFile, node: ast.AST, length: int) -> Range:
    """The last `length` characters of a node (e.g. the attribute name of a.b)."""
    r = src.node_range(node)
    return Range.of(r.end.line, max(0, r.end.character - length), r.end.line, r.end.character)


def _check_call(
    src: SourceFile, call: ast.Call, scope: _Scope, shadowed: Callable[[str, _Scope], bool], out: list[Problem]
) -> None:
    qual = dotted_name(call.func)
    if qual is None:
        return
    fn = catalog.function(qual)
    if fn is None or qual in IGNORES_ALL_ARGS or shadowed(qual.split(".", 1)[0], scope):
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
