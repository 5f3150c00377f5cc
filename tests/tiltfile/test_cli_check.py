"""`tilt-lsp check` as users and CI run it: a subprocess, text and JSON output, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import write_project


def check(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tilt_lsp", "check", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    write_project(tmp_path / "clean", {"Tiltfile": "print('fine')\n"})
    write_project(tmp_path / "warns", {"Tiltfile": "x = 1\nwarn('heads up')\n"})
    write_project(tmp_path / "fails", {"Tiltfile": "x = 1\ny = read_file(file_path='a')\nfail('boom')\n"})
    return tmp_path


def test_text_format_and_exit_code_1(projects: Path) -> None:
    r = check(projects, "fails")
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines == [
        "fails/Tiltfile:2:15: error TL202 read_file: unexpected keyword argument file_path (did you mean paths?)",
        "fails/Tiltfile:3:1: error TL301 boom",
    ]
    for line in lines:
        assert re.fullmatch(r"[^:]+:\d+:\d+: (error|warning|information|hint) TL\d{3} .+", line)


def test_clean_exit_0_json(projects: Path) -> None:
    r = check(projects, "--format=json", "clean/Tiltfile")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {"diagnostics": []}


def test_many_paths_in_one_call(projects: Path) -> None:
    r = check(projects, "clean", "warns", "fails/Tiltfile")
    assert r.returncode == 1
    assert [ln.split(":", 1)[0] for ln in r.stdout.splitlines()] == ["warns/Tiltfile", "fails/Tiltfile", "fails/Tiltfile"]


def test_json_format(projects: Path) -> None:
    write_project(projects / "info", {"Tiltfile": "test('unit', 'pytest')\n"})
    r = check(projects, "--format", "json", "warns", "fails", "info")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert list(out) == ["diagnostics"]
    diags = out["diagnostics"]
    assert [d["code"] for d in diags] == ["TL307", "TL202", "TL301", "TL902"]
    first = diags[0]
    assert set(first) == {"path", "range", "severity", "code", "message"}
    assert first["path"] == str(projects / "warns" / "Tiltfile")
    # 0-based lines and characters, as in LSP
    assert first["range"] == {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 16}}
    assert [d["severity"] for d in diags] == ["warning", "error", "error", "information"]
    assert diags[1]["range"]["start"] == {"line": 1, "character": 14}


def test_clean_text_says_so(projects: Path) -> None:
    r = check(projects, "clean")
    assert (r.returncode, r.stdout) == (0, "")
    assert "no problems found" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "xml", "clean"),
        ("--no-such-flag",),
        ("clean", "missing-folder"),
    ],
)
def test_bad_usage_exit_2(projects: Path, args: tuple[str, ...]) -> None:
    r = check(projects, *args)
    assert r.returncode == 2
    assert r.stderr.strip()
    assert r.stdout == ""


def test_default_path_is_current_folder_and_warnings_exit_0(projects: Path) -> None:
    r = check(projects / "warns")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["Tiltfile:2:1: warning TL307 heads up"]
