"""What the file watcher schedules: few watches even for hundreds of image contexts."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tilt_lsp.liveupdate.watcher import MAX_WATCHES, FileWatcher, watch_plan


def _contexts(root: Path, n: int) -> list[str]:
    out = []
    for i in range(n):
        d = root / "services" / f"svc-{i}" / "src"
        d.mkdir(parents=True)
        out.append(str(d.parent))
    return out


def test_nested_directories_collapse_and_files_are_watched_through_their_parent(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c").mkdir()
    plan = watch_plan([str(tmp_path / "a"), str(tmp_path / "a" / "b")], [str(tmp_path / "Tiltfile"), str(tmp_path / "c" / "x.star")])
    assert plan == [(str(tmp_path / "a"), True), (str(tmp_path), False), (str(tmp_path / "c"), False)]


def test_hundreds_of_contexts_become_a_few_watches_inside_the_project(tmp_path: Path) -> None:
    dirs = _contexts(tmp_path, 240)
    plan = watch_plan(dirs, [str(tmp_path / "Tiltfile")], within=str(tmp_path))
    assert len(plan) <= MAX_WATCHES
    assert (str(tmp_path / "services"), True) in plan
    # every context is still covered by a recursive watch
    recursive = [d for d, r in plan if r]
    for d in dirs:
        assert any(d == r or d.startswith(r + os.sep) for r in recursive), d


def test_merging_stays_inside_the_project_and_never_reaches_the_root(tmp_path: Path) -> None:
    project = tmp_path / "project"
    inside = [project / "a", project / "b" / "c"]
    outside = tmp_path / "elsewhere"
    for d in [*inside, outside]:
        d.mkdir(parents=True)
    plan = watch_plan([str(d) for d in [*inside, outside]], [], limit=1, within=str(project))
    assert plan == [(str(outside), True), (str(project), True)]
    for d, _ in watch_plan([str(d) for d in [*inside, outside]], [], limit=1):
        assert os.path.dirname(d) != d, "never the file system root"


def test_a_merged_watch_still_reports_only_relevant_changes(tmp_path: Path) -> None:
    dirs = _contexts(tmp_path, 40)
    (tmp_path / "services" / "unrelated").mkdir()
    seen: list[str] = []
    got = threading.Event()

    def on_paths(paths: list[str]) -> None:
        seen.extend(paths)
        got.set()

    def relevant(p: str) -> bool:
        return any(p.startswith(d + os.sep) for d in dirs)

    watcher = FileWatcher(on_paths, lambda: None, relevant, within=str(tmp_path))
    watcher.update((dirs, []))
    watcher.start()
    try:
        assert len(watcher.watched) <= MAX_WATCHES
        time.sleep(0.2)
        (tmp_path / "services" / "unrelated" / "x.txt").write_text("no")
        target = Path(dirs[7]) / "src" / "main.go"
        target.write_text("package main\n")
        assert got.wait(10)
        deadline = time.monotonic() + 2
        while str(target) not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert str(target) in seen
        assert not any("unrelated" in p for p in seen)
        # one watchdog thread per watch, not one per context
        assert threading.active_count() < 40
    finally:
        watcher.stop()
