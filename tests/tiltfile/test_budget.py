"""Bounded evaluation and malformed input: always a diagnostic, never a hang or a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilt_lsp.tiltfile.evaluate import evaluate
from tilt_lsp.tiltfile.model import Severity
from tilt_lsp.tiltfile.syntax import MAX_FILE_BYTES

from .helpers import codes, errors, fmt, only, prints, run, start, write_project


def test_endless_loop_stops_with_time_budget(tmp_path: Path) -> None:
    src = "docker_build('img', '.')\nn = 0\nwhile True:\n    n += 1\nprint('never')\n"
    m = run(tmp_path, src, {"Dockerfile": "FROM x\n"}, time_budget_s=0.3)
    d = only(m, "TL303")
    assert d.severity == Severity.ERROR
    assert d.message == "evaluation stopped after 0.3 s: is there an endless loop?"
    assert d.range.start.line in (2, 3)  # inside the loop
    assert prints(m) == []
    assert [i.ref for i in m.images] == ["img"]  # what ran before the loop is in the model


def test_endless_loop_stops_with_step_budget(tmp_path: Path) -> None:
    m = run(tmp_path, "def spin():\n    while True:\n        pass\nspin()\n", max_steps=50_000)
    d = only(m, "TL303")
    assert d.message == "evaluation stopped after 50,000 steps: is there an endless loop?"
    assert d.range.start.line in (1, 2)  # the loop in spin()
    assert [r.location.range.start.line for r in d.related] == [3]  # called from here


def test_endless_loop_in_loaded_file(tmp_path: Path) -> None:
    m = run(tmp_path, "load('./l.star', 'x')\n", {"l.star": "x = 0\nwhile True:\n    x += 1\n"}, max_steps=20_000)
    d = only(m, "TL303")
    assert Path(d.path).name == "l.star"


def test_unbounded_recursion(tmp_path: Path) -> None:
    m = run(tmp_path, "def f(n):\n    return f(n + 1)\nf(0)\nprint('after')\n")
    d = only(m, "TL305")
    assert start(d) == (1, 11)
    assert "unbounded recursion in f" in d.message
    assert len(d.related) <= 12  # the call chain is summarized, not 1000 entries long
    assert any("more calls" in r.message for r in d.related)
    assert prints(m) == ["after"]  # evaluation goes on after the failing statement


def test_mutual_recursion(tmp_path: Path) -> None:
    m = run(tmp_path, "def a(n):\n    return b(n)\ndef b(n):\n    return a(n)\nx = a(1)\ny = 1\nprint(y)\n")
    assert codes(m) == ["TL305"]
    assert prints(m) == ["1"]


def test_recursion_in_sorted_key_and_lambda(tmp_path: Path) -> None:
    m = run(tmp_path, "f = lambda x: f(x)\nxs = sorted([1, 2], key=f)\nprint('ok')\n")
    assert codes(m) == ["TL305"], fmt(m)
    assert prints(m) == ["ok"]


def test_too_large_file(tmp_path: Path) -> None:
    line = b"# padding padding padding padding\n"
    big = b"x = 1\n" + line * (MAX_FILE_BYTES // len(line) + 10)
    assert len(big) > MAX_FILE_BYTES
    write_project(tmp_path, {"Tiltfile": big})
    m = evaluate(str(tmp_path))
    d = only(m, "TL108")
    assert d.message.startswith("file is too large to analyze")
    assert start(d) == (0, 0)


def test_too_large_loaded_file_reported_at_load(tmp_path: Path) -> None:
    big = b"x = 1\n" + b"#" * (MAX_FILE_BYTES + 10) + b"\n"
    write_project(tmp_path, {"Tiltfile": "load('./big.star', 'x')\nprint(x)\n", "big.star": big})
    m = evaluate(str(tmp_path))
    d = only(m, "TL108")
    assert start(d) == (0, 5) and d.message.startswith("big.star: file is too large")
    assert codes(m) == ["TL108"]


def test_binary_file(tmp_path: Path) -> None:
    write_project(tmp_path, {"Tiltfile": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"})
    m = evaluate(str(tmp_path))
    d = only(m, "TL107")
    assert "binary" in d.message and d.severity == Severity.ERROR


def test_non_utf8_file(tmp_path: Path) -> None:
    write_project(tmp_path, {"Tiltfile": "print('caf\u00e9')\n".encode("latin-1")})
    m = evaluate(str(tmp_path))
    d = only(m, "TL107")
    assert d.message == "file is not valid UTF-8 (byte 0xe9 at offset 10)"


def test_binary_loaded_file_does_not_cascade(tmp_path: Path) -> None:
    write_project(tmp_path, {"Tiltfile": "load('./bin.star', 'x')\nprint(x)\n", "bin.star": b"\x00\x01\x02"})
    m = evaluate(str(tmp_path))
    assert codes(m) == ["TL107"], fmt(m)
    assert only(m, "TL107").message.startswith("bin.star: ")


def test_deeply_nested_brackets_do_not_crash(tmp_path: Path) -> None:
    for src in ("x = " + "[" * 5000 + "]" * 5000 + "\n", "x = " + "(" * 300 + "1" + ")" * 300 + "\n", "x = " + "-" * 100_000 + "1\n"):
        m = run(tmp_path, src + "y = 1 // 0\n")
        assert codes(m)[0] == "TL101", fmt(m)
        assert all(d.code.startswith("TL") for d in m.diagnostics)


def test_deep_data_structures(tmp_path: Path) -> None:
    src = "x = []\nfor i in range(20000):\n    x = [x]\ns = str(x)\nprint(len(s) > 0, x == x)\n"
    m = run(tmp_path, src)
    assert not errors(m), fmt(m)
    assert prints(m) == ["True True"]


def test_huge_string_multiplication_is_bounded(tmp_path: Path) -> None:
    m = run(tmp_path, "x = 'a' * 10\ny = [0] * 1000\nprint(len(x), len(y))\n")
    assert prints(m) == ["10 1000"]


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    for src in ("", "\n\n", "# just a comment\n", "\ufeff# bom\n", "x = 1\r\nprint(x)\r\n"):
        m = run(tmp_path, src)
        assert not m.diagnostics, fmt(m)


def test_tiltfile_missing_or_a_directory(tmp_path: Path) -> None:
    m = evaluate(str(tmp_path / "nope"))
    assert [(d.code, d.message) for d in m.diagnostics] == [("TL304", f"no Tiltfile at {tmp_path}/nope")]
    (tmp_path / "proj" / "Tiltfile").mkdir(parents=True)
    m = evaluate(str(tmp_path / "proj"))
    assert [d.code for d in m.diagnostics] == ["TL304"]
    m = evaluate(str(tmp_path / "proj" / "Tiltfile"))
    assert [d.code for d in m.diagnostics] == ["TL304"]


def test_folder_holding_a_tiltfile(tmp_path: Path) -> None:
    write_project(tmp_path, {"Tiltfile": "print('hi')\n"})
    m = evaluate(str(tmp_path))
    assert m.tiltfile == str(tmp_path / "Tiltfile")
    assert prints(m) == ["hi"]


def test_overlays_win_over_disk(tmp_path: Path) -> None:
    write_project(tmp_path, {"Tiltfile": "fail('disk')\n", "l.star": "v = 'disk'\n"})
    overlays = {str(tmp_path / "Tiltfile"): "load('./l.star', 'v')\nprint(v)\n", str(tmp_path / "l.star"): "v = 'editor'\n"}
    m = evaluate(str(tmp_path), overlays)
    assert not m.diagnostics, fmt(m)
    assert prints(m) == ["editor"]
    # An unsaved new file can be evaluated too.
    m = evaluate(str(tmp_path / "New"), {str(tmp_path / "New"): "print('new')\n"})
    assert prints(m) == ["new"]


def test_reading_a_huge_file_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path, {"Tiltfile": "x = read_file('big.bin')\nprint('after')\n", "big.bin": b"a" * (2 * MAX_FILE_BYTES + 1)})
    m = evaluate(str(tmp_path))
    d = only(m, "TL505")
    assert d.message.startswith("file is too large to read")
    assert prints(m) == ["after"]


def test_non_ascii_columns_are_characters(tmp_path: Path) -> None:
    m = run(tmp_path, "x = 'h\u00e9llo'\ny = {}[x]\nz = '\u00fc\u00fc'; w = 1 // 0\n")
    assert [start(d) for d in m.diagnostics] == [(1, 4), (2, 14)]
    assert m.diagnostics[1].range.end.character == 20


def test_runaway_growth_is_refused(tmp_path: Path) -> None:
    src = (
        "x = 'a'\nfor i in range(60):\n    x = x + x\n"
        "y = [1]\nfor i in range(60):\n    y += y\n"
        "z = [1]\nfor i in range(60):\n    z.extend(z)\n"
        "w = list(range(1000000000))\n"
        "v = 'ab' * 100000000\n"
        "u = ','.join(['a' * 1000000] * 100)\n"
        "print('survived')\n"
    )
    m = run(tmp_path, src)
    assert [d.range.start.line for d in errors(m)] == [2, 5, 8, 9, 10, 11], fmt(m)
    assert all("too large" in d.message for d in errors(m))
    assert prints(m) == ["survived"]


def test_cancel_event_abandons_evaluation(tmp_path: Path) -> None:
    import threading

    from tilt_lsp.tiltfile.evaluate import EvaluationCancelled, evaluate

    (tmp_path / "Tiltfile").write_text("x = 0\nwhile True:\n    x += 1\n")
    ev = threading.Event()
    ev.set()
    with pytest.raises(EvaluationCancelled):
        evaluate(str(tmp_path), cancel=ev, time_budget_s=30)


def test_did_you_mean_diagnostics_carry_the_replacement(tmp_path: Path) -> None:
    from tilt_lsp.tiltfile.evaluate import evaluate

    (tmp_path / "Tiltfile").write_text("docker_buidl('a', '.')\nread_file(file_path='x')\n")
    diags = {d.code: d for d in evaluate(str(tmp_path)).diagnostics}
    assert diags["TL201"].data == {"replace": "docker_build"}
    assert diags["TL202"].data == {"replace": "paths"}


def test_parse_cache_gives_identical_results(tmp_path: Path) -> None:
    from tilt_lsp.tiltfile.evaluate import evaluate

    (tmp_path / "Tiltfile").write_text("x = undefined_name\nclass A: pass\n")
    first = evaluate(str(tmp_path)).diagnostics
    second = evaluate(str(tmp_path)).diagnostics
    assert [(d.code, d.range) for d in first] == [(d.code, d.range) for d in second]
    assert {d.code for d in first} >= {"TL201", "TL102"}
