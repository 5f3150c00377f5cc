"""Evaluate a Tiltfile (and everything it loads) into a TiltfileModel.

This is the one entry point the language server, the CLI and the live-update
engine use.  It never raises for bad input: every problem becomes a diagnostic.
"""

from __future__ import annotations

import ast
import gc
import os
import re
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, overload

from . import chunks, codes
from .checks import run_checks
from .forking import ForkedCall, can_fork
from .interp import (
    BudgetExceeded,
    ErrorSite,
    EvaluationCancelled,
    ExitRequested,
    Frame,
    Interpreter,
    raise_recursion_limit,
)
from .model import (
    Definition,
    Diagnostic,
    FileInfo,
    LoadEdge,
    Location,
    Range,
    RelatedInfo,
    Severity,
    TiltfileModel,
)
from .resolve import check_names
from .resources import assemble_resources
from .syntax import (
    MAX_FILE_BYTES,
    ParsedFile,
    Problem,
    SourceFile,
    check_dialect,
    decode_source,
    parse_source,
)
from .tilt_api import TiltBuiltins, TiltState
from .universe import make_universe
from .values import Builtin, EvalError, Function, Unknown, freeze, starlark_repr

DEFAULT_TIME_BUDGET_S = 2.0

# Parsed files and their static problems, by (path, text).  The syntax trees are
# never mutated by evaluation, so they can be shared between evaluations.
_PARSE_CACHE: OrderedDict[tuple[str, str], tuple[ParsedFile, list[Problem], set[str]]] = OrderedDict()
_PARSE_CACHE_SIZE = 64
_PARSE_CACHE_LOCK = threading.Lock()
_DID_YOU_MEAN = re.compile(r"\(did you mean \.?([\w.]+)\?\)")

# Files read from disk (manifests, Dockerfiles, loaded Tiltfiles), by path, with the stat that
# identifies the version read: a big project reads hundreds of manifests per evaluation, and an
# edit of the Tiltfile changes none of them.  One stat per read instead of a stat and a read.
# A file changed in the last _TEXT_CACHE_RACY_NS is not cached: file times are coarse (a few ms
# here, seconds on some file systems), and a rewrite of the same size within the same tick
# would otherwise go unnoticed (git's "racy" entries, handled the same way).
_TEXT_CACHE: OrderedDict[str, tuple[tuple[int, int, int, int], str]] = OrderedDict()
_TEXT_CACHE_RACY_NS = 2_000_000_000
_TEXT_CACHE_SIZE = 1024
_TEXT_CACHE_MAX_FILE = 256 * 1024
_TEXT_CACHE_LOCK = threading.Lock()

# An evaluation allocates ~100k long-lived objects (syntax trees, values, the model); with
# CPython's default collector thresholds the cyclic GC would traverse them many times over
# (a fifth of the run time on large files).  While evaluations run, young-generation
# collections happen every _GC_GEN0 allocations instead (garbage cycles are still collected).
_GC_GEN0 = 200_000
_GC_LOCK = threading.Lock()
_GC_ACTIVE = 0
_GC_SAVED: tuple[int, int, int] | None = None


def _gc_relax() -> None:
    global _GC_ACTIVE, _GC_SAVED
    with _GC_LOCK:
        _GC_ACTIVE += 1
        if _GC_ACTIVE == 1:
            cur = gc.get_threshold()
            if 0 < cur[0] < _GC_GEN0:
                _GC_SAVED = cur
                gc.set_threshold(_GC_GEN0, max(cur[1], 20), max(cur[2], 20))


def _gc_restore() -> None:
    global _GC_ACTIVE, _GC_SAVED
    with _GC_LOCK:
        _GC_ACTIVE -= 1
        if _GC_ACTIVE == 0 and _GC_SAVED is not None:
            gc.set_threshold(*_GC_SAVED)
            _GC_SAVED = None



def find_tiltfile(path: str) -> str:
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return os.path.join(path, "Tiltfile")
    return path


class _PendingProblems:
    """Static problems of one parsed file, possibly still being computed by a forked child.

    The evaluation goes on meanwhile; the diagnostics collector resolves them at the end,
    in the place where they were added (so the result is the same as computing them first).
    """

    def __init__(
        self,
        key: tuple[str, str],
        parsed: ParsedFile,
        broken_names: set[str],
        names: frozenset[str],
        segments: list[chunks.Segment] | None = None,
    ) -> None:
        self.key = key
        self.parsed = parsed
        self.broken_names = broken_names
        self.names = names
        self.child: ForkedCall | None = None
        self._result: list[Problem] | None = None
        # With segments (see chunks.py), only the problems of segments not checked before are computed.
        self.segments = segments
        self.todo: list[int] = []
        self.top: frozenset[str] = frozenset()
        self.shadow: frozenset[str] = frozenset()
        if segments is not None:
            self.top, self.shadow = chunks.top_names(key[0], segments, names)
            self.todo = chunks.missing(segments, self.top, self.shadow)

    def work_chars(self) -> int:
        """How much text the checks still have to look at."""
        if self.segments is None:
            return len(self.key[1])
        return sum(len(self.segments[k].text) for k in self.todo)

    def compute(self) -> list[Problem]:
        src, module = self.parsed.source, self.parsed.module
        if self.segments is not None:
            if self.todo:
                found = chunks.compute(src, self.segments, self.todo, self.top, self.shadow)
                chunks.install(self.segments, self.todo, found, self.top, self.shadow)
                self.todo = []
            return chunks.problems(self.segments)
        return [*check_dialect(src, module), *check_names(src, module, self.names)]

    def start(self) -> None:
        segs, todo = self.segments, self.todo

        def work() -> Any:
            if segs is not None:
                return chunks.compute(self.parsed.source, segs, todo, self.top, self.shadow)
            return [
                (p.code, p.message, p.range.start.line, p.range.start.character, p.range.end.line, p.range.end.character)
                for p in self.compute()
            ]

        try:
            self.child = ForkedCall(work)
        except OSError:
            self.child = None

    def get(self) -> list[Problem]:
        if self._result is None:
            found: list[Problem] | None = None
            if self.child is not None:
                raw = self.child.result(_CHILD_TIMEOUT_S)
                self.child = None
                if isinstance(raw, list):
                    if self.segments is not None:
                        if len(raw) == len(self.todo):
                            chunks.install(self.segments, self.todo, raw, self.top, self.shadow)
                            self.todo = []
                    else:
                        found = [Problem(c, m, Range.of(a, b, x, y)) for c, m, a, b, x, y in raw]
            problems = [*self.parsed.problems, *(found if found is not None else self.compute())]
            self._result = problems
            _cache_put(self.key, (self.parsed, problems, self.broken_names))
        return self._result

    def cancel(self) -> None:
        if self.child is not None:
            self.child.cancel()
            self.child = None


# Files at least this large have their static checks run in a forked child (when safe):
# below it, fork() costs about as much as the checks.
_FORK_MIN_CHARS = 60_000
# The checks are linear in the file's size; this only guards against a stuck child.
_CHILD_TIMEOUT_S = 10.0


def _cache_put(key: tuple[str, str], value: tuple[ParsedFile, list[Problem], set[str]]) -> None:
    with _PARSE_CACHE_LOCK:
        _PARSE_CACHE[key] = value
        while len(_PARSE_CACHE) > _PARSE_CACHE_SIZE:
            _PARSE_CACHE.popitem(last=False)


def _drop_parses_of(path: str) -> None:
    """The segments of ``path`` moved (chunks.py): cached parses of it that share them are stale."""
    with _PARSE_CACHE_LOCK:
        for key in [k for k in _PARSE_CACHE if k[0] == path]:
            del _PARSE_CACHE[key]


chunks.SHIFT_HOOKS.append(_drop_parses_of)


_Entry = tuple[str, str, "Location | None", "Severity | None", "tuple[RelatedInfo, ...]"]


@dataclass
class _Collector:
    """Diagnostics in the order they were reported; duplicates are dropped when they are read."""

    root: str
    _log: list[_Entry | tuple[str, _PendingProblems]] = field(default_factory=list)

    def add(
        self,
        code: str,
        message: str,
        loc: Location | None,
        severity: Severity | None = None,
        related: tuple[RelatedInfo, ...] = (),
    ) -> None:
        self._log.append((code, message, loc, severity, related))

    def add_static(self, path: str, problems: list[Problem] | _PendingProblems) -> None:
        if isinstance(problems, _PendingProblems):
            self._log.append((path, problems))
        else:
            for p in problems:
                self.add(p.code, p.message, Location(path, p.range))

    def pending(self) -> list[_PendingProblems]:
        return [e[1] for e in self._log if len(e) == 2]

    @property
    def items(self) -> list[Diagnostic]:
        out: list[Diagnostic] = []
        seen: set[tuple[str, str, str, int]] = set()
        seen_ranges: set[tuple[str, str, Range]] = set()
        for entry in self._log:
            if len(entry) == 2:
                path, pend = entry
                for p in pend.get():
                    self._add(out, seen, seen_ranges, p.code, p.message, Location(path, p.range), None, ())
            else:
                self._add(out, seen, seen_ranges, *entry)
        return out

    def _add(
        self,
        items: list[Diagnostic],
        seen: set[tuple[str, str, str, int]],
        seen_ranges: set[tuple[str, str, Range]],
        code: str,
        message: str,
        loc: Location | None,
        severity: Severity | None,
        related: tuple[RelatedInfo, ...],
    ) -> None:
        if loc is None:
            loc = Location(self.root, Range.of(0, 0, 0, 0))
        key = (loc.path, code, message, loc.range.start.line)
        if key in seen:
            return
        if code == "TL308":
            rkey = (loc.path, code, loc.range)
            if rkey in seen_ranges:
                return
            seen_ranges.add(rkey)
        # A static (TL2) problem and the same problem found at run time: keep one.
        if code.startswith("TL2"):
            for d in items:
                if d.path == loc.path and d.code == code and d.range.start.line == loc.range.start.line:
                    if message.split(" (did you mean")[0] == d.message.split(" (did you mean")[0]:
                        return
        seen.add(key)
        sev = severity or codes.severity_of(code)
        m = _DID_YOU_MEAN.search(message)
        data = {"replace": m.group(1)} if m else None
        items.append(Diagnostic(loc.path, loc.range, sev, code, message, related, data))


class _Evaluation:
    def __init__(self, tiltfile: str, overlays: Mapping[str, str], time_budget_s: float, max_steps: int) -> None:
        self.root = tiltfile
        self.root_dir = os.path.dirname(tiltfile)
        self.overlays = {os.path.abspath(k): v for k, v in overlays.items()}
        self.diags = _Collector(tiltfile)
        self.interp = Interpreter({}, max_steps=max_steps, time_budget_s=time_budget_s, on_error=self._on_error)
        self.st = TiltState(
            root=self.root_dir,
            root_file=tiltfile,
            interp=self.interp,
            diag=self._diag,
            read_text=self.read_text,
        )
        self.st.load_dynamic = self._load_dynamic
        self.st.include = self._include
        self.tilt = TiltBuiltins(self.st)
        self.interp.loader = self._load_stmt
        self.predeclared: dict[str, Any] = {}
        self.predeclared.update(make_universe(self.interp))
        self.predeclared.update(self.tilt.predeclared(tiltfile, True))
        del self.predeclared["__file__"], self.predeclared["__name__"]
        self.interp.predeclared = self.predeclared
        self.modules: dict[str, dict[str, Any]] = {}
        self.leases: set[str] = set()  # paths whose segments this evaluation uses (chunks.acquire)
        self.in_progress: list[str] = []
        self.files: dict[str, FileInfo] = {}

    def close(self) -> None:
        """The evaluation is over: its files' segments may be moved by the next one."""
        for path in self.leases:
            chunks.release(path)
        self.leases.clear()

    # ------------------------------------------------------------- reporting

    def _diag(self, code: str, message: str, loc: Location | None, severity: Severity | None) -> None:
        self.diags.add(code, message, loc, severity)

    def _on_error(self, err: EvalError, site: ErrorSite) -> None:
        related = tuple(site.stack)
        self.diags.add(err.code, err.message, site.location, None, related)
        # Make an error inside a loaded file visible where the user is looking.
        if site.location.path != self.root:
            outer = next((r for r in site.stack if r.location.path == self.root), None)
            if outer is not None:
                rel = os.path.relpath(site.location.path, self.root_dir)
                line = site.location.range.start.line + 1
                self.diags.add(
                    "TL308",
                    f"error in {rel}:{line}: {err.message}",
                    outer.location,
                    None,
                    (RelatedInfo(site.location, err.message), *related),
                )

    # ----------------------------------------------------------------- files

    def read_text(self, path: str) -> str | None:
        path = os.path.abspath(path)
        if path in self.overlays:
            return self.overlays[path]
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                return None  # never open a FIFO or a device
            if st.st_size > MAX_FILE_BYTES * 2:
                raise EvalError(f"file is too large to read: {path}", "TL505")
            version = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
            with _TEXT_CACHE_LOCK:
                hit = _TEXT_CACHE.get(path)
                if hit is not None and hit[0] == version:
                    _TEXT_CACHE.move_to_end(path)
                    return hit[1]
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return None
        text = data.decode("utf-8", errors="replace")
        settled = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _TEXT_CACHE_RACY_NS
        if settled and len(data) == st.st_size <= _TEXT_CACHE_MAX_FILE:
            with _TEXT_CACHE_LOCK:
                _TEXT_CACHE[path] = (version, text)
                while len(_TEXT_CACHE) > _TEXT_CACHE_SIZE:
                    _TEXT_CACHE.popitem(last=False)
        return text

    def _source_text(self, path: str, at: Location | None) -> str | None:
        if path in self.overlays:
            return self.overlays[path]
        try:
            size = os.path.getsize(path)
            if size > MAX_FILE_BYTES:
                where = f"{os.path.relpath(path, self.root_dir)}: " if at is not None else ""
                self.diags.add(
                    "TL108",
                    f"{where}file is too large to analyze ({size / 1e6:.1f} MB, limit {MAX_FILE_BYTES / 1e6:.0f} MB)",
                    at or Location(path, Range.of(0, 0, 0, 0)),
                )
                return None
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            self.diags.add("TL304", f"error reading file {path}: {e.strerror}", at)
            return None
        text, err = decode_source(data)
        if err is not None:
            if at is not None:  # reported at the load site: say which file
                err = f"{os.path.relpath(path, self.root_dir)}: {err}"
            self.diags.add("TL107" if "UTF-8" in err or "binary" in err else "TL108", err,
                           at or Location(path, Range.of(0, 0, 0, 0)))
            return None
        return text

    def run_file(self, path: str, is_root: bool, at: Location | None = None) -> dict[str, Any] | None:
        text = self._source_text(path, at if not is_root else None)
        if text is None:
            return None
        if "\x00" in text:
            self.diags.add("TL107", "file contains NUL characters; a Tiltfile must be text", Location(path, Range.of(0, 0, 0, 0)))
            return None
        parsed, static_problems, broken_names = self._analyze_source(path, text, background=True)
        src = parsed.source
        self.interp.sources[path] = src
        self.diags.add_static(path, static_problems)
        globals_: dict[str, Any] = {"__file__": path, "__name__": "__main__" if is_root else os.path.basename(path)}
        for name in broken_names:
            globals_.setdefault(name, Unknown)
        self.files[path] = FileInfo(path)
        frame = Frame(path, globals_)
        self.in_progress.append(path)
        try:
            self.interp.exec_module(parsed.module.body, frame)
        finally:
            self.in_progress.pop()
            self.files[path] = self._file_info(path, src, parsed.module, globals_)
        return globals_

    @overload
    def _analyze_source(self, path: str, text: str) -> tuple[ParsedFile, list[Problem], set[str]]: ...

    @overload
    def _analyze_source(
        self, path: str, text: str, background: bool
    ) -> tuple[ParsedFile, list[Problem] | _PendingProblems, set[str]]: ...

    def _analyze_source(
        self, path: str, text: str, background: bool = False
    ) -> tuple[ParsedFile, list[Problem] | _PendingProblems, set[str]]:
        """Parse + static checks, cached by (path, text): unchanged files cost nothing on re-evaluation.

        With ``background``, the static checks of a large file may still be running in a
        forked child when this returns (see _PendingProblems).
        """
        key = (path, text)
        if path not in self.leases:
            # Segments of this file in use: another evaluation must not move them meanwhile.
            self.leases.add(path)
            chunks.acquire(path)
        with _PARSE_CACHE_LOCK:
            hit = _PARSE_CACHE.get(key)
            if hit is not None:
                _PARSE_CACHE.move_to_end(key)
                return hit
        segments: list[chunks.Segment] | None = None
        parsed: ParsedFile | None = None
        if chunks.ENABLED:
            try:
                parsed, segments, _ = chunks.parse(path, text)
            except chunks._Fallback:  # noqa: SLF001
                parsed, segments = None, None
        if parsed is None:
            parsed = parse_source(path, text, dialect=False)
        src = parsed.source
        # Names bound inside statements that failed to parse must not cascade.
        broken_names: set[str] = set()
        for first, last in parsed.broken_lines:
            broken_names |= _names_in_broken(src, first, last)
        names = frozenset(self.predeclared.keys() | {"__file__", "__name__"} | broken_names)
        pending = _PendingProblems(key, parsed, broken_names, names, segments)
        if background and pending.work_chars() >= _FORK_MIN_CHARS and can_fork():
            pending.start()
            if pending.child is not None:
                return parsed, pending, broken_names
        return parsed, pending.get(), broken_names

    def _file_info(self, path: str, src: SourceFile, module: ast.Module, globals_: dict[str, Any]) -> FileInfo:
        defs: list[Definition] = []
        seen: set[str] = set()
        loads = self.files[path].loads if path in self.files else ()

        def add(name: str, node: ast.AST, kind: str) -> None:
            if name in seen or name.startswith("__"):
                return
            seen.add(name)
            v = globals_.get(name, Unknown)
            value_repr = None
            signature = None
            doc = None
            if isinstance(v, Function) and isinstance(v.node, ast.FunctionDef):
                # Kept on the node: unchanged statements keep their nodes from edit to edit (chunks.py).
                sig_doc = getattr(v.node, "_tilt_sig_doc", None)
                if sig_doc is None:
                    sig_doc = (_signature(v.node), ast.get_docstring(v.node))
                    v.node._tilt_sig_doc = sig_doc  # type: ignore[attr-defined]
                signature, doc = sig_doc
                if kind != "load":
                    kind = "function"
            elif isinstance(v, (str, int, float, bool)) or (isinstance(v, (list, tuple, dict)) and len(v) <= 20):
                r = starlark_repr(v)
                value_repr = r if len(r) <= 300 else r[:297] + "..."
            defs.append(Definition(name, Location(path, src.node_range(node)), kind, value_repr, signature, doc))  # type: ignore[arg-type]

        for stmt in module.body:
            self._collect_defs(stmt, add)
        return FileInfo(path, tuple(defs), tuple(loads))

    def _collect_defs(self, stmt: ast.stmt, add: Any) -> None:
        if isinstance(stmt, ast.FunctionDef):
            add(stmt.name, stmt, "function")
        elif isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        add(n.id, n, "variable")
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            add(stmt.target.id, stmt.target, "variable")
        elif isinstance(stmt, ast.For):
            for n in ast.walk(stmt.target):
                if isinstance(n, ast.Name):
                    add(n.id, n, "variable")
            for s in stmt.body + stmt.orelse:
                self._collect_defs(s, add)
        elif isinstance(stmt, (ast.If, ast.While)):
            for s in stmt.body + stmt.orelse:
                self._collect_defs(s, add)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            if isinstance(call.func, ast.Name) and call.func.id == "load":
                for a in call.args[1:]:
                    if isinstance(a, ast.Constant) and isinstance(a.value, str):
                        add(a.value, a, "load")
                for kw in call.keywords:
                    if kw.arg:
                        add(kw.arg, kw, "load")

    # ----------------------------------------------------------------- loads

    def resolve_module(self, module: str, from_path: str) -> tuple[str | None, bool]:
        """Return (absolute path or None, is_extension)."""
        if module.startswith("ext://"):
            name = module[len("ext://") :].strip("/")
            candidates = []
            d = self.root_dir
            for _ in range(6):
                candidates.append(os.path.join(d, "tilt_modules", name, "Tiltfile"))
                parent = os.path.dirname(d)
                if parent == d:
                    break
                d = parent
            dev_dir = os.environ.get("TILT_DEV_DIR") or os.path.join(os.path.expanduser("~"), ".tilt-dev")
            candidates.append(
                os.path.join(dev_dir, "tilt_modules", "github.com", "tilt-dev", "tilt-extensions", name, "Tiltfile")
            )
            for c in candidates:
                if os.path.isfile(c) or c in self.overlays:
                    return c, True
            return None, True
        path = module
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(from_path), path)
        path = os.path.normpath(path)
        if os.path.isdir(path):
            path = os.path.join(path, "Tiltfile")
        return path, False

    def _load_module(self, module: str, from_path: str, at: Location, kind: str) -> dict[str, Any] | None:
        path, is_ext = self.resolve_module(module, from_path)
        edges = list(self.files[from_path].loads) if from_path in self.files else []
        if path is None:
            edges.append(LoadEdge(module, None, at, (), kind))  # type: ignore[arg-type]
            self.files[from_path] = replace(self.files[from_path], loads=tuple(edges))
            self.diags.add(
                "TL306",
                f"extension {module[len('ext://'):]!r} is not installed locally (looked in tilt_modules/); "
                "run `tilt up` once to download it. Names it provides are not checked.",
                at,
            )
            return None
        edges.append(LoadEdge(module, path, at, (), kind))  # type: ignore[arg-type]
        if from_path in self.files:
            self.files[from_path] = replace(self.files[from_path], loads=tuple(edges))
        if path in self.in_progress:
            chain = " -> ".join(os.path.relpath(p, self.root_dir) for p in [*self.in_progress, path])
            raise EvalError(f"Circular load: {chain}", "TL304")
        if path in self.modules:
            return self.modules[path]
        if not os.path.isfile(path) and path not in self.overlays:
            raise EvalError(f"cannot load {module}: file not found ({path})", "TL304")
        self.interp.stack.append(RelatedInfo(at, f"{os.path.basename(path)} loaded here"))
        try:
            g = self.run_file(path, False, at)
        finally:
            self.interp.stack.pop()
        if g is None:
            # Unreadable (reported already): its names become Unknown, without more errors.
            return None
        # Starlark freezes a loaded module's globals: later mutation is an error.
        freeze(g or {})
        exports = {k: v for k, v in (g or {}).items() if not k.startswith("_")}
        self.modules[path] = exports
        return exports

    def _load_stmt(self, call: ast.Call, frame: Frame) -> None:
        first = call.args[0] if call.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return
        module = first.value
        at = self.interp.loc(first, frame.path)
        wanted: list[tuple[str, str, ast.AST]] = []
        for a in call.args[1:]:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                wanted.append((a.value, a.value, a))
        for kw in call.keywords:
            if kw.arg and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                wanted.append((kw.arg, kw.value.value, kw.value))
        exports: dict[str, Any] | None
        try:
            exports = self._load_module(module, frame.path, at, "load")
        except EvalError as e:
            for local, _, _ in wanted:
                frame.globals[local] = Unknown
            raise e
        if frame.path in self.files and self.files[frame.path].loads:
            edges = list(self.files[frame.path].loads)
            edges[-1] = replace(edges[-1], symbols=tuple((loc, rem) for loc, rem, _ in wanted))
            self.files[frame.path] = replace(self.files[frame.path], loads=tuple(edges))
        for local, remote, node in wanted:
            if exports is None:
                frame.globals[local] = Unknown
                continue
            if remote.startswith("_"):
                self.diags.add(
                    "TL304",
                    f"load: names with leading underscores are not exported: {remote}",
                    self.interp.loc(node, frame.path),
                )
                frame.globals[local] = Unknown
            elif remote not in exports:
                self.diags.add("TL304", f"load: name {remote} not found in module {module}", self.interp.loc(node, frame.path))
                frame.globals[local] = Unknown
            else:
                frame.globals[local] = exports[remote]

    def _dynamic_at(self) -> Location:
        loc = self.st.call_loc()
        return loc or Location(self.root, Range.of(0, 0, 0, 0))

    def _load_dynamic(self, module: str) -> dict[str, Any]:
        exports = self._load_module(module, self.interp.exec_path, self._dynamic_at(), "load_dynamic")
        return dict(exports or {})

    def _include(self, module: str) -> None:
        self._load_module(module, self.interp.exec_path, self._dynamic_at(), "include")

    # ------------------------------------------------------------------ run

    def run(self) -> TiltfileModel:
        raise_recursion_limit()
        try:
            self.run_file(self.root, True)
        except BudgetExceeded as e:
            site: ErrorSite | None = getattr(e, "site", None)
            loc = site.location if site else None
            self.diags.add("TL303", e.message, loc, None, tuple(site.stack) if site else ())
        except ExitRequested:
            pass
        except RecursionError:
            self.diags.add("TL305", "nesting too deep to evaluate", None)
        model = TiltfileModel(
            tiltfile=self.root,
            files=self._ordered_files(),
            images=tuple(self.st.images),
            k8s_objects=tuple(self.st.k8s_objects),
            k8s_resources=tuple(self.st.k8s_resources),
            local_resources=tuple(self.st.local_resources),
            compose=tuple(self.st.compose),
            dc_resources=tuple(self.st.dc_resources),
            trigger_mode=self.st.trigger_mode,
            watch_ignores=tuple(self.st.watch_ignores),
            default_registry=self.st.default_registry,
            allowed_k8s_contexts=tuple(self.st.allowed_contexts),
            enabled_resources=tuple(self.st.enabled_resources) if self.st.enabled_resources is not None else None,
            output=tuple(self.st.output),
        )
        model = run_checks(model, self.st, self.diags.add)
        try:
            resources = assemble_resources(model, self.st, self.interp, self.diags.add)
        except (EvalError, RecursionError) as e:
            msg = e.message if isinstance(e, EvalError) else "recursion"
            self.diags.add("TL302", f"workload_to_resource_function: {msg}", None)
            resources = ()
        diags = sorted(self.diags.items, key=lambda d: (d.path != self.root, d.path, d.range.start, d.code))
        return replace(model, resources=resources, diagnostics=tuple(diags))

    def _ordered_files(self) -> dict[str, FileInfo]:
        out = {}
        if self.root in self.files:
            out[self.root] = self.files[self.root]
        for k, v in self.files.items():
            out.setdefault(k, v)
        return out


def _names_in_broken(src: SourceFile, first: int, last: int) -> set[str]:
    """Best-effort names a broken chunk meant to bind (def NAME / NAME = ...)."""
    import re

    out: set[str] = set()
    for line in src.lines[first - 1 : last]:
        m = re.match(r"\s*def\s+([A-Za-z_]\w*)", line) or re.match(r"\s*([A-Za-z_]\w*)\s*(?:[-+*/%|&^]|//)?=(?!=)", line)
        if m:
            out.add(m.group(1))
        # Tuple targets and loop variables: `a, b = ...`, `for k, v in ...`.
        m3 = re.match(r"\s*(?:for\s+)?([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*(?:=(?!=)|\s+in\b)", line) or re.match(
            r"\s*for\s+([A-Za-z_]\w*)\s+in\b", line
        )
        if m3:
            out |= {n.strip() for n in m3.group(1).split(",")}
        m2 = re.match(r"\s*load\((.*)", line)
        if m2:
            out |= set(re.findall(r"['\"]([A-Za-z_]\w*)['\"]", m2.group(1))[0:0] or [])
            for s in re.findall(r"['\"]([A-Za-z_]\w*)['\"]", m2.group(1)):
                out.add(s)
            for s in re.findall(r"([A-Za-z_]\w*)\s*=", m2.group(1)):
                out.add(s)
    return out


def _signature(node: ast.FunctionDef) -> str:
    a = node.args
    parts: list[str] = []
    n_def = len(a.defaults)
    pos = [*a.posonlyargs, *a.args]
    for i, p in enumerate(pos):
        di = i - (len(pos) - n_def)
        parts.append(f"{p.arg}={ast.unparse(a.defaults[di])}" if di >= 0 else p.arg)
    if a.vararg:
        parts.append("*" + a.vararg.arg)
    elif a.kwonlyargs:
        parts.append("*")
    for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        parts.append(f"{p.arg}={ast.unparse(d)}" if d is not None else p.arg)
    if a.kwarg:
        parts.append("**" + a.kwarg.arg)
    return f"{node.name}({', '.join(parts)})"


def evaluate(
    tiltfile: str,
    overlays: Mapping[str, str] | None = None,
    *,
    time_budget_s: float = DEFAULT_TIME_BUDGET_S,
    max_steps: int = 20_000_000,
    cancel: threading.Event | None = None,
) -> TiltfileModel:
    """Evaluate `tiltfile` (a file or a folder holding one).

    `overlays` maps absolute paths to unsaved editor contents, which win over
    the files on disk.  Never raises for bad input.
    """
    path = find_tiltfile(tiltfile)
    if not os.path.isfile(path) and path not in (overlays or {}):
        d = Diagnostic(path, Range.of(0, 0, 0, 0), Severity.ERROR, "TL304", f"no Tiltfile at {path}")
        return TiltfileModel(tiltfile=path, diagnostics=(d,))
    ev = _Evaluation(path, overlays or {}, time_budget_s, max_steps)
    ev.interp.cancel = cancel
    result: list[TiltfileModel] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(ev.run())
        except BaseException as e:  # noqa: BLE001 - reported as a diagnostic below
            failure.append(e)
        finally:
            for pending in ev.diags.pending():
                pending.cancel()  # a child still running (evaluation cancelled or failed)
            ev.close()

    # A dedicated thread with a large stack lets deep (but finite) recursion work.
    _gc_relax()
    try:
        old = threading.stack_size()
        try:
            threading.stack_size(256 * 1024 * 1024)
            t = threading.Thread(target=target, name="tiltfile-eval", daemon=True)
            t.start()
        finally:
            threading.stack_size(old)
        t.join()
    finally:
        _gc_restore()
    if failure and isinstance(failure[0], EvaluationCancelled):
        raise failure[0]
    if result:
        return result[0]
    msg = f"internal error while evaluating: {type(failure[0]).__name__}: {failure[0]}" if failure else "evaluation failed"
    d = Diagnostic(path, Range.of(0, 0, 0, 0), Severity.ERROR, "TL302", msg)
    return TiltfileModel(tiltfile=path, diagnostics=(d,))


__all__ = ["evaluate", "find_tiltfile", "Builtin"]
