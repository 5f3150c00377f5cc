"""Starlark values as the evaluator represents them.

Plain data uses Python's own types (None, bool, int, float, str, list, dict,
tuple) because their semantics match Starlark's closely; what differs (string
iteration, repr quoting, comparison rules, method sets) is handled here.
Tilt-specific values (Blob, steps, structs, modules) are small classes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
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
        if self.kind == "sync":
            return f"sync({self.args.get('local')!r}, {self.args.get('remote')!r})"
        if self.kind == "run":
            return f"run({self.args.get('cmd')!r})"
        return f"{self.kind}()"


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


# --------------------------------------------------------------------- inspection


def type_name(v: Any) -> str:
    if v is None:
        return "NoneType"
    t = type(v)
    name = _TYPE_NAMES.get(t)
    if name is not None:
        return name
    if isinstance(v, (Struct, TiltObject, Step)):
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
    if isinstance(v, (int, float)):
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
    return starlark_repr(v)


def iterate(v: Any) -> Iterable[Any]:
    if isinstance(v, (list, tuple)):
        return list(v)
    if isinstance(v, dict):
        return list(v.keys())
    if isinstance(v, set):
        return list(v)
    if isinstance(v, RangeValue):
        return v.r
    raise EvalError(f"got {type_name(v)}, want iterable")


def length(v: Any) -> int:
    if isinstance(v, (str, list, tuple, dict, set, bytes)):
        return len(v)
    if isinstance(v, RangeValue):
        return len(v.r)
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
            if ta is tb and ta in (str, list, tuple):
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
            if ta in (str, list, tuple) and tb is int:
                return a * b
            if tb in (str, list, tuple) and ta is int:
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
        raise EvalError(f"unsupported comparison: {type_name(a)} {op} {type_name(b)}")
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
        raise EvalError(f"unsupported comparison: {type_name(a)} {op} {type_name(b)}") from None
    raise EvalError(f"unknown comparison {op}")


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, Blob) or isinstance(b, Blob):
        return a is b
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
    if isinstance(v, (list, tuple, str, RangeValue)):
        if not isinstance(key, int) or isinstance(key, bool):
            raise EvalError(f"{type_name(v)} index: got {type_name(key)}, want int")
        seq = v.r if isinstance(v, RangeValue) else v
        n = len(seq)
        i = key + n if key < 0 else key
        if i < 0 or i >= n:
            raise EvalError(f"index {key} out of range [{-n}:{n}]" if n else f"index {key} out of range: empty {type_name(v)}")
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
    if isinstance(v, (list, tuple, str)):
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
            raise EvalError("incomplete format")
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
                raise EvalError(f"key {_quote(key)} not in dict")
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
        elif conv in "oxXeEfFgG":
            if not _is_num(val):
                raise EvalError(f"%{conv} format requires number: {type_name(val)}")
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
                raise EvalError("format: unmatched '{' in format string")
            field_ = fmt[i + 1 : j]
            i = j + 1
            conv = "s"
            if "!" in field_:
                field_, conv = field_.split("!", 1)
            if ":" in field_:
                raise EvalError("format spec features not supported in replacement fields")
            if field_ == "":
                if mode == "manual":
                    raise EvalError("format: cannot switch from manual field specification to automatic field numbering")
                mode = "auto"
                if auto >= len(args):
                    raise EvalError(f"format: index {auto} out of range")
                val = args[auto]
                auto += 1
            elif field_.isdigit():
                if mode == "auto":
                    raise EvalError("format: cannot switch from automatic field numbering to manual field specification")
                mode = "manual"
                k = int(field_)
                if k >= len(args):
                    raise EvalError(f"format: index {k} out of range")
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


def _s_split(s: str, sep: Any = None, maxsplit: int = -1) -> list[str]:
    if sep is not None:
        _want_str("split", sep)
        if sep == "":
            raise EvalError("split: empty separator")
    return s.split(sep, maxsplit)


def _s_rsplit(s: str, sep: Any = None, maxsplit: int = -1) -> list[str]:
    if sep is not None and sep == "":
        raise EvalError("rsplit: empty separator")
    return s.rsplit(sep, maxsplit)


def _s_join(s: str, iterable: Any) -> str:
    parts = []
    for x in iterate(iterable):
        if not isinstance(x, str):
            raise EvalError(f"join: in list, want string, got {type_name(x)}")
        parts.append(x)
    return s.join(parts)


def _s_index(s: str, sub: str, *a: Any) -> int:
    r = s.find(sub, *a)
    if r < 0:
        raise EvalError("substring not found")
    return r


def _s_rindex(s: str, sub: str, *a: Any) -> int:
    r = s.rfind(sub, *a)
    if r < 0:
        raise EvalError("substring not found")
    return r


def _s_startswith(s: str, prefix: Any, *a: Any) -> bool:
    if isinstance(prefix, tuple):
        return s.startswith(tuple(_want_str("startswith", p) for p in prefix), *a)
    return s.startswith(_want_str("startswith", prefix), *a)


def _s_endswith(s: str, suffix: Any, *a: Any) -> bool:
    if isinstance(suffix, tuple):
        return s.endswith(tuple(_want_str("endswith", p) for p in suffix), *a)
    return s.endswith(_want_str("endswith", suffix), *a)


def _s_replace(s: str, old: str, new: str, count: int = -1) -> str:
    return s.replace(_want_str("replace", old), _want_str("replace", new), count)


def _s_splitlines(s: str, keepends: bool = False) -> list[str]:
    return s.splitlines(keepends)


def _s_format(s: str, *args: Any, **kwargs: Any) -> str:
    return format_braces(s, args, kwargs)


def _s_elems(s: str) -> list[str]:
    return list(s)


def _s_codepoint_ords(s: str) -> list[int]:
    return [ord(c) for c in s]


def _strip_arg(name: str, chars: Any) -> str | None:
    return None if chars is None else _want_str(name, chars)


STR_METHODS: dict[str, Method] = {
    "capitalize": lambda s: s[:1].upper() + s[1:].lower(),
    "count": lambda s, sub, *a: s.count(_want_str("count", sub), *a),
    "elems": _s_elems,
    "codepoints": _s_elems,
    "elem_ords": lambda s: list(s.encode("utf-8")),
    "codepoint_ords": _s_codepoint_ords,
    "endswith": _s_endswith,
    "find": lambda s, sub, *a: s.find(_want_str("find", sub), *a),
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
    "partition": lambda s, sep: s.partition(_want_str("partition", sep)),
    "removeprefix": lambda s, p: s.removeprefix(_want_str("removeprefix", p)),
    "removesuffix": lambda s, p: s.removesuffix(_want_str("removesuffix", p)),
    "replace": _s_replace,
    "rfind": lambda s, sub, *a: s.rfind(_want_str("rfind", sub), *a),
    "rindex": _s_rindex,
    "rpartition": lambda s, sep: s.rpartition(_want_str("rpartition", sep)),
    "rsplit": _s_rsplit,
    "rstrip": lambda s, chars=None: s.rstrip(_strip_arg("rstrip", chars)),
    "split": _s_split,
    "splitlines": _s_splitlines,
    "startswith": _s_startswith,
    "strip": lambda s, chars=None: s.strip(_strip_arg("strip", chars)),
    "title": lambda s: s.title(),
    "upper": lambda s: s.upper(),
}


def _l_append(lst: list[Any], x: Any) -> None:
    lst.append(x)


def _l_extend(lst: list[Any], it: Any) -> None:
    lst.extend(iterate(it))


def _l_index(lst: list[Any], x: Any, *a: Any) -> int:
    start = a[0] if a else 0
    end = a[1] if len(a) > 1 else len(lst)
    for i in range(start if start >= 0 else max(0, len(lst) + start), min(end, len(lst))):
        if equal(lst[i], x):
            return i
    raise EvalError(f"index: value {starlark_repr(x)} not in list")


def _l_insert(lst: list[Any], i: int, x: Any) -> None:
    lst.insert(i, x)


def _l_pop(lst: list[Any], *a: Any) -> Any:
    if not lst:
        raise EvalError("pop: list is empty")
    try:
        return lst.pop(*a)
    except IndexError:
        raise EvalError(f"pop: index {a[0]} out of range") from None


def _l_remove(lst: list[Any], x: Any) -> None:
    for i, y in enumerate(lst):
        if equal(x, y):
            del lst[i]
            return
    raise EvalError(f"remove: element {starlark_repr(x)} not found")


def _l_clear(c: Any) -> None:
    c.clear()


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
    check_hashable(k)
    if k in d:
        return d.pop(k)
    if default is _MISSING:
        raise EvalError(f"pop: missing key {starlark_repr(k)}")
    return default


def _d_popitem(d: dict[Any, Any]) -> tuple[Any, Any]:
    if not d:
        raise EvalError("popitem: empty dict")
    k = next(iter(d))
    return (k, d.pop(k))


def _d_setdefault(d: dict[Any, Any], k: Any, default: Any = None) -> Any:
    check_hashable(k)
    return d.setdefault(k, default)


def _d_update(d: dict[Any, Any], *args: Any, **kwargs: Any) -> None:
    if len(args) > 1:
        raise EvalError(f"update: got {len(args)} arguments, want at most 1")
    if args:
        src = args[0]
        if isinstance(src, dict):
            d.update(src)
        else:
            for pair in iterate(src):
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise EvalError("dictionary update sequence element has wrong length")
                check_hashable(pair[0])
                d[pair[0]] = pair[1]
    d.update(kwargs)


DICT_METHODS: dict[str, Method] = {
    "clear": _l_clear,
    "get": _d_get,
    "items": lambda d: [(k, v) for k, v in d.items()],
    "keys": lambda d: list(d.keys()),
    "values": lambda d: list(d.values()),
    "pop": _d_pop,
    "popitem": _d_popitem,
    "setdefault": _d_setdefault,
    "update": _d_update,
}


def _set_add(s: set[Any], x: Any) -> None:
    check_hashable(x)
    s.add(x)


def _set_remove(s: set[Any], x: Any) -> None:
    if x not in s:
        raise EvalError(f"remove: missing key {starlark_repr(x)}")
    s.remove(x)


def _set_pop(s: set[Any]) -> Any:
    if not s:
        raise EvalError("pop: empty set")
    return s.pop()


SET_METHODS: dict[str, Method] = {
    "add": _set_add,
    "clear": _l_clear,
    "difference": lambda s, *o: s.difference(*[set(iterate(x)) for x in o]),
    "discard": lambda s, x: s.discard(x),
    "intersection": lambda s, *o: s.intersection(*[set(iterate(x)) for x in o]),
    "issubset": lambda s, o: s.issubset(set(iterate(o))),
    "issuperset": lambda s, o: s.issuperset(set(iterate(o))),
    "pop": _set_pop,
    "remove": _set_remove,
    "symmetric_difference": lambda s, o: s.symmetric_difference(set(iterate(o))),
    "union": lambda s, *o: s.union(*[set(iterate(x)) for x in o]),
    "update": lambda s, *o: s.update(*[set(iterate(x)) for x in o]),
}


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
        return sorted(v.fields)
    if isinstance(v, Module):
        return sorted(v.members)
    return []


def get_attr(v: Any, name: str) -> Any:
    if v is Unknown:
        return Unknown
    m = methods_for(v)
    if m is not None:
        fn = m.get(name)
        if fn is None:
            raise EvalError(f"{type_name(v)} has no .{name} field or method")
        if isinstance(v, FrozenDict) and name in ("clear", "pop", "popitem", "setdefault", "update"):
            raise EvalError(f"cannot {name} frozen dict")
        return Builtin(name, fn, receiver=v)
    if isinstance(v, (Struct, TiltObject)):
        if name in v.fields:
            return v.fields[name]
        if isinstance(v, TiltObject) and "__methods__" in v.fields and name in v.fields["__methods__"]:
            return v.fields["__methods__"][name]
        raise EvalError(f"{v.type_name} has no .{name} field or method")
    if isinstance(v, Module):
        if name in v.members:
            return v.members[name]
        raise EvalError(f"module has no .{name} field or method")
    if isinstance(v, Blob):
        raise EvalError(f"blob has no .{name} field or method (convert it with str() first)")
    raise EvalError(f"{type_name(v)} has no .{name} field or method")


def as_iterator(v: Any) -> Iterator[Any]:
    return iter(iterate(v))
