"""Parsing Tiltfiles: Starlark source -> Python AST, with recovery and dialect checks.

Starlark's grammar is (almost) a subset of Python's, so the standard library
parser gives us a complete, exact syntax tree with positions.  What it accepts
beyond Starlark (classes, imports, f-strings, ``is`` ...) is reported here as
dialect errors; the evaluator never runs such nodes.

When the whole file does not parse, the file is cut into top-level chunks (a
chunk starts at a line in column 0) and each chunk is parsed on its own, so one
broken statement does not hide the diagnostics of the rest of the file.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from .model import Range

MAX_FILE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    range: Range


@dataclass
class SourceFile:
    path: str
    text: str
    lines: list[str] = field(init=False)
    _ascii: list[bool] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")
        self._ascii = [ln.isascii() for ln in self.lines]

    def col(self, lineno: int, byte_col: int) -> int:
        """Convert the AST's (1-based line, UTF-8 byte column) to a character column."""
        idx = lineno - 1
        if idx < 0 or idx >= len(self.lines):
            return byte_col
        if self._ascii[idx]:
            return byte_col
        raw = self.lines[idx].encode("utf-8")
        return len(raw[:byte_col].decode("utf-8", errors="replace"))

    def node_range(self, node: ast.AST) -> Range:
        lineno = getattr(node, "lineno", 1)
        col = getattr(node, "col_offset", 0)
        end_lineno = getattr(node, "end_lineno", None) or lineno
        end_col = getattr(node, "end_col_offset", None)
        if end_col is None:
            end_col = col
        return Range.of(lineno - 1, self.col(lineno, col), end_lineno - 1, self.col(end_lineno, end_col))

    def line_range(self, lineno: int, col: int = 0, end_col: int | None = None) -> Range:
        """Range on one (1-based) line, from a character column to end_col or the line's end."""
        idx = max(0, min(lineno - 1, len(self.lines) - 1))
        line = self.lines[idx] if self.lines else ""
        stop = len(line) if end_col is None else end_col
        return Range.of(idx, min(col, len(line)), idx, max(min(stop, len(line)), min(col, len(line))))


@dataclass
class ParsedFile:
    source: SourceFile
    module: ast.Module
    problems: list[Problem]
    # Line numbers (1-based) of top-level chunks that failed to parse.
    broken_lines: list[tuple[int, int]] = field(default_factory=list)


def dotted_name(expr: ast.expr) -> str | None:
    """``a.b.c`` for a name or a chain of attributes on one, None for anything else (a call, a subscript)."""
    parts: list[str] = []
    cur = expr
    while isinstance(cur, ast.Attribute):
        parts.append(cur.attr)
        cur = cur.value
    if isinstance(cur, ast.Name):
        parts.append(cur.id)
        return ".".join(reversed(parts))
    return None


def decode_source(data: bytes) -> tuple[str | None, str | None]:
    """Return (text, error) for raw file bytes."""
    if len(data) > MAX_FILE_BYTES:
        return None, f"file is too large to analyze ({len(data) / 1e6:.1f} MB, limit {MAX_FILE_BYTES / 1e6:.0f} MB)"
    if b"\x00" in data[:8192]:
        return None, "file looks binary (it contains NUL bytes); a Tiltfile must be UTF-8 text"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"file is not valid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})"
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, None


def _parse(text: str, path: str) -> ast.Module:
    # Not the file's path: for a syntax error, CPython reads the error's line from the file
    # named (when it exists) to compute the column, and the text parsed may be an unsaved
    # version, or a piece of the file placed at its line (tilt_lsp.tiltfile.chunks).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text, filename="<tiltfile>", type_comments=False)


def _syntax_problem(src: SourceFile, err: SyntaxError, line_offset: int = 0) -> Problem:
    lineno = (err.lineno or 1) + line_offset
    col = max((err.offset or 1) - 1, 0)
    end_col = None
    if err.end_lineno == err.lineno and err.end_offset and err.end_offset - 1 > col:
        end_col = err.end_offset - 1
    msg = err.msg or "invalid syntax"
    if msg.startswith("invalid syntax. "):
        msg = msg[len("invalid syntax. ") :]
    rng = src.line_range(lineno, col, end_col if end_col is not None else col + 1)
    return Problem("TL101", f"syntax error: {msg}", rng)


# Words that continue the statement above them (never start a chunk).
_CONTINUATION = re.compile(r"(?:else|elif|except|finally)\b")


def _chunks(lines: list[str]) -> list[tuple[int, int]]:
    """Top-level chunks as (first, last) 0-based line indexes.

    Every top-level statement of a file that parses starts a chunk (or shares a line with
    the statement before it); tilt_lsp.tiltfile.chunks relies on that.
    """
    starts: list[int] = []
    for i, line in enumerate(lines):
        if not line or line[0] in " \t#\r\f\\":  # blank, comment, or a line continuation
            continue
        if line[0] in ")]}" or _CONTINUATION.match(line):
            continue
        starts.append(i)
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    out = []
    for k, s in enumerate(starts):
        e = starts[k + 1] - 1 if k + 1 < len(starts) else len(lines) - 1
        out.append((s, e))
    return out


def parse_source(path: str, text: str, dialect: bool = True) -> ParsedFile:
    """Parse (with recovery); with ``dialect``, the problems include check_dialect's."""
    src = SourceFile(path, text)
    try:
        module = _parse(text, path)
        problems: list[Problem] = []
        broken: list[tuple[int, int]] = []
    except SyntaxError:
        module, problems, broken = _parse_with_recovery(src)
    except (ValueError, RecursionError, MemoryError) as e:
        module = ast.Module(body=[], type_ignores=[])
        if isinstance(e, (RecursionError, MemoryError)):
            why = "expressions are nested too deeply"
        else:
            why = str(e) or type(e).__name__
        problems = [Problem("TL101", f"cannot parse file: {why}", src.line_range(1, 0))]
        broken = [(1, len(src.lines))]
    if dialect:
        problems.extend(check_dialect(src, module))
    return ParsedFile(src, module, problems, broken)


def _parse_with_recovery(src: SourceFile) -> tuple[ast.Module, list[Problem], list[tuple[int, int]]]:
    lines = src.lines
    chunks = _chunks(lines)
    body: list[ast.stmt] = []
    problems: list[Problem] = []
    broken: list[tuple[int, int]] = []
    i = 0
    while i < len(chunks):
        first, last = chunks[i]
        merged_ok = False
        err: SyntaxError | None = None
        # A chunk may have been cut inside a multi-line string or bracket: try
        # merging it with a few following chunks before calling it broken.
        for extra in range(0, 4):
            if i + extra >= len(chunks):
                break
            last = chunks[i + extra][1]
            text = "\n" * first + "\n".join(lines[first : last + 1])
            try:
                mod = _parse(text, src.path)
            except SyntaxError as e:
                if err is None:
                    err = e
                continue
            except (ValueError, RecursionError, MemoryError):
                break
            body.extend(mod.body)
            i += extra + 1
            merged_ok = True
            break
        if merged_ok:
            continue
        first, last = chunks[i]
        if err is not None:
            problems.append(_syntax_problem(src, err))
        broken.append((first + 1, last + 1))
        i += 1
    return ast.Module(body=body, type_ignores=[]), problems, broken


_STMT_NAMES: dict[type, str] = {
    ast.ClassDef: "class definitions",
    ast.Import: "import statements",
    ast.ImportFrom: "import statements",
    ast.Try: "try/except",
    ast.With: "with statements",
    ast.AsyncWith: "async with",
    ast.AsyncFor: "async for",
    ast.AsyncFunctionDef: "async functions",
    ast.Global: "the global statement",
    ast.Nonlocal: "the nonlocal statement",
    ast.Raise: "raise (use fail() instead)",
    ast.Assert: "assert (use fail() instead)",
    ast.Delete: "the del statement",
    ast.Match: "match statements",
}
if hasattr(ast, "TryStar"):
    _STMT_NAMES[ast.TryStar] = "try/except*"

_EXPR_NAMES: dict[type, str] = {
    ast.Set: "set literals (use set([...]))",
    ast.SetComp: "set comprehensions",
    ast.GeneratorExp: "generator expressions (use a list comprehension)",
    ast.NamedExpr: "the := operator",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.Starred: "starred expressions",
}


# Leaf node types that never need a visit (operators and contexts).
_LEAVES = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)

_Add = Callable[[str, str, ast.AST], None]


def check_dialect(src: SourceFile, module: ast.Module) -> list[Problem]:
    """Report Python constructs that parse but that Starlark (as Tilt runs it) rejects.

    One iterative pass over the tree; each entry carries (function depth, inside
    if/for/while, inside a loop) because load(), return and break depend on them.
    """
    out: list[Problem] = []

    def add(code: str, msg: str, node: ast.AST) -> None:
        out.append(Problem(code, msg, src.node_range(node)))

    stack: list[tuple[ast.AST, int, bool, bool, ast.AST]] = [(stmt, 0, False, False, module) for stmt in module.body]
    push = stack.append
    pop = stack.pop
    lines, ascii_ = src.lines, src._ascii
    n_lines = len(lines)
    special = _DIALECT_SPECIAL
    child_fields = _CHILD_FIELDS
    AST, Name, Pass, Constant, If = ast.AST, ast.Name, ast.Pass, ast.Constant, ast.If
    while stack:
        node, fn, nested, loop, parent = pop()
        t = type(node)
        if t is Name or t is Pass:
            continue
        if t is Constant:
            assert isinstance(node, ast.Constant)
            v = node.value
            tv = type(v)
            if tv is str:
                # Fast path (most literals): one plain literal on one ASCII line.
                line = node.lineno - 1
                if node.end_lineno == node.lineno and 0 <= line < n_lines and ascii_[line]:
                    text = lines[line][node.col_offset : node.end_col_offset]
                    if "\\" not in text and text[:1] in ("'", '"') and text.find(text[0], 1) == len(text) - 1:
                        continue
                out.extend(_check_literal(src, node))
            elif v is None or tv is bool:
                pass
            elif v is Ellipsis:
                add("TL105", "Starlark has no ... (Ellipsis)", node)
            elif isinstance(v, complex):
                add("TL105", "Starlark has no complex numbers", node)
            else:
                out.extend(_check_literal(src, node))
            continue
        if t not in special:
            # Everything else: visit the children with the same context.
            fields = child_fields[t]
            for name in fields:
                v = getattr(node, name, None)
                if v.__class__ is list:
                    for x in v:
                        if isinstance(x, AST):
                            push((x, fn, nested, loop, node))
                elif isinstance(v, AST):
                    push((v, fn, nested, loop, node))
            continue
        if t in _STMT_NAMES:
            add("TL102", f"Starlark does not support {_STMT_NAMES[t]}", _head(node))
        elif t is ast.JoinedStr:
            add("TL103", "f-strings are not Starlark; use '%s' % value or '{}'.format(value)", node)
            continue
        elif t is ast.Call:
            assert isinstance(node, ast.Call)
            n_star = 0
            for arg_ in node.args:
                if arg_.__class__ is ast.Starred:
                    n_star += 1
            n_dstar = 0
            for k in node.keywords:
                if k.arg is None:
                    n_dstar += 1
            if n_star > 1:
                add("TL105", "Starlark does not allow more than one *args in a call", node)
            if n_dstar > 1:
                add("TL105", "Starlark does not allow more than one **kwargs in a call", node)
            if n_star or n_dstar:
                _check_arg_order(node, add)
        elif t is ast.Compare:
            assert isinstance(node, ast.Compare)
            for op in node.ops:
                if isinstance(op, (ast.Is, ast.IsNot)):
                    add("TL104", "Starlark has no `is` operator; use == or !=", node)
                    break
            else:
                if len(node.ops) > 1:
                    add("TL105", "Starlark does not allow chained comparisons such as a < b < c; use `and`", node)
        elif t in _EXPR_NAMES:
            if not (t is ast.Starred and isinstance(parent, ast.Call)):
                add("TL105", f"Starlark does not support {_EXPR_NAMES[t]}", node)
        elif t is ast.BinOp:
            assert isinstance(node, ast.BinOp)
            if isinstance(node.op, ast.Pow):
                add("TL105", "Starlark has no ** operator", node)
            elif isinstance(node.op, ast.MatMult):
                add("TL105", "Starlark has no @ operator", node)
        elif t is ast.Dict:
            assert isinstance(node, ast.Dict)
            if any(k is None for k in node.keys):
                add("TL105", "Starlark does not support ** inside a dict literal; use dict(a, **b) or .update()", node)
        elif t is ast.Assign:
            assert isinstance(node, ast.Assign)
            if len(node.targets) > 1:
                add("TL101", "syntax error: Starlark has no chained assignment (a = b = value); assign each name", node)
        elif t is ast.AugAssign:
            assert isinstance(node, ast.AugAssign)
            if isinstance(node.op, (ast.Pow, ast.MatMult)):
                add("TL105", "Starlark does not support this augmented assignment", node)
        elif t is ast.AnnAssign:
            add("TL102", "Starlark does not support annotated assignments", node)
        elif t is ast.Return:
            if fn == 0:
                add("TL101", "syntax error: return statement not within a function", node)
        elif t is ast.Break or t is ast.Continue:
            if not loop:
                add("TL101", f"syntax error: {'break' if t is ast.Break else 'continue'} not in a loop", node)
        elif t is ast.Expr:
            assert isinstance(node, ast.Expr)
            call = node.value
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "load":
                _check_load(call, fn, nested, add)
        elif t is ast.FunctionDef or t is ast.Lambda:
            assert isinstance(node, (ast.FunctionDef, ast.Lambda))
            a = node.args
            _check_params(a, node, add)
            body: list[ast.AST]
            if isinstance(node, ast.FunctionDef):
                if node.decorator_list:
                    add("TL102", "Starlark does not support decorators", node.decorator_list[0])
                if node.returns is not None:
                    add("TL102", "Starlark does not support type annotations", node.returns)
                body = list(node.body)
            else:
                body = [node.body]
            for x in body:
                push((x, fn + 1, True, False, node))
            for d in [*a.defaults, *[x for x in a.kw_defaults if x is not None]]:
                push((d, fn, nested, loop, node))
            continue
        elif t is ast.For or t is ast.While:
            assert isinstance(node, (ast.For, ast.While))
            if node.orelse:
                add("TL102", "Starlark loops have no else clause", node.orelse[0])
            for x in node.body:
                push((x, fn, True, True, node))
            for x in node.orelse:
                push((x, fn, True, loop, node))
            heads: list[ast.AST] = [node.target, node.iter] if isinstance(node, ast.For) else [node.test]
            for x in heads:
                push((x, fn, True, loop, node))
            continue
        # Everything else: visit the children with the same context (if/else bodies are nested).
        inner = nested or t is If
        fields = child_fields[t]
        for name in fields:
            v = getattr(node, name, None)
            if v.__class__ is list:
                for x in v:
                    if isinstance(x, AST):
                        push((x, fn, inner, loop, node))
            elif isinstance(v, AST):
                push((v, fn, inner, loop, node))
    return out


# Node types check_dialect looks at itself (all others only have their children visited).
_DIALECT_SPECIAL = frozenset({
    ast.Constant, ast.JoinedStr, ast.Call, ast.Compare, ast.BinOp, ast.Dict, ast.Assign, ast.AugAssign,
    ast.AnnAssign, ast.Return, ast.Break, ast.Continue, ast.Expr, ast.FunctionDef, ast.Lambda, ast.For,
    ast.While, ast.If, *_STMT_NAMES, *_EXPR_NAMES,
})  # fmt: skip

_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})


class _ChildFields(dict[type, tuple[str, ...]]):
    """Per node type, the fields that can hold child nodes, filled in on first use.

    Operators and expression contexts (leaves, see _LEAVES) are never visited, so their fields
    are left out.  A plain ``table[t]`` lookup: ``__missing__`` runs only for a new type.
    """

    def __missing__(self, t: type) -> tuple[str, ...]:
        fields = tuple(f for f in getattr(t, "_fields", ()) if f not in _LEAF_FIELDS)
        self[t] = fields
        return fields


_CHILD_FIELDS = _ChildFields()


def _check_arg_order(call: ast.Call, add: _Add) -> None:
    """Starlark wants call arguments in the order: positional, name=value, *args, **kwargs."""
    star = next((a for a in call.args if isinstance(a, ast.Starred)), None)
    dstar = next((k for k in call.keywords if k.arg is None), None)

    def after(x: ast.AST, y: ast.AST) -> bool:
        return (getattr(x, "lineno", 0), getattr(x, "col_offset", 0)) > (getattr(y, "lineno", 0), getattr(y, "col_offset", 0))

    if star is not None:
        for a in call.args:
            if not isinstance(a, ast.Starred) and after(a, star):
                add("TL101", "syntax error: positional argument may not follow *args", a)
                break
        for k in call.keywords:
            if k.arg is not None and after(k, star):
                add("TL101", "syntax error: keyword argument may not follow *args", k)
                break
    if dstar is not None:
        for k in call.keywords:
            if k.arg is not None and after(k, dstar):
                add("TL101", "syntax error: keyword argument may not follow **kwargs", k)
                break


def _check_params(a: ast.arguments, node: ast.AST, add: _Add) -> None:
    if a.posonlyargs:
        add("TL102", "Starlark does not support positional-only parameters (/)", node)
    seen: set[str] = set()
    for p in [*a.posonlyargs, *a.args, a.vararg, *a.kwonlyargs, a.kwarg]:
        if p is None:
            continue
        if p.annotation is not None:
            add("TL102", "Starlark does not support type annotations", p.annotation)
        if p.arg in seen:
            add("TL101", f"syntax error: duplicate parameter: {p.arg}", p)
        seen.add(p.arg)


def _check_load(call: ast.Call, fn: int, nested: bool, add: _Add) -> None:
    if fn > 0 or nested:
        where = "a function" if fn > 0 else "a loop or conditional"
        add("TL106", f"load statement within {where}: load() is only allowed at the top level", call)
    elif not call.args or not (isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
        add("TL106", "load() needs a string literal as its first argument", call)
    else:
        for a2 in call.args[1:]:
            if not (isinstance(a2, ast.Constant) and isinstance(a2.value, str)):
                add("TL106", "load() takes names as string literals", a2)
        for kw in call.keywords:
            if kw.arg is None or not (isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)):
                add("TL106", "load() aliases must be name='symbol' with a string literal", kw.value)
        if len(call.args) < 2 and not call.keywords:
            add("TL106", "load() needs at least one name to import", call)


def _head(node: ast.AST) -> ast.AST:
    """For compound statements, point at the first line only."""
    if isinstance(node, (ast.ClassDef, ast.Try, ast.With, ast.AsyncWith, ast.Match)):
        fake = ast.Pass()
        fake.lineno = node.lineno
        fake.col_offset = node.col_offset
        fake.end_lineno = node.lineno
        fake.end_col_offset = node.col_offset + {ast.ClassDef: 5, ast.Try: 3, ast.With: 4}.get(type(node), 5)
        return fake
    return node


# ----------------------------------------------------------------- literals
#
# Python's parser accepts a few literal forms that Starlark's scanner rejects.
# They are found by re-reading the literal's source text.

_ESCAPES = frozenset("\n\\'\"abfnrtvxuU01234567")
_QUOTES = ("'''", '"""', "'", '"')


def _literal_text(src: SourceFile, rng: Range) -> str:
    a, b = rng.start, rng.end
    if a.line >= len(src.lines) or b.line >= len(src.lines):
        return ""
    if a.line == b.line:
        return src.lines[a.line][a.character : b.character]
    parts = [src.lines[a.line][a.character :], *src.lines[a.line + 1 : b.line], src.lines[b.line][: b.character]]
    return "\n".join(parts)


def _offset_range(rng: Range, text: str, i: int, length: int) -> Range:
    line = rng.start.line + text.count("\n", 0, i)
    nl = text.rfind("\n", 0, i)
    col = (rng.start.character + i) if nl < 0 else (i - nl - 1)
    return Range.of(line, col, line, col + length)


def _check_literal(src: SourceFile, node: ast.Constant) -> list[Problem]:
    v = node.value
    line = node.lineno - 1
    if node.end_lineno == node.lineno and 0 <= line < len(src.lines) and src._ascii[line]:
        # Fast path (most literals): one ASCII line, where byte columns are characters.
        text = src.lines[line][node.col_offset : node.end_col_offset]
        if isinstance(v, (int, float)):
            if "_" not in text:
                return []
        elif "\\" not in text and text[:1] in ("'", '"') and text.find(text[0], 1) == len(text) - 1:
            return []
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        rng = src.node_range(node)
        if "_" in _literal_text(src, rng):
            return [Problem("TL101", "syntax error: Starlark does not allow _ in number literals", rng)]
        return []
    if not isinstance(v, (str, bytes)):
        return []
    rng = src.node_range(node)
    text = _literal_text(src, rng)
    if not text or ("\\" not in text and text[0] in "'\"" and text.find(text[0], 1) == len(text) - 1):
        return []  # one plain literal without escapes
    out: list[Problem] = []
    i, n, count = 0, len(text), 0
    while i < n:
        # Skip what lies between literals (spaces, newlines, comments, line continuations).
        ch = text[i]
        if ch in " \t\n\\":
            i += 1
            continue
        if ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        j = i
        while j < n and text[j] in "rRbBuU":
            j += 1
        q = next((q for q in _QUOTES if text.startswith(q, j)), None)
        if q is None:
            break  # not a literal we understand: stop quietly
        raw = "r" in text[i:j].lower()
        count += 1
        if count == 2:
            out.append(
                Problem(
                    "TL101",
                    "syntax error: adjacent string literals are not joined in Starlark; put + between them",
                    _offset_range(rng, text, i, j - i + len(q)),
                )
            )
        k = j + len(q)
        while k < n and not text.startswith(q, k):
            if text[k] == "\\":
                nxt = text[k + 1 : k + 2]
                if not raw and nxt and nxt not in _ESCAPES:
                    out.append(Problem("TL101", f"syntax error: invalid escape sequence \\{nxt}", _offset_range(rng, text, k, 2)))
                k += 2
                continue
            k += 1
        i = k + len(q)
    return out
