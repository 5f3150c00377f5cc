"""Completion, answered from the text around the cursor and the last evaluated model.

Nothing here waits for an evaluation or parses the document: the cursor context comes
from :mod:`._cursor` (a lexer over the current statement) and the file's names from a
one-pass scan, so completion stays fast on big files and works on broken ones.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types

from ..tiltfile import catalog
from ..tiltfile import model as m
from . import _knowledge as K
from ._cursor import Context, Frame, string_parts
from ._doc import DocView, follow_load, model_definition

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

# Above this many items documentation is left to completionItem/resolve.
_INLINE_DOCS_MAX = 40
# At most this many items are sent; the list is then marked incomplete so that the client
# asks again as the user types (big Tiltfiles define thousands of names).
_MAX_ITEMS = 150
_HIDDEN_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", ".tox", ".mypy_cache"})

Kind = types.CompletionItemKind


def _md(text: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)


def _fuzzy(word: str, label: str) -> bool:
    """Case-insensitive subsequence match (a superset of what clients show)."""
    if not word:
        return True
    w = word.lower()
    lab = label.lower()
    if lab[0] != w[0] and not lab.startswith("_"):
        # Most clients want the first letter to match somewhere at a word start.
        if ("_" + w[0]) not in lab and ("." + w[0]) not in lab:
            return False
    i = 0
    for ch in w:  # a subsequence: each character found after the previous one
        i = lab.find(ch, i) + 1
        if not i:
            return False
    return True


# ------------------------------------------------------------------ builtins


@functools.cache
def _builtin_items() -> tuple[types.CompletionItem, ...]:
    items: list[types.CompletionItem] = []
    for qn, fn in catalog.functions().items():
        if fn.module is not None or fn.classic:
            continue
        items.append(
            types.CompletionItem(
                label=qn,
                kind=Kind.Function,
                detail=catalog.signature_label(fn),
                tags=[types.CompletionItemTag.Deprecated] if fn.deprecated else None,
                sort_text="2" + qn,
                data={"builtin": qn},
            )
        )
    for qn, v in catalog.values().items():
        if v.module is None:
            items.append(
                types.CompletionItem(
                    label=qn,
                    kind=Kind.Constant,
                    detail=v.type,
                    sort_text="2" + qn,
                    data={"value": qn},
                )
            )
    for mod in catalog.modules():
        if "." not in mod:
            items.append(types.CompletionItem(label=mod, kind=Kind.Module, detail=f"module {mod}", sort_text="2" + mod))
    for b in K.STARLARK_BUILTINS.values():
        if catalog.function(b.name) is None:
            items.append(
                types.CompletionItem(
                    label=b.name, kind=Kind.Function, detail=b.signature, sort_text="3" + b.name, data={"starlark": b.name}
                )
            )
    for kw in K.STARLARK_KEYWORDS:
        if catalog.value(kw) is None:
            items.append(types.CompletionItem(label=kw, kind=Kind.Keyword, sort_text="4" + kw))
    return tuple(items)


def warm_up() -> None:
    """Load the catalog and build the builtin items (done on a thread after ``initialized``)."""
    for item in _builtin_items():
        _with_insert(item, True)
        _docs_of(item)


def resolve_docs(item: types.CompletionItem) -> types.CompletionItem:
    """``item`` (one the client sent back to resolve) with its documentation filled in."""
    docs = _docs_of(item)
    if docs is not None:
        item.documentation = docs
    return item


def _with_docs(item: types.CompletionItem) -> types.CompletionItem:
    """A documented copy of ``item``: items are shared between answers and never changed
    once answered (tilt_lsp/wire.py keeps their JSON)."""
    docs = _docs_of(item)
    return attrs.evolve(item, documentation=docs) if docs is not None else item


# (kind of data, name) -> documentation: the catalog never changes
_DOCS: dict[tuple[str, str], types.MarkupContent | None] = {}


def _docs_of(item: types.CompletionItem) -> types.MarkupContent | None:
    data = item.data if isinstance(item.data, dict) else _as_dict(item.data)
    if not data:
        return None
    for kind in ("builtin", "value", "starlark"):
        name = data.get(kind)
        if isinstance(name, str):
            break
    else:
        return None
    key = (kind, name)
    if key not in _DOCS:
        _DOCS[key] = _make_docs(kind, name)
    return _DOCS[key]


def _make_docs(kind: str, name: str) -> types.MarkupContent | None:
    if kind == "builtin":
        fn = catalog.function(name)
        return _md(catalog.markdown(fn)) if fn is not None else None
    if kind == "value":
        v = catalog.value(name)
        return _md(v.doc) if v is not None and v.doc else None
    b = K.STARLARK_BUILTINS.get(name)
    return _md(f"```python\n{b.signature}\n```\n\n{b.doc}") if b is not None else None


def _as_dict(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    as_dict = getattr(data, "_asdict", None)
    return dict(as_dict()) if as_dict is not None else {}


_SNIPPET_ITEMS: dict[tuple[str, bool], types.CompletionItem] = {}
# (builtin, keyword) -> its keyword-argument item: builtins never change, so neither do these
_KEYWORD_ITEMS: dict[tuple[str, str], types.CompletionItem] = {}


def _with_insert(item: types.CompletionItem, snippets: bool) -> types.CompletionItem:
    """The builtin ``item`` with its snippet (made once per builtin item: they never change)."""
    key = (item.label, snippets)
    hit = _SNIPPET_ITEMS.get(key)
    if hit is None:
        hit = _SNIPPET_ITEMS[key] = _make_with_insert(item, snippets)
    return hit


def _make_with_insert(item: types.CompletionItem, snippets: bool) -> types.CompletionItem:
    data = item.data if isinstance(item.data, dict) else {}
    qn = data.get("builtin") if data else None
    if qn is None:
        return item
    fn = catalog.function(qn)
    if fn is None:
        return item
    copy = types.CompletionItem(
        label=item.label,
        kind=item.kind,
        detail=item.detail,
        tags=item.tags,
        sort_text=item.sort_text,
        data=item.data,
    )
    if snippets:
        copy.insert_text = catalog.snippet(fn)
        copy.insert_text_format = types.InsertTextFormat.Snippet
    return copy


# -------------------------------------------------------------------- feature


def _naming(model: m.TiltfileModel) -> tuple[object, ...]:
    """What completion items take from ``model``: its files' definitions and load edges,
    without their locations (a line inserted above a definition does not change its item)."""
    return tuple(
        (
            path,
            tuple((d.name, d.kind, d.value_repr, d.signature, d.docstring) for d in fi.definitions),
            tuple((e.module, e.path, e.symbols) for e in fi.loads),
        )
        for path, fi in model.files.items()
    )


class Completer:
    def __init__(self, server: TiltLanguageServer) -> None:
        self.server = server
        self._items: dict[tuple[object, ...], types.CompletionItem] = {}
        self._items_models: tuple[int, ...] = ()
        self._items_content: tuple[object, ...] = ()
        # values of string arguments (workloads, resources, image refs), per models
        self._value_lists: dict[tuple[object, ...], tuple[list[str], Kind, str] | None] = {}
        self._value_lists_models: tuple[int, ...] = ()
        self._value_items: dict[tuple[str, Kind, str, int], types.CompletionItem] = {}

    def snippets(self) -> bool:
        caps = self.server.client_capabilities.text_document
        comp = caps.completion if caps else None
        item = comp.completion_item if comp else None
        return bool(item and item.snippet_support)

    def edit_range_defaults(self) -> bool:
        """The client takes an edit range for all items from the list (LSP 3.17)."""
        caps = self.server.client_capabilities.text_document
        comp = caps.completion if caps else None
        lst = comp.completion_list if comp else None
        return bool(lst and lst.item_defaults and "editRange" in lst.item_defaults)

    def complete(self, params: types.CompletionParams) -> types.CompletionList | None:
        doc = DocView.of(self.server, params.text_document.uri)
        if doc is None:
            return None
        ctx = doc.context(params.position, full=True)
        if ctx.in_comment:
            return None
        shared_range: types.Range | None = None  # the edit range all items share (itemDefaults)
        if ctx.in_string:
            items, shared_range = self._in_string(doc, ctx)
        elif ctx.after_dot:
            items = [i for i in self._members(doc, ctx) if _fuzzy(ctx.word, i.filter_text or i.label)]
        else:
            items = self._names(doc, ctx)  # already matched against the word
        incomplete = len(items) > _MAX_ITEMS
        if incomplete:
            items.sort(key=lambda i: i.sort_text or i.label)
            items = items[:_MAX_ITEMS]
        if len(items) <= _INLINE_DOCS_MAX:
            items = [_with_docs(i) if i.documentation is None else i for i in items]
        defaults = types.CompletionItemDefaults(edit_range=shared_range) if shared_range else None
        return types.CompletionList(is_incomplete=incomplete, items=items, item_defaults=defaults)

    # ----------------------------------------------------------- identifiers

    def _names(self, doc: DocView, ctx: Context) -> list[types.CompletionItem]:
        out: list[types.CompletionItem] = []
        call = ctx.call
        frame = ctx.frames[-1] if ctx.frames else None
        at_arg_start = call is not None and frame is call and call.keyword is None and ctx.word_start >= call.arg_start
        if at_arg_start and call is not None:
            out.extend(i for i in self._keywords(doc, call) if _fuzzy(ctx.word, i.filter_text or i.label))
        line, _ = doc.line_col(ctx.offset)
        user = self._user_names(doc, line, ctx.word)
        out.extend(user.values())
        snippets = self.snippets()
        syms = doc.symbols()
        for item in _builtin_items():
            if item.label in user or item.label in syms or not _fuzzy(ctx.word, item.label):
                continue
            out.append(_with_insert(item, snippets) if snippets else item)
        return out

    def _user_names(self, doc: DocView, line: int, word: str) -> dict[str, types.CompletionItem]:
        out: dict[str, types.CompletionItem] = {}
        models = doc.models()
        for s in doc.local_symbols(line):
            if s.name in out or not _fuzzy(word, s.name):
                continue
            out[s.name] = types.CompletionItem(
                label=s.name,
                kind=Kind.Variable if s.kind != "function" else Kind.Function,
                detail="parameter" if s.kind == "parameter" else ("local " + s.kind),
                sort_text="0" + s.name,
            )
        syms = doc.symbols()
        # Items depend on the symbol and on what the models say of names, not on where the
        # symbol is: reuse them while that stays the same (they are never changed once made),
        # across evaluations of edits that did not change a definition.
        models_key = tuple(id(mm) for mm in models)
        if self._items_models != models_key or len(self._items) > 20_000:
            content = tuple(_naming(mm) for mm in models)
            if content != self._items_content or len(self._items) > 20_000:
                self._items.clear()
            self._items_models, self._items_content = models_key, content
        for name in syms.names():
            if len(out) > _MAX_ITEMS:
                break
            if name in out or not _fuzzy(word, name):
                continue
            key = (doc.path, syms.raw(name))
            cached = self._items.get(key)
            if cached is not None:
                out[name] = cached
                continue
            got = syms.get(name)
            if got is None:
                continue
            s = got
            kind: Kind = Kind.Variable
            detail: str | None = None
            documentation: types.MarkupContent | None = None
            if s.kind == "function":
                kind, detail = Kind.Function, f"{name}({', '.join(s.params)})"
            d = model_definition(models, doc.path, name)
            if s.kind == "load":
                origin = follow_load(models, doc.path, name)
                detail = f"loaded from {s.module}"
                if origin is not None:
                    d = origin[1]
                    if d.signature:
                        kind, detail = Kind.Function, f"{d.signature}  (from {s.module})"
            if d is not None:
                if d.kind == "function" and d.signature and s.kind != "load":
                    kind, detail = Kind.Function, d.signature
                elif d.value_repr is not None and s.kind != "function":
                    kind = Kind.Constant if name.isupper() else Kind.Variable
                    detail = d.value_repr if len(d.value_repr) < 80 else d.value_repr[:77] + "..."
                if d.docstring:
                    documentation = _md(d.docstring)
            # Made in one call: each attribute set afterwards runs attrs' validators again.
            item = types.CompletionItem(
                label=name, kind=kind, detail=detail, documentation=documentation, sort_text="1" + name
            )
            out[name] = self._items[key] = item
        return out

    def _keywords(self, doc: DocView, call: Frame) -> list[types.CompletionItem]:
        assert call.callee is not None
        given = set(call.keywords)
        items: list[types.CompletionItem] = []
        fn = catalog.function(call.callee)
        if fn is not None and not self._shadowed(doc, call.callee):
            names = [r.name for r in fn.runtime_params if not r.variadic and not r.positional_only]
            if not fn.runtime_params:
                names = [p.name for p in fn.params if p.kind in ("positional", "keyword")]
            bound_by_position = set(names[: call.positional]) if fn.runtime_params else set()
            for name in names:
                if name in given or name in bound_by_position:
                    continue
                item = _KEYWORD_ITEMS.get((fn.qualname, name))
                if item is None:
                    p = K.documented_param(fn, name)
                    item = _KEYWORD_ITEMS[(fn.qualname, name)] = types.CompletionItem(
                        label=f"{name}=",
                        kind=Kind.Field,
                        detail=p.type if p and p.type else None,
                        documentation=_md(p.doc) if p and p.doc else None,
                        insert_text=f"{name}=",
                        filter_text=name,
                        sort_text=f"0{names.index(name):03d}",
                    )
                items.append(item)
            return items
        sym = doc.symbols().function(call.callee)
        if sym is not None:
            for i, pname in enumerate(sym.params):
                if pname.startswith("*") or pname in given or i < call.positional:
                    continue
                items.append(
                    types.CompletionItem(
                        label=f"{pname}=", kind=Kind.Field, insert_text=f"{pname}=", filter_text=pname, sort_text=f"0{i:03d}"
                    )
                )
        else:
            origin = follow_load(doc.models(), doc.path, call.callee)
            if origin is not None and origin[1].signature:
                sig = origin[1].signature
                params = sig[sig.index("(") + 1 : sig.rindex(")")]
                from ._cursor import split_params

                for i, pname in enumerate(split_params(params)):
                    if pname.startswith("*") or pname in given or i < call.positional:
                        continue
                    items.append(
                        types.CompletionItem(
                            label=f"{pname}=",
                            kind=Kind.Field,
                            insert_text=f"{pname}=",
                            filter_text=pname,
                            sort_text=f"0{i:03d}",
                        )
                    )
        return items

    def _shadowed(self, doc: DocView, qualname: str) -> bool:
        return qualname.split(".", 1)[0] in doc.symbols()

    # ---------------------------------------------------------------- members

    def _members(self, doc: DocView, ctx: Context) -> list[types.CompletionItem]:
        recv = ctx.receiver
        if recv is None:
            return []
        if recv in catalog.modules() and not self._shadowed(doc, recv):
            return self._module_members(recv)
        t = self._receiver_type(doc, ctx, recv)
        if t is None:
            return []
        return [
            types.CompletionItem(
                label=name,
                kind=Kind.Method,
                detail=b.signature,
                documentation=_md(b.doc),
                sort_text="1" + name,
            )
            for name, b in K.methods_of(t).items()
        ]

    def _module_members(self, mod: str) -> list[types.CompletionItem]:
        snippets = self.snippets()
        out: list[types.CompletionItem] = []
        for qn in catalog.modules()[mod]:
            short = qn[len(mod) + 1 :]
            fn = catalog.function(qn)
            if fn is not None:
                item = types.CompletionItem(
                    label=short,
                    kind=Kind.Function,
                    detail=catalog.signature_label(fn),
                    data={"builtin": qn},
                    sort_text="1" + short,
                )
                if snippets:
                    item.insert_text = catalog.snippet(fn)[len(mod) + 1 :]
                    item.insert_text_format = types.InsertTextFormat.Snippet
                out.append(item)
                continue
            v = catalog.value(qn)
            if v is not None:
                out.append(types.CompletionItem(label=short, kind=Kind.Constant, detail=v.type, data={"value": qn}))
                continue
            if qn in catalog.modules():
                out.append(types.CompletionItem(label=short, kind=Kind.Module, detail=f"module {qn}"))
        return out

    def _receiver_type(self, doc: DocView, ctx: Context, recv: str) -> str | None:
        if recv == "<str>":
            return "str"
        if recv == "<list>":
            return "list"
        if recv == "<dict>":
            return "dict"
        if recv.endswith("()"):
            name = recv[:-2]
            return K.type_of_expression(f"{name}()")
        if "." in recv:
            v = catalog.value(recv)
            return K.type_of_catalog_return(v.type) if v else None
        line, _ = doc.line_col(ctx.offset)
        # The nearest assignment above the cursor (local first, then global).
        for s in doc.local_symbols(line):
            if s.name == recv and s.kind == "variable" and s.line <= line:
                t = self._assigned_type(doc, s.line, recv)
                if t:
                    return t
        g = doc.symbols().get(recv)
        if g is not None and g.kind == "variable":
            t = self._assigned_type(doc, g.line, recv)
            if t:
                return t
        d = model_definition(doc.models(), doc.path, recv)
        if d is None:
            origin = follow_load(doc.models(), doc.path, recv)
            d = origin[1] if origin else None
        if d is not None and d.value_repr:
            return K.type_of_expression(d.value_repr)
        return None

    def _assigned_type(self, doc: DocView, line: int, name: str) -> str | None:
        text = doc.lines[line]
        head, sep, rhs = text.partition("=")
        if not sep or head.strip() != name:
            return None
        return K.type_of_expression(rhs)

    # ---------------------------------------------------------------- strings

    def _in_string(self, doc: DocView, ctx: Context) -> tuple[list[types.CompletionItem], types.Range | None]:
        """Items for a string argument, and the edit range they share when they share one."""
        call, inner = ctx.call_and_brackets()
        if call is None or call.callee is None or any(b != "[" for b in inner):
            return [], None
        callee = call.callee
        fn = catalog.function(callee)
        if fn is None or self._shadowed(doc, callee):
            return [], None
        param = K.runtime_param_at(fn, call.positional, call.keyword)
        if param is None:
            return [], None
        prefix = ctx.string_prefix
        if callee == "load" and param == "path" and prefix.startswith("ext://"):
            return self._extensions(doc, ctx), None
        if (callee, param) in K.PATH_PARAMS:
            return self._paths(doc, ctx, tiltfiles_only=callee in ("load", "load_dynamic", "include")), None
        models = self.server.tilt.models_for(doc.path) or self.server.tilt.models()
        key = (tuple(id(mm) for mm in models), callee, param, tuple(inner))
        if self._value_lists_models != key[0]:
            self._value_lists.clear()
            self._value_lists_models = key[0]
        if key not in self._value_lists:
            self._value_lists[key] = self._value_list(models, callee, param, inner)
        hit = self._value_lists[key]
        if hit is None:
            return [], None
        names, kind, what = hit
        return self._values(doc, ctx, names, kind, what)

    @staticmethod
    def _value_list(
        models: list[m.TiltfileModel], callee: str, param: str, inner: list[str]
    ) -> tuple[list[str], Kind, str] | None:
        """The values a string argument may take, from the models (None: not a value argument)."""
        if (callee, param) in K.WORKLOAD_PARAMS:
            names = sorted({o.name for mm in models for o in mm.k8s_objects if o.is_workload})
            names += sorted({r.name for mm in models for r in mm.resources if r.type == "k8s"} - set(names))
            return names, Kind.Class, "workload"
        if (callee, param) in K.SERVICE_PARAMS:
            names = sorted({s.name for mm in models for p in mm.compose for s in p.services})
            return names, Kind.Class, "Compose service"
        if param in K.RESOURCE_PARAMS and inner == ["["]:
            names = sorted({r.name for mm in models for r in mm.resources})
            names += sorted({lr.name for mm in models for lr in mm.local_resources} - set(names))
            return names, Kind.Module, "resource"
        if (callee, param) in K.IMAGE_PARAMS:
            built = {i.ref for mm in models for i in mm.images}
            deployed = {c.image for mm in models for o in mm.k8s_objects for c in o.containers}
            deployed |= {s.image for mm in models for p in mm.compose for s in p.services if s.image}
            if callee in K.IMAGE_DECLARING:
                # Declaring a build: suggest what the YAML deploys (unbuilt first).
                refs = sorted({m.image_name(r) for r in deployed} - {m.image_name(b) for b in built})
                refs += sorted({m.image_name(r) for r in deployed} - set(refs))
            else:
                refs = sorted(built)
            return refs, Kind.Reference, "image"
        return None

    def _values(
        self, doc: DocView, ctx: Context, names: Iterable[str], kind: Kind, what: str
    ) -> tuple[list[types.CompletionItem], types.Range | None]:
        rng = self._string_edit_range(doc, ctx, whole_body=True)
        out = []
        names = list(names)
        if len(names) > _MAX_ITEMS and ctx.string_prefix:
            # Many values (big Tiltfiles): send those that match what is typed; the list is
            # then incomplete and the client asks again as the user types.
            names = [n for n in names if _fuzzy(ctx.string_prefix, n)]
        if rng is not None and self.edit_range_defaults():
            # One range for the whole list (LSP 3.17 itemDefaults): the items do not depend on
            # the cursor, so the same objects (and their kept JSON) serve every keystroke.
            cache = self._value_items
            if len(cache) > 20_000:
                cache.clear()
            for i, n in enumerate(names[: _MAX_ITEMS + 1]):
                key = (n, kind, what, i)
                item = cache.get(key)
                if item is None:
                    item = cache[key] = types.CompletionItem(label=n, kind=kind, detail=what, sort_text=f"{i:04d}")
                out.append(item)
            return out, rng
        for i, n in enumerate(names[: _MAX_ITEMS + 1]):
            out.append(
                types.CompletionItem(
                    label=n,
                    kind=kind,
                    detail=what,
                    sort_text=f"{i:04d}",
                    text_edit=types.TextEdit(range=rng, new_text=n) if rng is not None else None,
                )
            )
        return out, None

    def _string_edit_range(self, doc: DocView, ctx: Context, whole_body: bool) -> types.Range | None:
        tok = ctx.token
        if tok is None:
            return None
        q, body, closed = string_parts(tok.text)
        body_start = tok.start + tok.text.index(q) + len(q)
        start = body_start
        if not whole_body:
            slash = ctx.string_prefix.rfind("/")
            start = body_start + slash + 1 if slash >= 0 else body_start
        end = ctx.offset
        if closed:
            end = max(end, tok.end - len(q))
        else:
            end = max(end, tok.end)
        return doc.lsp_range(start, end)

    def _paths(self, doc: DocView, ctx: Context, *, tiltfiles_only: bool) -> list[types.CompletionItem]:
        prefix = ctx.string_prefix
        head, _, _ = prefix.rpartition("/")
        if prefix.startswith("/"):
            base = head or "/"
        else:
            base = os.path.join(doc.dir, head) if head else doc.dir
        base = os.path.expanduser(base)
        try:
            entries = sorted(os.scandir(base), key=lambda e: e.name)
        except OSError:
            return []
        rng = self._string_edit_range(doc, ctx, whole_body=False)
        out: list[types.CompletionItem] = []
        for e in entries:
            if e.name in _HIDDEN_DIRS:
                continue
            try:
                is_dir = e.is_dir()
            except OSError:
                continue
            if tiltfiles_only and not is_dir and not _loadable(e.name):
                continue
            label = e.name + ("/" if is_dir else "")
            out.append(
                types.CompletionItem(
                    label=label,
                    kind=Kind.Folder if is_dir else Kind.File,
                    sort_text=("0" if is_dir else "1") + e.name,
                    filter_text=e.name,
                    text_edit=types.TextEdit(range=rng, new_text=label) if rng is not None else None,
                    command=types.Command(title="suggest", command="editor.action.triggerSuggest") if is_dir else None,
                )
            )
        return out

    def _extensions(self, doc: DocView, ctx: Context) -> list[types.CompletionItem]:
        names: set[str] = set()
        d = doc.dir
        roots = [os.path.dirname(r) for r in self.server.tilt.known_roots_for(doc.path)] or [d]
        for start in {*roots, d}:
            cur = start
            for _ in range(6):
                names |= _ext_dirs(os.path.join(cur, "tilt_modules"))
                parent = os.path.dirname(cur)
                if parent == cur:
                    break
                cur = parent
        dev = os.environ.get("TILT_DEV_DIR") or os.path.join(os.path.expanduser("~"), ".tilt-dev")
        names |= _ext_dirs(os.path.join(dev, "tilt_modules", "github.com", "tilt-dev", "tilt-extensions"))
        tok = ctx.token
        rng = None
        if tok is not None:
            q, _, _ = string_parts(tok.text)
            body_start = tok.start + tok.text.index(q) + len("ext://") + len(q)
            end = ctx.offset
            rest = doc.text[end : end + 200]
            n = 0
            while n < len(rest) and (rest[n].isalnum() or rest[n] in "_-/."):
                n += 1
            rng = doc.lsp_range(body_start, end + n)
        out = []
        for ext in sorted(names):
            item = types.CompletionItem(label=ext, kind=Kind.Module, detail="Tilt extension", sort_text=ext)
            if rng is not None:
                item.text_edit = types.TextEdit(range=rng, new_text=ext)
            out.append(item)
        return out


def _loadable(name: str) -> bool:
    return name == "Tiltfile" or name.endswith((".star", ".tiltfile", ".bzl", ".sky")) or name.startswith("Tiltfile.")


def _ext_dirs(folder: str) -> set[str]:
    try:
        return {e.name for e in os.scandir(folder) if e.is_dir() and os.path.isfile(os.path.join(e.path, "Tiltfile"))}
    except OSError:
        return set()
