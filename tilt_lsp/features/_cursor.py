"""Fast, error-tolerant analysis of the text around the cursor.

Completion, signature help and hover must answer while the user is typing, on text that
usually does not parse, within a few milliseconds.  So instead of parsing the document,
this module lexes only the statement around the cursor (from the nearest line that
starts in column 0) with one regular expression, and tracks brackets to know which call,
argument and keyword the cursor is in, and whether it sits in a string or a comment.

:func:`scan_symbols` finds the names a file binds (defs, assignments, loop variables,
load()ed names) with one regex pass, again without parsing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

_TOKEN_RE = re.compile(
    r"""
      (?P<comment>\#[^\n]*)
    | (?P<string>(?:[rR][bB]?|[bB][rR]?|[uU])?
        (?:'''(?:\\.|[^\\])*?(?:'''|\Z)
          |\"\"\"(?:\\.|[^\\])*?(?:\"\"\"|\Z)
          |'(?:\\.|[^\\'\n])*(?:'|(?=\n)|\Z)
          |"(?:\\.|[^\\"\n])*(?:"|(?=\n)|\Z)))
    | (?P<name>[^\W\d]\w*)
    | (?P<number>\d[\w.]*)
    | (?P<op>\*\*=?|//=?|->|[=!<>+\-*/%&|^]=|[-+*/%&|^~<>=.,:;()\[\]{}@])
    | (?P<nl>\n)
    | (?P<ws>[ \t\r\f]+|\\\r?\n)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

KEYWORDS = frozenset(
    {
        "and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "load",
        "not", "or", "pass", "return", "while", "True", "False", "None",
    }
)
_NOT_CALLEES = frozenset(
    {"and", "or", "not", "in", "if", "elif", "else", "return", "for", "while", "lambda", "is"}
)

# Lines scanned back to find a statement start, at most.
_MAX_STATEMENT_LINES = 400


@dataclass(frozen=True)
class Token:
    kind: str  # comment | string | name | number | op | nl | ws | other
    start: int  # absolute offsets in the document
    end: int
    text: str

    @property
    def is_string(self) -> bool:
        return self.kind == "string"


def string_parts(text: str) -> tuple[str, str, bool]:
    """(quote, body, closed) of a string token's text."""
    i = 0
    while i < len(text) and text[i] not in "'\"":
        i += 1
    q = text[i : i + 3] if text[i : i + 3] in ("'''", '"""') else text[i : i + 1]
    rest = text[i + len(q) :]
    closed = False
    if len(rest) >= len(q) and rest.endswith(q):
        body = rest[: -len(q)]
        backslashes = len(body) - len(body.rstrip("\\"))
        closed = backslashes % 2 == 0
        if closed:
            return q, body, True
    return q, rest, False


def string_value(text: str) -> str:
    """The (unescaped enough for paths and names) value of a string token."""
    _, body, _ = string_parts(text)
    return body.replace("\\'", "'").replace('\\"', '"').replace("\\\\", "\\")


@dataclass
class Frame:
    """One open bracket between the statement start and the cursor."""

    bracket: str  # ( [ {
    open: int  # offset of the bracket
    callee: str | None = None  # dotted name called, for a call's '('
    is_def: bool = False  # the parameter list of a def
    arg_index: int = 0  # commas seen at this level
    positional: int = 0  # positional arguments before the current one
    keyword: str | None = None  # keyword of the current argument
    keywords: list[str] = field(default_factory=list)
    arg_start: int = 0  # offset where the current argument starts
    _pending: str | None = None  # a name at the start of the argument (maybe a keyword)
    _fresh: bool = True  # nothing but whitespace since the argument started


@dataclass
class Context:
    offset: int
    tokens: list[Token]  # the statement's tokens up to the cursor (or to its end with full=True)
    frames: list[Frame]
    token: Token | None  # the token touching the cursor (ends at or spans it)
    in_string: bool = False
    in_comment: bool = False
    string_prefix: str = ""  # string body between the opening quote and the cursor
    word: str = ""  # identifier characters just before the cursor
    word_start: int = 0
    receiver: str | None = None  # what comes before "." + word: a dotted name, or <str>/<list>/<dict>
    after_dot: bool = False

    @property
    def call(self) -> Frame | None:
        """The innermost call the cursor is directly in (through list/dict brackets)."""
        for f in reversed(self.frames):
            if f.bracket == "(":
                return f if (f.callee is not None and not f.is_def) else None
        return None

    @property
    def call_depth_ok(self) -> bool:
        """True when the innermost bracket is the call's own parenthesis."""
        return bool(self.frames) and self.frames[-1].bracket == "(" and self.call is self.frames[-1]

    def call_and_brackets(self) -> tuple[Frame | None, list[str]]:
        """The innermost call and the brackets opened inside it before the cursor."""
        inner: list[str] = []
        for f in reversed(self.frames):
            if f.bracket == "(":
                if f.callee is not None and not f.is_def:
                    return f, list(reversed(inner))
                return None, []
            inner.append(f.bracket)
        return None, []


def statement_start(lines: Sequence[str], line: int) -> int:
    """Index of the line where the top-level statement holding ``line`` starts."""
    stop = max(0, line - _MAX_STATEMENT_LINES)
    i = line
    while i > stop:
        text = lines[i]
        if text and text[0] not in " \t#)]}\r" and not text.startswith(("else", "elif")):
            return i
        i -= 1
    return stop


def statement_end(lines: Sequence[str], line: int) -> int:
    """Index of the last line of the top-level statement holding ``line``."""
    stop = min(len(lines) - 1, line + _MAX_STATEMENT_LINES)
    i = line + 1
    while i <= stop:
        text = lines[i]
        if text and text[0] not in " \t#)]}\r" and not text.startswith(("else", "elif")):
            return i - 1
        i += 1
    return stop


def tokenize(text: str, base: int = 0) -> list[Token]:
    return [Token(mt.lastgroup or "other", mt.start() + base, mt.end() + base, mt.group()) for mt in _TOKEN_RE.finditer(text)]


def _dotted_before(tokens: Sequence[Token], i: int) -> str | None:
    """The dotted name ending at tokens[i] (skipping whitespace), or None."""
    parts: list[str] = []
    j = i
    while j >= 0 and tokens[j].kind in ("ws", "nl"):
        j -= 1
    expect_name = True
    while j >= 0:
        t = tokens[j]
        if expect_name:
            if t.kind != "name":
                break
            parts.append(t.text)
        else:
            if not (t.kind == "op" and t.text == "."):
                break
        expect_name = not expect_name
        j -= 1
    if not parts or expect_name:  # nothing, or the chain starts after a "." (``f().x``)
        return None
    return ".".join(reversed(parts))


def _receiver_before_dot(tokens: Sequence[Token], dot: int) -> str | None:
    j = dot - 1
    while j >= 0 and tokens[j].kind == "ws":
        j -= 1
    if j < 0:
        return None
    t = tokens[j]
    if t.kind == "string":
        return "<str>"
    if t.kind == "op" and t.text in ")]}":
        # Find the matching bracket; a literal list/dict is typed, a call is named.
        depth = 0
        k = j
        while k >= 0:
            tk = tokens[k]
            if tk.kind == "op" and tk.text in ")]}":
                depth += 1
            elif tk.kind == "op" and tk.text in "([{":
                depth -= 1
                if depth == 0:
                    break
            k -= 1
        if k < 0:
            return None
        opener = tokens[k].text
        before = _dotted_before(tokens, k - 1) if k > 0 else None
        if opener == "[" and before is None:
            return "<list>"
        if opener == "{":
            return "<dict>"
        if opener == "(" and before is not None:
            return f"{before}()"
        return None
    if t.kind == "name":
        return _dotted_before(tokens, j)
    return None


def analyze(text: str, line_starts: Sequence[int], lines: Sequence[str], line: int, col: int, *, full: bool = False) -> Context:
    """Context at (line, col): enclosing calls, string/comment state, word and receiver."""
    first = statement_start(lines, line)
    base = line_starts[first]
    offset = line_starts[line] + min(col, len(lines[line]) if line < len(lines) else 0)
    if full:
        last = statement_end(lines, line)
        stop = line_starts[last] + len(lines[last]) if last < len(lines) else len(text)
    else:
        stop = offset
    tokens = tokenize(text[base:stop], base)
    frames: list[Frame] = []
    touching: Token | None = None
    ctx = Context(offset=offset, tokens=tokens, frames=frames, token=None)
    prev_sig: Token | None = None
    for idx, t in enumerate(tokens):
        if t.start >= offset:
            if touching is None and t.start == offset and t.kind in ("name", "string", "number"):
                touching = t
            break
        if t.end >= offset and t.kind not in ("ws", "nl"):
            touching = t
        kind = t.kind
        if kind in ("ws", "nl", "comment"):
            continue
        top = frames[-1] if frames else None
        if kind == "op":
            s = t.text
            if s in "([{":
                f = Frame(s, t.start, arg_start=t.end)
                if s == "(":
                    callee = _dotted_before(tokens, idx - 1)
                    if callee is not None and callee.split(".", 1)[0] in _NOT_CALLEES and "." not in callee:
                        callee = None
                    if callee is not None:
                        # def NAME( -> parameter list
                        j = idx - 1
                        while j >= 0 and tokens[j].kind == "ws":
                            j -= 1
                        k = j - 1
                        while k >= 0 and tokens[k].kind == "ws":
                            k -= 1
                        if k >= 0 and tokens[k].kind == "name" and tokens[k].text == "def":
                            f.is_def = True
                    if callee is None and prev_sig is not None and prev_sig.kind == "op" and prev_sig.text in ")]":
                        callee = "<expr>"
                    f.callee = callee
                if top is not None:
                    top._fresh = False
                    top._pending = None
                frames.append(f)
            elif s in ")]}":
                if frames:
                    frames.pop()
                if frames:
                    frames[-1]._fresh = False
            elif s == "," and top is not None:
                if top.keyword is None:
                    top.positional += 1
                top.arg_index += 1
                top.keyword = None
                top._pending = None
                top._fresh = True
                top.arg_start = t.end
            elif s == "=" and top is not None and top._pending is not None:
                top.keyword = top._pending
                top.keywords.append(top._pending)
                top._pending = None
            else:
                if top is not None:
                    top._fresh = False
                    top._pending = None
        elif kind == "name":
            if top is not None:
                if top._fresh:
                    top._pending = t.text
                    top._fresh = False
                else:
                    top._pending = None
        else:
            if top is not None:
                top._fresh = False
                top._pending = None
        prev_sig = t
    ctx.token = touching
    if full:
        # Keywords given after the cursor still count as given.
        _later_keywords(tokens, offset, frames)
    tok = touching
    if tok is not None and tok.start < offset:
        if tok.kind == "string":
            q, _, closed = string_parts(tok.text)
            body_start = tok.start + tok.text.index(q) + len(q)
            if offset >= body_start and (not closed or offset <= tok.end - len(q)):
                ctx.in_string = True
                ctx.string_prefix = text[body_start:offset]
        elif tok.kind == "comment":
            ctx.in_comment = True
    if tok is not None and tok.kind == "name" and tok.start < offset <= tok.end:
        ctx.word = text[tok.start : offset]
        ctx.word_start = tok.start
    else:
        ctx.word_start = offset
    # receiver: tokens before the word (or the cursor) end with "."
    i = len(tokens) - 1
    while i >= 0 and tokens[i].start >= ctx.word_start:
        i -= 1
    while i >= 0 and tokens[i].kind == "ws":
        i -= 1
    if i >= 0 and tokens[i].kind == "op" and tokens[i].text == "." and not ctx.in_string and not ctx.in_comment:
        ctx.after_dot = True
        ctx.receiver = _receiver_before_dot(tokens, i)
    return ctx


def _later_keywords(tokens: Sequence[Token], offset: int, frames: Sequence[Frame]) -> None:
    """Add keywords written after the cursor to the open frames (so completion skips them)."""
    if not frames:
        return
    depth = 0
    fresh = False
    pending: str | None = None
    target = frames[-1]
    for t in tokens:
        if t.start < offset or t.kind in ("ws", "nl", "comment"):
            continue
        if t.kind == "op" and t.text in "([{":
            depth += 1
        elif t.kind == "op" and t.text in ")]}":
            if depth == 0:
                return
            depth -= 1
        elif depth == 0 and t.kind == "op" and t.text == ",":
            fresh = True
            pending = None
            continue
        elif depth == 0 and t.kind == "op" and t.text == "=" and pending is not None:
            if pending not in target.keywords:
                target.keywords.append(pending)
        if depth == 0 and t.kind == "name" and fresh:
            pending = t.text
        else:
            pending = None if not (t.kind == "op" and t.text == "=") else pending
        fresh = False


# ----------------------------------------------------------------- symbols


_SYM_RE = re.compile(
    r"""(?P<ind>[ \t]*)(?:
        def[ \t]+(?P<fn>[^\W\d]\w*)[ \t]*\((?P<params>[^)]*)
      | for[ \t]+(?P<loop>[^\n:]*?)[ \t]+in\b
      | load\((?P<load>[^)]*)
      | (?P<tgt>[^\W\d]\w*(?:[ \t]*,[ \t]*[^\W\d]\w*)*)[ \t]*,?[ \t]*(?:[-+*/%|&^]|//)?=(?!=)
    )""",
    re.X,
)
_NAME_RE = re.compile(r"[^\W\d]\w*")
_LOAD_ARG_RE = re.compile(r"""(?:([^\W\d]\w*)[ \t]*=[ \t]*)?(['"])(.*?)\2""")


class Symbol(NamedTuple):
    name: str
    kind: str  # function | variable | load | parameter
    line: int
    indent: int
    params: tuple[str, ...] = ()  # for functions: parameter names as written (with * / **)
    module: str | None = None  # for load: the module string
    exported: str | None = None  # for load: the name in the loaded module


class FileSymbols:
    """Bindings of a file.  Top-level names keep their first binding; Symbols are made on demand."""

    def __init__(self, entries: Sequence[tuple[int, _RawEntry]]) -> None:
        self._entries = entries
        g: dict[str, tuple[int, _RawEntry]] = {}
        f: dict[str, tuple[int, _RawEntry]] = {}
        for line, e in entries:
            if e[2] == 0 and e[1] != "parameter" and e[0] not in g:
                g[e[0]] = (line, e)
            if e[1] == "function" and e[0] not in f:
                f[e[0]] = (line, e)
        self._g = g
        self._f = f

    @property
    def entries(self) -> Sequence[tuple[int, _RawEntry]]:
        return self._entries

    @staticmethod
    def _make(line: int, e: _RawEntry) -> Symbol:
        return Symbol(e[0], e[1], line, e[2], e[3], e[4], e[5])

    @property
    def symbols(self) -> list[Symbol]:
        return [self._make(line, e) for line, e in self._entries]

    def names(self) -> list[str]:
        return list(self._g)

    def __contains__(self, name: object) -> bool:
        return name in self._g

    def raw(self, name: str) -> _RawEntry | None:
        """What :meth:`get` makes its Symbol of, without making it (a cheap cache key)."""
        hit = self._g.get(name)
        return hit[1] if hit is not None else None

    def get(self, name: str) -> Symbol | None:
        hit = self._g.get(name)
        return self._make(*hit) if hit is not None else None

    def globals(self) -> dict[str, Symbol]:
        return {name: self._make(line, e) for name, (line, e) in self._g.items()}

    def function(self, name: str) -> Symbol | None:
        hit = self._f.get(name)
        return self._make(*hit) if hit is not None else None


def _line_of(starts: Sequence[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset) - 1


def split_top_level(s: str) -> list[str]:
    """Split ``s`` at the commas that are not inside brackets (parameter lists, arguments)."""
    out: list[str] = []
    depth = 0
    cur = ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def split_params(raw: str) -> tuple[str, ...]:
    out = split_top_level(raw)
    names: list[str] = []
    for p in out:
        p = p.strip()
        if not p:
            continue
        head = p.split("=", 1)[0].strip()
        if head in ("*", "/"):
            continue
        names.append(head)
    return tuple(names)


_RawEntry = tuple[str, str, int, tuple[str, ...], "str | None", "str | None"]
_Raw = tuple[_RawEntry, ...]
# line text -> what it binds (only for matches that stay within the line)
_LINE_MEMO: dict[str, _Raw] = {}


def _scan_raw(text: str, start: int, line_end: int) -> tuple[_Raw, bool]:
    """What the statement starting at ``start`` binds, and whether the match stayed on its line."""
    mt = _SYM_RE.match(text, start)
    if mt is None:
        return (), True
    out: list[tuple[str, str, int, tuple[str, ...], str | None, str | None]] = []
    indent = len(mt.group("ind").expandtabs(4))
    if (fn := mt.group("fn")) is not None:
        params = split_params(mt.group("params") or "")
        out.append((fn, "function", indent, params, None, None))
        for p in params:
            out.append((p.lstrip("*"), "parameter", indent + 1, (), None, None))
    elif (loop := mt.group("loop")) is not None:
        for n in _NAME_RE.findall(loop):
            out.append((n, "variable", indent, (), None, None))
    elif (load := mt.group("load")) is not None:
        args = list(_LOAD_ARG_RE.finditer(load))
        if args:
            module = args[0].group(3)
            for a in args[1:]:
                alias, exported = a.group(1), a.group(3)
                out.append((alias or exported, "load", indent, (), module, exported))
    elif (tgt := mt.group("tgt")) is not None:
        for n in _NAME_RE.findall(tgt):
            if n not in KEYWORDS:
                out.append((n, "variable", indent, (), None, None))
    return tuple(out), mt.end() <= line_end


def _raw_for(text: str, starts: Sequence[int], lines: Sequence[str], line: int) -> _Raw:
    ln = lines[line]
    raw = _LINE_MEMO.get(ln)
    if raw is None:
        raw, local = _scan_raw(text, starts[line], starts[line] + len(ln))
        if local:
            if len(_LINE_MEMO) > 50_000:
                _LINE_MEMO.clear()
            _LINE_MEMO[ln] = raw
    return raw


def _scan_entries(
    text: str, starts: Sequence[int], lines: Sequence[str], first: int, end: int
) -> list[tuple[int, _RawEntry]]:
    """What the top-level statements starting on lines first..end-1 bind."""
    entries: list[tuple[int, _RawEntry]] = []
    memo = _LINE_MEMO
    for i in range(first, end):
        ln = lines[i]
        if ln and (ln[0].isalpha() or ln[0] == "_"):
            raw = memo.get(ln)
            if raw is None:
                raw = _raw_for(text, starts, lines, i)
            for e in raw:
                entries.append((i, e))
    return entries


def scan_symbols(text: str, starts: Sequence[int], lines: Sequence[str]) -> FileSymbols:
    """Top-level names bound in a file (lines starting in column 0), found without parsing."""
    return FileSymbols(_scan_entries(text, starts, lines, 0, len(lines)))


#: A statement that binds names may span this many lines (``def f(a,\n b):``, multi-line
#: ``load(...)``): an edit rescans from this many lines above it.
_SPAN_LINES = 24


def rescan_symbols(
    previous: FileSymbols,
    edits: Sequence[tuple[int, int, int]],
    text: str,
    starts: Sequence[int],
    lines: Sequence[str],
) -> FileSymbols:
    """:func:`scan_symbols` of the edited text, from the symbols before the edits.

    ``edits``: in order, ``(first line, last line before the edit, number of lines that
    replaced first..last)``.  Lines outside the edits keep their entries (shifted); the edited
    lines, and the lines just above them whose statements may reach into them, are scanned.
    """
    entries = list(previous.entries)
    dirty: list[tuple[int, int]] = []  # [start, end) line ranges in the current numbering
    for first, last_old, count in edits:
        delta = count - (last_old - first + 1)
        if delta:
            entries = [x for x in entries if x[0] < first] + [(i + delta, e) for i, e in entries if i > last_old]
        else:  # the edit kept the line count (typing within a line): nothing moves
            entries = [x for x in entries if x[0] < first or x[0] > last_old]
        moved: list[tuple[int, int]] = []
        for a, b in dirty:
            if b <= first:
                moved.append((a, b))
            elif a > last_old:
                moved.append((a + delta, b + delta))
            else:
                moved.append((min(a, first), max(first + count, b + delta if b - 1 > last_old else 0)))
        moved.append((first, first + count))
        dirty = moved
    n = len(lines)
    spans = sorted((max(0, a - _SPAN_LINES), min(n, b)) for a, b in dirty)
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        elif a < b:
            merged.append((a, b))
    out: list[tuple[int, _RawEntry]] = []
    k = 0
    for a, b in merged:
        while k < len(entries) and entries[k][0] < a:
            out.append(entries[k])
            k += 1
        while k < len(entries) and entries[k][0] < b:
            k += 1  # rescanned below
        out.extend(_scan_entries(text, starts, lines, a, b))
    out.extend(entries[k:])
    if out == previous.entries:
        # The usual keystroke binds nothing new: the same object, so that what callers
        # derived from it (completion items, say) stays valid.
        return previous
    return FileSymbols(out)


def scan_lines(text: str, starts: Sequence[int], lines: Sequence[str], first: int, last: int) -> list[Symbol]:
    """Every binding on lines first..last (any indentation)."""
    out: list[Symbol] = []
    for i in range(max(first, 0), min(last, len(lines) - 1) + 1):
        ln = lines[i]
        s = ln.lstrip()
        if s and (s[0].isalpha() or s[0] == "_"):
            for e in _raw_for(text, starts, lines, i):
                out.append(FileSymbols._make(i, e))
    return out


def enclosing_def(lines: Sequence[str], line: int) -> int | None:
    """Line of the ``def`` whose body holds ``line`` (the innermost), if any."""
    cur = lines[line] if line < len(lines) else ""
    stripped = cur.lstrip()
    indent = len(cur) - len(stripped) if stripped else 10**6
    i = line - 1
    while i >= 0 and indent > 0:
        text = lines[i]
        s = text.lstrip()
        if s and not s.startswith("#"):
            ind = len(text) - len(s)
            if ind < indent:
                if s.startswith("def ") or s.startswith("def\t"):
                    return i
                indent = ind
        i -= 1
    return None


def def_end(lines: Sequence[str], def_line: int) -> int:
    text = lines[def_line]
    indent = len(text) - len(text.lstrip())
    i = def_line + 1
    last = def_line
    while i < len(lines):
        t = lines[i]
        s = t.lstrip()
        if s and not s.startswith("#"):
            if len(t) - len(s) <= indent and not s.startswith((")", "]", "}")):
                break
            last = i
        i += 1
    return last


def local_symbols(text: str, starts: Sequence[int], lines: Sequence[str], line: int) -> list[Symbol]:
    """Parameters and names bound in the function(s) enclosing ``line``, innermost first."""
    out: list[Symbol] = []
    d = enclosing_def(lines, line)
    while d is not None:
        end = def_end(lines, d)
        for s in scan_lines(text, starts, lines, d, end):
            if s.line == d and s.kind == "function":
                continue
            out.append(s)
        d = enclosing_def(lines, d) if d > 0 else None
    return out


__all__ = [
    "Context",
    "FileSymbols",
    "Frame",
    "Symbol",
    "Token",
    "analyze",
    "local_symbols",
    "rescan_symbols",
    "scan_lines",
    "scan_symbols",
    "string_parts",
    "string_value",
    "tokenize",
]
