"""Benchmark: `tilt-lsp check` on a generated 5,000-line Tiltfile.

Prints a table (p50/p99 over repeated runs). Baselines measured in the same run:
Python's own parser on the same text (the floor for any analysis of the file) and a bare
interpreter start (`python -c pass`, the floor for a CLI call).

    .venv/bin/python tests/bench/bench_check.py [--runs 20]
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from gen_tiltfile import generate  # noqa: E402

import tilt_lsp.tiltfile.evaluate as evaluation  # noqa: E402
from tilt_lsp.tiltfile import chunks  # noqa: E402
from tilt_lsp.tiltfile.evaluate import evaluate  # noqa: E402


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def timeit(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--lines", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = generate(d, args.lines)
        text = open(path).read()
        n_lines = text.count("\n")
        model = evaluate(path)
        errors = [x for x in model.diagnostics if x.severity == 1]
        assert not errors, errors[:3]
        # Installed packages carry byte-compiled modules; make the CLI runs see ours the same way
        # (some environments set PYTHONDONTWRITEBYTECODE, which would recompile every module each run).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        subprocess.run([sys.executable, "-m", "compileall", "-q", os.path.dirname(evaluation.__file__)],
                       check=True, env=env, capture_output=True)

        def cold() -> None:
            evaluation._PARSE_CACHE.clear()
            chunks.clear()
            evaluate(path)

        edits = [0]

        def one_line_edit() -> None:
            # What the language server does after a keystroke: the file's text changed in one line.
            edits[0] += 1
            evaluate(path, {path: text + f"\nk8s_yaml('k8s/missing-{edits[0]}.yaml')\n"})
            evaluation._PARSE_CACHE.clear()  # as the server's worker does (_trim_parse_cache)

        def one_line_edit_whole() -> None:
            chunks.ENABLED = False
            try:
                one_line_edit()
            finally:
                chunks.ENABLED = True

        rows = [
            ("ast.parse (floor)", timeit(lambda: ast.parse(text), args.runs)),
            ("evaluate() cold, in process", timeit(cold, args.runs)),
            ("evaluate() again, parse cached", timeit(lambda: evaluate(path), args.runs)),
            ("evaluate() after a one-line edit", timeit(one_line_edit, args.runs)),
            ("  same, whole file parsed (before)", timeit(one_line_edit_whole, args.runs)),
            ("python -c pass (floor)", timeit(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), max(5, args.runs // 2))),
            ("tilt-lsp check (CLI)", timeit(
                lambda: subprocess.run([sys.executable, "-m", "tilt_lsp", "check", path], check=True, capture_output=True,
                                       env=env),
                max(5, args.runs // 2))),
            # The same without the forked child that runs the static checks on the second core.
            ("tilt-lsp check (CLI), one core", timeit(
                lambda: subprocess.run([sys.executable, "-m", "tilt_lsp", "check", path], check=True, capture_output=True,
                                       env={**env, "TILT_LSP_NO_FORK": "1"}),
                max(5, args.runs // 2))),
        ]
        print(f"\ncheck benchmark: {n_lines} lines, {len(model.images)} images, {len(model.resources)} resources\n")
        print(f"| {'what':<34} | {'p50 ms':>8} | {'p99 ms':>8} | {'x floor':>8} |")
        print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
        floor = {"evaluate() cold, in process": statistics.median(rows[0][1]),
                 "tilt-lsp check (CLI)": statistics.median(rows[3][1]),
                 "tilt-lsp check (CLI), one core": statistics.median(rows[3][1])}
        for name, xs in rows:
            ratio = f"{statistics.median(xs) / floor[name]:.1f}x" if name in floor else "-"
            print(f"| {name:<34} | {pct(xs, 50):>8.1f} | {pct(xs, 99):>8.1f} | {ratio:>8} |")
        print(f"\nload average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        print("target: tilt-lsp check < 300 ms on a 5,000-line Tiltfile")


if __name__ == "__main__":
    main()
