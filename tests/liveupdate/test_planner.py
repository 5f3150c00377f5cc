"""Planner: spec rules 6, 11-14, 28-30; test cases 1-6, 9-14, 16, 22, 50-52."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from tilt_lsp.liveupdate.ignore import NULL_MATCHER, PathMatcher, PatternSet
from tilt_lsp.liveupdate.planner import (
    Fallback,
    InvalidSyncError,
    Plan,
    cmd_line,
    collapse_deletes,
    container_path,
    container_updated_line,
    files_changed_header,
    format_file_list,
    go_quote,
    initial_sync_plan,
    plan,
    pod_container_label,
    select_runs,
    short_container_id,
    walk_files,
    will_copy_lines,
    will_delete_lines,
)
from tilt_lsp.tiltfile.model import LiveUpdateSpec, RunStep, SyncStep

BASE = "/proj"


def run(cmd: str, *triggers: str) -> RunStep:
    return RunStep(argv=("sh", "-c", cmd), triggers=tuple(f"{BASE}/{t}" for t in triggers))


def spec(
    syncs: Iterable[tuple[str, str]] = (("src", "/app/src"),),
    runs: Iterable[RunStep] = (),
    fall_back_on: Iterable[str] = (),
    restart: bool = False,
) -> LiveUpdateSpec:
    return LiveUpdateSpec(
        base_dir=BASE,
        syncs=tuple(SyncStep(local=f"{BASE}/{loc}".rstrip("/."), remote=rem) for loc, rem in syncs),
        runs=tuple(runs),
        fall_back_on=tuple(f"{BASE}/{p}" for p in fall_back_on),
        restart_container=restart,
    )


class FakeFS:
    """exists / is_dir over a fixed set of paths."""

    def __init__(self, files: Iterable[str] = (), dirs: Iterable[str] = ()) -> None:
        self.files = set(files)
        self.dirs = set(dirs)

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def is_dir(self, path: str) -> bool:
        return path in self.dirs


def plan_fs(s: LiveUpdateSpec, changed: Iterable[str], fs: FakeFS) -> Plan | Fallback:
    return plan(s, changed, fs.exists, is_dir=fs.is_dir)


def ok(result: Plan | Fallback) -> Plan:
    assert isinstance(result, Plan), result
    return result


# ------------------------------------------------------------------- case 1-3


def test_case1_one_file_copied_and_untriggered_run_once() -> None:
    s = spec(runs=[run("make")])
    p = ok(plan_fs(s, ["/proj/src/pkg/a.py"], FakeFS(files=["/proj/src/pkg/a.py"])))
    assert p.copies == (("/proj/src/pkg/a.py", "/app/src/pkg/a.py"),)
    assert p.deletes == ()
    assert p.runs == (run("make"),)
    assert p.restart is False
    assert p.changed == ("/proj/src/pkg/a.py",)


def test_case2_file_to_directory_sync() -> None:
    s = spec(syncs=[("package.json", "/app/")])
    p = ok(plan_fs(s, ["/proj/package.json"], FakeFS(files=["/proj/package.json"])))
    assert p.copies == (("/proj/package.json", "/app/package.json"),)
    # without the trailing slash the file is the destination itself
    s2 = spec(syncs=[("package.json", "/app/pkg.json")])
    p2 = ok(plan_fs(s2, ["/proj/package.json"], FakeFS(files=["/proj/package.json"])))
    assert p2.copies == (("/proj/package.json", "/app/pkg.json"),)
    # a deleted file-to-directory sync maps the same way
    p3 = ok(plan_fs(s, ["/proj/package.json"], FakeFS()))
    assert p3.deletes == ("/app/package.json",)


def test_directory_sync_with_trailing_slash_maps_the_root_to_the_destination() -> None:
    s = spec(syncs=[("src", "/app/")])
    p = ok(plan_fs(s, ["/proj/src"], FakeFS(dirs=["/proj/src"])))
    assert p.copies == (("/proj/src", "/app"),)


def test_case3_overlapping_syncs_first_declared_wins() -> None:
    s = spec(syncs=[(".", "/app"), ("static", "/srv")])
    fs = FakeFS(files=["/proj/static/x.css", "/proj/main.py"])
    p = ok(plan_fs(s, ["/proj/static/x.css", "/proj/main.py"], fs))
    assert p.copies == (("/proj/main.py", "/app/main.py"), ("/proj/static/x.css", "/app/static/x.css"))
    s2 = spec(syncs=[("static", "/srv"), (".", "/app")])
    p2 = ok(plan_fs(s2, ["/proj/static/x.css"], fs))
    assert p2.copies == (("/proj/static/x.css", "/srv/x.css"),)


def test_sync_local_prefix_is_not_a_parent() -> None:
    s = spec(syncs=[("src", "/app")])
    result = plan_fs(s, ["/proj/src2/a"], FakeFS(files=["/proj/src2/a"]))
    assert isinstance(result, Fallback) and result.reason == "unsynced"


# ------------------------------------------------------------------- case 4-6


def test_case4_change_outside_every_sync_falls_back() -> None:
    s = spec()
    result = plan_fs(s, ["/proj/README.md"], FakeFS(files=["/proj/README.md"]))
    assert result == Fallback(
        reason="unsynced",
        message="Found file(s) not matching any sync (files: [README.md])",
        paths=("/proj/README.md",),
    )


def test_case5_mixed_batch_falls_back_entirely() -> None:
    s = spec()
    fs = FakeFS(files=["/proj/src/a.py", "/proj/Makefile"])
    result = plan_fs(s, ["/proj/src/a.py", "/proj/Makefile"], fs)
    assert isinstance(result, Fallback)
    assert result.reason == "unsynced"
    assert result.paths == ("/proj/Makefile",)
    assert result.message == "Found file(s) not matching any sync (files: [Makefile])"


def test_unsynced_message_lists_five_then_ellipsis_and_keeps_outside_paths_absolute() -> None:
    s = spec()
    changed = [f"/proj/f{i}" for i in range(7)] + ["/other/x"]
    result = plan(s, changed, lambda p: True, cwd="/proj")
    assert isinstance(result, Fallback)
    assert result.message == "Found file(s) not matching any sync (files: [/other/x f0 f1 f2 f3 ...])"
    result2 = plan(s, ["/other/x"], lambda p: True)
    assert isinstance(result2, Fallback)
    assert result2.message == "Found file(s) not matching any sync (files: [/other/x])"


def test_case6_fall_back_on_directory() -> None:
    s = spec(syncs=[(".", "/app")], fall_back_on=["deps"])
    fs = FakeFS(files=["/proj/deps/requirements.txt", "/proj/a.py"])
    result = plan_fs(s, ["/proj/a.py", "/proj/deps/requirements.txt"], fs)
    assert result == Fallback(
        reason="fall_back_on",
        message='Detected change to stop file "/proj/deps/requirements.txt"',
        paths=("/proj/deps/requirements.txt",),
    )


def test_unsynced_is_reported_before_fall_back_on() -> None:
    s = spec(syncs=[("src", "/app")], fall_back_on=["package.json"])
    result = plan_fs(s, ["/proj/package.json"], FakeFS(files=["/proj/package.json"]))
    assert isinstance(result, Fallback) and result.reason == "unsynced"


# ------------------------------------------------------------------ case 9-11


def test_case9_trigger_matches_synced_file() -> None:
    s = spec(runs=[run("pip install", "src/requirements.txt")])
    fs = FakeFS(files=["/proj/src/requirements.txt"])
    p = ok(plan_fs(s, ["/proj/src/requirements.txt"], fs))
    assert [r.display for r in p.runs] == ["pip install"]


def test_case9_trigger_outside_syncs_falls_back_and_never_runs() -> None:
    s = spec(runs=[run("pip install", "requirements.txt")])
    fs = FakeFS(files=["/proj/requirements.txt"])
    result = plan_fs(s, ["/proj/requirements.txt"], fs)
    assert isinstance(result, Fallback) and result.reason == "unsynced"


def test_case10_skipped_trigger_run_and_later_untriggered_runs_keep_order() -> None:
    runs = [run("first"), run("gen", "src/schema"), run("second"), run("third", "src/other")]
    s = spec(runs=runs)
    p = ok(plan_fs(s, ["/proj/src/a.py"], FakeFS(files=["/proj/src/a.py"])))
    assert [r.display for r in p.runs] == ["first", "second"]


def test_case11_directory_trigger_fires_for_any_descendant() -> None:
    s = spec(runs=[run("gen", "src/schema")])
    p = ok(plan_fs(s, ["/proj/src/schema/v1/user.proto"], FakeFS(files=["/proj/src/schema/v1/user.proto"])))
    assert [r.display for r in p.runs] == ["gen"]
    p2 = ok(plan_fs(s, ["/proj/src/schema2.txt"], FakeFS(files=["/proj/src/schema2.txt"])))
    assert p2.runs == ()


def test_deleted_paths_count_for_triggers() -> None:
    s = spec(runs=[run("gen", "src/schema")])
    p = ok(plan_fs(s, ["/proj/src/schema/old.proto"], FakeFS()))
    assert [r.display for r in p.runs] == ["gen"]


def test_select_runs_direct() -> None:
    r1, r2 = run("a"), run("b", "x")
    assert select_runs([r1, r2], []) == (r1,)
    assert select_runs([r1, r2], ["/proj/x"]) == (r1, r2)


# ---------------------------------------------------------------- case 12-16


def test_case12_delete_a_synced_file() -> None:
    s = spec()
    p = ok(plan_fs(s, ["/proj/src/gone.py"], FakeFS()))
    assert p.copies == ()
    assert p.deletes == ("/app/src/gone.py",)
    assert p.delete_sources == (("/proj/src/gone.py", "/app/src/gone.py"),)
    assert will_delete_lines(p.delete_sources, "pod/ctr") == [
        "Will delete 1 file(s) from container: pod/ctr",
        "- '/app/src/gone.py' (matched local path: '/proj/src/gone.py')",
    ]


def test_case13_deleting_a_directory_collapses_to_the_directory() -> None:
    s = spec()
    changed = ["/proj/src/big"] + [f"/proj/src/big/f{i:04d}" for i in range(1000)]
    p = ok(plan_fs(s, changed, FakeFS()))
    assert p.deletes == ("/app/src/big",)
    assert p.delete_sources == (("/proj/src/big", "/app/src/big"),)
    assert len(p.changed) == 1001


def test_collapse_deletes() -> None:
    assert collapse_deletes(["/a/b/c", "/a/b", "/a/bc", "/x", "/a/b"]) == ("/a/b", "/a/bc", "/x")
    assert collapse_deletes([]) == ()


def test_case14_rename_is_delete_plus_copy() -> None:
    s = spec()
    p = ok(plan_fs(s, ["/proj/src/a.py", "/proj/src/b.py"], FakeFS(files=["/proj/src/b.py"])))
    assert p.deletes == ("/app/src/a.py",)
    assert p.copies == (("/proj/src/b.py", "/app/src/b.py"),)


def test_case16_create_then_delete_in_one_batch_is_a_harmless_delete() -> None:
    s = spec(runs=[run("make")])
    p = ok(plan_fs(s, ["/proj/src/tmp.txt", "/proj/src/tmp.txt"], FakeFS()))
    assert p.copies == ()
    assert p.deletes == ("/app/src/tmp.txt",)


def test_case22_duplicate_reports_of_one_path_give_one_copy() -> None:
    s = spec()
    fs = FakeFS(files=["/proj/src/a.py"])
    p = ok(plan_fs(s, ["/proj/src/a.py", "/proj/src/./a.py", "/proj/src/x/../a.py"], fs))
    assert p.copies == (("/proj/src/a.py", "/app/src/a.py"),)
    assert p.changed == ("/proj/src/a.py",)


def test_empty_batch_is_an_empty_plan() -> None:
    p = ok(plan(spec(runs=[run("make")], restart=True), [], lambda _: True))
    assert p == Plan()
    assert p.empty


def test_restart_flag_follows_spec() -> None:
    p = ok(plan_fs(spec(restart=True), ["/proj/src/a"], FakeFS(files=["/proj/src/a"])))
    assert p.restart is True
    assert not p.empty


def test_plan_stats_nothing_but_through_exists() -> None:
    asked: list[str] = []

    def exists(path: str) -> bool:
        asked.append(path)
        return True

    ok(plan(spec(), ["/proj/src/b", "/proj/src/a"], exists, is_dir=lambda _: False))
    assert asked == ["/proj/src/a", "/proj/src/b"]


# ------------------------------------------------------------- path safety


def test_container_path_posix_join_and_root_destination() -> None:
    assert container_path(SyncStep("/proj", "/"), "/proj/a/b.txt", lambda _: False) == "/a/b.txt"
    assert container_path(SyncStep("/proj/src", "/app//x/"), "/proj/src/a", lambda _: False) == "/app/x/a"
    assert container_path(SyncStep("/proj/src", "//app"), "/proj/src/a", lambda _: False) == "/app/a"


@pytest.mark.parametrize("remote", ["app", "./app", "/app/../etc", "/app/..", "../x"])
def test_unsafe_destinations_are_rejected(remote: str) -> None:
    s = LiveUpdateSpec(base_dir=BASE, syncs=(SyncStep("/proj/src", remote),))
    with pytest.raises(InvalidSyncError):
        plan(s, ["/proj/src/a"], lambda _: True, is_dir=lambda _: False)


def test_dotdot_in_changed_path_is_normalised_before_mapping() -> None:
    s = spec()
    result = plan_fs(s, ["/proj/src/../secret"], FakeFS(files=["/proj/secret"]))
    assert isinstance(result, Fallback)
    assert result.paths == ("/proj/secret",)


# ------------------------------------------------------------ initial sync (52)


def test_case52_initial_sync_copies_all_non_ignored_files(tmp_path: Path) -> None:
    root = tmp_path
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "a.py").write_text("a")
    (root / "src" / "b.py").write_text("b")
    (root / "src" / "b.pyc").write_text("c")
    (root / "src" / ".git").mkdir()
    (root / "src" / ".git" / "HEAD").write_text("ref")
    (root / "src" / "link").symlink_to("/etc")
    (root / "static").mkdir()
    (root / "static" / "x.css").write_text("x")
    (root / "deps.txt").write_text("d")
    lu = LiveUpdateSpec(
        base_dir=str(root),
        syncs=(
            SyncStep(str(root / "src"), "/app"),
            SyncStep(str(root / "static"), "/srv"),
            SyncStep(str(root / "deps.txt"), "/etc/deps/"),
        ),
        runs=(
            RunStep(("make",)),
            RunStep(("gen",), triggers=(str(root / "src" / "pkg"),)),
            RunStep(("never",), triggers=(str(root / "src" / "none"),)),
        ),
        restart_container=True,
    )
    matcher = PathMatcher([PatternSet(str(root / "src"), ["*.pyc"])])
    p = initial_sync_plan(lu, matcher)
    assert p.copies == (
        (str(root / "deps.txt"), "/etc/deps/deps.txt"),
        (str(root / "src" / "b.py"), "/app/b.py"),
        (str(root / "src" / "link"), "/app/link"),
        (str(root / "src" / "pkg" / "a.py"), "/app/pkg/a.py"),
        (str(root / "static" / "x.css"), "/srv/x.css"),
    )
    assert p.deletes == ()
    assert [r.argv[0] for r in p.runs] == ["make", "gen"]
    assert p.restart is True


def test_initial_sync_with_injected_walk_and_overlap() -> None:
    s = spec(syncs=[(".", "/app"), ("static", "/srv")])
    tree = {
        "/proj": ["/proj/a.py", "/proj/static/s.css", "/proj/x.swp"],
        "/proj/static": ["/proj/static/s.css"],
    }
    matcher = PathMatcher([PatternSet("/proj", ["*.swp"])])
    p = initial_sync_plan(s, matcher, lambda root: tree[root], is_dir=lambda _: True)
    assert p.copies == (("/proj/a.py", "/app/a.py"), ("/proj/static/s.css", "/app/static/s.css"))


def test_walk_files_does_not_follow_links_and_prunes_git(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("x")
    (tmp_path / "dirlink").symlink_to(tmp_path / "d")
    files = sorted(walk_files(str(tmp_path), PathMatcher()))
    assert files == [str(tmp_path / "d" / "f"), str(tmp_path / "dirlink")]
    assert list(walk_files(str(tmp_path / "missing"), NULL_MATCHER)) == []
    assert list(walk_files(str(tmp_path / "d" / "f"))) == [str(tmp_path / "d" / "f")]


# ------------------------------------------------------ progress strings (28-30, 50, 51)


def test_files_changed_header_singular_plural_and_cwd_relative() -> None:
    assert files_changed_header(["/proj/a.txt"], "/proj") == "1 File Changed: [a.txt]"
    assert files_changed_header(["/proj/a", "/proj/b", "/x/c"], "/proj") == "3 Files Changed: [a b /x/c]"
    assert files_changed_header(["/proj/a.txt"], None) == "1 File Changed: [/proj/a.txt]"


def test_case51_more_than_five_files_lists_five_then_ellipsis() -> None:
    paths = [f"/proj/f{i}.py" for i in range(8)]
    assert files_changed_header(paths, "/proj") == "8 Files Changed: [f0.py f1.py f2.py f3.py f4.py ...]"
    assert format_file_list(paths[:5], "/proj") == "[f0.py f1.py f2.py f3.py f4.py]"


def test_will_copy_counts_changed_paths() -> None:
    copies = [("/proj/src", "/app/src"), ("/proj/a.txt", "/app/a.txt")]
    assert will_copy_lines(copies, "web-1/app") == [
        "Will copy 2 file(s) to container: web-1/app",
        "- '/proj/src' --> '/app/src'",
        "- '/proj/a.txt' --> '/app/a.txt'",
    ]
    assert will_copy_lines([], "x") == []
    assert will_delete_lines([], "x") == []


def test_cmd_line_shows_full_argv() -> None:
    assert cmd_line(1, 2, run("make")) == "[CMD 1/2] sh -c make"
    assert cmd_line(2, 2, RunStep(("npm", "install"))) == "[CMD 2/2] npm install"


def test_case50_golden_log_for_one_file_update() -> None:
    s = spec(runs=[run("make")])
    p = ok(plan_fs(s, ["/proj/src/a.txt"], FakeFS(files=["/proj/src/a.txt"])))
    target = pod_container_label("web-7d9f", "app")
    lines = [files_changed_header(p.changed, "/proj")]
    lines += will_delete_lines(p.delete_sources, target)
    lines += will_copy_lines(p.copies, target)
    lines += [cmd_line(i, len(p.runs), r) for i, r in enumerate(p.runs, 1)]
    lines.append(container_updated_line(target))
    assert lines == [
        "1 File Changed: [src/a.txt]",
        "Will copy 1 file(s) to container: web-7d9f/app",
        "- '/proj/src/a.txt' --> '/app/src/a.txt'",
        "[CMD 1/1] sh -c make",
        "  → Container web-7d9f/app updated!",
    ]
    assert short_container_id("0123456789abcdef") == "0123456789"


def test_go_quote() -> None:
    assert go_quote("/a/b c") == '"/a/b c"'
    assert go_quote('q"\\') == '"q\\"\\\\"'
    assert go_quote("a\nb\tc\x01") == '"a\\nb\\tc\\x01"'
    assert go_quote("é") == '"é"'
    assert go_quote("bad\udcff") == '"bad\\xff"'
