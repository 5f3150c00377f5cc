"""Catalog of Tilt's Tiltfile API: builtins, module members, values and types.

Facts (names, parameters, defaults, types, run-time keyword names) come from the packaged
``data/api_facts.json`` (regenerate it with ``scripts/gen_api_facts.py``).  Documentation is
our own and lives in ``data/docs_core.json`` (top-level builtins, values, types) and
``data/docs_modules.json`` (members of ``config``, ``os``, ``os.path``, ``shlex``, ``sys`` and
``v1alpha1``).  The second file is optional: when it is missing, module members simply have
empty documentation.  Entries in ``docs_modules.json`` override those in ``docs_core.json``.

Tilt describes each builtin twice: the Python stubs that generate its online docs, and the
Go ``UnpackArgs`` calls that decide what is accepted at run time.  They disagree in places
(``read_file(file_path)`` is really ``read_file(paths)``), so every :class:`Function` carries
both: ``params`` is the documented view with run-time-only keywords appended, and
``runtime_params`` is the Go view.  Use :func:`runtime_keywords` to decide whether a keyword
argument is valid.

Everything is loaded lazily on first use and cached for the life of the process.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, cast

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "Attribute",
    "Function",
    "Param",
    "ParamKind",
    "RuntimeParam",
    "FunctionHead",
    "TypeInfo",
    "Value",
    "accepts_any_keyword",
    "function",
    "function_heads",
    "functions",
    "markdown",
    "modules",
    "runtime_keywords",
    "signature_label",
    "snippet",
    "types",
    "value",
    "values",
]

ParamKind = Literal["positional", "keyword", "varargs", "kwargs"]

DOCS_BASE_URL = "https://docs.tilt.dev/api.html"

#: Qualified name of the tutorial-era ``live_update(image, steps)`` form.  It never shipped in
#: a Tilt release; the catalog knows it so that it can be recognised and explained.
CLASSIC_LIVE_UPDATE = "live_update"

# Stub default meaning "optional, no literal default" (used for Go-only builtins).
_UNSET_DEFAULT = "<unset>"

# Return types that the stubs leave unannotated but that are known facts.
_RETURN_OVERRIDES: dict[str, str] = {"filter_yaml": "Tuple[Blob, Blob]"}

# Builtins whose Go implementation never rejects keyword arguments even though it declares
# no ``**kwargs``: the first three ignore all arguments, os.path.join ignores keywords.
_IGNORES_KEYWORDS = frozenset(
    {"k8s_context", "k8s_namespace", "experimental_metrics_settings", "os.path.join"}
)


@dataclass(frozen=True)
class Param:
    """One parameter in the documented view of a builtin.

    ``runtime`` is true when Tilt accepts ``name=`` as a keyword at run time; ``in_stub`` is
    true when the parameter appears in Tilt's published stub signature (false for run-time-only
    keywords and for all parameters of Go-only builtins).  ``optional`` follows the documented
    view (a default exists, or the parameter is ``*args``/``**kwargs``) even where Tilt's run
    time is more lenient; check ``Function.runtime_params`` for what is really required.  For
    run-time-only keywords it follows the run-time flag.  ``renamed`` links a documented name and its run-time
    spelling when the two differ (``file_path`` <-> ``paths``).  ``runtime_only`` marks the
    keywords appended from the run-time view (e.g. ``docker_build``'s ``cache``).
    """

    name: str
    kind: ParamKind
    default: str | None
    type: str | None
    doc: str
    runtime: bool
    in_stub: bool
    optional: bool
    deprecated: bool = False
    renamed: str | None = None
    runtime_only: bool = False


@dataclass(frozen=True)
class RuntimeParam:
    """One parameter as Tilt's Go code unpacks it (``*args``/``**kwargs`` spelled with stars)."""

    name: str
    optional: bool
    none_means_unset: bool = False
    positional_only: bool = False

    @property
    def variadic(self) -> bool:
        return self.name.startswith("*")


@dataclass(frozen=True)
class Function:
    """A callable builtin (or module member) of the Tiltfile API."""

    qualname: str
    module: str | None
    name: str
    params: tuple[Param, ...]
    runtime_params: tuple[RuntimeParam, ...]
    returns: str | None
    category: str | None
    deprecated: bool
    go_only: bool
    doc: str
    example: str | None
    url: str | None
    is_statement: bool = False
    classic: bool = False

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    @property
    def stub_params(self) -> tuple[Param, ...]:
        """The documented signature, without run-time-only keywords."""
        return tuple(p for p in self.params if not p.runtime_only)


@dataclass(frozen=True)
class Value:
    """A predeclared non-callable value such as ``__file__`` or ``os.environ``."""

    qualname: str
    module: str | None
    name: str
    type: str | None
    doc: str


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str | None


@dataclass(frozen=True)
class TypeInfo:
    """A type named by the API (``Blob``, ``v1alpha1.Probe``, ``git.Repo`` ...)."""

    name: str
    doc: str
    attributes: tuple[Attribute, ...]
    module: str | None = None
    kind: str | None = None
    alias_of: str | None = None


@dataclass(frozen=True)
class _Catalog:
    functions: Mapping[str, Function]
    values: Mapping[str, Value]
    types: Mapping[str, TypeInfo]
    modules: Mapping[str, list[str]]


# --------------------------------------------------------------------------- loading


def _data_dir() -> Traversable:
    from importlib import resources  # only for unusual installs (zip files): see _read_json
    from pathlib import Path

    try:
        return resources.files(__package__ or "tilt_lsp.tiltfile") / "data"
    except (TypeError, ValueError, OSError, ModuleNotFoundError):
        # Namespace packages (no __init__.py) under an editable install cannot always be
        # resolved by importlib.resources; the data sits next to this module anyway.
        return Path(__file__).resolve().parent / "data"


def _read_json(name: str) -> dict[str, Any] | None:
    # The data normally sits next to this module: read it directly (importing
    # importlib.resources costs more than reading the files).
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", name)
    try:
        with open(here, "rb") as f:
            return cast(dict[str, Any], json.loads(f.read()))
    except FileNotFoundError:
        if os.path.isdir(os.path.dirname(here)):
            return None  # the data folder is there but not this (optional) file
    except OSError:
        pass
    resource = _data_dir() / name
    if not resource.is_file():
        return None
    return cast(dict[str, Any], json.loads(resource.read_text(encoding="utf-8")))


def _qualname(module: str | None, name: str) -> str:
    if module and name.startswith(module + "."):
        name = name[len(module) + 1 :]
    return f"{module}.{name}" if module else name


def _bare(module: str | None, name: str) -> str:
    if module and name.startswith(module + "."):
        return name[len(module) + 1 :]
    return name


@functools.cache
def _merged_docs() -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {"functions": {}, "values": {}, "types": {}}
    for fname in ("docs_core.json", "docs_modules.json"):
        data = _read_json(fname)
        if not data:
            continue
        for section in merged:
            entries = data.get(section)
            if isinstance(entries, dict):
                merged[section].update(entries)
    return merged


def _url(module: str | None, name: str, documented: bool) -> str | None:
    if not documented:
        return None
    if module:
        return f"{DOCS_BASE_URL}#modules.{module}.{name}"
    return f"{DOCS_BASE_URL}#api.{name}"


def _build_function(raw: dict[str, Any], doc_entry: dict[str, Any] | None, classic: bool = False) -> Function:
    module = cast(str | None, raw.get("module"))
    name = _bare(module, cast(str, raw["name"]))
    qualname = _qualname(module, name)
    in_stub = bool(raw.get("in_stub", False))
    doc_entry = doc_entry or {}
    param_docs = cast(dict[str, str], doc_entry.get("params") or {})

    rparams = tuple(
        RuntimeParam(
            name=cast(str, r["name"]),
            optional=bool(r.get("optional", False)),
            none_means_unset=bool(r.get("none_means_unset", False)),
            positional_only=bool(r.get("positional_only", False)),
        )
        for r in raw.get("runtime_params") or []
    )
    stub_raw = cast(list[dict[str, Any]], raw.get("params") or [])
    stub_names = [cast(str, p["name"]) for p in stub_raw]
    rt_names = [r.name for r in rparams if not r.variadic]
    rt_keywords = {r.name for r in rparams if not r.variadic and not r.positional_only}
    rt_kwargs = any(r.name.startswith("**") for r in rparams)

    # Same position, different name => a rename between the two views.
    renames: dict[str, str] = {}
    for i, stub_name in enumerate(stub_names):
        if i < len(rparams):
            rt = rparams[i]
            if not rt.variadic and stub_name not in rt_names and rt.name not in stub_names:
                renames[stub_name] = rt.name
                renames[rt.name] = stub_name

    def accepted(kind: str, pname: str) -> bool:
        if not rparams:
            return kind in ("positional", "keyword")
        if kind == "kwargs":
            return rt_kwargs
        if kind == "varargs":
            return False
        return pname in rt_keywords

    params: list[Param] = []
    stub_types: dict[str, str | None] = {}
    for p in stub_raw:
        pname = cast(str, p["name"])
        kind = cast(ParamKind, p.get("kind", "positional"))
        default = cast(str | None, p.get("default"))
        if default == _UNSET_DEFAULT:
            default = "..."
        ptype = cast(str | None, p.get("type"))
        if ptype == "None":
            ptype = None
        stub_types[pname] = ptype
        optional = default is not None or kind in ("varargs", "kwargs")
        params.append(
            Param(
                name=pname,
                kind=kind,
                default=default,
                type=ptype,
                doc=param_docs.get(pname, ""),
                runtime=accepted(kind, pname),
                in_stub=in_stub,
                optional=optional,
                deprecated=bool(p.get("deprecated", False)),
                renamed=renames.get(pname),
            )
        )
    for r in rparams:
        if r.variadic or r.name in stub_names:
            continue
        twin = renames.get(r.name)
        params.append(
            Param(
                name=r.name,
                kind="keyword",
                default=None,
                type=stub_types.get(twin) if twin else None,
                doc=param_docs.get(r.name, ""),
                runtime=not r.positional_only,
                in_stub=False,
                optional=r.optional,
                renamed=twin,
                runtime_only=True,
            )
        )

    returns = _RETURN_OVERRIDES.get(qualname, cast(str | None, raw.get("returns")))
    return Function(
        qualname=qualname,
        module=module,
        name=name,
        params=tuple(params),
        runtime_params=rparams,
        returns=returns,
        category=cast(str | None, raw.get("category")),
        deprecated=bool(raw.get("deprecated", False)),
        go_only=not in_stub and not classic,
        doc=cast(str, doc_entry.get("doc") or ""),
        example=cast(str | None, doc_entry.get("example")),
        url=_url(module, name, in_stub and not classic),
        is_statement=bool(raw.get("is_statement", False)),
        classic=classic,
    )


_CLASSIC_RAW: dict[str, Any] = {
    "name": CLASSIC_LIVE_UPDATE,
    "module": None,
    "params": [
        {"name": "image", "kind": "positional", "default": None, "type": "str"},
        {"name": "steps", "kind": "positional", "default": None, "type": "List[LiveUpdateStep]"},
    ],
    "runtime_params": [
        {"name": "image", "optional": False},
        {"name": "steps", "optional": False},
    ],
    "returns": "None",
    "deprecated": True,
    "category": "live_update",
    "in_stub": False,
}


_V = TypeVar("_V")


class _LazyMap(Mapping[str, _V], Generic[_V]):
    """A read-only mapping whose values are built from raw entries on first access.

    Evaluating a Tiltfile needs the names of all builtins but the full description
    (documentation, both parameter views) of only the few it calls.
    """

    def __init__(self, raw: dict[str, Any], build: Callable[[str, Any], _V]) -> None:
        self._raw = raw
        self._build = build
        self._built: dict[str, _V] = {}
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> _V:
        v = self._built.get(key)
        if v is None:
            raw = self._raw[key]  # KeyError for unknown names, as a dict would
            v = self._build(key, raw)
            with self._lock:
                v = self._built.setdefault(key, v)
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __repr__(self) -> str:
        return f"<catalog of {len(self._raw)} entries>"


@dataclass(frozen=True)
class FunctionHead:
    """What evaluation needs of every builtin, without building its full description."""

    qualname: str
    module: str | None
    name: str
    returns: str | None


@functools.cache
def _facts() -> dict[str, Any]:
    facts = _read_json("api_facts.json")
    if facts is None:  # pragma: no cover - packaging error
        raise RuntimeError("tilt_lsp/tiltfile/data/api_facts.json is missing")
    return facts


@functools.cache
def _raw_functions() -> dict[str, tuple[dict[str, Any], bool]]:
    out: dict[str, tuple[dict[str, Any], bool]] = {}
    for raw in cast(list[dict[str, Any]], _facts().get("functions") or []):
        module = cast(str | None, raw.get("module"))
        out[_qualname(module, cast(str, raw["name"]))] = (raw, False)
    if CLASSIC_LIVE_UPDATE not in out:
        out[CLASSIC_LIVE_UPDATE] = (_CLASSIC_RAW, True)
    return out


@functools.cache
def function_heads() -> tuple[FunctionHead, ...]:
    """(qualname, module, name, return type) of every builtin, cheaply (no documentation)."""
    out: list[FunctionHead] = []
    for qn, (raw, _) in _raw_functions().items():
        module = cast(str | None, raw.get("module"))
        name = _bare(module, cast(str, raw["name"]))
        out.append(FunctionHead(qn, module, name, _RETURN_OVERRIDES.get(qn, cast(str | None, raw.get("returns")))))
    return tuple(out)


def _make_function(qn: str, entry: tuple[dict[str, Any], bool]) -> Function:
    raw, classic = entry
    fdocs = cast(dict[str, dict[str, Any]], _merged_docs()["functions"])
    return _build_function(raw, fdocs.get(qn), classic=classic)


def _make_value(qn: str, raw: dict[str, Any]) -> Value:
    module = cast(str | None, raw.get("module"))
    name = _bare(module, cast(str, raw["name"]))
    vdocs = cast(dict[str, str], _merged_docs()["values"])
    return Value(qn, module, name, cast(str | None, raw.get("type")), vdocs.get(qn, ""))


def _make_type(tname: str, raw: dict[str, Any]) -> TypeInfo:
    tdocs = cast(dict[str, str], _merged_docs()["types"])
    attrs = tuple(
        Attribute(cast(str, a["name"]), cast(str | None, a.get("type")))
        for a in cast(list[dict[str, Any]], raw.get("attributes") or [])
    )
    return TypeInfo(
        name=tname,
        doc=tdocs.get(tname, ""),
        attributes=attrs,
        module=cast(str | None, raw.get("module")),
        kind=cast(str | None, raw.get("kind")),
        alias_of=cast(str | None, raw.get("alias_of")),
    )


@functools.cache
def _catalog() -> _Catalog:
    facts = _facts()
    raw_funcs = _raw_functions()

    raw_vals: dict[str, dict[str, Any]] = {}
    val_modules: dict[str, str | None] = {}
    for raw in cast(list[dict[str, Any]], facts.get("values") or []):
        module = cast(str | None, raw.get("module"))
        qn = _qualname(module, _bare(module, cast(str, raw["name"])))
        raw_vals[qn] = raw
        val_modules[qn] = module

    raw_types: dict[str, dict[str, Any]] = {}
    for raw in cast(list[dict[str, Any]], facts.get("types") or []):
        raw_types[cast(str, raw["name"])] = raw

    mods: dict[str, set[str]] = {}
    for head in function_heads():
        if head.module:
            mods.setdefault(head.module, set()).add(head.qualname)
    for qn, vmod in val_modules.items():
        if vmod:
            mods.setdefault(vmod, set()).add(qn)
    # Sub-modules are members of their parent (``os.path`` is reachable as ``os.path``).
    for mod in list(mods):
        parent, _, _ = mod.rpartition(".")
        while parent:
            mods.setdefault(parent, set()).add(mod)
            parent, _, _ = parent.rpartition(".")

    return _Catalog(
        functions=_LazyMap(raw_funcs, _make_function),
        values=_LazyMap(raw_vals, _make_value),
        types=_LazyMap(raw_types, _make_type),
        modules=MappingProxyType({m: sorted(members) for m, members in sorted(mods.items())}),
    )


# --------------------------------------------------------------------------- queries


def functions() -> Mapping[str, Function]:
    """All builtins keyed by qualified name (``"docker_build"``, ``"os.path.join"``, ...)."""
    return _catalog().functions


def function(qualname: str) -> Function | None:
    return _catalog().functions.get(qualname)


def values() -> Mapping[str, Value]:
    """Predeclared values keyed by qualified name (``"__file__"``, ``"os.environ"``, ...)."""
    return _catalog().values


def value(qualname: str) -> Value | None:
    return _catalog().values.get(qualname)


def types() -> Mapping[str, TypeInfo]:
    """Types keyed by their (possibly qualified) name: ``"Blob"``, ``"v1alpha1.Probe"``."""
    return _catalog().types


def modules() -> Mapping[str, list[str]]:
    """Module name -> sorted qualified names of its members (functions, values, sub-modules).

    Keys are ``config``, ``os``, ``os.path``, ``shlex``, ``sys`` and ``v1alpha1``; ``os`` lists
    ``os.path`` among its members.
    """
    return _catalog().modules


def runtime_keywords(fn: Function) -> frozenset[str]:
    """Keyword names Tilt really accepts for ``fn``.

    These are the Go-side names (``paths`` for ``read_file``), or the stub names when the
    catalog has no run-time information for the function.  ``*args``/``**kwargs`` and
    positional-only parameters are never included; see :func:`accepts_any_keyword`.
    """
    if fn.runtime_params:
        return frozenset(r.name for r in fn.runtime_params if not r.variadic and not r.positional_only)
    return frozenset(p.name for p in fn.params if p.kind in ("positional", "keyword"))


def accepts_any_keyword(fn: Function) -> bool:
    """True when Tilt never rejects a keyword argument to ``fn``.

    That is the case for ``**kwargs`` builtins (``struct``, ``module``) and for the few
    builtins that silently ignore their arguments (``k8s_context``, ``k8s_namespace``,
    ``experimental_metrics_settings``; ``os.path.join`` ignores keywords).
    """
    if fn.qualname in _IGNORES_KEYWORDS:
        return True
    if fn.runtime_params:
        return any(r.name.startswith("**") for r in fn.runtime_params)
    return any(p.kind == "kwargs" for p in fn.params)


def _format_param(p: Param) -> str:
    if p.kind == "varargs":
        head = f"*{p.name}"
    elif p.kind == "kwargs":
        head = f"**{p.name}"
    else:
        head = p.name
    if p.type:
        head += f": {p.type}"
    default = p.default
    if default is None and p.runtime_only and p.optional:
        default = "..."
    if default is not None and p.kind not in ("varargs", "kwargs"):
        head += f" = {default}" if p.type else f"={default}"
    return head


def signature_label(fn: Function, include_runtime_only: bool = False) -> str:
    """Python-style signature, e.g. ``docker_build(ref: str, context: str, ...) -> None``.

    By default only the documented parameters are shown; with ``include_runtime_only`` the
    keywords that only Tilt's run time accepts are listed too (after a ``*`` marker).
    """
    shown = list(fn.stub_params)
    if include_runtime_only:
        extra = [p for p in fn.params if p not in shown]
        kw_index = next((i for i, p in enumerate(shown) if p.kind == "kwargs"), len(shown))
        shown[kw_index:kw_index] = extra
    parts: list[str] = []
    star_done = False
    for p in shown:
        if p.kind == "varargs":
            star_done = True
        elif p.kind == "keyword" and not star_done:
            parts.append("*")
            star_done = True
        parts.append(_format_param(p))
    label = f"{fn.qualname}({', '.join(parts)})"
    if fn.returns:
        label += f" -> {fn.returns}"
    return label


def _positional_at_runtime(fn: Function, p: Param) -> bool:
    """Whether Tilt's run time has a positional slot for the documented parameter ``p``."""
    if not fn.runtime_params or p.runtime:
        return True
    if any(r.name.startswith("*") and not r.name.startswith("**") for r in fn.runtime_params):
        return True
    fixed = [r for r in fn.runtime_params if not r.variadic]
    return fn.stub_params.index(p) < len(fixed)


def _required(fn: Function) -> list[Param]:
    rt_required = {r.name for r in fn.runtime_params if not r.optional and not r.variadic}
    out: list[Param] = []
    for p in fn.stub_params:
        if p.kind in ("varargs", "kwargs") or not _positional_at_runtime(fn, p):
            continue
        if not p.optional or p.name in rt_required:
            out.append(p)
    return out


def snippet(fn: Function) -> str:
    """LSP snippet with the required arguments as tab stops.

    ``docker_build(${1:ref}, ${2:context})``; keyword-only required parameters become
    ``name=${n:name}``; functions with only optional parameters get ``name($0)`` and
    functions without parameters ``name()``.
    """
    required = _required(fn)
    if not required:
        return f"{fn.qualname}($0)" if fn.params else f"{fn.qualname}()"
    parts: list[str] = []
    for i, p in enumerate(required, start=1):
        stop = f"${{{i}:{_snippet_escape(p.name)}}}"
        parts.append(f"{p.name}={stop}" if p.kind == "keyword" else stop)
    return f"{fn.qualname}({', '.join(parts)})"


def _snippet_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")


def _param_line(fn: Function, p: Param) -> str:
    prefix = "*" if p.kind == "varargs" else "**" if p.kind == "kwargs" else ""
    line = f"- `{prefix}{p.name}`"
    notes: list[str] = []
    if p.type:
        notes.append(f"`{p.type}`")
    if p.default is not None and p.kind not in ("varargs", "kwargs"):
        notes.append(f"default `{p.default}`")
    if p.runtime_only:
        notes.append("run-time only")
    elif not p.runtime and p.kind in ("positional", "keyword") and not accepts_any_keyword(fn):
        if p.renamed:
            notes.append(f"keyword at run time: `{p.renamed}=`")
        elif _positional_at_runtime(fn, p):
            notes.append("positional only at run time")
        else:
            notes.append("rejected at run time")
    if p.deprecated:
        notes.append("deprecated")
    if notes:
        line += f" ({', '.join(notes)})"
    if p.doc:
        line += f": {p.doc}"
    return line


def markdown(fn: Function) -> str:
    """Hover/completion documentation: signature, our description, parameters, example, link."""
    out = [f"```python\n{signature_label(fn)}\n```"]
    if fn.doc:
        out.append(fn.doc)
    if fn.params:
        out.append("**Parameters**\n\n" + "\n".join(_param_line(fn, p) for p in fn.params))
    if fn.example:
        out.append(f"**Example**\n\n```python\n{fn.example}\n```")
    if fn.url:
        out.append(f"[Tilt API reference]({fn.url})")
    return "\n\n".join(out)
