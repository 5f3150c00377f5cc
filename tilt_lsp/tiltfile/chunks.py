"""Incremental parsing: a file's top-level statements, parsed and checked once per text.

A 5,000-line Tiltfile takes ~100 ms to parse and about as long again to check (dialect,
names), yet after a one-line edit all but one of its top-level statements are the same text
as before.  So a file is cut into the chunks that syntax.py uses for error recovery (a chunk
starts at a line in column 0), and each *segment* (one chunk, or a few that only parse
together) is parsed once and kept with its dialect and name problems, keyed by its text.
An edit parses again only the segments whose text changed; segments that moved (lines were
inserted or deleted above them) get their line numbers shifted in place, which costs a
fraction of parsing them (when another evaluation may still be using them, they are parsed
again instead).

The module assembled from the segments is exactly the one parse_source builds
(tests/tiltfile/test_chunks.py compares them after random edits):

* If every segment parses, so does the whole file, and its statements are the segments'
  statements in order: each top-level statement of a file that parses starts a chunk (see
  syntax._chunks), and a segment that parses ends where a statement ends (a statement that
  goes on past a chunk start is inside brackets, a string or a backslash continuation, so
  the shorter text does not parse; else/elif/except/finally never start a chunk).
* When a chunk starts no segment (it does not parse even with the 3 chunks after it), the
  rest of the file from that chunk is parsed as one text.  If that parses, so does the whole
  file (a long string with lines in column 0, say); if not, the file does not parse, and
  parse_source's recovery is replayed chunk by chunk, from the cache.
* Dialect problems are local to a statement.  Name problems depend on the rest of the file
  only through its top-level names: they are kept with the identifiers the segment uses and
  reused while each of those is defined (or not) as before; a segment with an undefined name
  (whose hint looks at all top-level names) is reused only while they are all the same.

Only the segments of the newest version of each file are kept, for at most _MAX_FILES files.
"""

from __future__ import annotations

import ast
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable

from .interp import assigned_names
from .model import Range
from .resolve import check_names_in
from .syntax import (
    _CHILD_FIELDS,
    ParsedFile,
    Problem,
    SourceFile,
    _chunks,
    _parse,
    _syntax_problem,
    check_dialect,
)

_MAX_FILES = 64
# A parse error whose message names a line ("... on line 12") is not reused at another place.
_NAMES_A_LINE = re.compile(r"\bline \d")

# A problem relative to its segment: (code, message, line, character, end line, end character),
# lines counted from the segment's first line.
Raw = tuple[str, str, int, int, int, int]


class Segment:
    """One or more top-level statements that parse on their own, and their static problems."""

    __slots__ = ("text", "base", "stmts", "assigned", "dialect", "names", "names_top", "seen", "seen_top",
                 "seen_shadow", "needs_all")  # fmt: skip

    def __init__(self, text: str, base: int, stmts: list[ast.stmt]) -> None:
        self.text = text
        self.base = base  # 0-based index of its first line, as its nodes' positions say
        self.stmts = stmts
        self.assigned: frozenset[str] | None = None
        self.dialect: list[Raw] | None = None
        self.names: list[Raw] | None = None
        self.names_top: frozenset[str] | None = None  # the top-level names `names` was computed with
        self.seen: frozenset[str] = frozenset()  # identifiers in the segment
        self.seen_top: frozenset[str] = frozenset()  # ... defined at the top level (or predeclared)
        self.seen_shadow: frozenset[str] = frozenset()  # ... assigned at the top level of the file
        self.needs_all = False  # an undefined name: the hint depends on all top-level names


class _Failure:
    """A text that does not parse: its error, with lines relative to where it was parsed."""

    __slots__ = ("base", "msg", "lineno", "offset", "end_lineno", "end_offset")

    def __init__(self, base: int, e: SyntaxError) -> None:
        self.base = base
        self.msg = e.msg
        self.lineno = None if e.lineno is None else e.lineno - base
        self.offset = e.offset
        self.end_lineno = None if e.end_lineno is None else e.end_lineno - base
        self.end_offset = e.end_offset

    def error(self, base: int) -> SyntaxError:
        e = SyntaxError(self.msg)
        e.lineno = None if self.lineno is None else self.lineno + base
        e.offset = self.offset
        e.end_lineno = None if self.end_lineno is None else self.end_lineno + base
        e.end_offset = self.end_offset
        return e


class FileChunks:
    """The segments (and texts that failed to parse) of one version of a file."""

    def __init__(self) -> None:
        self.segments: dict[str, list[Segment]] = {}
        self.failures: dict[str, _Failure] = {}
        self.top: frozenset[str] | None = None


class _Fallback(Exception):
    """A text the parser rejects other than with a SyntaxError (nesting too deep...): parse whole."""


_FILES: OrderedDict[str, FileChunks] = OrderedDict()
_LOCK = threading.Lock()
# Evaluations (per path) that may be using segments of the file right now.
_ACTIVE: dict[str, int] = {}

#: False: parse and check every file whole, as without this module (tests, benchmarks, debugging;
#: TILT_LSP_NO_CHUNKS=1 sets it for a process and the evaluation processes it starts).
ENABLED = not os.environ.get("TILT_LSP_NO_CHUNKS")


def acquire(path: str) -> None:
    """An evaluation starts using the segments of ``path`` (see :func:`release`)."""
    with _LOCK:
        _ACTIVE[path] = _ACTIVE.get(path, 0) + 1


def release(path: str) -> None:
    with _LOCK:
        n = _ACTIVE.get(path, 0) - 1
        if n > 0:
            _ACTIVE[path] = n
        else:
            _ACTIVE.pop(path, None)


def clear() -> None:
    with _LOCK:
        _FILES.clear()


def shift(stmts: Iterable[ast.AST], delta: int) -> None:
    """Move nodes ``delta`` lines down (in place): cheaper than ast.increment_lineno."""
    stack = list(stmts)
    pop, push = stack.pop, stack.append
    fields_of = _CHILD_FIELDS
    AST = ast.AST
    while stack:
        n = pop()
        t = type(n)
        if t._attributes:
            n.lineno += delta  # type: ignore[attr-defined]
            e = n.end_lineno  # type: ignore[attr-defined]
            if e is not None:
                n.end_lineno = e + delta  # type: ignore[attr-defined]
        fields = fields_of[t]
        for name in fields:
            v = getattr(n, name, None)
            if v.__class__ is list:
                for x in v:
                    if isinstance(x, AST):
                        push(x)
            elif isinstance(v, AST):
                push(v)


class _Builder:
    """Segments for one version of a file, taken from the previous version's where the text matches."""

    def __init__(self, path: str, lines: list[str], old: FileChunks | None, can_shift: bool) -> None:
        self.path = path
        self.lines = lines
        self.pool: dict[str, list[Segment]] = {k: list(v) for k, v in old.segments.items()} if old else {}
        self.old_failures = old.failures if old else {}
        self.failures: dict[str, _Failure] = {}
        self.taken: list[Segment] = []
        self.can_shift = can_shift
        self.shifted = False
        self.parsed_chars = 0  # how much text was parsed (not found in the cache)
        # Known segments by their first line: how many lines each has.
        self.starts: dict[str, set[int]] = {}
        for segs in self.pool.values():
            for s in segs:
                if "\n" in s.text:
                    self.starts.setdefault(s.text.split("\n", 1)[0], set()).add(s.text.count("\n") + 1)

    def _take(self, text: str, first: int) -> Segment | None:
        segs = self.pool.get(text)
        if not segs:
            return None
        seg = next((s for s in segs if s.base == first), None)
        if seg is None:
            if not self.can_shift:
                return None
            seg = segs[0]
            shift(seg.stmts, first - seg.base)
            seg.base = first
            self.shifted = True
        segs.remove(seg)
        self.taken.append(seg)
        return seg

    def known(self, first: int, last: int) -> Segment | None:
        return self._take("\n".join(self.lines[first : last + 1]), first)

    def attempt(self, first: int, last: int) -> Segment | _Failure:
        text = "\n".join(self.lines[first : last + 1])
        seg = self._take(text, first)
        if seg is not None:
            return seg
        f = self.failures.get(text) or self.old_failures.get(text)
        if f is not None and (f.base == first or not _NAMES_A_LINE.search(f.msg or "")):
            self.failures[text] = f
            return f
        self.parsed_chars += len(text)
        try:
            mod = _parse("\n" * first + text, self.path)
        except SyntaxError as e:
            f = _Failure(first, e)
            self.failures[text] = f
            return f
        except (ValueError, RecursionError, MemoryError) as e:
            raise _Fallback() from e
        seg = Segment(text, first, mod.body)
        self.taken.append(seg)
        return seg

    def put_back(self) -> None:
        for s in self.taken:
            self.pool.setdefault(s.text, []).append(s)
        self.taken = []

    def result(self) -> FileChunks:
        fc = FileChunks()
        for s in self.taken:
            fc.segments.setdefault(s.text, []).append(s)
        fc.failures = self.failures
        return fc


def _blank(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#")


def _split(seg: Segment, lines: list[str], starts: set[int]) -> list[Segment]:
    """A segment of many statements cut into the smallest segments that parse on their own."""
    groups: list[list[ast.stmt]] = []
    firsts: list[int] = []  # the first line of each group
    prev_end = -1
    for st in seg.stmts:
        line = st.lineno - 1
        for d in getattr(st, "decorator_list", ()):  # a decorated def starts at its first decorator
            line = min(line, d.lineno - 1)
        # A new group where a statement starts a chunk, after nothing but blank and comment
        # lines (not, say, a line with only the "@" of a decorator continued by a backslash).
        if not groups or (line > prev_end and line in starts and all(_blank(x) for x in lines[prev_end + 1 : line])):
            groups.append([st])
            firsts.append(line)
        else:
            groups[-1].append(st)
        prev_end = max(prev_end, (st.end_lineno or st.lineno) - 1)
    if len(groups) <= 1:
        return [seg]
    out = []
    end = seg.base + seg.text.count("\n")
    for k, g in enumerate(groups):
        first = seg.base if k == 0 else firsts[k]
        last = firsts[k + 1] - 1 if k + 1 < len(groups) else end
        out.append(Segment("\n".join(lines[first : last + 1]), first, g))
    return out


def parse(path: str, text: str) -> tuple[ParsedFile, list[Segment], int]:
    """Parse ``text`` as parse_source(path, text, dialect=False) would, reusing the segments of
    the previous version of ``path``.  Returns the parsed file, its segments (in order: the
    module's statements are theirs) and how many characters had to be parsed.

    Raises _Fallback when the parser rejects a segment other than with a syntax error.
    """
    src = SourceFile(path, text)
    lines = src.lines
    chunks = _chunks(lines)
    with _LOCK:
        old = _FILES.get(path)
        can_shift = _ACTIVE.get(path, 0) <= 1
    b = _Builder(path, lines, old, can_shift)
    segs = _segments(b, lines, chunks)
    problems: list[Problem] = []
    broken: list[tuple[int, int]] = []
    if segs is None:
        # The file does not parse: replay parse_source's recovery (syntax._parse_with_recovery).
        b.put_back()
        segs = []
        i, n = 0, len(chunks)
        while i < n:
            first = chunks[i][0]
            err: _Failure | None = None
            ok = False
            for extra in range(4):
                if i + extra >= n:
                    break
                r = b.attempt(first, chunks[i + extra][1])
                if isinstance(r, Segment):
                    segs.append(r)
                    i += extra + 1
                    ok = True
                    break
                if err is None:
                    err = r
            if ok:
                continue
            if err is not None:
                problems.append(_syntax_problem(src, err.error(first)))
            broken.append((first + 1, chunks[i][1] + 1))
            i += 1
    body: list[ast.stmt] = []
    for s in segs:
        body.extend(s.stmts)
    fc = b.result()
    with _LOCK:
        _FILES[path] = fc
        _FILES.move_to_end(path)
        while len(_FILES) > _MAX_FILES:
            _FILES.popitem(last=False)
    if b.shifted:
        _on_shift(path)
    return ParsedFile(src, ast.Module(body=body, type_ignores=[]), problems, broken), segs, b.parsed_chars


def _on_shift(path: str) -> None:
    """Segments of ``path`` moved: whole-file parses cached elsewhere that share them are stale."""
    for hook in SHIFT_HOOKS:
        hook(path)


SHIFT_HOOKS: list = []  # type: ignore[type-arg]


def _segments(b: _Builder, lines: list[str], chunks: list[tuple[int, int]]) -> list[Segment] | None:
    """Segments covering the file when it parses (None when it does not)."""
    n = len(chunks)
    if not b.pool and n > 1:
        # Nothing cached (a file seen for the first time): one parse of the whole text, cut
        # into segments, is cheaper than a parse per segment.
        r = b.attempt(0, len(lines) - 1)
        if isinstance(r, Segment):
            parts = _split(r, lines, {s for s, _ in chunks})
            if len(parts) > 1:
                b.taken.remove(r)
                b.taken.extend(parts)
            return parts
    ends = {e: k for k, (_, e) in enumerate(chunks)}
    out: list[Segment] = []
    i = 0
    while i < n:
        first = chunks[i][0]
        seg: Segment | None = None
        for n_lines in sorted(b.starts.get(lines[first], ()), reverse=True):
            k = ends.get(first + n_lines - 1)
            if k is not None and k > i:
                seg = b.known(first, first + n_lines - 1)
                if seg is not None:
                    i = k + 1
                    break
        if seg is None:
            for extra in range(4):
                if i + extra >= n:
                    break
                r = b.attempt(first, chunks[i + extra][1])
                if isinstance(r, Segment):
                    seg = r
                    i += extra + 1
                    break
        if seg is None:
            r = b.attempt(first, len(lines) - 1)
            if not isinstance(r, Segment):
                return None
            parts = _split(r, lines, {s for s, _ in chunks})
            if len(parts) > 1:
                b.taken.remove(r)
                b.taken.extend(parts)
            out.extend(parts)
            break
        out.append(seg)
    return out


# ------------------------------------------------------------------ static problems


def _raw(p: Problem, base: int) -> Raw:
    r = p.range
    return (p.code, p.message, r.start.line - base, r.start.character, r.end.line - base, r.end.character)


def _problem(x: Raw, base: int) -> Problem:
    return Problem(x[0], x[1], Range.of(x[2] + base, x[3], x[4] + base, x[5]))


def top_names(path: str, segs: list[Segment], predeclared: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(the file's top-level names incl. predeclared ones, the names its top level assigns)."""
    shadow: set[str] = set()
    for s in segs:
        if s.assigned is None:
            s.assigned = frozenset(assigned_names(s.stmts))
        shadow |= s.assigned
    top = frozenset(shadow | predeclared)
    with _LOCK:
        fc = _FILES.get(path)
    if fc is not None:
        if fc.top is not None and fc.top == top:
            top = fc.top
        else:
            fc.top = top
    return top, frozenset(shadow)


def _names_valid(s: Segment, top: frozenset[str], shadow: frozenset[str]) -> bool:
    if s.names is None:
        return False
    if s.names_top is top:
        return True
    if s.needs_all or s.seen & top != s.seen_top or s.seen & shadow != s.seen_shadow:
        return False
    s.names_top = top
    return True


def missing(segs: list[Segment], top: frozenset[str], shadow: frozenset[str]) -> list[int]:
    """Indexes of the segments whose problems must be computed (again)."""
    return [k for k, s in enumerate(segs) if s.dialect is None or not _names_valid(s, top, shadow)]


# (dialect problems, name problems, identifiers seen, undefined seen), all relative to the segment
Computed = tuple[list[Raw], list[Raw], frozenset[str], bool]


def compute(src: SourceFile, segs: list[Segment], todo: list[int], top: frozenset[str], shadow: frozenset[str]) -> list[Computed]:
    """The problems of the segments ``todo`` (pure: a forked child may run it)."""
    out: list[Computed] = []
    for k in todo:
        s = segs[k]
        base = s.base
        module = ast.Module(body=s.stmts, type_ignores=[])
        dialect = s.dialect if s.dialect is not None else [_raw(p, base) for p in check_dialect(src, module)]
        seen: set[str] = set()
        undefined = [False]
        names = [_raw(p, base) for p in check_names_in(src, s.stmts, top, shadow, seen, undefined)]
        out.append((dialect, names, frozenset(seen), undefined[0]))
    return out


def install(segs: list[Segment], todo: list[int], results: list[Computed], top: frozenset[str], shadow: frozenset[str]) -> None:
    for k, (dialect, names, seen, undefined) in zip(todo, results, strict=True):
        s = segs[k]
        s.dialect = [tuple(x) for x in dialect]  # type: ignore[misc]
        s.names = [tuple(x) for x in names]  # type: ignore[misc]
        s.seen = frozenset(seen)
        s.seen_top = s.seen & top
        s.seen_shadow = s.seen & shadow
        s.needs_all = bool(undefined)
        s.names_top = top


def problems(segs: list[Segment]) -> list[Problem]:
    """check_dialect's problems then check_names's, as over the whole module (all computed)."""
    out: list[Problem] = []
    for s in reversed(segs):  # check_dialect visits the last statement first
        assert s.dialect is not None
        out.extend(_problem(x, s.base) for x in s.dialect)
    for s in segs:
        assert s.names is not None
        out.extend(_problem(x, s.base) for x in s.names)
    return out


__all__ = ["ENABLED", "FileChunks", "Segment", "acquire", "clear", "parse", "problems", "release", "shift"]
