"""Signature help with the active parameter, for builtins and user functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import catalog
from . import _knowledge as K
from ._cursor import Frame, split_top_level
from ._doc import DocView, follow_load, model_definition

if TYPE_CHECKING:
    from ..server import TiltLanguageServer


@dataclass(frozen=True)
class _Param:
    label: str
    name: str
    doc: str = ""
    keyword_only: bool = False
    variadic: str = ""  # "*" or "**"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Sig:
    name: str
    params: tuple[_Param, ...]
    returns: str | None = None
    doc: str = ""

    def build(self, active: int | None) -> types.SignatureInformation:
        label = self.name + "("
        infos: list[types.ParameterInformation] = []
        star_done = False
        for i, p in enumerate(self.params):
            if i:
                label += ", "
            if p.keyword_only and not star_done and not p.variadic:
                label += "*, "
                star_done = True
            if p.variadic == "*":
                star_done = True
            start = len(label)
            label += p.label
            infos.append(
                types.ParameterInformation(
                    label=(start, len(label)),
                    documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=p.doc) if p.doc else None,
                )
            )
        label += ")"
        if self.returns:
            label += f" -> {self.returns}"
        return types.SignatureInformation(
            label=label,
            documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=self.doc) if self.doc else None,
            parameters=infos,
            active_parameter=active,
        )

    def active(self, frame: Frame) -> int | None:
        if frame.keyword is not None:
            for i, p in enumerate(self.params):
                if p.name == frame.keyword or frame.keyword in p.aliases:
                    return i
            for i, p in enumerate(self.params):
                if p.variadic == "**":
                    return i
            return None
        n = frame.positional
        positional = [i for i, p in enumerate(self.params) if not p.keyword_only and not p.variadic]
        if n < len(positional):
            return positional[n]
        for i, p in enumerate(self.params):
            if p.variadic == "*":
                return i
        return None


def _catalog_sig(fn: catalog.Function) -> _Sig:
    params: list[_Param] = []
    runtime_order = [r.name for r in fn.runtime_params if not r.variadic]
    for p in fn.params:
        label = ("*" if p.kind == "varargs" else "**" if p.kind == "kwargs" else "") + p.name
        if p.type:
            label += f": {p.type}"
        default = p.default if p.default is not None else ("..." if p.runtime_only and p.optional else None)
        if default is not None and p.kind not in ("varargs", "kwargs"):
            label += f" = {default}" if p.type else f"={default}"
        aliases = (p.renamed,) if p.renamed else ()
        params.append(
            _Param(
                label=label,
                name=p.name,
                doc=p.doc,
                keyword_only=p.kind == "keyword" or (p.runtime_only and p.name not in runtime_order),
                variadic="*" if p.kind == "varargs" else "**" if p.kind == "kwargs" else "",
                aliases=aliases,
            )
        )
    # Keep "positional" slots in run-time order so that positional arguments line up.
    if runtime_order:
        pos = [p for p in params if not p.keyword_only and not p.variadic]

        def order(p: _Param) -> int:
            for n in (p.name, *p.aliases):
                if n in runtime_order:
                    return runtime_order.index(n)
            return len(runtime_order)

        ordered = sorted(pos, key=order)
        it = iter(ordered)
        params = [next(it) if (not p.keyword_only and not p.variadic) else p for p in params]
    return _Sig(fn.qualname, tuple(params), fn.returns, fn.doc)


def _text_sig(name: str, inner: str, doc: str = "", returns: str | None = None) -> _Sig:
    params: list[_Param] = []
    kw_only = False
    for raw in split_top_level(inner):
        p = raw.strip()
        if not p:
            continue
        if p == "*":
            kw_only = True
            continue
        var = "**" if p.startswith("**") else "*" if p.startswith("*") else ""
        pname = p.lstrip("*").split("=", 1)[0].strip()
        params.append(_Param(label=p, name=pname, keyword_only=kw_only and not var, variadic=var))
        if var == "*":
            kw_only = True
    return _Sig(name, tuple(params), returns, doc)


class SignatureHelper:
    def __init__(self, server: TiltLanguageServer) -> None:
        self.server = server

    def signature_for(self, doc: DocView, callee: str) -> _Sig | None:
        globals_ = doc.symbols()
        root = callee.split(".", 1)[0]
        if root not in globals_:
            fn = catalog.function(callee)
            if fn is not None:
                return _catalog_sig(fn)
            b = K.STARLARK_BUILTINS.get(callee)
            if b is not None:
                sig = b.signature
                return _text_sig(b.name, sig[sig.index("(") + 1 : sig.rindex(")")], b.doc, b.returns)
            return None
        if "." in callee:
            return None
        s = globals_.get(root)
        if s is None:
            return None
        models = doc.models()
        d = None
        if s.kind == "load":
            origin = follow_load(models, doc.path, root)
            d = origin[1] if origin else None
        else:
            d = model_definition(models, doc.path, root)
        if d is not None and d.signature:
            sig = d.signature
            return _text_sig(callee, sig[sig.index("(") + 1 : sig.rindex(")")], d.docstring or "")
        if s.kind == "function":
            return _text_sig(callee, ", ".join(s.params))
        return None

    def help(self, params: types.SignatureHelpParams) -> types.SignatureHelp | None:
        doc = DocView.of(self.server, params.text_document.uri)
        if doc is None:
            return None
        ctx = doc.context(params.position)
        if ctx.in_comment:
            return None
        frame: Frame | None = None
        for f in reversed(ctx.frames):
            if f.bracket == "(":
                frame = f
                break
        if frame is None or frame.callee is None or frame.is_def or frame.callee == "<expr>":
            return None
        sig = self.signature_for(doc, frame.callee)
        if sig is None:
            return None
        # Inside a nested list/dict the argument is still the call's current one.
        active = sig.active(frame)
        info = sig.build(active)
        return types.SignatureHelp(
            signatures=[info],
            active_signature=0,
            active_parameter=active if active is not None else len(sig.params),
        )
