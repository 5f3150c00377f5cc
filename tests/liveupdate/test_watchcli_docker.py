"""`tilt-lsp watch` against a real container: --once, and a live session stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dockerutil as du
import pytest

from tilt_lsp.watchcli import cmd_watch

pytestmark = pytest.mark.docker
TIMEOUT = 60.0


@pytest.fixture
def project(docker_api: Any, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    repo = f"tilt-lsp-test/watch-{uuid.uuid4().hex[:10]}"
    du.build_image(
        f"FROM {du.BUSYBOX_IMAGE}\nRUN mkdir -p /app/src\nLABEL u={uuid.uuid4().hex}\n", tag=f"{repo}:latest"
    )
    cid = du.run_container(f"{repo}:latest")
    root = tmp_path / "proj"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.txt").write_text("initial")
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "Tiltfile").write_text(
        f"docker_build('{repo}', '.', live_update=[sync('./src', '/app/src'), run('echo ran $(cat /app/src/a.txt)')])\n"
    )
    yield root, cid
    du.remove_container(cid)


def cat(cid: str, path: str) -> str | None:
    code, out = du.exec_output(cid, ["cat", path])
    return out.decode() if code == 0 else None


def test_once_resyncs_and_exits_zero(project: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    root, cid = project
    assert cmd_watch(str(root), once=True) == 0
    assert cat(cid, "/app/src/a.txt") == "initial"
    out = capsys.readouterr().out
    assert "run 1/1: echo ran $(cat /app/src/a.txt)" in out
    assert "\u2502 ran initial" in out
    assert "\u2714 updated in " in out


def test_once_fails_when_a_run_fails(project: tuple[Path, str]) -> None:
    root, _ = project
    tiltfile = root / "Tiltfile"
    tiltfile.write_text(tiltfile.read_text().replace("run('echo ran", "run('exit 3; echo ran"))
    assert cmd_watch(str(root), once=True) == 1


def test_missing_tiltfile_is_a_usage_error(tmp_path: Path) -> None:
    assert cmd_watch(str(tmp_path), once=True) == 2


def test_live_session_prints_progress_and_stops_on_ctrl_c(project: tuple[Path, str]) -> None:
    root, cid = project
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tilt_lsp", "watch", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any("watching" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        (root / "src" / "a.txt").write_text("edited outside any editor")
        while not any("\u2714 updated in" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        assert cat(cid, "/app/src/a.txt") == "edited outside any editor"
        text = "".join(lines)
        assert "sync 1 file \u2192" in text and "\u2502 ran edited outside any editor" in text
        assert "(src/a.txt \u2192 " in text
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert "stopping" in rest


def test_manual_trigger_mode_waits_for_enter_on_a_terminal(project: tuple[Path, str]) -> None:
    import pty

    root, cid = project
    tiltfile = root / "Tiltfile"
    tiltfile.write_text("trigger_mode(TRIGGER_MODE_MANUAL)\n" + tiltfile.read_text())
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tilt_lsp", "watch", str(root)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(slave)
    assert proc.stdout is not None
    lines: list[str] = []

    def read_until(text: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(text in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())  # type: ignore[union-attr]

    try:
        read_until("watching")
        assert any("manual trigger mode: changes are held; press Enter to apply them" in x for x in lines), (
            lines
        )
        (root / "src" / "a.txt").write_text("held until Enter")
        read_until("Only updates on manual trigger")
        assert "press Enter to apply" in lines[-1]
        assert cat(cid, "/app/src/a.txt") is None
        os.write(master, b"\n")
        read_until("\u2714 updated in")
        assert any("manual trigger: applying held changes of" in x for x in lines), lines
        assert cat(cid, "/app/src/a.txt") == "held until Enter"
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
        os.close(master)
    assert proc.returncode == 0, rest
