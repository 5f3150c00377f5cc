"""Binding call arguments to a Tilt builtin's parameters, the way Tilt's runtime does.

Keyword names come from the runtime view (Go's UnpackArgs), not from the
documentation stubs; the messages follow Tilt's wording so that users can
search for them.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from . import catalog
from .values import EvalError

MISSING: Any = object()


@dataclass(frozen=True)
class ParamSpec:
    names: tuple[str, ...]
    required: int  # how many leading names are required
    varargs: bool
    kwargs: bool
    none_unset: frozenset[str]


@lru_cache(maxsize=512)
def param_spec(qualname: str) -> ParamSpec | None:
    fn = catalog.function(qualname)
    if fn is None:
        return None
    varargs = any(p.kind == "varargs" for p in fn.params)
    kwargs = any(p.kind == "kwargs" for p in fn.params)
    if fn.runtime_params:
        names = []
        required = 0
        seen_optional = False
        none_unset = set()
        varargs = any(rp.name == "*args" for rp in fn.runtime_params)
        kwargs = any(rp.name == "**kwargs" for rp in fn.runtime_params)
        for rp in fn.runtime_params:
            if rp.name.startswith("*"):
                continue
            names.append(rp.name)
            if rp.optional:
                seen_optional = True
            if not seen_optional:
                required += 1
            if rp.none_means_unset:
                none_unset.add(rp.name)
        return ParamSpec(tuple(names), required, varargs, kwargs, frozenset(none_unset))
    names = []
    required = 0
    for p in fn.params:
        if p.kind in ("varargs", "kwargs"):
            continue
        names.append(p.name)
        if p.default is None and p.kind == "positional" and required == len(names) - 1:
            required += 1
    return ParamSpec(tuple(names), required, varargs, kwargs, frozenset())


def suggest(word: str, candidates: Sequence[str]) -> str | None:
    m = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return m[0] if m else None


# Builtins that Tilt calls with whatever it is given: extra arguments are ignored, not errors.
IGNORES_ALL_ARGS = frozenset({"k8s_context", "k8s_namespace"})
# Builtins that silently ignore keyword arguments.
IGNORES_KEYWORDS = frozenset({"os.path.join"})


def keyword_hint(qualname: str, keyword: str, taken: Sequence[str] = ()) -> str | None:
    """The run-time keyword the user probably meant by an unknown `keyword`.

    A close spelling among the parameters not yet given wins; otherwise, when
    `keyword` is the name Tilt's documentation stubs use for a parameter that the
    runtime knows by another name (read_file(file_path=) is really `paths`), that
    runtime name.
    """
    spec = param_spec(qualname)
    if spec is None:
        return None
    free = [n for n in spec.names if n not in taken]
    hint = suggest(keyword, free)
    if hint:
        return hint
    fn = catalog.function(qualname)
    if fn is None:
        return None
    stub = [p.name for p in fn.params if p.kind not in ("varargs", "kwargs")]
    if keyword in stub:
        idx = stub.index(keyword)
        if idx < len(spec.names) and spec.names[idx] != keyword:
            return spec.names[idx]
    return None


def bind(qualname: str, args: Sequence[Any], kwargs: dict[str, Any], max_positional: int | None = None) -> dict[str, Any]:
    """Return {param: value}; parameters that were not given are absent."""
    spec = param_spec(qualname)
    if spec is None:
        raise EvalError(f"{qualname}: unknown builtin")
    if qualname in IGNORES_KEYWORDS:
        kwargs = {}
    out: dict[str, Any] = {}
    limit = len(spec.names) if max_positional is None else max_positional
    if len(args) > limit and not spec.varargs:
        raise EvalError(f"{qualname}: got {len(args)} arguments, want at most {limit}", "TL204")
    for name, v in zip(spec.names, args, strict=False):
        out[name] = v
    if spec.varargs:
        out["*args"] = tuple(args[len(spec.names) :])
    extra: dict[str, Any] = {}
    for k, v in kwargs.items():
        if k in spec.names:
            if k in out:
                raise EvalError(f"{qualname}: got multiple values for parameter {k}", "TL205")
            out[k] = v
        elif spec.kwargs:
            extra[k] = v
        else:
            hint = keyword_hint(qualname, k, list(out))
            msg = f"{qualname}: unexpected keyword argument {k}"
            if hint:
                msg += f" (did you mean {hint}?)"
            raise EvalError(msg, "TL202")
    if spec.kwargs:
        out["**kwargs"] = extra
    for name in spec.names[: spec.required]:
        if name not in out:
            raise EvalError(f"{qualname}: missing argument for {name}", "TL203")
    for name in spec.none_unset:
        if name in out and out[name] is None:
            del out[name]
    return out
