"""A fast path for the plain YAML most Kubernetes manifests are written in.

PyYAML (even with libyaml) costs ~20 ms to import and ~0.15 ms per small manifest; a large
Tiltfile deploys hundreds of them.  :func:`load_simple` reads the common subset directly:
block mappings and sequences (including ``- key: value`` items and sequences written at
their parent key's indentation), plain scalars that are clearly strings, decimal integers,
``true``/``false``-style booleans, nulls, simple quoted strings without escapes, and the
empty ``[]``/``{}``.  Anything else (anchors, tags, flow collections, block scalars,
multi-line scalars, comments after values, floats, non-ASCII text ...) makes it return
None, and the caller uses PyYAML.  When it returns documents they are exactly what
``yaml.safe_load_all`` would give (this is tested against PyYAML on generated inputs).
"""

from __future__ import annotations

import re
from typing import Any

# YAML 1.1 words that PyYAML's SafeLoader resolves to booleans and null.
_BOOLS = {
    "yes": True, "Yes": True, "YES": True, "true": True, "True": True, "TRUE": True, "on": True, "On": True,
    "ON": True, "no": False, "No": False, "NO": False, "false": False, "False": False, "FALSE": False,
    "off": False, "Off": False, "OFF": False,
}  # fmt: skip
_NULLS = frozenset({"null", "Null", "NULL", "~"})

# A plain scalar that can only be a string: starts with a letter, '_' or '/', made of
# characters that mean nothing special in block context, single spaces between words.
_PLAIN_STR = re.compile(r"[A-Za-z_/][A-Za-z0-9_./:@=+,-]*(?: [A-Za-z0-9_./:@=+,-]+)*")
_KEY = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
_INT = re.compile(r"0|[1-9][0-9]*")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\\\n]*\"")


class _NotSimple(Exception):
    pass


def load_simple(text: str) -> list[Any] | None:
    """The documents of ``text`` (without empty ones), or None when it is not in the subset."""
    if not text.isascii() or "\t" in text or "\r" in text:
        return None
    try:
        docs: list[Any] = []
        lines: list[tuple[int, str]] = []
        for raw in text.split("\n"):
            content = raw.strip()
            if not content or content[0] == "#":
                continue
            if raw[0] in "-." and (raw.startswith("---") or raw.startswith("...")):
                if raw.rstrip() != "---":
                    return None  # `--- value`, `...`, `----`: leave them to PyYAML
                _flush(lines, docs)
                lines = []
                continue
            if raw[0] == "%":
                return None  # directives
            lines.append((len(raw) - len(raw.lstrip(" ")), content))
        _flush(lines, docs)
        return docs
    except _NotSimple:
        return None


def _flush(lines: list[tuple[int, str]], docs: list[Any]) -> None:
    if not lines:
        return
    if lines[0][0] != 0:
        raise _NotSimple
    value, i = _block(lines, 0, 0)
    if i != len(lines):
        raise _NotSimple
    if value is not None:
        docs.append(value)


def _is_item(content: str) -> bool:
    return content == "-" or content.startswith("- ")


def _block(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[Any, int]:
    if _is_item(lines[i][1]):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _mapping(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[dict[Any, Any], int]:
    out: dict[Any, Any] = {}
    n = len(lines)
    while i < n:
        ind, content = lines[i]
        if ind < indent:
            break
        if ind > indent or _is_item(content):
            raise _NotSimple
        key, rest = _split_key(content)
        i += 1
        if rest:
            out[key] = _scalar(rest)
            continue
        if i < n:
            nind, ncontent = lines[i]
            if nind > indent or (nind == indent and _is_item(ncontent)):
                out[key], i = _block(lines, i, nind)
                continue
        out[key] = None
    return out, i


def _sequence(lines: list[tuple[int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    out: list[Any] = []
    n = len(lines)
    while i < n:
        ind, content = lines[i]
        if ind < indent or (ind == indent and not _is_item(content)):
            break
        if ind > indent or content == "-":
            raise _NotSimple
        rest = content[2:]
        inner = indent + 2 + (len(rest) - len(rest.lstrip(" ")))
        rest = rest.lstrip(" ")
        if _is_item(rest) or rest[:1] in ("?", ":"):
            raise _NotSimple
        if _has_key(rest):
            # `- key: value` opens a mapping whose keys sit at the column of `key`.
            lines[i] = (inner, rest)
            value, i = _mapping(lines, i, inner)
            out.append(value)
        else:
            out.append(_scalar(rest))
            i += 1
            if i < n and lines[i][0] > indent:
                raise _NotSimple  # a multi-line scalar, or something stranger
    return out, i


def _has_key(content: str) -> bool:
    return content.endswith(":") or ": " in content


def _split_key(content: str) -> tuple[Any, str]:
    if content.endswith(":") and ": " not in content:
        key, rest = content[:-1], ""
    else:
        key, sep, rest = content.partition(": ")
        if not sep:
            raise _NotSimple
        rest = rest.strip(" ")
    if _KEY.fullmatch(key) and key not in _BOOLS and key not in _NULLS:
        return key, rest
    if _QUOTED.fullmatch(key):
        return key[1:-1], rest
    raise _NotSimple


def _scalar(v: str) -> Any:
    v = v.rstrip(" ")
    if _PLAIN_STR.fullmatch(v):
        if v.endswith(":") or ": " in v:
            raise _NotSimple
        b = _BOOLS.get(v)
        if b is not None:
            return b
        if v in _NULLS:
            return None
        return v
    if _INT.fullmatch(v):
        return int(v)
    if _QUOTED.fullmatch(v):
        return v[1:-1]
    if v == "[]":
        return []
    if v == "{}":
        return {}
    if v == "~":
        return None
    raise _NotSimple
