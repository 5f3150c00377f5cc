"""Files read by evaluations are cached by their stat; a change is never missed."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tilt_lsp.tiltfile import evaluate as ev

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
      - name: app
        image: example/app
"""


def _workloads(root: Path) -> list[str]:
    return [o.name for o in ev.evaluate(str(root)).k8s_objects]


def _settle() -> None:
    time.sleep(0.06)  # longer than the (shortened) racy window, and than a file-clock tick


def test_settled_files_are_read_once_and_changes_are_seen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ev, "_TEXT_CACHE_RACY_NS", 30_000_000)
    root = tmp_path / "Tiltfile"
    root.write_text("k8s_yaml('app.yaml')\n")
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST.format(name="aaa"))
    _settle()
    assert _workloads(root) == ["aaa"]
    assert str(manifest) in ev._TEXT_CACHE  # noqa: SLF001 - the cache itself is under test
    # Same size, and the old modification time put back: the change time still differs.
    mtime = manifest.stat().st_mtime_ns
    manifest.write_text(MANIFEST.format(name="bbb"))
    os.utime(manifest, ns=(mtime, mtime))
    _settle()
    assert _workloads(root) == ["bbb"]
    manifest.write_text(MANIFEST.format(name="a-longer-name"))
    _settle()
    assert _workloads(root) == ["a-longer-name"]
    manifest.unlink()
    assert _workloads(root) == []


def test_recently_changed_files_are_not_cached(tmp_path: Path) -> None:
    """Within one tick of the file clock a same-size rewrite keeps every time stamp: such a
    file must be read again by the next evaluation."""
    root = tmp_path / "Tiltfile"
    root.write_text("k8s_yaml('app.yaml')\n")
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST.format(name="aaa"))
    assert _workloads(root) == ["aaa"]
    assert str(manifest) not in ev._TEXT_CACHE  # noqa: SLF001
    st = manifest.stat()
    manifest.write_text(MANIFEST.format(name="bbb"))
    os.utime(manifest, ns=(st.st_atime_ns, st.st_mtime_ns))  # as if within the same tick
    assert _workloads(root) == ["bbb"]


def test_fifo_is_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "Tiltfile"
    root.write_text("k8s_yaml('pipe.yaml')\n")
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it for reading would block the evaluation
    model = ev.evaluate(str(root), time_budget_s=5)
    assert model.k8s_objects == ()
    assert any("pipe.yaml" in d.message for d in model.diagnostics)
