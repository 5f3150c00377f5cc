"""Starlark values as the evaluator represents them.

Plain data uses Python's own types (None, bool, int, float, str, list, dict,
tuple) because their semantics match Starlark's closely; what differs (string
iteration, repr quoting, comparison rules, method sets) is handled here.
Tilt-specific values (Blob, steps, structs, modules) are small classes.
"""

from __future__ import annotations

import decimal
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ast

    from .model import Location


class EvalError(Exception):
    """A Starlark run-time error (becomes a TL3xx diagnostic at the failing node)."""

    def __init__(self, message: str, code: str = "TL302") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UnknownType:
    """A value the analyzer cannot know (failed statement, unresolvable extension).

    Every operation on it yields Unknown again and reports nothing, so one real
    error does not cascade into dozens of follow-up errors.
    """

    _inst: UnknownType | None = None

    def __new__(cls) -> UnknownType:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "<unknown>"


Unknown = UnknownType()


@dataclass
class Blob:
    """Tilt's `blob`: text produced by local(), read_file(), helm() ... (no methods)."""

    text: str
    placeholder: bool = False  # produced without running anything (local/helm/kustomize)
    origin: str = ""  # what produced it, for hovers and diagnostics
    source_file: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass
class Struct:
    fields: dict[str, Any]
    type_name: str = "struct"

    def __repr__(self) -> str:
        inner = ", ".join(f"{k} = {starlark_repr(v)}" for k, v in self.fields.items())
        return f"{self.type_name}({inner})"


@dataclass
class Module:
    name: str
    members: dict[str, Any]

    def __repr__(self) -> str:
        return f'<module "{self.name}">'


@dataclass
class TiltObject:
    """Opaque value returned by a Tilt builtin (port_forward, probe, v1alpha1.* specs ...)."""

    type_name: str
    fields: dict[str, Any] = field(default_factory=dict)
    location: Location | None = None

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


@dataclass
class Step:
    """A live-update step value (sync/run/...): consumed by docker_build & friends."""

    kind: str  # initial_sync | fall_back_on | sync | run | restart_container
    args: dict[str, Any]
    location: Location
    base_dir: str
    used: bool = False

    @property
    def type_name(self) -> str:
        return f"live_update_{self.kind}_step"

    def __repr__(self) -> str:
        # The wording Tilt uses when it prints a step value (e.g. in "created but not used").
        a = self.args
        if self.kind == "sync":
            return f"sync step: '{a.get('local')}'->'{a.get('remote')}'"
        if self.kind == "run":
            argv = tuple(a.get("argv") or ())
            cmd = argv[2] if len(argv) == 3 and argv[:2] == ("sh", "-c") else " ".join(argv)
            text = f"run step: {_quote(cmd)}"
            if a.get("triggers"):
                text += f" (triggers: {'; '.join(a['triggers'])})"
            return text
        if self.kind == "fall_back_on":
            return f"fall_back_on step: [{' '.join(a.get('paths') or ())}]"
        return f"{self.kind} step"


@dataclass
class Function:
    """A function defined in Starlark (def or lambda)."""

    name: str
    node: ast.FunctionDef | ast.Lambda
    defaults: list[Any]
    kw_defaults: list[Any]
    globals: dict[str, Any]
    enclosing: Any  # enclosing Frame for nested functions, or None
    path: str
    location: Location

    def __repr__(self) -> str:
        return f"<function {self.name}>"


@dataclass
class Builtin:
    """A function implemented in Python (Starlark universe, Tilt API, or a bound method)."""

    name: str
    fn: Callable[..., Any]
    receiver: Any = None
    qualname: str = ""  # catalog key for Tilt builtins (e.g. "os.path.join")

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


class RangeValue:
    """Starlark's range: a lazy, indexable sequence of ints."""

    __slots__ = ("r",)

    def __init__(self, r: range) -> None:
        self.r = r

    def __repr__(self) -> str:
        r = self.r
        if r.step != 1:
            return f"range({r.start}, {r.stop}, {r.step})"
        return f"range({r.start}, {r.stop})" if r.start else f"range({r.stop})"


class FrozenDict(dict[Any, Any]):
    """Result of load_dynamic(): a read-only dict."""


class StringView:
    """What "s".elems(), .codepoints(), .elem_ords() and .codepoint_ords() return.

    Like Starlark's, these are iterable views, not lists: ``list(s.elems())``
    makes a list.  ``elems``/``elem_ords`` views also have len() and indexing.
    """

    __slots__ = ("s", "kind")

    def __init__(self, s: str, kind: str) -> None:
        self.s = s
        self.kind = kind  # elems | codepoints | elem_ords | codepoint_ords

    @property
    def type_name(self) -> str:
        return "string.elems" if self.kind in ("elems", "elem_ords") else "string.codepoints"

    @property
    def indexable(self) -> bool:
        return self.kind in ("elems", "elem_ords")

    def items(self) -> list[Any]:
        if self.kind == "elem_ords":
            return list(self.s.encode("utf-8"))
        if self.kind == "codepoint_ords":
            return [ord(c) for c in self.s]
        return list(self.s)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StringView) and other.s == self.s and other.kind == self.kind

    def __hash__(self) -> int:
        return hash((self.s, self.kind))

    def __repr__(self) -> str:
        return f"{_quote(self.s)}.{self.kind}()"


# ------------------------------------------------------------ mutability
#
# Starlark forbids mutating a list/dict/set while it is being iterated, and
# freezes the globals of a loaded module.  Our containers are plain Python
# objects, so both facts are kept in side tables keyed by id().  Evaluation of
# one Tiltfile runs on its own thread, which makes thread-local tables
# naturally per-evaluation.

_mut = threading.local()


def _iterating() -> dict[int, int]:
    d: dict[int, int] | None = getattr(_mut, "iterating", None)
    if d is None:
        d = {}
        _mut.iterating = d
    return d


def _frozen() -> dict[int, Any]:
    d: dict[int, Any] | None = getattr(_mut, "frozen", None)
    if d is None:
        d = {}
        _mut.frozen = d
    return d


def reset_mutability() -> None:
    """Forget all frozen values and iteration locks (start of an evaluation)."""
    _mut.iterating = {}
    _mut.frozen = {}


@contextmanager
def iterating(v: Any) -> Iterator[None]:
    """Mark container v as being iterated while the block runs."""
    if not isinstance(v, (list, dict, set)):
        yield
        return
    locks = _iterating()
    k = id(v)
    locks[k] = locks.get(k, 0) + 1
    try:
        yield
    finally:
        n = locks.get(k, 1) - 1
        if n:
            locks[k] = n
        else:
            locks.pop(k, None)


def is_frozen(v: Any) -> bool:
    return isinstance(v, FrozenDict) or id(v) in _frozen()


def check_mutable(v: Any, verb: str, fname: str = "") -> None:
    """Raise Starlark's error when v may not be changed now (frozen, or being iterated)."""
    prefix = f"{fname}: " if fname else ""
    what = "hash table" if isinstance(v, (dict, set)) else type_name(v)
    if is_frozen(v):
        raise EvalError(f"{prefix}cannot {verb} frozen {what}")
    if id(v) in _iterating():
        raise EvalError(f"{prefix}cannot {verb} {what} during iteration")


def freeze(v: Any) -> None:
    """Deep-freeze v (what happens to a loaded module's globals)."""
    seen: set[int] = set()
    todo = [v]
    frozen = _frozen()
    while todo:
        x = todo.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, dict):
            frozen[id(x)] = x  # keep it alive so the id stays unique
            todo.extend(x.keys())
            todo.extend(x.values())
        elif isinstance(x, (list, set)):
            frozen[id(x)] = x
            todo.extend(x)
        elif isinstance(x, tuple):
            todo.extend(x)
        elif isinstance(x, Struct):
            todo.extend(x.fields.values())
        elif isinstance(x, Function):
            todo.extend(x.defaults)
            todo.extend(x.kw_defaults)


# --------------------------------------------------------------------- inspection


def type_name(v: Any) -> str:
    if v is None:
        return "NoneType"
    t = type(v)
    name = _TYPE_NAMES.get(t)
    if name is not None:
        return name
    if isinstance(v, (Struct, TiltObject, Step, StringView)):
        return v.type_name
    if isinstance(v, Module):
        return "module"
    if isinstance(v, UnknownType):
        return "unknown"
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, list):
        return "list"
    return t.__name__


_TYPE_NAMES: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    bytes: "bytes",
    list: "list",
    dict: "dict",
    FrozenDict: "dict",
    tuple: "tuple",
    set: "set",
    Blob: "blob",
    Function: "function",
    Builtin: "builtin_function_or_method",
    RangeValue: "range",
}


def truth(v: Any) -> bool:
    if isinstance(v, RangeValue):
        return len(v.r) > 0
    if isinstance(v, Blob):
        return bool(v.text)
    if isinstance(v, (Struct, Module, TiltObject, Step, Function, Builtin)):
        return True
    return bool(v)


def _quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def starlark_repr(v: Any, _depth: int = 0) -> str:
    if _depth > 50:
        return "..."
    if isinstance(v, str):
        return _quote(v)
    if v is None:
        return "None"
    if v is True:
        return "True"
    if v is False:
        return "False"
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, bytes):
        return "b" + _quote(v.decode("utf-8", errors="replace"))
    if isinstance(v, int):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(starlark_repr(x, _depth + 1) for x in v) + "]"
    if isinstance(v, tuple):
        if len(v) == 1:
            return "(" + starlark_repr(v[0], _depth + 1) + ",)"
        return "(" + ", ".join(starlark_repr(x, _depth + 1) for x in v) + ")"
    if isinstance(v, dict):
        return (
            "{"
            + ", ".join(f"{starlark_repr(k, _depth + 1)}: {starlark_repr(x, _depth + 1)}" for k, x in v.items())
            + "}"
        )
    if isinstance(v, set):
        return "set([" + ", ".join(starlark_repr(x, _depth + 1) for x in v) + "])"
    if isinstance(v, Blob):
        return _quote(v.text)
    return repr(v)


def starlark_str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, Blob):
        return v.text
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return starlark_repr(v)


def _shortest_digits(v: float) -> tuple[str, int]:
    """(significant digits, decimal point position) of the shortest repr of abs(v) > 0."""
    t = decimal.Decimal(repr(abs(v))).as_tuple()
    assert isinstance(t.exponent, int)
    all_digits = "".join(map(str, t.digits)).lstrip("0")
    ds = all_digits.rstrip("0") or "0"
    # value = 0.<all_digits> * 10**dp
    dp = len(all_digits) + t.exponent
    return ds, dp


def format_g(v: float, upper: bool = False) -> str:
    """Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back as v,
    in exponent form when the decimal exponent is below -4 or at least 6."""
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign = "-" if v < 0 else ""
    ds, dp = _shortest_digits(v)
    exp = dp - 1
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{sign}{mant}{'E' if upper else 'e'}{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return f"{sign}{ds}{'0' * (dp - len(ds))}"
    return f"{sign}{ds[:dp]}.{ds[dp:]}"


def format_float(v: float) -> str:
    """str()/repr() of a Starlark float: like %g with shortest digits, always with a '.' or exponent."""
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    if math.isnan(v):
        return "nan"
    out = format_g(v)
    if not any(c in out for c in ".eE"):
        out += ".0"
    return out


def iterate(v: Any, fname: str = "") -> Iterable[Any]:
    """The elements of an iterable value (a snapshot).  Strings are not iterable in Starlark.

    With fname, the error names the builtin whose argument was wrong.
    """
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, dict):
        return list(v.keys())
    if isinstance(v, set):
        return list(v)
    if isinstance(v, RangeValue):
        return v.r
    if isinstance(v, StringView):
        return v.items()
    if fname:
        raise EvalError(f"{fname}: for parameter 1: got {type_name(v)}, want iterable")
    if isinstance(v, str):
        raise EvalError("string value is not iterable (use .elems() to iterate over its characters)")
    raise EvalError(f"{type_name(v)} value is not iterable")


# The largest list (elements) and string (characters) an evaluation may build: a
# guard against runaway growth such as `list(range(10**9))` or doubling in a loop.
MAX_ELEMS = 2_000_000
MAX_CHARS = 64_000_000


def size_limit(v: Any) -> int:
    return MAX_CHARS if isinstance(v, (str, bytes)) else MAX_ELEMS


def items_of(v: Any, fname: str) -> list[Any]:
    """The elements of an iterable as a new list (what list(), sorted() ... build)."""
    if isinstance(v, RangeValue) and len(v.r) > MAX_ELEMS:
        raise EvalError(f"{fname}: range of {len(v.r):,} elements is too large to build")
    return list(iterate(v, fname))


def length(v: Any) -> int:
    if isinstance(v, (str, list, tuple, dict, set, bytes)):
        return len(v)
    if isinstance(v, RangeValue):
        return len(v.r)
    if isinstance(v, StringView) and v.indexable:
        return len(v.items())
    if isinstance(v, Blob):
        raise EvalError("len: value of type blob has no len (convert it with str() first)")
    raise EvalError(f"len: value of type {type_name(v)} has no len")


def check_hashable(v: Any) -> None:
    if isinstance(v, (list, dict, set)):
        raise EvalError(f"unhashable type: {type_name(v)}")
    if isinstance(v, tuple):
        for x in v:
            check_hashable(x)


# --------------------------------------------------------------------- operators


_NUM = (int, float)


def _is_num(v: Any) -> bool:
    return isinstance(v, _NUM) and not isinstance(v, bool)


def binary(op: str, a: Any, b: Any) -> Any:
    if a is Unknown or b is Unknown:
        return Unknown
    ta, tb = type(a), type(b)
    try:
        if op == "+":
            if ta is tb and ta in (str, list, tuple, bytes):
                if len(a) + len(b) > size_limit(a):
                    raise EvalError(f"+: result of {len(a) + len(b):,} elements is too large")
                return a + b
            if _is_num(a) and _is_num(b):
                return a + b
        elif op == "-":
            if _is_num(a) and _is_num(b):
                return a - b
            if ta is set and tb is set:
                return a - b
        elif op == "*":
            if _is_num(a) and _is_num(b):
                return a * b
            if ta in (str, list, tuple, bytes) and tb is int:
                _check_repeat(len(a), b, size_limit(a))
                return a * b
            if tb in (str, list, tuple, bytes) and ta is int:
                _check_repeat(len(b), a, size_limit(b))
                return a * b
        elif op == "/":
            if _is_num(a) and _is_num(b):
                if b == 0:
                    raise EvalError("floating-point division by zero")
                return a / b
        elif op == "//":
            if _is_num(a) and _is_num(b):
                if b == 0:
                    raise EvalError("floored division by zero")
                return a // b
        elif op == "%":
            if ta is str:
                return format_percent(a, b)
            if _is_num(a) and _is_num(b):
                if b == 0:
                    raise EvalError("integer modulo by zero")
                return a % b
        elif op == "|":
            if ta is int and tb is int:
                return a | b
            if isinstance(a, dict) and isinstance(b, dict):
                return {**a, **b}
            if ta is set and tb is set:
                return a | b
        elif op == "&":
            if (ta is int and tb is int) or (ta is set and tb is set):
                return a & b
        elif op == "^":
            if (ta is int and tb is int) or (ta is set and tb is set):
                return a ^ b
        elif op == "<<":
            if ta is int and tb is int:
                if b < 0:
                    raise EvalError("negative shift count")
                if b > 512:
                    raise EvalError("shift count too large")
                return a << b
        elif op == ">>":
            if ta is int and tb is int:
                if b < 0:
                    raise EvalError("negative shift count")
                return a >> b
    except OverflowError as e:
        raise EvalError(f"arithmetic overflow: {e}") from None
    raise EvalError(f"unknown binary op: {type_name(a)} {op} {type_name(b)}")


def _check_repeat(n: int, times: int, limit: int) -> None:
    if n and times > 0 and n * times > limit:
        raise EvalError(f"repeat: result of {n * times:,} elements is too large")


def compare(op: str, a: Any, b: Any) -> Any:
    if a is Unknown or b is Unknown:
        return Unknown
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op == "in":
        return contains(b, a)
    if op == "not in":
        return not contains(b, a)
    if not (_is_num(a) and _is_num(b)) and type(a) is not type(b):
        raise EvalError(f"{type_name(a)} {op} {type_name(b)} not implemented")
    if type(a) not in (int, float, str, list, tuple, bool, bytes):
        raise EvalError(f"{type_name(a)} {op} {type_name(b)} not implemented")
    try:
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
    except TypeError:
        raise EvalError(f"{type_name(a)} {op} {type_name(b)} not implemented") from None
    raise EvalError(f"unknown comparison {op}")


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Blob) or isinstance(b, Blob):
        return a is b
    if isinstance(a, RangeValue) and isinstance(b, RangeValue):
        ra, rb = a.r, b.r
        if len(ra) != len(rb):
            return False
        return len(ra) == 0 or (ra[0] == rb[0] and (len(ra) == 1 or ra.step == rb.step))
    try:
        return bool(a == b)
    except Exception:
        return False


def contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise EvalError(f"'in <string>' requires string as left operand, not {type_name(item)}")
        return item in container
    if isinstance(container, (list, tuple)):
        return any(equal(item, x) for x in container)
    if isinstance(container, (dict, set)):
        check_hashable(item)
        return item in container
    if isinstance(container, RangeValue):
        return isinstance(item, int) and item in container.r
    raise EvalError(f"unknown binary op: {type_name(item)} in {type_name(container)}")


def index(v: Any, key: Any) -> Any:
    if v is Unknown or key is Unknown:
        return Unknown
    if isinstance(v, dict):
        check_hashable(key)
        try:
            return v[key]
        except KeyError:
            raise EvalError(f"key {starlark_repr(key)} not in dict") from None
    if isinstance(v, bytes):
        if not isinstance(key, int) or isinstance(key, bool):
            raise EvalError(f"bytes index: got {type_name(key)}, want int")
        n = len(v)
        i = key + n if key < 0 else key
        if not 0 <= i < n:
            raise EvalError(f"bytes index {key} out of range [{-n}:{n - 1}]" if n else f"index {key} out of range: empty bytes")
        return v[i : i + 1]
    if isinstance(v, (list, tuple, str, RangeValue)) or (isinstance(v, StringView) and v.indexable):
        if not isinstance(key, int) or isinstance(key, bool):
            raise EvalError(f"{type_name(v)} index: got {type_name(key)}, want int")
        seq: Any = v.r if isinstance(v, RangeValue) else v.items() if isinstance(v, StringView) else v
        n = len(seq)
        i = key + n if key < 0 else key
        if i < 0 or i >= n:
            raise EvalError(
                f"{type_name(v)} index {key} out of range [{-n}:{n - 1}]"
                if n
                else f"index {key} out of range: empty {type_name(v)}"
            )
        return seq[i]
    if isinstance(v, Blob):
        raise EvalError("unhandled index operation blob[...] (convert it with str() first)")
    raise EvalError(f"unhandled index operation {type_name(v)}[{type_name(key)}]")


def slice_value(v: Any, lo: Any, hi: Any, step: Any) -> Any:
    if v is Unknown:
        return Unknown
    for x in (lo, hi, step):
        if x is not None and (not isinstance(x, int) or isinstance(x, bool)):
            raise EvalError(f"invalid slice index: got {type_name(x)}, want int")
    if step == 0:
        raise EvalError("zero is not a valid slice step")
    if isinstance(v, (list, tuple, str, bytes)):
        return v[lo:hi:step]
    if isinstance(v, RangeValue):
        return RangeValue(v.r[lo:hi:step])
    raise EvalError(f"invalid slice operand {type_name(v)}")


# ------------------------------------------------------------- string formatting


def format_percent(fmt: str, arg: Any) -> str:
    args: tuple[Any, ...]
    mapping: Mapping[str, Any] | None = None
    if isinstance(arg, tuple):
        args = arg
    elif isinstance(arg, dict):
        args = (arg,)
        mapping = arg
    else:
        args = (arg,)
    out: list[str] = []
    i, n, ai = 0, len(fmt), 0
    while i < n:
        c = fmt[i]
        if c != "%":
            j = fmt.find("%", i)
            if j < 0:
                j = n
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        if i >= n:
            raise EvalError("not enough arguments for format string" if not args else "incomplete format")
        key = None
        if fmt[i] == "(":
            j = fmt.find(")", i)
            if j < 0:
                raise EvalError("incomplete format key")
            key = fmt[i + 1 : j]
            i = j + 1
            if i >= n:
                raise EvalError("incomplete format")
        conv = fmt[i]
        i += 1
        if conv == "%":
            out.append("%")
            continue
        if key is not None:
            if mapping is None:
                raise EvalError("format requires a mapping")
            if key not in mapping:
                raise EvalError(f"key not found: {key}")
            val = mapping[key]
        else:
            if ai >= len(args):
                raise EvalError("not enough arguments for format string")
            val = args[ai]
            ai += 1
        if val is Unknown:
            out.append("<unknown>")
        elif conv == "s":
            out.append(starlark_str(val))
        elif conv == "r":
            out.append(starlark_repr(val))
        elif conv in "di":
            if not _is_num(val):
                raise EvalError(f"%{conv} format requires integer: {type_name(val)}")
            out.append(str(int(val)))
        elif conv in "gG":
            if not _is_num(val):
                raise EvalError(f"%{conv} format requires number: {type_name(val)}")
            out.append(format_g(float(val), upper=conv == "G"))
        elif conv in "oxXeEf":
            if not _is_num(val):
                raise EvalError(f"%{conv} format requires number: {type_name(val)}")
            if conv in "oxX" and not isinstance(val, int):
                raise EvalError(f"%{conv} format requires integer: {type_name(val)}")
            out.append(("%" + conv) % val)
        elif conv == "c":
            out.append(chr(val) if isinstance(val, int) else starlark_str(val))
        else:
            raise EvalError(f"unknown conversion %{conv}")
    if mapping is None and ai < len(args):
        raise EvalError("too many arguments for format string")
    return "".join(out)


def format_braces(fmt: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    out: list[str] = []
    i, n = 0, len(fmt)
    auto = 0
    mode: str | None = None
    while i < n:
        c = fmt[i]
        if c == "{":
            if i + 1 < n and fmt[i + 1] == "{":
                out.append("{")
                i += 2
                continue
            j = fmt.find("}", i)
            if j < 0:
                raise EvalError("format: unmatched '{' in format")
            field_ = fmt[i + 1 : j]
            i = j + 1
            conv = "s"
            if "!" in field_:
                field_, conv = field_.split("!", 1)
            if ":" in field_:
                raise EvalError(f"format spec features not supported in replacement fields: {field_.split(':', 1)[1]}")
            if field_ == "":
                if mode == "manual":
                    raise EvalError("format: cannot switch from manual field specification to automatic field numbering")
                mode = "auto"
                if auto >= len(args):
                    raise EvalError("format: tuple index out of range")
                val = args[auto]
                auto += 1
            elif field_.isdigit():
                if mode == "auto":
                    raise EvalError("format: cannot switch from automatic field numbering to manual field specification")
                mode = "manual"
                k = int(field_)
                if k >= len(args):
                    raise EvalError("format: tuple index out of range")
                val = args[k]
            else:
                if field_ not in kwargs:
                    raise EvalError(f"format: keyword {field_} not found")
                val = kwargs[field_]
            out.append(starlark_repr(val) if conv == "r" else starlark_str(val))
        elif c == "}":
            if i + 1 < n and fmt[i + 1] == "}":
                out.append("}")
                i += 2
                continue
            raise EvalError("format: single '}' in format")
        else:
            j = n
            for ch in "{}":
                k = fmt.find(ch, i)
                if 0 <= k < j:
                    j = k
            out.append(fmt[i:j])
            i = j
    return "".join(out)


# ------------------------------------------------------------------- methods

Method = Callable[..., Any]


def _want_str(name: str, v: Any) -> str:
    if isinstance(v, str):
        return v
    raise EvalError(f"{name}: got {type_name(v)}, want string")


def _want_int(name: str, v: Any) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise EvalError(f"{name}: got {type_name(v)}, want int")


def _opt_int(name: str, v: Any) -> int | None:
    return None if v is None else _want_int(name, v)


def _range_args(name: str, a: tuple[Any, ...]) -> tuple[int | None, int | None]:
    if len(a) > 2:
        raise EvalError(f"{name}: got {len(a) + 1} arguments, want at most 3")
    start = _opt_int(name, a[0]) if a else None
    end = _opt_int(name, a[1]) if len(a) > 1 else None
    return start, end


def _s_split(s: str, sep: Any = None, maxsplit: Any = -1) -> list[str]:
    if sep is not None:
        _want_str("split", sep)
        if sep == "":
            raise EvalError("split: empty separator")
    return s.split(sep, _want_int("split", maxsplit))


def _s_rsplit(s: str, sep: Any = None, maxsplit: Any = -1) -> list[str]:
    if sep is not None:
        _want_str("rsplit", sep)
        if sep == "":
            raise EvalError("rsplit: empty separator")
    return s.rsplit(sep, _want_int("rsplit", maxsplit))


def _s_join(s: str, iterable: Any) -> str:
    parts = []
    total = 0
    for x in iterate(iterable, "join"):
        if not isinstance(x, str):
            raise EvalError(f"join: in list, want string, got {type_name(x)}")
        parts.append(x)
        total += len(x) + len(s)
        if total > MAX_CHARS:
            raise EvalError("join: result is too large")
    return s.join(parts)


def _s_find(s: str, sub: Any, *a: Any) -> int:
    return s.find(_want_str("find", sub), *_range_args("find", a))


def _s_rfind(s: str, sub: Any, *a: Any) -> int:
    return s.rfind(_want_str("rfind", sub), *_range_args("rfind", a))


def _s_index(s: str, sub: Any, *a: Any) -> int:
    r = s.find(_want_str("index", sub), *_range_args("index", a))
    if r < 0:
        raise EvalError("index: substring not found")
    return r


def _s_rindex(s: str, sub: Any, *a: Any) -> int:
    r = s.rfind(_want_str("rindex", sub), *_range_args("rindex", a))
    if r < 0:
        raise EvalError("rindex: substring not found")
    return r


def _s_count(s: str, sub: Any, *a: Any) -> int:
    return s.count(_want_str("count", sub), *_range_args("count", a))


def _affix(name: str, v: Any) -> str | tuple[str, ...]:
    if isinstance(v, str):
        return v
    if isinstance(v, tuple) and all(isinstance(x, str) for x in v):
        return v
    raise EvalError(f"{name}: got {type_name(v)}, want string or tuple of string")


def _s_startswith(s: str, prefix: Any, *a: Any) -> bool:
    return s.startswith(_affix("startswith", prefix), *_range_args("startswith", a))


def _s_endswith(s: str, suffix: Any, *a: Any) -> bool:
    return s.endswith(_affix("endswith", suffix), *_range_args("endswith", a))


def _s_replace(s: str, old: Any, new: Any, count: Any = -1) -> str:
    return s.replace(_want_str("replace", old), _want_str("replace", new), _want_int("replace", count))


def _s_splitlines(s: str, keepends: Any = False) -> list[str]:
    # Starlark splits at "\n" only (not at "\r", "\v", ... as Python does).
    if s == "":
        return []
    parts = s.split("\n")
    if parts[-1] == "":
        parts.pop()
        ends = ["\n"] * len(parts)
    else:
        ends = ["\n"] * (len(parts) - 1) + [""]
    if truth(keepends):
        return [p + e for p, e in zip(parts, ends, strict=True)]
    return parts


def _s_format(s: str, *args: Any, **kwargs: Any) -> str:
    return format_braces(s, args, kwargs)


def _s_partition(name: str, s: str, sep: Any, right: bool) -> tuple[str, str, str]:
    sep = _want_str(name, sep)
    if sep == "":
        raise EvalError(f"{name}: empty separator")
    return s.rpartition(sep) if right else s.partition(sep)


def _strip_arg(name: str, chars: Any) -> str | None:
    if chars is None:
        return None
    if not isinstance(chars, str):
        raise EvalError(f"{name}: for parameter 1: got {type_name(chars)}, want string")
    return chars


def _s_title(s: str) -> str:
    # Upper-case the first letter of each run of letters, lower-case the rest.
    out = []
    prev_letter = False
    for ch in s:
        if ch.isalpha():
            out.append(ch.lower() if prev_letter else ch.upper())
            prev_letter = True
        else:
            out.append(ch)
            prev_letter = False
    return "".join(out)


STR_METHODS: dict[str, Method] = {
    "capitalize": lambda s: s[:1].upper() + s[1:].lower(),
    "codepoint_ords": lambda s: StringView(s, "codepoint_ords"),
    "codepoints": lambda s: StringView(s, "codepoints"),
    "count": _s_count,
    "elem_ords": lambda s: StringView(s, "elem_ords"),
    "elems": lambda s: StringView(s, "elems"),
    "endswith": _s_endswith,
    "find": _s_find,
    "format": _s_format,
    "index": _s_index,
    "isalnum": lambda s: s.isalnum(),
    "isalpha": lambda s: s.isalpha(),
    "isdigit": lambda s: s.isdigit(),
    "islower": lambda s: s.islower(),
    "isspace": lambda s: s.isspace(),
    "istitle": lambda s: s.istitle(),
    "isupper": lambda s: s.isupper(),
    "join": _s_join,
    "lower": lambda s: s.lower(),
    "lstrip": lambda s, chars=None: s.lstrip(_strip_arg("lstrip", chars)),
    "partition": lambda s, sep: _s_partition("partition", s, sep, False),
    "removeprefix": lambda s, p: s.removeprefix(_want_str("removeprefix", p)),
    "removesuffix": lambda s, p: s.removesuffix(_want_str("removesuffix", p)),
    "replace": _s_replace,
    "rfind": _s_rfind,
    "rindex": _s_rindex,
    "rpartition": lambda s, sep: _s_partition("rpartition", s, sep, True),
    "rsplit": _s_rsplit,
    "rstrip": lambda s, chars=None: s.rstrip(_strip_arg("rstrip", chars)),
    "split": _s_split,
    "splitlines": _s_splitlines,
    "startswith": _s_startswith,
    "strip": lambda s, chars=None: s.strip(_strip_arg("strip", chars)),
    "title": _s_title,
    "upper": lambda s: s.upper(),
}


def _l_append(lst: list[Any], x: Any) -> None:
    check_mutable(lst, "append to", "append")
    lst.append(x)


def _l_extend(lst: list[Any], it: Any) -> None:
    check_mutable(lst, "extend", "extend")
    items = items_of(it, "extend")
    if len(lst) + len(items) > MAX_ELEMS:
        raise EvalError(f"extend: result of {len(lst) + len(items):,} elements is too large")
    lst.extend(items)


def _l_index(lst: list[Any], x: Any, *a: Any) -> int:
    start, end = _range_args("index", a)
    n = len(lst)
    lo, hi, _ = slice(start, end).indices(n)
    for i in range(lo, hi):
        if equal(lst[i], x):
            return i
    raise EvalError("index: value not in list")


def _l_insert(lst: list[Any], i: Any, x: Any) -> None:
    check_mutable(lst, "insert into", "insert")
    lst.insert(_want_int("insert", i), x)


def _l_pop(lst: list[Any], *a: Any) -> Any:
    check_mutable(lst, "pop from", "pop")
    if len(a) > 1:
        raise EvalError(f"pop: got {len(a)} arguments, want at most 1")
    n = len(lst)
    i = _want_int("pop", a[0]) if a else -1
    j = i + n if i < 0 else i
    if not 0 <= j < n:
        if n == 0:
            raise EvalError(f"pop: index {i} out of range: empty list")
        raise EvalError(f"pop: list index {i} out of range [{-n}:{n - 1}]")
    return lst.pop(j)


def _l_remove(lst: list[Any], x: Any) -> None:
    check_mutable(lst, "remove from", "remove")
    for i, y in enumerate(lst):
        if equal(x, y):
            del lst[i]
            return
    raise EvalError("remove: element not found")


def _l_clear(lst: list[Any]) -> None:
    check_mutable(lst, "clear", "clear")
    lst.clear()


LIST_METHODS: dict[str, Method] = {
    "append": _l_append,
    "clear": _l_clear,
    "extend": _l_extend,
    "index": _l_index,
    "insert": _l_insert,
    "pop": _l_pop,
    "remove": _l_remove,
}

_MISSING = object()


def _d_get(d: dict[Any, Any], k: Any, default: Any = None) -> Any:
    check_hashable(k)
    return d.get(k, default)


def _d_pop(d: dict[Any, Any], k: Any, default: Any = _MISSING) -> Any:
    check_mutable(d, "delete from", "pop")
    check_hashable(k)
    if k in d:
        return d.pop(k)
    if default is _MISSING:
        raise EvalError("pop: missing key")
    return default


def _d_popitem(d: dict[Any, Any]) -> tuple[Any, Any]:
    check_mutable(d, "delete from", "popitem")
    if not d:
        raise EvalError("popitem: empty dict")
    k = next(iter(d))
    return (k, d.pop(k))


def _d_setdefault(d: dict[Any, Any], k: Any, default: Any = None) -> Any:
    check_hashable(k)
    if k in d:
        return d[k]
    check_mutable(d, "insert into", "setdefault")
    d[k] = default
    return default


def _d_update(d: dict[Any, Any], *args: Any, **kwargs: Any) -> None:
    check_mutable(d, "insert into", "update")
    if len(args) > 1:
        raise EvalError(f"update: got {len(args)} arguments, want at most 1")
    if args:
        src = args[0]
        if isinstance(src, dict):
            d.update(src)
        else:
            for i, pair in enumerate(iterate(src, "update")):
                if not isinstance(pair, (list, tuple)):
                    raise EvalError(
                        f"update: dictionary update sequence element #{i} is not iterable ({type_name(pair)})"
                    )
                if len(pair) != 2:
                    raise EvalError(
                        f"update: dictionary update sequence element #{i} has length {len(pair)}, want 2"
                    )
                check_hashable(pair[0])
                d[pair[0]] = pair[1]
    d.update(kwargs)


def _d_clear(d: dict[Any, Any]) -> None:
    check_mutable(d, "clear", "clear")
    d.clear()


DICT_METHODS: dict[str, Method] = {
    "clear": _d_clear,
    "get": _d_get,
    "items": lambda d: [(k, v) for k, v in d.items()],
    "keys": lambda d: list(d.keys()),
    "values": lambda d: list(d.values()),
    "pop": _d_pop,
    "popitem": _d_popitem,
    "setdefault": _d_setdefault,
    "update": _d_update,
}


def _set_of(name: str, v: Any) -> set[Any]:
    items = list(iterate(v, name))
    for x in items:
        check_hashable(x)
    return set(items)


def _set_add(s: set[Any], x: Any) -> None:
    check_hashable(x)
    if x in s:
        return
    check_mutable(s, "insert into", "add")
    s.add(x)


def _set_remove(s: set[Any], x: Any) -> None:
    check_hashable(x)
    check_mutable(s, "delete from", "remove")
    if x not in s:
        raise EvalError("remove: missing key")
    s.remove(x)


def _set_discard(s: set[Any], x: Any) -> None:
    check_hashable(x)
    if x in s:
        check_mutable(s, "delete from", "discard")
        s.discard(x)


def _set_pop(s: set[Any]) -> Any:
    check_mutable(s, "delete from", "pop")
    if not s:
        raise EvalError("pop: empty set")
    x = next(iter(s))
    s.remove(x)
    return x


def _set_clear(s: set[Any]) -> None:
    check_mutable(s, "clear", "clear")
    s.clear()


def _set_update(s: set[Any], *others: Any) -> None:
    check_mutable(s, "insert into", "update")
    for o in others:
        s.update(_set_of("update", o))


# Tilt's go.starlark.net (May 2024) only has set.union; the other methods of
# today's Starlark spec are accepted too (they are harmless and are what
# users read in the spec).
SET_METHODS: dict[str, Method] = {
    "add": _set_add,
    "clear": _set_clear,
    "difference": lambda s, *o: s.difference(*[_set_of("difference", x) for x in o]),
    "discard": _set_discard,
    "intersection": lambda s, *o: s.intersection(*[_set_of("intersection", x) for x in o]),
    "issubset": lambda s, o: s.issubset(_set_of("issubset", o)),
    "issuperset": lambda s, o: s.issuperset(_set_of("issuperset", o)),
    "pop": _set_pop,
    "remove": _set_remove,
    "symmetric_difference": lambda s, o: s.symmetric_difference(_set_of("symmetric_difference", o)),
    "union": lambda s, *o: s.union(*[_set_of("union", x) for x in o]),
    "update": _set_update,
}

# Methods that accept keyword arguments; all others are positional-only in Starlark.
KEYWORD_METHODS = frozenset({"format", "update"})


def methods_for(v: Any) -> dict[str, Method] | None:
    if isinstance(v, str):
        return STR_METHODS
    if isinstance(v, list):
        return LIST_METHODS
    if isinstance(v, dict):
        return DICT_METHODS
    if isinstance(v, set):
        return SET_METHODS
    return None


def attribute_names(v: Any) -> list[str]:
    m = methods_for(v)
    if m is not None:
        return sorted(m)
    if isinstance(v, (Struct, TiltObject)):
        names = [k for k in v.fields if not k.startswith("__")]
        if isinstance(v, TiltObject) and isinstance(v.fields.get("__methods__"), dict):
            names += list(v.fields["__methods__"])
        return sorted(names)
    if isinstance(v, Module):
        return sorted(v.members)
    return []


def _no_attr(what: str, name: str, candidates: Iterable[str]) -> EvalError:
    import difflib

    msg = f"{what} has no .{name} field or method"
    near = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    if near:
        msg += f" (did you mean .{near[0]}?)"
    return EvalError(msg)


def get_attr(v: Any, name: str) -> Any:
    if v is Unknown:
        return Unknown
    m = methods_for(v)
    if m is not None:
        fn = m.get(name)
        if fn is None:
            raise _no_attr(type_name(v), name, m)
        return Builtin(name, fn, receiver=v)
    if isinstance(v, (Struct, TiltObject)):
        if name in v.fields and not name.startswith("__"):
            return v.fields[name]
        if isinstance(v, TiltObject) and "__methods__" in v.fields and name in v.fields["__methods__"]:
            return v.fields["__methods__"][name]
        raise _no_attr(v.type_name, name, attribute_names(v))
    if isinstance(v, Module):
        if name in v.members:
            return v.members[name]
        # Same code and words as the static check (resolve.py), which reports it first.
        msg = f'module "{v.name}" has no .{name} field or method'
        import difflib

        near = difflib.get_close_matches(name, sorted(v.members), n=1, cutoff=0.6)
        raise EvalError(msg + (f" (did you mean .{near[0]}?)" if near else ""), "TL201")
    if isinstance(v, Blob):
        if name in STR_METHODS:
            raise EvalError(f"blob has no .{name} field or method (convert it with str() first)")
        raise EvalError(f"blob has no .{name} field or method")
    raise EvalError(f"{type_name(v)} has no .{name} field or method")


def as_iterator(v: Any) -> Iterator[Any]:
    return iter(iterate(v))
