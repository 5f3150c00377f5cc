"""Quick fixes, offered only where the fix is certain.

* TL401: put the live_update steps in Tilt's order (initial_sync, fall_back_on, sync, run,
  restart_container), keeping each step's text and the relative order within a kind.
* TL901: move the steps of the tutorial form ``live_update(image, steps)`` into the
  ``docker_build``/``custom_build`` of that image as ``live_update=steps``.
* TL201 / TL202: replace the misspelled name or keyword with the suggestion (the diagnostic's
  ``data["replace"]``; the message's "did you mean" hint when a client drops the data).
* TL402: make a relative sync destination absolute, when the image's Dockerfile gives one
  unambiguous working directory for the stage that is built.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from lsprotocol import types

from ..tiltfile import model as m
from . import _names
from ._doc import DocView
from ._lsp import uri_of

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

STEP_ORDER = {"initial_sync": 0, "fall_back_on": 1, "sync": 2, "run": 3, "restart_container": 4}
_DID_YOU_MEAN = re.compile(r"\(did you mean ([^\s?]+)\?\)")


def _code(d: types.Diagnostic) -> str:
    return str(d.code) if d.code is not None else ""


class Fixer:
    def __init__(self, server: TiltLanguageServer, doc: DocView) -> None:
        self.server = server
        self.doc = doc
        self.idx = _names.index_file(doc.path, doc.text)

    # ------------------------------------------------------------ positions

    def node_offsets(self, node: ast.AST) -> tuple[int, int]:
        r = self.idx.source.node_range(node)
        return self.doc.offset(r.start.line, r.start.character), self.doc.offset(r.end.line, r.end.character)

    def diag_offsets(self, d: types.Diagnostic) -> tuple[int, int]:
        conv = self.doc.converter()
        sl, sc = conv.from_client(d.range.start)
        el, ec = conv.from_client(d.range.end)
        return self.doc.offset(sl, sc), self.doc.offset(el, ec)

    def edit(self, start: int, end: int, text: str) -> types.TextEdit:
        return types.TextEdit(range=self.doc.lsp_range(start, end), new_text=text)

    def action(self, title: str, d: types.Diagnostic, edits: list[types.TextEdit], preferred: bool = True) -> types.CodeAction:
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[d],
            is_preferred=preferred,
            edit=types.WorkspaceEdit(changes={self.doc.uri: edits}),
        )

    def calls_at(self, start: int, end: int) -> list[ast.Call]:
        """Calls whose range contains [start, end], innermost first."""
        out = []
        for c in self.idx.calls:
            cs, ce = self.node_offsets(c)
            if cs <= start and end <= ce:
                out.append(c)
        out.sort(key=lambda c: self.node_offsets(c)[1] - self.node_offsets(c)[0])
        return out

    # ---------------------------------------------------------------- fixes

    def did_you_mean(self, d: types.Diagnostic) -> types.CodeAction | None:
        new = replacement_of(d)
        if new is None:
            return None
        start, end = self.diag_offsets(d)
        old = self.doc.text[start:end]
        if not re.fullmatch(r"[^\W\d][\w.]*", old) or not re.fullmatch(r"[^\W\d][\w.]*", new):
            return None
        return self.action(f"Change to '{new}'", d, [self.edit(start, end, new)])

    def reorder(self, d: types.Diagnostic) -> types.CodeAction | None:
        start, end = self.diag_offsets(d)
        target: ast.List | None = None
        for node in ast.walk(self.idx.module):
            if isinstance(node, ast.List) and node.elts:
                for e in node.elts:
                    es, ee = self.node_offsets(e)
                    if es <= start and end <= ee:
                        target = node
                        break
            if target is not None:
                break
        if target is None:
            return None
        kinds: list[int] = []
        for e in target.elts:
            if not (isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id in STEP_ORDER):
                return None
            kinds.append(STEP_ORDER[e.func.id])
        if kinds == sorted(kinds) or kinds.count(0) > 1 or kinds.count(4) > 1:
            return None
        spans = [self.node_offsets(e) for e in target.elts]
        text = self.doc.text
        for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False):
            between = text[a_end:b_start]
            if between.replace(",", "").strip():  # comments between steps: not certain where they belong
                return None
        order = sorted(range(len(spans)), key=lambda i: kinds[i])
        pieces = [text[spans[i][0] : spans[i][1]] for i in order]
        seps = [text[a_end:b_start] for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False)]
        out = pieces[0]
        for sep, piece in zip(seps, pieces[1:], strict=True):
            out += sep + piece
        return self.action(
            "Reorder live_update steps (initial_sync, fall_back_on, sync, run, restart_container)",
            d,
            [self.edit(spans[0][0], spans[-1][1], out)],
        )

    def classic(self, d: types.Diagnostic) -> types.CodeAction | None:
        start, end = self.diag_offsets(d)
        call = next(
            (c for c in self.calls_at(start, end) if isinstance(c.func, ast.Name) and c.func.id == "live_update"), None
        )
        if call is None:
            return None
        args: dict[str, ast.expr] = {}
        for name, a in zip(("image", "steps"), call.args, strict=False):
            args[name] = a
        for kw in call.keywords:
            if kw.arg in ("image", "steps"):
                args[kw.arg] = kw.value
        image, steps = args.get("image"), args.get("steps")
        if not (isinstance(image, ast.Constant) and isinstance(image.value, str)) or steps is None:
            return None
        ref = image.value
        builds = [
            c
            for c in self.idx.calls
            if isinstance(c.func, ast.Name)
            and c.func.id in ("docker_build", "custom_build")
            and (
                (c.args and isinstance(c.args[0], ast.Constant) and c.args[0].value in (ref,))
                or any(k.arg == "ref" and isinstance(k.value, ast.Constant) and k.value.value == ref for k in c.keywords)
            )
        ]
        if len(builds) != 1 or any(k.arg == "live_update" for k in builds[0].keywords):
            return None
        build = builds[0]
        text = self.doc.text
        s0, s1 = self.node_offsets(steps)
        steps_text = text[s0:s1]
        last = max([*build.args, *[k.value for k in build.keywords]], key=lambda n: self.node_offsets(n)[1])
        insert_at = self.node_offsets(last)[1]
        edits = [self.edit(insert_at, insert_at, f", live_update={steps_text}")]
        # Delete the whole statement line(s) when the call stands alone on them.
        cs, ce = self.node_offsets(call)
        line_start = text.rfind("\n", 0, cs) + 1
        line_end = text.find("\n", ce)
        line_end = len(text) if line_end < 0 else line_end + 1
        if text[line_start:cs].strip() == "" and text[ce:line_end].strip() == "":
            del_start, del_end = line_start, line_end
        else:
            del_start, del_end = cs, ce
        if del_start <= insert_at <= del_end:
            return None
        edits.append(self.edit(del_start, del_end, ""))
        name = build.func.id if isinstance(build.func, ast.Name) else "docker_build"
        return self.action(f"Move the steps into {name}(..., live_update=...)", d, edits)

    def absolute_sync(self, d: types.Diagnostic) -> types.CodeAction | None:
        start, end = self.diag_offsets(d)
        call = next((c for c in self.calls_at(start, end) if isinstance(c.func, ast.Name) and c.func.id == "sync"), None)
        if call is None:
            return None
        remote: ast.expr | None = call.args[1] if len(call.args) > 1 else None
        for kw in call.keywords:
            if kw.arg == "remote_path":
                remote = kw.value
        if not (isinstance(remote, ast.Constant) and isinstance(remote.value, str)) or remote.value.startswith("/"):
            return None
        r = self.idx.source.node_range(call)
        workdirs: set[str | None] = set()
        for model in self.doc.models():
            for img in model.images:
                lu = img.live_update
                if lu is None:
                    continue
                for s in lu.syncs:
                    if s.location is not None and s.location.path == self.doc.path and s.location.range == r:
                        workdirs.add(self.workdir(img))
        if len(workdirs) != 1:
            return None
        wd = next(iter(workdirs))
        if wd is None:
            return None
        new_path = posixpath.normpath(posixpath.join(wd, remote.value))
        rs, re_ = self.node_offsets(remote)
        quote = self.doc.text[rs] if self.doc.text[rs] in "'\"" else "'"
        return self.action(
            f"Make the sync destination absolute: {new_path}",
            d,
            [self.edit(rs, re_, f"{quote}{new_path}{quote}")],
        )

    def workdir(self, img: m.Image) -> str | None:
        if img.dockerfile_contents is not None:
            text: str | None = img.dockerfile_contents
        elif img.dockerfile:
            text = self.server.text_of(img.dockerfile) if os.path.isfile(img.dockerfile) else None
        else:
            text = None
        return dockerfile_workdir(text, img.target) if text else None

    def fixes(self, d: types.Diagnostic) -> list[types.CodeAction]:
        code = _code(d)
        action: types.CodeAction | None = None
        if code in ("TL201", "TL202"):
            action = self.did_you_mean(d)
        elif code == "TL401":
            action = self.reorder(d)
        elif code == "TL901":
            action = self.classic(d)
        elif code == "TL402":
            action = self.absolute_sync(d)
        return [action] if action is not None else []


def replacement_of(d: types.Diagnostic) -> str | None:
    """The name a did-you-mean diagnostic suggests: ``data["replace"]``, else the message's hint.

    The evaluator puts the suggestion in the diagnostic's data; clients hand the data back
    unchanged with the code action request.  Clients that drop it still have the message
    ("... (did you mean k8s_yaml?)").
    """
    data = d.data
    if data is not None and not isinstance(data, dict):
        as_dict = getattr(data, "_asdict", None)  # JSON objects some clients' payloads turn into
        data = as_dict() if callable(as_dict) else None
    if isinstance(data, dict):
        new = data.get("replace")
        if isinstance(new, str) and new:
            return new
    mt = _DID_YOU_MEAN.search(d.message)
    return mt.group(1) if mt is not None else None


def dockerfile_workdir(text: str, target: str | None) -> str | None:
    """The working directory at the end of the built stage, when the Dockerfile alone decides it."""
    stages: list[tuple[str | None, str | None, str | None]] = []  # (name, from, workdir)
    cur_name: str | None = None
    cur_from: str | None = None
    cur_wd: str | None = None
    known = False
    logical = re.sub(r"\\\r?\n", " ", text)
    started = False
    for raw in logical.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 1)
        instr = parts[0].upper()
        arg = parts[1].strip() if len(parts) > 1 else ""
        if instr == "FROM":
            if started:
                stages.append((cur_name, cur_from, cur_wd if known else None))
            started = True
            words = [w for w in arg.split() if not w.startswith("--")]
            cur_from = words[0] if words else None
            cur_name = words[2] if len(words) >= 3 and words[1].lower() == "as" else None
            inherited = next((s for s in stages if s[0] and cur_from and s[0].lower() == cur_from.lower()), None)
            if inherited is not None:
                cur_wd, known = inherited[2], inherited[2] is not None
            else:
                cur_wd, known = None, False
        elif instr == "WORKDIR" and started:
            try:
                words = shlex.split(arg)
            except ValueError:
                return None
            if len(words) != 1 or "$" in words[0]:
                cur_wd, known = None, False
                continue
            w = words[0]
            if w.startswith("/"):
                cur_wd, known = posixpath.normpath(w), True
            elif known and cur_wd is not None:
                cur_wd = posixpath.normpath(posixpath.join(cur_wd, w))
            else:
                cur_wd, known = None, False
    if started:
        stages.append((cur_name, cur_from, cur_wd if known else None))
    if not stages:
        return None
    if target:
        match = [s for s in stages if s[0] and s[0].lower() == target.lower()]
        if len(match) != 1:
            return None
        return match[0][2]
    return stages[-1][2]


def code_actions(server: TiltLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    doc = DocView.of(server, params.text_document.uri)
    if doc is None:
        return []
    only = params.context.only
    if only and not any(k == types.CodeActionKind.QuickFix or str(k).startswith("quickfix") for k in only):
        return []
    diags = list(params.context.diagnostics)
    if not diags:
        # Clients that do not send the diagnostics: use ours that overlap the range.
        stored = server.diagnostics_of(uri_of(doc.path))
        r = params.range
        diags = [
            d for d in stored
            if (d.range.start.line, d.range.start.character) <= (r.end.line, r.end.character)
            and (r.start.line, r.start.character) <= (d.range.end.line, d.range.end.character)
        ]
    fixer = Fixer(server, doc)
    out: list[types.CodeAction] = []
    for d in diags:
        if d.source not in (None, "tilt-lsp"):
            continue
        out.extend(fixer.fixes(d))
    return out
