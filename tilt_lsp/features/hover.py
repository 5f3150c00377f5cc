"""Hover: builtins (signature, our docs, link), user names, constants, image refs and paths."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import catalog
from ..tiltfile import model as m
from . import _knowledge as K
from ._cursor import Context, Token, string_value
from ._doc import DocView, follow_load, model_definition

if TYPE_CHECKING:
    from ..server import TiltLanguageServer


def dotted_at(ctx: Context, tok: Token) -> str:
    """The dotted name ending with ``tok`` (``os.path.join`` when hovering ``join``)."""
    toks = ctx.tokens
    try:
        i = toks.index(tok)
    except ValueError:
        return tok.text
    parts = [tok.text]
    j = i - 1
    while j >= 1 and toks[j].kind == "op" and toks[j].text == "." and toks[j - 1].kind == "name":
        parts.append(toks[j - 1].text)
        j -= 2
    if j >= 0 and toks[j].kind == "op" and toks[j].text == ".":
        return "." + ".".join(reversed(parts))  # attribute of an expression
    return ".".join(reversed(parts))


def next_significant(ctx: Context, tok: Token) -> Token | None:
    seen = False
    for t in ctx.tokens:
        if seen and t.kind not in ("ws", "nl", "comment"):
            return t
        if t is tok:
            seen = True
    return None


def image_markdown(models: list[m.TiltfileModel], ref: str) -> str | None:
    """Which build makes ``ref`` and which workloads run it."""
    name = m.image_name(ref)
    builds: list[tuple[m.TiltfileModel, m.Image]] = [
        (mm, img) for mm in models for img in mm.images if img.ref == ref or m.image_name(img.ref) == name
    ]
    users: list[str] = []
    for mm in models:
        for o in mm.k8s_objects:
            if any(m.image_name(c.image) == name for c in o.containers):
                res = next((r.name for r in mm.resources if o in r.objects), None)
                label = f"{o.kind.lower()}/{o.name}" + (f" (resource `{res}`)" if res else "")
                if label not in users:
                    users.append(label)
        for p in mm.compose:
            for s in p.services:
                if s.image and m.image_name(s.image) == name:
                    users.append(f"Compose service `{s.name}`")
    if not builds and not users:
        return None
    lines = [f"**image** `{ref}`"]
    for mm, img in builds:
        where = ""
        if img.location is not None:
            rel = os.path.relpath(img.location.path, os.path.dirname(mm.tiltfile))
            where = f" at {rel}:{img.location.range.start.line + 1}"
        if img.kind == "docker_build":
            df = os.path.relpath(img.dockerfile, os.path.dirname(mm.tiltfile)) if img.dockerfile else "inline Dockerfile"
            ctxdir = os.path.relpath(img.context, os.path.dirname(mm.tiltfile))
            lines.append(f"- built by `docker_build`{where}: context `{ctxdir}`, `{df}`")
        else:
            cmd = " ".join(img.command or ())
            lines.append(f"- built by `custom_build`{where}" + (f": `{cmd}`" if cmd else ""))
        if img.live_update is not None and img.live_update.enabled:
            lu = img.live_update
            lines.append(f"- live update: {len(lu.syncs)} sync, {len(lu.runs)} run step(s)")
    if not builds:
        lines.append("- not built by this Tiltfile (pulled from a registry)")
    if users:
        lines.append("- run by " + ", ".join(users))
    else:
        lines.append("- not used by any deployed object")
    return "\n".join(lines)


def builtin_markdown(qual: str) -> str | None:
    fn = catalog.function(qual)
    if fn is not None:
        return catalog.markdown(fn)
    v = catalog.value(qual)
    if v is not None:
        head = f"```python\n{qual}: {v.type}\n```" if v.type else f"```python\n{qual}\n```"
        return head + (f"\n\n{v.doc}" if v.doc else "")
    if qual in catalog.modules():
        members = ", ".join(f"`{q.rsplit('.', 1)[1]}`" for q in catalog.modules()[qual])
        return f"```python\nmodule {qual}\n```\n\nMembers: {members}"
    b = K.STARLARK_BUILTINS.get(qual)
    if b is not None:
        return f"```python\n{b.signature}\n```\n\n{b.doc}"
    return None


def definition_markdown(d: m.Definition, origin: str | None = None) -> str:
    if d.signature:
        out = f"```python\ndef {d.signature}\n```"
    elif d.value_repr is not None:
        out = f"```python\n{d.name} = {d.value_repr}\n```"
    else:
        out = f"```python\n{d.name}\n```"
    if d.docstring:
        out += f"\n\n{d.docstring}"
    if origin:
        out += f"\n\nDefined in `{origin}`"
    return out


class Hoverer:
    def __init__(self, server: TiltLanguageServer) -> None:
        self.server = server

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        doc = DocView.of(self.server, params.text_document.uri)
        if doc is None:
            return None
        ctx = doc.context(params.position, full=True)
        tok = ctx.token
        if tok is None or ctx.in_comment:
            return None
        text: str | None = None
        if tok.kind == "name":
            text = self._name(doc, ctx, tok)
        elif tok.kind == "string":
            text = self._string(doc, ctx, tok)
        if not text:
            return None
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text),
            range=doc.lsp_range(tok.start, tok.end),
        )

    def _name(self, doc: DocView, ctx: Context, tok: Token) -> str | None:
        qual = dotted_at(ctx, tok)
        if qual.startswith("."):
            return None
        root = qual.split(".", 1)[0]
        line, _ = doc.line_col(tok.start)
        locals_ = {s.name: s for s in doc.local_symbols(line)}
        globals_ = doc.symbols()
        # keyword argument name inside a call
        nxt = next_significant(ctx, tok)
        frame = ctx.frames[-1] if ctx.frames else None
        if nxt is not None and nxt.text == "=" and frame is not None and frame.bracket == "(" and frame.callee:
            fn = catalog.function(frame.callee)
            if fn is not None and frame.callee.split(".", 1)[0] not in globals_:
                p = K.documented_param(fn, K.runtime_param_at(fn, 0, tok.text) or tok.text)
                if p is not None:
                    head = f"```python\n{tok.text}: {p.type}\n```" if p.type else f"```python\n{tok.text}\n```"
                    return head + f"\n\nParameter of `{fn.qualname}`" + (f": {p.doc}" if p.doc else "")
        if root in locals_:
            s = locals_[root]
            if "." in qual:
                return None
            return f"```python\n({s.kind}) {s.name}\n```"
        if root not in globals_:
            return builtin_markdown(qual)
        if "." in qual:
            return None
        models = doc.models()
        g = globals_.get(root)
        if g is None:
            return None
        s = g
        if s.kind == "load":
            origin = follow_load(models, doc.path, root)
            if origin is not None:
                rel = os.path.relpath(origin[0], doc.dir)
                return definition_markdown(origin[1], rel)
            return f"```python\n{root}\n```\n\nLoaded from `{s.module}`"
        d = model_definition(models, doc.path, root)
        if d is not None:
            return definition_markdown(d)
        if s.kind == "function":
            return f"```python\ndef {s.name}({', '.join(s.params)})\n```"
        return f"```python\n{s.name}\n```"

    def _string(self, doc: DocView, ctx: Context, tok: Token) -> str | None:
        value = string_value(tok.text)
        models = doc.models()
        img = image_markdown(models, value) if value and "/" not in value[:1] else None
        call, inner = ctx.call_and_brackets()
        callee = call.callee if call else None
        fn = catalog.function(callee) if callee else None
        param = K.runtime_param_at(fn, call.positional, call.keyword) if (fn and call) else None
        if callee and param and (callee, param) in K.IMAGE_PARAMS and img is None:
            img = f"**image** `{value}`\n\n- not built or deployed by the evaluated Tiltfile"
        if img is not None and not (callee and param and (callee, param) in K.PATH_PARAMS):
            return img
        if callee and param and (callee, param) in K.PATH_PARAMS:
            if callee == "load" and value.startswith("ext://"):
                for mm in models:
                    for fi in mm.files.values():
                        for e in fi.loads:
                            if e.module == value and e.path:
                                return f"Extension `{value[6:]}`: `{e.path}`"
                return f"Extension `{value[6:]}` (not installed locally)"
            path = value if os.path.isabs(value) else os.path.normpath(os.path.join(doc.dir, value))
            state = "directory" if os.path.isdir(path) else "file" if os.path.exists(path) else "does not exist"
            return f"`{path}` ({state})"
        return None
