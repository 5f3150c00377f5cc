"""Starlark's universe: the builtins every Starlark file sees (len, range, sorted ...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .values import (
    Blob,
    Builtin,
    EvalError,
    RangeValue,
    attribute_names,
    check_hashable,
    compare,
    get_attr,
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
        for x in a:
            if not isinstance(x, int) or isinstance(x, bool):
                raise EvalError(f"range: got {type_name(x)}, want int")
        if not 1 <= len(a) <= 3:
            raise EvalError(f"range: got {len(a)} arguments, want 1-3")
        if len(a) == 3 and a[2] == 0:
            raise EvalError("range: step argument must not be zero")
        return RangeValue(range(*a))

    def s_str(x: Any = "") -> str:
        return starlark_str(x)

    def s_repr(x: Any) -> str:
        return starlark_repr(x)

    def s_bool(x: Any = False) -> bool:
        return truth(x)

    def s_int(x: Any = 0, base: Any = None) -> int:
        if isinstance(x, bool):
            return int(x)
        if isinstance(x, int):
            return x
        if isinstance(x, float):
            if x != x or x in (float("inf"), float("-inf")):
                raise EvalError(f"int: cannot convert {x} to int")
            return int(x)
        if isinstance(x, str):
            s = x.strip().replace("_", "")
            try:
                if base is None:
                    return int(s, 10) if not s.lower().lstrip("+-").startswith(("0x", "0o", "0b")) else int(s, 0)
                return int(s, base)
            except ValueError:
                raise EvalError(f"int: invalid literal with base {base or 10}: {x}") from None
        raise EvalError(f"int: got {type_name(x)}, want int, float or string")

    def s_float(x: Any = 0.0) -> float:
        if isinstance(x, (int, float)):
            return float(x)
        if isinstance(x, str):
            try:
                return float(x)
            except ValueError:
                raise EvalError(f"float: invalid syntax: {x}") from None
        raise EvalError(f"float: got {type_name(x)}, want number or string")

    def s_list(x: Any = ()) -> list[Any]:
        if isinstance(x, str):
            raise EvalError("list: got string, want iterable")
        return list(iterate(x))

    def s_tuple(x: Any = ()) -> tuple[Any, ...]:
        if isinstance(x, str):
            raise EvalError("tuple: got string, want iterable")
        return tuple(iterate(x))

    def s_dict(*a: Any, **kw: Any) -> dict[Any, Any]:
        if len(a) > 1:
            raise EvalError(f"dict: got {len(a)} arguments, want at most 1")
        out: dict[Any, Any] = {}
        if a:
            src = a[0]
            if isinstance(src, dict):
                out.update(src)
            else:
                for pair in iterate(src):
                    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                        raise EvalError("dict: element is not a pair")
                    check_hashable(pair[0])
                    out[pair[0]] = pair[1]
        out.update(kw)
        return out

    def s_set(x: Any = ()) -> set[Any]:
        items = list(iterate(x))
        for i in items:
            check_hashable(i)
        return set(items)

    def s_sorted(x: Any, key: Any = None, reverse: Any = False) -> list[Any]:
        items = list(iterate(x))
        kf = _key_fn(key)
        keyed = [(kf(i) if kf else i, i) for i in items]
        import functools

        def cmp(a: tuple[Any, Any], b: tuple[Any, Any]) -> int:
            if compare("<", a[0], b[0]):
                return -1
            if compare("<", b[0], a[0]):
                return 1
            return 0

        keyed.sort(key=functools.cmp_to_key(cmp), reverse=truth(reverse))
        return [i for _, i in keyed]

    def s_reversed(x: Any) -> list[Any]:
        return list(reversed(list(iterate(x))))

    def s_enumerate(x: Any, start: int = 0) -> list[tuple[int, Any]]:
        return [(i + start, v) for i, v in enumerate(iterate(x))]

    def s_zip(*a: Any) -> list[tuple[Any, ...]]:
        return [tuple(t) for t in zip(*[list(iterate(x)) for x in a], strict=False)]

    def _minmax(which: str, a: tuple[Any, ...], key: Any) -> Any:
        items = list(iterate(a[0])) if len(a) == 1 else list(a)
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
        return any(truth(i) for i in iterate(x))

    def s_all(x: Any) -> bool:
        return all(truth(i) for i in iterate(x))

    def s_abs(x: Any) -> Any:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            return abs(x)
        raise EvalError(f"abs: got {type_name(x)}, want number")

    def s_chr(x: Any) -> str:
        if not isinstance(x, int):
            raise EvalError(f"chr: got {type_name(x)}, want int")
        return chr(x)

    def s_ord(x: Any) -> int:
        if not isinstance(x, str) or len(x) != 1:
            raise EvalError("ord: string must be a single character")
        return ord(x)

    def s_hash(x: Any) -> int:
        if not isinstance(x, str):
            raise EvalError(f"hash: got {type_name(x)}, want string")
        h = 0
        for ch in x:
            h = (31 * h + ord(ch)) & 0xFFFFFFFF
        return h - (1 << 32) if h >= (1 << 31) else h

    def s_type(x: Any) -> str:
        return type_name(x)

    def s_dir(x: Any) -> list[str]:
        return attribute_names(x)

    def s_getattr(x: Any, name: str, *default: Any) -> Any:
        try:
            return get_attr(x, name)
        except EvalError:
            if default:
                return default[0]
            raise

    def s_hasattr(x: Any, name: str) -> bool:
        return name in attribute_names(x)

    def s_bytes(x: Any) -> bytes:
        if isinstance(x, bytes):
            return x
        if isinstance(x, (str, Blob)):
            return starlark_str(x).encode("utf-8")
        return bytes(x)

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
