"""A tree-walking Starlark evaluator in Tilt's dialect.

Dialect (go.starlark.net with Tilt's FileOptions): ``set``, ``while``,
recursion, top-level if/for/while and global re-binding are allowed; lambdas
and nested defs are allowed; ``load`` bindings are file-local.

Beyond a plain interpreter this one is built for analysis:
- every value creation site is known (exact ranges for diagnostics);
- a step and time budget turns endless loops into a diagnostic;
- a failing top-level statement is reported and evaluation goes on with the
  names it would have bound set to ``Unknown`` (see values.UnknownType), so
  one file yields all its independent problems instead of only the first.
"""

from __future__ import annotations

import ast
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import Location, Range, RelatedInfo
from .syntax import SourceFile
from .values import (
    KEYWORD_METHODS,
    MAX_ELEMS,
    Builtin,
    EvalError,
    Function,
    RangeValue,
    StringView,
    Unknown,
    binary,
    check_hashable,
    check_mutable,
    compare,
    get_attr,
    index,
    items_of,
    iterate,
    iterating,
    reset_mutability,
    slice_value,
    starlark_repr,
    truth,
    type_name,
)

MAX_CALL_DEPTH = 1000


class BudgetExceeded(EvalError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "TL303")


class EvaluationCancelled(Exception):
    """The caller's cancel event was set: the evaluation was abandoned and yields no model."""


class ExitRequested(Exception):
    """exit() was called: stop evaluating, without an error."""


@dataclass
class ErrorSite:
    location: Location
    stack: list[RelatedInfo]


def located(err: EvalError) -> ErrorSite | None:
    return getattr(err, "site", None)


@dataclass
class Frame:
    path: str
    globals: dict[str, Any]
    locals: dict[str, Any] | None = None
    local_names: frozenset[str] = frozenset()
    enclosing: Frame | None = None


class _Return:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


_BREAK = object()
_CONTINUE = object()

_BINOPS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
_CMPOPS: dict[type, str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}

# Builtin methods that mutate their receiver with the given values: they keep
# running when an argument is Unknown (the container then holds Unknown).
_MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "add"})
# Builtins that handle Unknown arguments themselves: k8s_yaml(<unknown>) records that
# the set of deployed objects is incomplete, which silences checks that would
# otherwise report workloads or images as missing.
_UNKNOWN_AWARE = frozenset({"k8s_yaml"})


def assigned_names(nodes: list[ast.stmt] | ast.AST) -> set[str]:
    """Names a statement (list) binds in its own scope (not in nested functions)."""
    out: set[str] = set()

    def targets(t: ast.AST) -> None:
        if isinstance(t, ast.Name):
            out.add(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                targets(e)
        elif isinstance(t, ast.Starred):
            targets(t.value)

    def walk(n: ast.AST) -> None:
        if isinstance(n, ast.FunctionDef):
            out.add(n.name)
            return
        if isinstance(n, (ast.Lambda, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            return
        if isinstance(n, ast.Assign):
            for t in n.targets:
                targets(t)
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            targets(n.target)
        elif isinstance(n, ast.For):
            targets(n.target)
        elif isinstance(n, ast.Expr) and _is_load(n.value):
            call = n.value
            assert isinstance(call, ast.Call)
            for a in call.args[1:]:
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    out.add(a.value)
            for kw in call.keywords:
                if kw.arg:
                    out.add(kw.arg)
        for c in ast.iter_child_nodes(n):
            if isinstance(c, ast.stmt) or isinstance(c, ast.excepthandler):
                walk(c)

    if isinstance(nodes, list):
        for s in nodes:
            walk(s)
    else:
        walk(nodes)
    return out


def _is_load(e: ast.AST) -> bool:
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id == "load"


class Interpreter:
    """Executes parsed Starlark modules.  One instance per Tiltfile evaluation."""

    def __init__(
        self,
        predeclared: dict[str, Any],
        *,
        max_steps: int = 20_000_000,
        time_budget_s: float = 2.0,
        on_error: Callable[[EvalError, ErrorSite], None] | None = None,
    ) -> None:
        reset_mutability()  # frozen values and iteration locks belong to one evaluation
        self.predeclared = predeclared
        self.max_steps = max_steps
        self.deadline = time.monotonic() + time_budget_s
        self.time_budget_s = time_budget_s
        self.cancel: threading.Event | None = None
        self.steps = 0
        self._next_check = 10_000
        self.on_error = on_error
        self.sources: dict[str, SourceFile] = {}
        self.stack: list[RelatedInfo] = []  # call sites of active calls (outermost first)
        self.cur_path = ""  # file of the code running now (for source locations)
        # File being executed at top level (the innermost load in progress).  Like
        # Tilt, relative paths and os.getcwd() resolve against this file's folder,
        # also inside a function defined in another file (tilt-dev/tilt#3700).
        self.exec_path = ""
        self.cur_call: tuple[str, ast.AST] | None = None
        self.loader: Callable[[ast.Call, Frame], None] | None = None
        self._fn_locals: dict[int, frozenset[str]] = {}
        self._module_names: dict[str, frozenset[str]] = {}  # top-level names of each file
        self._expr: dict[type, Callable[[Any, Frame], Any]] = {
            ast.Constant: self._constant,
            ast.Name: self._name,
            ast.Call: self._call,
            ast.Attribute: self._attribute,
            ast.BinOp: self._binop,
            ast.BoolOp: self._boolop,
            ast.UnaryOp: self._unaryop,
            ast.Compare: self._compare,
            ast.List: self._list,
            ast.Tuple: self._tuple,
            ast.Dict: self._dict,
            ast.Subscript: self._subscript,
            ast.IfExp: self._ifexp,
            ast.ListComp: self._listcomp,
            ast.DictComp: self._dictcomp,
            ast.Lambda: self._lambda,
        }
        self._stmt: dict[type, Callable[[Any, Frame], Any]] = {
            ast.Expr: self._s_expr,
            ast.Assign: self._s_assign,
            ast.AugAssign: self._s_augassign,
            ast.If: self._s_if,
            ast.For: self._s_for,
            ast.While: self._s_while,
            ast.FunctionDef: self._s_def,
            ast.Return: self._s_return,
            ast.Pass: self._s_pass,
            ast.Break: self._s_break,
            ast.Continue: self._s_continue,
        }

    # ----------------------------------------------------------------- helpers

    def loc(self, node: ast.AST, path: str | None = None) -> Location:
        p = path or self.cur_path
        src = self.sources.get(p)
        if src is None:
            return Location(p, Range.of(0, 0, 0, 0))
        return Location(p, src.node_range(node))

    def _tick(self) -> None:
        self._next_check = self.steps + 10_000
        if self.cancel is not None and self.cancel.is_set():
            raise EvaluationCancelled()
        if self.steps > self.max_steps:
            raise BudgetExceeded(
                f"evaluation stopped after {self.max_steps:,} steps: is there an endless loop?"
            )
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(
                f"evaluation stopped after {self.time_budget_s:g} s: is there an endless loop?"
            )

    def _attach(self, err: EvalError, node: ast.AST) -> None:
        if getattr(err, "site", None) is None:
            err.site = ErrorSite(self.loc(node), compress_stack(self.stack))  # type: ignore[attr-defined]

    # -------------------------------------------------------------- modules

    def exec_module(self, body: list[ast.stmt], frame: Frame, recover: bool = True) -> None:
        """Run top-level statements.  With recover, a failing statement is reported and skipped."""
        saved, saved_exec = self.cur_path, self.exec_path
        self.cur_path = self.exec_path = frame.path
        self._module_names[frame.path] = frozenset(assigned_names(body))
        try:
            for stmt in body:
                try:
                    if isinstance(stmt, ast.Expr) and _is_load(stmt.value):
                        assert isinstance(stmt.value, ast.Call)
                        if self.loader is not None:
                            try:
                                self.loader(stmt.value, frame)
                            except EvalError as e:
                                # Load errors point at the module string, like Starlark's.
                                self._attach(e, stmt.value.args[0] if stmt.value.args else stmt)
                                raise
                        continue
                    self.exec_stmt(stmt, frame)
                except BudgetExceeded as e:
                    self._attach(e, stmt)
                    raise
                except EvalError as e:
                    self._attach(e, stmt)
                    if not recover:
                        raise
                    self.report(e)
                    for name in assigned_names(stmt):
                        frame.globals[name] = Unknown
                except RecursionError:
                    err = EvalError("maximum recursion depth exceeded", "TL305")
                    self._attach(err, stmt)
                    if not recover:
                        raise err from None
                    self.report(err)
        finally:
            self.cur_path, self.exec_path = saved, saved_exec

    def report(self, err: EvalError) -> None:
        site = located(err)
        if site is not None and self.on_error is not None:
            self.on_error(err, site)

    # ------------------------------------------------------------- statements

    def exec_block(self, body: list[ast.stmt], frame: Frame) -> Any:
        for stmt in body:
            sig = self.exec_stmt(stmt, frame)
            if sig is not None:
                return sig
        return None

    def exec_stmt(self, stmt: ast.stmt, frame: Frame) -> Any:
        self.steps += 1
        if self.steps > self._next_check:
            self._tick()
        h = self._stmt.get(stmt.__class__)
        if h is None:
            # Python-only statements were reported by the dialect check; skip them.
            return None
        try:
            return h(stmt, frame)
        except EvalError as e:
            self._attach(e, stmt)
            raise

    def _s_expr(self, s: ast.Expr, frame: Frame) -> None:
        v = s.value
        if _is_load(v):
            # Only a top-level load() runs (exec_module handles it); one nested in a
            # function, loop or conditional is a compile-time error in Starlark
            # (reported by the dialect check): bind its names to Unknown.
            for name in assigned_names([s]):
                self.bind(name, Unknown, frame)
            return None
        self.eval(v, frame)
        return None

    def _s_pass(self, s: ast.Pass, frame: Frame) -> None:
        return None

    def _s_break(self, s: ast.Break, frame: Frame) -> Any:
        return _BREAK

    def _s_continue(self, s: ast.Continue, frame: Frame) -> Any:
        return _CONTINUE

    def _s_return(self, s: ast.Return, frame: Frame) -> Any:
        return _Return(None if s.value is None else self.eval(s.value, frame))

    def _s_assign(self, s: ast.Assign, frame: Frame) -> None:
        value = self.eval(s.value, frame)
        for t in s.targets:
            self.assign(t, value, frame)
        return None

    def _s_augassign(self, s: ast.AugAssign, frame: Frame) -> None:
        op = _BINOPS.get(s.op.__class__)
        if op is None:
            raise EvalError("unsupported augmented assignment")
        t = s.target
        if isinstance(t, ast.Name):
            cur = self.lookup(t.id, frame)
            rhs = self.eval(s.value, frame)
            if op == "+" and isinstance(cur, list):
                if rhs is Unknown:
                    self.bind(t.id, Unknown, frame)
                    return None
                self._list_iadd(cur, rhs)
                return None
            self.bind(t.id, binary(op, cur, rhs), frame)
        elif isinstance(t, ast.Subscript):
            if isinstance(t.slice, ast.Slice):
                raise EvalError("can't assign to slice expression")
            obj = self.eval(t.value, frame)
            key = self.eval(t.slice, frame)
            rhs = self.eval(s.value, frame)
            cur = index(obj, key)
            if op == "+" and isinstance(cur, list):
                if rhs is not Unknown:
                    self._list_iadd(cur, rhs)
                return None
            self._setitem(obj, key, binary(op, cur, rhs))
        else:
            raise EvalError("invalid augmented assignment target")
        return None

    @staticmethod
    def _list_iadd(cur: list[Any], rhs: Any) -> None:
        """``lst += iterable`` extends the list in place (Starlark accepts any iterable but a string)."""
        if isinstance(rhs, str) or not isinstance(rhs, (list, tuple, dict, set, RangeValue, StringView)):
            raise EvalError(f"unknown binary op: list + {type_name(rhs)}")
        check_mutable(cur, "apply += to")
        items = items_of(rhs, "+=")
        if len(cur) + len(items) > MAX_ELEMS:
            raise EvalError(f"+=: result of {len(cur) + len(items):,} elements is too large")
        cur.extend(items)

    def _s_if(self, s: ast.If, frame: Frame) -> Any:
        cond = self.eval(s.test, frame)
        if cond is Unknown:
            self._poison(s.body + s.orelse, frame)
            return None
        return self.exec_block(s.body if truth(cond) else s.orelse, frame)

    def _s_for(self, s: ast.For, frame: Frame) -> Any:
        it = self.eval(s.iter, frame)
        if it is Unknown:
            self._poison([s], frame)
            return None
        with iterating(it):
            for x in iterate(it):
                self.assign(s.target, x, frame)
                sig = self.exec_block(s.body, frame)
                if sig is _BREAK:
                    break
                if sig is _CONTINUE:
                    continue
                if sig is not None:
                    return sig
        return None

    def _s_while(self, s: ast.While, frame: Frame) -> Any:
        while True:
            cond = self.eval(s.test, frame)
            if cond is Unknown:
                self._poison(s.body, frame)
                return None
            if not truth(cond):
                return None
            sig = self.exec_block(s.body, frame)
            if sig is _BREAK:
                return None
            if sig is _CONTINUE:
                continue
            if sig is not None:
                return sig

    def _poison(self, body: list[ast.stmt], frame: Frame) -> None:
        for name in assigned_names(body):
            self.bind(name, Unknown, frame)

    def _s_def(self, s: ast.FunctionDef, frame: Frame) -> None:
        fn = self._make_function(s, s.name, frame)
        self.bind(s.name, fn, frame)
        return None

    def _make_function(self, node: ast.FunctionDef | ast.Lambda, name: str, frame: Frame) -> Function:
        a = node.args
        defaults = [self.eval(d, frame) for d in a.defaults]
        kw_defaults = [None if d is None else self.eval(d, frame) for d in a.kw_defaults]
        return Function(
            name=name,
            node=node,
            defaults=defaults,
            kw_defaults=kw_defaults,
            globals=frame.globals,
            enclosing=frame if frame.locals is not None else None,
            path=frame.path,
            location=self.loc(node, frame.path),
        )

    # -------------------------------------------------------------- binding

    def bind(self, name: str, value: Any, frame: Frame) -> None:
        if frame.locals is not None:
            frame.locals[name] = value
        else:
            frame.globals[name] = value

    def assign(self, target: ast.AST, value: Any, frame: Frame) -> None:
        if isinstance(target, ast.Name):
            self.bind(target.id, value, frame)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if value is Unknown:
                for e in target.elts:
                    self.assign(e, Unknown, frame)
                return
            if isinstance(value, str):
                raise EvalError("got string in sequence assignment")
            items = list(iterate(value))
            if len(items) != len(target.elts):
                if len(items) > len(target.elts):
                    raise EvalError(f"too many values to unpack (got {len(items)}, want {len(target.elts)})")
                raise EvalError(f"too few values to unpack (got {len(items)}, want {len(target.elts)})")
            for e, v in zip(target.elts, items, strict=True):
                self.assign(e, v, frame)
        elif isinstance(target, ast.Subscript):
            if isinstance(target.slice, ast.Slice):
                raise EvalError("can't assign to slice expression")
            obj = self.eval(target.value, frame)
            key = self.eval(target.slice, frame)
            self._setitem(obj, key, value)
        elif isinstance(target, ast.Attribute):
            obj = self.eval(target.value, frame)
            if obj is Unknown:
                return
            raise EvalError(f"can't assign to .{target.attr} field of {type_name(obj)}")
        else:
            raise EvalError("invalid assignment target")

    def _setitem(self, obj: Any, key: Any, value: Any) -> None:
        if obj is Unknown:
            return
        if isinstance(obj, dict):
            if key is Unknown:
                return
            check_hashable(key)
            check_mutable(obj, "insert into")
            obj[key] = value
        elif isinstance(obj, list):
            if key is Unknown:
                return
            if not isinstance(key, int) or isinstance(key, bool):
                raise EvalError(f"list index: got {type_name(key)}, want int")
            n = len(obj)
            i = key + n if key < 0 else key
            if not 0 <= i < n:
                raise EvalError(
                    f"list index {key} out of range [{-n}:{n - 1}]" if n else f"index {key} out of range: empty list"
                )
            check_mutable(obj, "assign to element of")
            obj[i] = value
        else:
            raise EvalError(f"{type_name(obj)} value does not support item assignment")

    def lookup(self, name: str, frame: Frame) -> Any:
        f: Frame | None = frame
        while f is not None and f.locals is not None:
            if name in f.local_names:
                try:
                    return f.locals[name]
                except KeyError:
                    if f is frame:
                        raise EvalError(f"local variable {name} referenced before assignment") from None
                    raise EvalError(f"local variable {name} referenced before assignment") from None
            f = f.enclosing
        g = frame.globals
        if name in g:
            return g[name]
        p = self.predeclared
        if name in p:
            return p[name]
        if name in self._module_names.get(frame.path, ()):
            raise EvalError(f"global variable {name} referenced before assignment")
        raise EvalError(f"undefined: {name}", "TL201")

    # ------------------------------------------------------------ expressions

    def eval(self, node: ast.expr, frame: Frame) -> Any:
        self.steps += 1
        if self.steps > self._next_check:
            self._tick()
        h = self._expr.get(node.__class__)
        if h is None:
            # Constructs Starlark lacks were reported by the dialect check.
            return Unknown
        try:
            return h(node, frame)
        except EvalError as e:
            self._attach(e, node)
            raise

    def _constant(self, n: ast.Constant, frame: Frame) -> Any:
        v = n.value
        if v is Ellipsis or isinstance(v, complex):
            return Unknown
        return v

    def _name(self, n: ast.Name, frame: Frame) -> Any:
        return self.lookup(n.id, frame)

    def _attribute(self, n: ast.Attribute, frame: Frame) -> Any:
        return get_attr(self.eval(n.value, frame), n.attr)

    def _binop(self, n: ast.BinOp, frame: Frame) -> Any:
        op = _BINOPS.get(n.op.__class__)
        left = self.eval(n.left, frame)
        right = self.eval(n.right, frame)
        if op is None:
            return Unknown
        return binary(op, left, right)

    def _boolop(self, n: ast.BoolOp, frame: Frame) -> Any:
        is_and = isinstance(n.op, ast.And)
        v: Any = None
        for e in n.values:
            v = self.eval(e, frame)
            if v is Unknown:
                return Unknown
            if truth(v) != is_and:
                return v
        return v

    def _unaryop(self, n: ast.UnaryOp, frame: Frame) -> Any:
        v = self.eval(n.operand, frame)
        if v is Unknown:
            return Unknown
        if isinstance(n.op, ast.Not):
            return not truth(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            if isinstance(n.op, ast.Invert) and isinstance(v, int) and not isinstance(v, bool):
                return ~v
            raise EvalError(f"unknown unary op: {_unary_sym(n.op)}{type_name(v)}")
        if isinstance(n.op, ast.USub):
            return -v
        if isinstance(n.op, ast.UAdd):
            return +v
        if isinstance(n.op, ast.Invert) and isinstance(v, int):
            return ~v
        raise EvalError(f"unknown unary op: {_unary_sym(n.op)}{type_name(v)}")

    def _compare(self, n: ast.Compare, frame: Frame) -> Any:
        left = self.eval(n.left, frame)
        result: Any = True
        for op, rnode in zip(n.ops, n.comparators, strict=True):
            right = self.eval(rnode, frame)
            sym = _CMPOPS.get(op.__class__)
            if sym is None:
                return Unknown
            result = compare(sym, left, right)
            if result is Unknown or not result:
                return result
            left = right
        return result

    def _list(self, n: ast.List, frame: Frame) -> Any:
        return [self.eval(e, frame) for e in n.elts]

    def _tuple(self, n: ast.Tuple, frame: Frame) -> Any:
        return tuple(self.eval(e, frame) for e in n.elts)

    def _dict(self, n: ast.Dict, frame: Frame) -> Any:
        out: dict[Any, Any] = {}
        for k, v in zip(n.keys, n.values, strict=True):
            if k is None:
                d = self.eval(v, frame)
                if isinstance(d, dict):
                    out.update(d)
                continue
            key = self.eval(k, frame)
            val = self.eval(v, frame)
            if key is Unknown:
                continue
            check_hashable(key)
            if key in out:
                raise EvalError(f"duplicate key: {starlark_repr(key)}")
            out[key] = val
        return out

    def _subscript(self, n: ast.Subscript, frame: Frame) -> Any:
        obj = self.eval(n.value, frame)
        sl = n.slice
        if isinstance(sl, ast.Slice):
            lo = None if sl.lower is None else self.eval(sl.lower, frame)
            hi = None if sl.upper is None else self.eval(sl.upper, frame)
            st = None if sl.step is None else self.eval(sl.step, frame)
            if Unknown in (lo, hi, st):
                return Unknown
            return slice_value(obj, lo, hi, st)
        return index(obj, self.eval(sl, frame))

    def _ifexp(self, n: ast.IfExp, frame: Frame) -> Any:
        c = self.eval(n.test, frame)
        if c is Unknown:
            return Unknown
        return self.eval(n.body if truth(c) else n.orelse, frame)

    def _comp_frame(self, gens: list[ast.comprehension], frame: Frame) -> Frame:
        names: set[str] = set()
        for g in gens:
            for t in ast.walk(g.target):
                if isinstance(t, ast.Name):
                    names.add(t.id)
        return Frame(frame.path, frame.globals, {}, frozenset(names), frame)

    def _run_comp(self, gens: list[ast.comprehension], frame: Frame, emit: Callable[[Frame], None]) -> bool:
        inner = self._comp_frame(gens, frame)

        def loop(i: int) -> bool:
            if i == len(gens):
                emit(inner)
                return True
            g = gens[i]
            src = self.eval(g.iter, inner if i > 0 else frame)
            if src is Unknown:
                return False
            with iterating(src):
                for x in iterate(src):
                    self.assign(g.target, x, inner)
                    ok = True
                    for cond in g.ifs:
                        c = self.eval(cond, inner)
                        if c is Unknown:
                            return False
                        if not truth(c):
                            ok = False
                            break
                    if ok and not loop(i + 1):
                        return False
            return True

        return loop(0)

    def _listcomp(self, n: ast.ListComp, frame: Frame) -> Any:
        out: list[Any] = []
        if not self._run_comp(n.generators, frame, lambda f: out.append(self.eval(n.elt, f))):
            return Unknown
        return out

    def _dictcomp(self, n: ast.DictComp, frame: Frame) -> Any:
        out: dict[Any, Any] = {}

        def emit(f: Frame) -> None:
            k = self.eval(n.key, f)
            v = self.eval(n.value, f)
            if k is Unknown:
                return
            check_hashable(k)
            out[k] = v

        if not self._run_comp(n.generators, frame, emit):
            return Unknown
        return out

    def _lambda(self, n: ast.Lambda, frame: Frame) -> Any:
        return self._make_function(n, "lambda", frame)

    # ------------------------------------------------------------------ calls

    def _call(self, n: ast.Call, frame: Frame) -> Any:
        fn = self.eval(n.func, frame)
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for a in n.args:
            if isinstance(a, ast.Starred):
                v = self.eval(a.value, frame)
                if v is Unknown:
                    return Unknown
                args.extend(iterate(v))
            else:
                args.append(self.eval(a, frame))
        for kw in n.keywords:
            if kw.arg is None:
                d = self.eval(kw.value, frame)
                if d is Unknown:
                    return Unknown
                if not isinstance(d, dict):
                    raise EvalError(f"argument after ** must be a mapping, not {type_name(d)}")
                for k, v in d.items():
                    if not isinstance(k, str):
                        raise EvalError("keywords must be strings")
                    if k in kwargs:
                        raise EvalError(f"{_fn_name(fn)}: got multiple values for keyword argument {k}", "TL205")
                    kwargs[k] = v
            else:
                if kw.arg in kwargs:
                    raise EvalError(
                        f"{_fn_name(fn)}: got multiple values for keyword argument {kw.arg}", "TL205"
                    )
                kwargs[kw.arg] = self.eval(kw.value, frame)
        saved = self.cur_call
        self.cur_call = (frame.path, n)
        try:
            return self.call(fn, args, kwargs, n, frame)
        except EvalError as e:
            if e.code in ("TL202", "TL205") and located(e) is None:
                # Point at the offending keyword rather than the whole call.
                for kw in n.keywords:
                    if kw.arg is not None and re.search(rf'\b"?{re.escape(kw.arg)}"?(?: \(|$)', e.message):
                        name = ast.Pass()  # just the keyword's name, as the static check reports it
                        name.lineno, name.col_offset = kw.lineno, kw.col_offset
                        name.end_lineno, name.end_col_offset = kw.lineno, kw.col_offset + len(kw.arg.encode())
                        self._attach(e, name)
                        break
            raise
        finally:
            self.cur_call = saved

    def call(self, fn: Any, args: list[Any], kwargs: dict[str, Any], node: ast.AST | None, frame: Frame) -> Any:
        if fn is Unknown:
            return Unknown
        if isinstance(fn, Builtin):
            if fn.receiver is not None and kwargs and fn.name not in KEYWORD_METHODS:
                raise EvalError(f"{fn.name}: unexpected keyword arguments")
            if fn.name not in _MUTATORS and fn.qualname not in _UNKNOWN_AWARE and _has_unknown(args, kwargs):
                return Unknown
            try:
                if fn.receiver is not None:
                    return fn.fn(fn.receiver, *args, **kwargs)
                return fn.fn(*args, **kwargs)
            except TypeError as e:
                raise EvalError(f"{fn.name}: {_clean_type_error(e, fn.receiver is not None)}", "TL302") from None
            except RecursionError:
                raise
            except (ValueError, OverflowError, KeyError, IndexError) as e:
                raise EvalError(f"{fn.name}: {e}") from None
        if isinstance(fn, Function):
            return self.call_function(fn, args, kwargs, node, frame)
        raise EvalError(f"invalid call of non-function ({type_name(fn)})")

    def call_function(
        self, fn: Function, args: list[Any], kwargs: dict[str, Any], node: ast.AST | None, frame: Frame | None
    ) -> Any:
        if len(self.stack) >= MAX_CALL_DEPTH:
            raise EvalError(
                f"call stack exceeds {MAX_CALL_DEPTH} calls (unbounded recursion in {fn.name}?)", "TL305"
            )
        locs = self._bind_params(fn, args, kwargs)
        local_names = self._fn_locals.get(id(fn.node))
        if local_names is None:
            local_names = self._compute_locals(fn.node)
            self._fn_locals[id(fn.node)] = local_names
        inner = Frame(fn.path, fn.globals, locs, local_names, fn.enclosing)
        call_loc = self.loc(node, frame.path) if (node is not None and frame is not None) else fn.location
        self.stack.append(RelatedInfo(call_loc, f"called {fn.name}() here"))
        saved_path = self.cur_path
        self.cur_path = fn.path
        try:
            if isinstance(fn.node, ast.Lambda):
                return self.eval(fn.node.body, inner)
            sig = self.exec_block(fn.node.body, inner)
            if isinstance(sig, _Return):
                return sig.value
            return None
        finally:
            self.cur_path = saved_path
            self.stack.pop()

    def _compute_locals(self, node: ast.FunctionDef | ast.Lambda) -> frozenset[str]:
        a = node.args
        names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs]}
        if a.vararg:
            names.add(a.vararg.arg)
        if a.kwarg:
            names.add(a.kwarg.arg)
        if isinstance(node, ast.FunctionDef):
            names |= assigned_names(node.body)
        return frozenset(names)

    def _bind_params(self, fn: Function, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        a = fn.node.args
        params = [x.arg for x in [*a.posonlyargs, *a.args]]
        out: dict[str, Any] = {}
        n_pos = len(params)
        if len(args) > n_pos and a.vararg is None:
            if n_pos == 0:
                msg = f"function {fn.name} accepts no arguments ({len(args)} given)"
            else:
                at_most = "at most " if fn.defaults else ""
                msg = (
                    f"function {fn.name} accepts {at_most}{n_pos} positional "
                    f"argument{'s' if n_pos != 1 else ''} ({len(args)} given)"
                )
            raise EvalError(msg, "TL204")
        for name, v in zip(params, args, strict=False):
            out[name] = v
        if a.vararg is not None:
            out[a.vararg.arg] = tuple(args[n_pos:])
        kwonly = [x.arg for x in a.kwonlyargs]
        extra: dict[str, Any] = {}
        for k, v in kwargs.items():
            if k in params or k in kwonly:
                if k in out:
                    raise EvalError(f'function {fn.name} got multiple values for parameter "{k}"', "TL205")
                out[k] = v
            elif a.kwarg is not None:
                extra[k] = v
            else:
                raise EvalError(
                    f'function {fn.name} got an unexpected keyword argument "{k}"{_did_you_mean(k, [*params, *kwonly])}',
                    "TL202",
                )
        n_def = len(fn.defaults)
        missing = []
        for i, name in enumerate(params):
            if name not in out:
                di = i - (n_pos - n_def)
                if di >= 0:
                    out[name] = fn.defaults[di]
                else:
                    missing.append(name)
        for i, name in enumerate(kwonly):
            if name not in out:
                d = fn.kw_defaults[i] if i < len(fn.kw_defaults) else None
                if d is None and a.kw_defaults[i] is None:
                    missing.append(name)
                else:
                    out[name] = d
        if missing:
            raise EvalError(
                f"function {fn.name} missing {len(missing)} argument{'s' if len(missing) > 1 else ''} "
                f"({', '.join(missing)})",
                "TL203",
            )
        if a.kwarg is not None:
            out[a.kwarg.arg] = extra
        return out

    # ------------------------------------------------------------- calling in

    def call_value(self, fn: Any, args: list[Any], kwargs: dict[str, Any] | None = None) -> Any:
        """Call a Starlark callable from Python (sorted(key=...), workload_to_resource_function ...)."""
        return self.call(fn, args, kwargs or {}, None, None)  # type: ignore[arg-type]


MAX_RELATED = 12


def compress_stack(stack: list[RelatedInfo]) -> list[RelatedInfo]:
    """A call chain short enough to show: deep recursion keeps its outer and inner ends."""
    if len(stack) <= MAX_RELATED:
        return list(stack)
    head, tail = stack[:4], stack[-(MAX_RELATED - 5) :]
    hidden = len(stack) - len(head) - len(tail)
    middle = stack[len(head)]
    return [*head, RelatedInfo(middle.location, f"... {hidden} more calls ..."), *tail]


def _has_unknown(args: list[Any], kwargs: dict[str, Any]) -> bool:
    for v in args:
        if v is Unknown or (isinstance(v, (list, tuple)) and any(x is Unknown for x in v)):
            return True
    for v in kwargs.values():
        if v is Unknown or (isinstance(v, (list, tuple)) and any(x is Unknown for x in v)):
            return True
    return False


def _did_you_mean(word: str, candidates: list[str]) -> str:
    import difflib

    m = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean {m[0]}?)" if m else ""


def _fn_name(fn: Any) -> str:
    return getattr(fn, "name", type_name(fn))


def _clean_type_error(e: TypeError, method: bool = False) -> str:
    """Turn Python's argument-binding TypeError into Starlark's wording."""
    msg = str(e)
    m = re.search(r"takes (?:from (\d+) to )?(\d+) positional arguments? but (\d+) (?:was|were) given", msg)
    if m:
        lo, hi, n = m.group(1), int(m.group(2)), int(m.group(3))
        if method:  # Python counts the receiver of a method; Starlark does not.
            hi, n = hi - 1, n - 1
        return f"got {n} arguments, want {'at most ' if lo is not None else ''}{hi}"
    m = re.search(r"missing \d+ required (?:positional|keyword-only) arguments?: '(\w+)'", msg)
    if m:
        return f"missing argument for {m.group(1)}"
    m = re.search(r"unexpected keyword argument '(\w+)'", msg)
    if m:
        return f'unexpected keyword argument "{m.group(1)}"'
    return msg


def _unary_sym(op: ast.unaryop) -> str:
    return {ast.USub: "- ", ast.UAdd: "+ ", ast.Invert: "~ ", ast.Not: "not "}.get(op.__class__, "? ")


def raise_recursion_limit() -> None:
    if sys.getrecursionlimit() < 20_000:
        sys.setrecursionlimit(20_000)


@dataclass
class Budget:
    max_steps: int = 20_000_000
    time_s: float = 2.0
    extra: dict[str, Any] = field(default_factory=dict)
