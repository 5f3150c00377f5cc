"""Incremental parsing (tilt_lsp/tiltfile/chunks.py) gives exactly what a whole parse gives.

Differential: every Tiltfile under tests/ and the benchmark's 5,000-line one, edited at
random one line at a time (edits that break the syntax, join or split statements, move
everything below them), parsed and evaluated with the segment cache kept across the edits,
against a parse and an evaluation from scratch.
"""

from __future__ import annotations

import ast
import random
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tilt_lsp.tiltfile import chunks
from tilt_lsp.tiltfile import evaluate as evaluation
from tilt_lsp.tiltfile.evaluate import evaluate
from tilt_lsp.tiltfile.syntax import _parse, parse_source

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "bench"))
from gen_tiltfile import generate  # noqa: E402

TILTFILES = sorted(
    p for p in TESTS.rglob("*") if p.is_file() and (p.name == "Tiltfile" or p.name.startswith("Tiltfile.") or p.suffix == ".tiltfile")
)

SNIPPETS = [
    "undefined_name_x",
    "k8s_yaml('k8s/missing.yaml')",
    "x = (",
    ")",
    '"""',
    "'''",
    "else:",
    "except:",
    "finally:",
    "elif x:",
    "  indented()",
    "@dec",
    "def f():",
    "    return 1",
    "if True:",
    "for i in range(3):",
    "try:",
    "load('./nope.star', 'a')",
    "y = undefined_thing + 1",
    "print(undefined)",
    "a, b = 1, 2",
    "x = 1; y = 2",
    "docker_build('img', '.', bogus=1)",
    "def build_0(): pass",
    "REGISTRY = 3",
    "names = [k for k in {1: 2}]",
    "z = 1 < 2 < 3",
    "s = 'a\\q'",
    "\\",
    "",
    "# comment",
    "x = [",
    "]",
    "print('done')",
]
CHARS = "()[]{}'\"#:=,\\ x1\n\t"


def edit(rng: random.Random, text: str, original: str) -> str:
    lines = text.split("\n")
    k = rng.randrange(len(lines))
    line = lines[k]
    op = rng.randrange(11)
    if op == 0:
        return original  # back to a text that parses: segments get reused
    if op == 1:
        i = rng.randint(0, len(line))
        lines[k] = line[:i] + rng.choice(CHARS) + line[i:]
    elif op == 2 and line:
        i = rng.randrange(len(line))
        lines[k] = line[:i] + line[i + 1 :]
    elif op == 3:
        del lines[k]
    elif op == 4:
        lines.insert(k, line)
    elif op == 5:
        i = rng.randint(0, len(line))
        lines[k : k + 1] = [line[:i], line[i:]]
    elif op == 6 and k + 1 < len(lines):
        lines[k : k + 2] = [line + lines[k + 1]]
    elif op == 7:
        lines[k] = "    " + line
    elif op == 8:
        lines[k] = line.lstrip()
    else:
        lines.insert(k, rng.choice(SNIPPETS))
    return "\n".join(lines)


def versions(text: str, n: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    cur = text
    for _ in range(n):
        cur = edit(rng, cur, text)
        yield cur


def dump(m: ast.AST) -> str:
    return ast.dump(m, include_attributes=True)


def check_parse(path: str, text: str, deep: bool = True) -> None:
    want = parse_source(path, text, dialect=False)
    try:
        got, segs, _ = chunks.parse(path, text)
    except chunks._Fallback:  # noqa: SLF001 - the evaluator parses whole then
        return
    assert dump(got.module) == dump(want.module)
    assert got.problems == want.problems
    assert got.broken_lines == want.broken_lines
    assert [s for seg in segs for s in seg.stmts] == got.module.body
    lines = text.split("\n")
    at = 0
    for seg in segs:
        # Segments cover the lines they say, in order, and are what their text parses to
        # (the next version reuses them by text).
        assert seg.base >= at and "\n".join(lines[seg.base : seg.base + seg.text.count("\n") + 1]) == seg.text
        at = seg.base + seg.text.count("\n") + 1
        if deep:
            assert dump(ast.Module(body=seg.stmts, type_ignores=[])) == dump(_parse("\n" * seg.base + seg.text, path))


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    chunks.clear()
    evaluation._PARSE_CACHE.clear()
    yield
    chunks.ENABLED = True
    chunks.clear()
    evaluation._PARSE_CACHE.clear()


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(generate(str(tmp_path_factory.mktemp("big")), 5000))


def test_corpus_found() -> None:
    assert len(TILTFILES) >= 20


@pytest.mark.parametrize("tf", TILTFILES, ids=lambda p: str(p.relative_to(TESTS)))
def test_parse_after_random_edits(tf: Path) -> None:
    text = tf.read_text(encoding="utf-8", errors="replace")
    check_parse(str(tf), text)
    for v in versions(text, 60, zlib.crc32(str(tf.relative_to(TESTS)).encode())):
        check_parse(str(tf), v)


def test_parse_after_random_edits_big(big: Path) -> None:
    text = big.read_text()
    check_parse(str(big), text)
    for k, v in enumerate(versions(text, 12, 7)):
        check_parse(str(big), v, deep=k % 4 == 3)


def _model_both_ways(root: Path, text: str) -> None:
    overlays = {str(root): text}
    got = evaluate(str(root), overlays)
    chunks.ENABLED = False
    saved = dict(evaluation._PARSE_CACHE)
    evaluation._PARSE_CACHE.clear()
    try:
        want = evaluate(str(root), overlays)
    finally:
        chunks.ENABLED = True
        evaluation._PARSE_CACHE.clear()
        evaluation._PARSE_CACHE.update(saved)
    assert got.diagnostics == want.diagnostics
    assert got == want


@pytest.mark.parametrize("tf", [p for p in TILTFILES if "corpus" in p.parts], ids=lambda p: str(p.relative_to(TESTS)))
def test_model_after_random_edits(tf: Path) -> None:
    text = tf.read_text(encoding="utf-8", errors="replace")
    _model_both_ways(tf, text)
    for v in versions(text, 25, 1 + zlib.crc32(str(tf.relative_to(TESTS)).encode())):
        _model_both_ways(tf, v)


def test_model_after_random_edits_big(big: Path) -> None:
    text = big.read_text()
    _model_both_ways(big, text)
    for v in versions(text, 6, 11):
        _model_both_ways(big, v)
    # The edits the LSP benchmark makes: a new line at the end, a blank line at the top.
    _model_both_ways(big, text + "\nundefined_name_x\n")
    _model_both_ways(big, text + "\nk8s_yaml('k8s/missing-x.yaml')\n")
    _model_both_ways(big, "\n" + text + "\nk8s_yaml('k8s/missing-x.yaml')\n")


def test_top_level_names_change() -> None:
    """A segment's name problems are recomputed when a name it uses is defined or removed."""
    base = "a = 1\nprint(b)\nprint(a)\n"
    for v in [base, "b = 2\n" + base, base, base.replace("a = 1", "c = 1"), base.replace("a = 1", "aa = 1")]:
        _model_both_ways_text(v)


def _model_both_ways_text(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        tf = Path(d) / "Tiltfile"
        tf.write_text("")
        _model_both_ways(tf, text)


def test_shift_moves_every_position() -> None:
    text = "def f(a, b=[1, {2: 3}]):\n    return [x for x in a if x]\nf(1)\n"
    mod = ast.parse(text)
    want = ast.parse("\n\n\n" + text)
    chunks.shift(mod.body, 3)
    assert dump(mod) == dump(want)


def test_segments_in_use_are_not_moved() -> None:
    """While another evaluation uses a file's segments, moved ones are parsed again instead."""
    path = "/x/Tiltfile"
    text = "a = 1\nb = 2\n"
    p1, segs1, _ = chunks.parse(path, text)
    before = dump(p1.module)
    chunks.acquire(path)
    chunks.acquire(path)
    try:
        p2, _, parsed = chunks.parse(path, "\n" + text)
    finally:
        chunks.release(path)
        chunks.release(path)
    assert dump(p1.module) == before
    assert parsed > 0
    assert dump(p2.module) == dump(parse_source(path, "\n" + text, dialect=False).module)


def test_one_line_edit_parses_one_statement(big: Path) -> None:
    text = big.read_text()
    chunks.parse(str(big), text)
    _, _, parsed = chunks.parse(str(big), text + "\nk8s_yaml('k8s/missing-x.yaml')\n")
    assert parsed < 200
    lines = text.split("\n")
    mid = len(lines) // 2
    lines.insert(mid, "")
    _, _, parsed = chunks.parse(str(big), "\n".join(lines))
    assert parsed < 2000  # the statements below moved, none was parsed again


def test_evaluations_in_threads() -> None:
    """Two threads evaluating versions of one file at once get the right models."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        tf = Path(d) / "Tiltfile"
        body = "".join(f"x{i} = {i}\nprint(x{i})\n" for i in range(200))
        tf.write_text(body)
        texts = [("\n" * k) + body + f"undefined_{k}\n" for k in range(6)]
        results: dict[int, object] = {}

        def run(k: int) -> None:
            results[k] = evaluate(str(tf), {str(tf): texts[k]})

        threads = [threading.Thread(target=run, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        chunks.ENABLED = False
        evaluation._PARSE_CACHE.clear()
        for k in range(6):
            assert results[k] == evaluate(str(tf), {str(tf): texts[k]})
