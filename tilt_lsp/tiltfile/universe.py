"""Starlark's universe: the builtins every Starlark file sees (len, range, sorted ...)."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .values import (
    Blob,
    Builtin,
    EvalError,
    RangeValue,
    StringView,
    attribute_names,
    check_hashable,
    compare,
    get_attr,
    items_of,
    iterate,
    length,
    starlark_repr,
    starlark_str,
    truth,
    type_name,
)

if TYPE_CHECKING:
    from .interp import Interpreter


def make_universe(interp: Interpreter) -> dict[str, Any]:
    def call(fn: Any, *a: Any) -> Any:
        return interp.call_value(fn, list(a))

    def _key_fn(key: Any) -> Callable[[Any], Any] | None:
        if key is None:
            return None
        return lambda x: call(key, x)

    def s_len(x: Any) -> int:
        return length(x)

    def s_range(*a: Any) -> RangeValue:
        if not a:
            raise EvalError("range: got 0 arguments, want at least 1")
        if len(a) > 3:
            raise EvalError(f"range: got {len(a)} arguments, want at most 3")
        for i, x in enumerate(a):
            if not isinstance(x, int) or isinstance(x, bool):
                raise EvalError(f"range: for parameter {i + 1}: got {type_name(x)}, want int")
        if len(a) == 3 and a[2] == 0:
            raise EvalError("range: step argument must not be zero")
        return RangeValue(range(*a))

    def s_str(x: Any) -> str:
        return starlark_str(x)

    def s_repr(x: Any) -> str:
        return starlark_repr(x)

    def s_bool(x: Any = False) -> bool:
        return truth(x)

    def s_int(x: Any, base: Any = None) -> int:
        if isinstance(x, str):
            return _parse_int(x, base)
        if base is not None:
            raise EvalError("int: can't convert non-string with explicit base")
        if isinstance(x, bool):
            return int(x)
        if isinstance(x, int):
            return x
        if isinstance(x, float):
            if math.isnan(x) or math.isinf(x):
                raise EvalError(f"int: cannot convert {starlark_repr(x)} to int")
            return int(x)
        raise EvalError(f"int: got {type_name(x)}, want int, float or string")

    def s_float(x: Any = 0.0) -> float:
        if isinstance(x, (int, float)):
            try:
                return float(x)
            except OverflowError:
                raise EvalError("float: int too large to convert to float") from None
        if isinstance(x, str):
            return _parse_float(x)
        raise EvalError(f"float: got {type_name(x)}, want number or string")

    def s_list(x: Any = ()) -> list[Any]:
        return items_of(x, "list")

    def s_tuple(x: Any = ()) -> tuple[Any, ...]:
        return tuple(items_of(x, "tuple"))

    def s_dict(*a: Any, **kw: Any) -> dict[Any, Any]:
        if len(a) > 1:
            raise EvalError(f"dict: got {len(a)} arguments, want at most 1")
        out: dict[Any, Any] = {}
        if a:
            src = a[0]
            if isinstance(src, dict):
                out.update(src)
            else:
                if not isinstance(src, (list, tuple, set, RangeValue)):
                    raise EvalError(f"dict: got {type_name(src)}, want iterable")
                for i, pair in enumerate(items_of(src, "dict")):
                    if not isinstance(pair, (list, tuple)):
                        raise EvalError(
                            f"dict: dictionary update sequence element #{i} is not iterable ({type_name(pair)})"
                        )
                    if len(pair) != 2:
                        raise EvalError(
                            f"dict: dictionary update sequence element #{i} has length {len(pair)}, want 2"
                        )
                    check_hashable(pair[0])
                    out[pair[0]] = pair[1]
        out.update(kw)
        return out

    def s_set(x: Any = ()) -> set[Any]:
        items = items_of(x, "set")
        for i in items:
            check_hashable(i)
        return set(items)

    def s_sorted(iterable: Any, key: Any = None, reverse: Any = False) -> list[Any]:
        items = items_of(iterable, "sorted")
        kf = _key_fn(key)
        keyed = [(kf(i) if kf else i, i) for i in items]

        def cmp(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
            if compare("<", a[0], b[0]):
                return -1
            if compare("<", b[0], a[0]):
                return 1
            return 0

        keyed.sort(key=functools.cmp_to_key(cmp), reverse=truth(reverse))
        return [i for _, i in keyed]

    def s_reversed(x: Any) -> list[Any]:
        return list(reversed(items_of(x, "reversed")))

    def s_enumerate(x: Any, start: Any = 0) -> list[tuple[int, Any]]:
        if not isinstance(start, int) or isinstance(start, bool):
            raise EvalError(f"enumerate: for parameter 2: got {type_name(start)}, want int")
        return [(i + start, v) for i, v in enumerate(items_of(x, "enumerate"))]

    def s_zip(*a: Any) -> list[tuple[Any, ...]]:
        cols = []
        for i, x in enumerate(a):
            if isinstance(x, str) or not isinstance(x, (list, tuple, dict, set, RangeValue, StringView)):
                raise EvalError(f"zip: argument #{i + 1} is not iterable: {type_name(x)}")
            cols.append(items_of(x, "zip"))
        return [tuple(t) for t in zip(*cols, strict=False)]

    def _minmax(which: str, a: tuple[Any, ...], key: Any) -> Any:
        if not a:
            raise EvalError(f"{which} requires at least one positional argument")
        if len(a) == 1:
            if isinstance(a[0], str) or not isinstance(a[0], (list, tuple, dict, set, RangeValue, StringView)):
                raise EvalError(f"{which}: {type_name(a[0])} value is not iterable")
            items = items_of(a[0], which)
        else:
            items = list(a)
        if not items:
            raise EvalError(f"{which}: argument is an empty sequence")
        kf = _key_fn(key)
        best = items[0]
        bk = kf(best) if kf else best
        for it in items[1:]:
            k = kf(it) if kf else it
            if compare("<" if which == "min" else ">", k, bk):
                best, bk = it, k
        return best

    def s_min(*a: Any, key: Any = None) -> Any:
        return _minmax("min", a, key)

    def s_max(*a: Any, key: Any = None) -> Any:
        return _minmax("max", a, key)

    def s_any(x: Any) -> bool:
        return any(truth(i) for i in iterate(x, "any"))

    def s_all(x: Any) -> bool:
        return all(truth(i) for i in iterate(x, "all"))

    def s_abs(x: Any) -> Any:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return abs(x)
        raise EvalError(f"abs: got {type_name(x)}, want int or float")

    def s_chr(x: Any) -> str:
        if not isinstance(x, int) or isinstance(x, bool):
            raise EvalError(f"chr: got {type_name(x)}, want int")
        if x < 0:
            raise EvalError(f"chr: Unicode code point {x} out of range (<0)")
        if x > 0x10FFFF:
            raise EvalError(f"chr: Unicode code point {x} out of range (>0x10FFFF)")
        return chr(x)

    def s_ord(x: Any) -> int:
        if not isinstance(x, str):
            raise EvalError(f"ord: got {type_name(x)}, want string")
        if len(x) != 1:
            raise EvalError(f"ord: string encodes {len(x)} Unicode code points, want 1")
        return ord(x)

    def s_hash(x: Any) -> int:
        if isinstance(x, bytes):
            x = x.decode("utf-8", errors="replace")
        if not isinstance(x, str):
            raise EvalError(f"hash: got {type_name(x)}, want string or bytes")
        # Starlark's string hash (the same as Java's String.hashCode), as a signed 32-bit int.
        h = 0
        for ch in x:
            h = (31 * h + ord(ch)) & 0xFFFFFFFF
        return h - (1 << 32) if h >= (1 << 31) else h

    def s_type(x: Any) -> str:
        return type_name(x)

    def s_dir(x: Any) -> list[str]:
        return attribute_names(x)

    def s_getattr(x: Any, name: Any, *default: Any) -> Any:
        if not isinstance(name, str):
            raise EvalError(f"getattr: for parameter name: got {type_name(name)}, want string")
        if len(default) > 1:
            raise EvalError(f"getattr: got {2 + len(default)} arguments, want at most 3")
        try:
            return get_attr(x, name)
        except EvalError as e:
            if default:
                return default[0]
            raise EvalError(f"getattr: {e.message}") from None

    def s_hasattr(x: Any, name: Any) -> bool:
        if not isinstance(name, str):
            raise EvalError(f"hasattr: for parameter name: got {type_name(name)}, want string")
        return name in attribute_names(x)

    def s_bytes(x: Any) -> bytes:
        if isinstance(x, bytes):
            return x
        if isinstance(x, (str, Blob)):
            return starlark_str(x).encode("utf-8")
        if isinstance(x, (list, tuple)):
            for b in x:
                if not isinstance(b, int) or isinstance(b, bool) or not 0 <= b <= 255:
                    raise EvalError(f"bytes: at index {list(x).index(b)}, {starlark_repr(b)} out of range (want value in unsigned 8-bit range)")
            return bytes(x)
        raise EvalError(f"bytes: got {type_name(x)}, want string, bytes, or iterable of ints")

    funcs: dict[str, Callable[..., Any]] = {
        "abs": s_abs,
        "all": s_all,
        "any": s_any,
        "bool": s_bool,
        "bytes": s_bytes,
        "chr": s_chr,
        "dict": s_dict,
        "dir": s_dir,
        "enumerate": s_enumerate,
        "float": s_float,
        "getattr": s_getattr,
        "hasattr": s_hasattr,
        "hash": s_hash,
        "int": s_int,
        "len": s_len,
        "list": s_list,
        "max": s_max,
        "min": s_min,
        "ord": s_ord,
        "range": s_range,
        "repr": s_repr,
        "reversed": s_reversed,
        "set": s_set,
        "sorted": s_sorted,
        "str": s_str,
        "tuple": s_tuple,
        "type": s_type,
        "zip": s_zip,
    }
    env: dict[str, Any] = {name: Builtin(name, fn, qualname=name) for name, fn in funcs.items()}
    env["None"] = None
    env["True"] = True
    env["False"] = False
    return env


UNIVERSE_NAMES = (
    "abs all any bool bytes chr dict dir enumerate fail float getattr hasattr hash int len list max min "
    "ord print range repr reversed set sorted str tuple type zip None True False"
).split()


_INT_PREFIX = {"0x": 16, "0o": 8, "0b": 2}
_DIGITS = re.compile(r"[0-9a-zA-Z]+")


def _parse_int(text: str, base: Any) -> int:
    """int(string, base) as Starlark does it: no spaces, no underscores, optional 0x/0o/0b prefix."""
    if base is None:
        b = 10
    elif not isinstance(base, int) or isinstance(base, bool):
        raise EvalError(f"int: for parameter base: got {type_name(base)}, want int")
    else:
        b = base
        if b != 0 and not 2 <= b <= 36:
            raise EvalError("int: base must be an integer >= 2 && <= 36")
    bad = EvalError(f"int: invalid literal with base {b}: {text}")
    s = text
    neg = False
    if s[:1] in ("+", "-"):
        neg = s[0] == "-"
        s = s[1:]
    eff = b
    prefix_base = _INT_PREFIX.get(s[:2].lower())
    if prefix_base is not None and b in (0, prefix_base):
        eff = prefix_base
        s = s[2:]
    elif b == 0:
        if len(s) > 1 and s[0] == "0":
            raise bad  # a leading zero needs a prefix (0o...) with base 0
        eff = 10
    if not s or not _DIGITS.fullmatch(s):
        raise bad
    try:
        v = int(s, eff)
    except ValueError:
        raise bad from None
    return -v if neg else v


_FLOAT = re.compile(r"[+-]?(?:(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE)


def _parse_float(text: str) -> float:
    if not _FLOAT.fullmatch(text):
        raise EvalError(f"float: invalid float literal: {text}")
    v = float(text)
    if math.isinf(v) and "inf" not in text.lower():
        raise EvalError("float: floating-point number too large")
    return v
