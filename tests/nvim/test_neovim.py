"""Headless Neovim (0.7+, Debian's) running the exact setup the README shows (docs/neovim.lua).

Needs `nvim` on PATH (`apt-get install -y neovim`): skipped without it, failing under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SNIPPET = REPO / "docs" / "neovim.lua"
DRIVER = Path(__file__).with_name("driver.lua")

pytestmark = pytest.mark.nvim

sys.path.insert(0, str(REPO / "tests" / "lsp"))
from lsputil import make_project  # noqa: E402


def _nvim() -> str:
    nvim = shutil.which("nvim")
    if nvim is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("nvim is not installed (apt-get install -y neovim); CI must not skip this test")
        pytest.skip("nvim is not installed")
    return nvim


def test_readme_snippet_in_headless_neovim(tmp_path: Path) -> None:
    nvim = _nvim()
    project = make_project(tmp_path / "proj")
    tf = project / "Tiltfile"
    tf.write_text(tf.read_text() + "k8s_yamll('deploy/api.yaml')\n")
    out = tmp_path / "out.json"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    launcher = bindir / "tilt-lsp"
    launcher.write_text(f"#!/bin/sh\nexec {sys.executable} -m tilt_lsp \"$@\"\n")
    launcher.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "TILT_NVIM_OUT": str(out),
        "TILT_NVIM_FILE": str(tf),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    proc = subprocess.run(
        [nvim, "--headless", "-u", str(SNIPPET), "-i", "NONE", "-n", "-c", f"luafile {DRIVER}"],
        env=env,
        cwd=project,
        capture_output=True,
        timeout=120,
    )
    assert out.exists(), proc.stderr.decode(errors="replace")
    result = json.loads(out.read_text())
    assert result["ok"], result.get("error")
    assert result["filetype"] == "tiltfile"
    codes = {d["code"] for d in result["diagnostics"]}
    assert "TL201" in codes, result["diagnostics"]
    assert "docker_build" in result["completion"]
    assert "docker_build(ref: str" in result["hover"]
    assert result["definition"] == (project / "lib" / "helpers.star").as_uri()


def test_readme_shows_the_tested_snippet_verbatim() -> None:
    readme = (REPO / "README.md").read_text()
    assert "```lua\n" + SNIPPET.read_text().rstrip("\n") + "\n```" in readme
