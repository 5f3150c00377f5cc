"""Tar builder: spec rules 32-36, test cases 41, 42, 44, 46, 49."""

from __future__ import annotations

import io
import os
import shutil
import socket
import stat
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from tilt_lsp.liveupdate import tarstream
from tilt_lsp.liveupdate.ignore import PathMatcher, PatternSet
from tilt_lsp.liveupdate.tarstream import RECORD_SIZE, TarResult, build_tar, entry_name


def members(result: TarResult) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(result.getvalue()), mode="r:") as tar:
        return {m.name: m for m in tar.getmembers()}


def content(result: TarResult, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(result.getvalue()), mode="r:") as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def test_single_file_headers_mode_owner_mtime(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o751)
    os.utime(script, (1_600_000_000, 1_600_000_123))
    result = build_tar([(str(script), "/app/bin/run.sh")])
    m = members(result)
    assert list(m) == ["app/bin/run.sh"]
    info = m["app/bin/run.sh"]
    assert info.isreg()
    assert info.mode == 0o751  # case 41: executable bit survives
    assert (info.uid, info.gid, info.uname, info.gname) == (0, 0, "", "")
    assert info.mtime == 1_600_000_123  # case 49: mtime preserved, like Tilt
    assert content(result, "app/bin/run.sh") == b"#!/bin/sh\necho hi\n"
    assert result.entries == 1
    assert result.skipped == []


def test_archive_is_padded_to_a_full_record(tmp_path: Path) -> None:
    f = tmp_path / "a"
    f.write_bytes(b"x" * 12345)
    result = build_tar([(str(f), "/a")])
    assert isinstance(result.data, bytes)
    assert result.bytes == len(result.data)
    assert result.bytes % RECORD_SIZE == 0
    assert result.data.endswith(b"\0" * 1024)  # end-of-archive blocks
    empty = build_tar([])
    assert empty.bytes == RECORD_SIZE and empty.entries == 0


def test_directory_recursion_applies_the_matcher(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("a")
    (src / "pkg" / "a.pyc").write_text("compiled")
    (src / ".git" / "objects").mkdir(parents=True)
    (src / ".git" / "HEAD").write_text("ref")
    (src / "node_modules" / "x").mkdir(parents=True)
    (src / "node_modules" / "x" / "i.js").write_text("x")
    (src / ".main.py.swp").write_text("swap")
    (src / "empty").mkdir()
    matcher = PathMatcher([PatternSet(str(src), ["**/*.pyc", "node_modules"])])
    result = build_tar([(str(src), "/app")], matcher)
    assert set(members(result)) == {"app", "app/empty", "app/pkg", "app/pkg/a.py"}
    assert members(result)["app"].isdir()
    # parents always come before their children
    names = result.names
    assert names.index("app") < names.index("app/pkg") < names.index("app/pkg/a.py")


def test_ignored_directory_with_exception_is_descended(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "vendor" / "keep").mkdir(parents=True)
    (src / "vendor" / "keep" / "k.txt").write_text("k")
    (src / "vendor" / "drop.txt").write_text("d")
    matcher = PathMatcher([PatternSet(str(src), ["vendor", "!vendor/keep"])])
    result = build_tar([(str(src), "/app")], matcher)
    assert "app/vendor/keep/k.txt" in members(result)
    assert "app/vendor/drop.txt" not in members(result)


def test_container_root_destination_has_no_root_header(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("f")
    result = build_tar([(str(tmp_path / "d"), "/")])
    assert list(members(result)) == ["f"]


def test_symlinks_are_stored_as_links_never_followed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    src.mkdir()
    (src / "abs").symlink_to("/etc/passwd")
    (src / "rel-out").symlink_to("../outside/secret")
    (src / "dir-link").symlink_to(outside)
    (src / "dangling").symlink_to("does/not/exist")
    result = build_tar([(str(src), "/app")])
    m = members(result)
    assert m["app/abs"].issym() and m["app/abs"].linkname == "/etc/passwd"
    assert m["app/rel-out"].issym() and m["app/rel-out"].linkname == "../outside/secret"
    assert m["app/dir-link"].issym() and m["app/dir-link"].linkname == str(outside)
    assert m["app/dangling"].issym() and m["app/dangling"].linkname == "does/not/exist"
    assert not any(n.startswith("app/dir-link/") for n in m)  # a link to a dir is not descended
    assert (m["app/abs"].uid, m["app/abs"].gid) == (0, 0)


def test_top_level_symlink_to_directory_is_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("f")
    (tmp_path / "link").symlink_to("real")
    m = members(build_tar([(str(tmp_path / "link"), "/app/link")]))
    assert list(m) == ["app/link"]
    assert m["app/link"].issym() and m["app/link"].linkname == "real"


def test_entries_below_a_symlink_entry_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to("/etc")
    (tmp_path / "f").write_text("x")
    result = build_tar([(str(tmp_path / "link"), "/app/cfg"), (str(tmp_path / "f"), "/app/cfg/passwd")])
    assert list(members(result)) == ["app/cfg"]
    assert result.skipped == [str(tmp_path / "f")]


def test_fifo_and_socket_are_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    os.mkfifo(src / "pipe")
    short = tempfile.mkdtemp(dir="/tmp")
    try:
        sock_path = os.path.join(short, "s.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(sock_path)
        try:
            result = build_tar([(str(src), "/app"), (short, "/sock")])
        finally:
            sock.close()
    finally:
        shutil.rmtree(short)
    m = members(result)
    assert "app/ok.txt" in m and "app/pipe" not in m and "sock/s.sock" not in m
    assert str(src / "pipe") in result.skipped
    assert sock_path in result.skipped
    # a top-level FIFO copy is skipped as well (and never blocks)
    os.mkfifo(tmp_path / "p2")
    top = build_tar([(str(tmp_path / "p2"), "/p2")])
    assert top.entries == 0 and top.skipped == [str(tmp_path / "p2")]


ODD_NAMES = [
    "with space.txt",
    "ünïcødé-日本.txt",
    "-leading-dash",
    "--",
    "quote'\"name",
    "back\\slash",
]


def test_odd_names_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    deep = src / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    long_file = deep / ("f" * 90 + ".txt")
    long_file.write_text("long")
    for name in ODD_NAMES:
        (src / name).write_text(name)
    result = build_tar([(str(src), "/app")])
    m = members(result)
    for name in ODD_NAMES:
        assert content(result, f"app/{name}") == name.encode()
    long_name = f"app/{'d' * 60}/{'e' * 60}/{'f' * 90}.txt"
    assert len(long_name.encode()) > 100
    assert long_name in m
    assert content(result, long_name) == b"long"
    # no PAX headers: GNU long names only
    with tarfile.open(fileobj=io.BytesIO(result.getvalue())) as tar:
        assert all(not t.pax_headers for t in tar.getmembers())


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs a tar binary")
def test_real_tar_extracts_odd_names_links_and_modes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ODD_NAMES:
        (src / name).write_text(name)
    long_dir = src / ("x" * 80)
    long_dir.mkdir()
    (long_dir / ("y" * 80)).write_text("deep")
    (src / "exe").write_text("#!/bin/sh\n")
    (src / "exe").chmod(0o755)
    (src / "link").symlink_to("../escape")
    result = build_tar([(str(src), "/app")])
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        ["tar", "-C", str(out), "-x", "-f", "-"], input=result.getvalue(), capture_output=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    for name in ODD_NAMES:
        assert (out / "app" / name).read_text() == name
    assert (out / "app" / ("x" * 80) / ("y" * 80)).read_text() == "deep"
    assert stat.S_IMODE((out / "app" / "exe").stat().st_mode) == 0o755
    assert os.readlink(out / "app" / "link") == "../escape"


@pytest.mark.parametrize("bad", ["/app/../etc/passwd", "/..", "app/relative", "", "/a/b/../../../x"])
def test_escaping_or_relative_container_paths_are_rejected(tmp_path: Path, bad: str) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    result = build_tar([(str(f), bad), (str(f), "/ok")])
    assert list(members(result)) == ["ok"]
    assert result.skipped == [str(f)]
    assert "escape" in result.skip_reasons[str(f)]


def test_entry_name() -> None:
    assert entry_name("/app//x/./y") == "app/x/y"
    assert entry_name("/") == ""
    assert entry_name("/app/../x") is None
    assert entry_name("x") is None


def test_duplicate_names_keep_the_last_entry(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.write_text("first")
    b.write_text("second")
    result = build_tar([(str(a), "/app/x"), (str(b), "/app/x")])
    assert result.names == ["app/x"]
    assert content(result, "app/x") == b"second"


class DeletingMatcher:
    """Deletes a file while the walk is running: it vanishes between stat and open."""

    def __init__(self, victim: Path) -> None:
        self.victim = victim

    def ignored(self, path: str) -> bool:
        if self.victim.exists():
            self.victim.unlink()
        return False

    def prunable(self, path: str) -> bool:
        return False


def test_file_vanishing_between_stat_and_open_is_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_text("a")  # stat'ed first (sorted), then deleted by the matcher
    (src / "b").write_text("b")
    result = build_tar([(str(src), "/app")], DeletingMatcher(src / "a"))
    assert set(members(result)) == {"app", "app/b"}
    assert result.skipped == [str(src / "a")]


def test_missing_top_level_path_is_skipped(tmp_path: Path) -> None:
    result = build_tar([(str(tmp_path / "nope"), "/app/nope")])
    assert result.entries == 0
    assert result.skipped == [str(tmp_path / "nope")]


def test_large_file_streams_through_a_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tarstream, "IN_MEMORY_FILE_LIMIT", 1024)
    big = tmp_path / "big.bin"
    payload = os.urandom(300_000)
    big.write_bytes(payload)
    result = build_tar([(str(big), "/app/big.bin")])
    assert content(result, "app/big.bin") == payload
    assert result.unstable == []


def test_real_5mb_boundary(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"z" * (5 * 1024 * 1024 + 1))
    result = build_tar([(str(big), "/big")])
    assert members(result)["big"].size == 5 * 1024 * 1024 + 1


def test_large_archive_is_returned_as_a_spooled_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tarstream, "ARCHIVE_MEMORY_LIMIT", 20_000)
    f = tmp_path / "f"
    f.write_bytes(b"q" * 50_000)
    result = build_tar([(str(f), "/f")])
    try:
        assert not isinstance(result.data, bytes)
        whole = result.getvalue()
        assert len(whole) == result.bytes and result.bytes % RECORD_SIZE == 0
        assert b"".join(result.chunks(4096)) == whole
        assert all(len(c) <= 4096 for c in result.chunks(4096))
        assert content(result, "f") == b"q" * 50_000
    finally:
        result.close()


def test_chunks_of_in_memory_archive(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    result = build_tar([(str(f), "/f")])
    assert b"".join(result.chunks(1000)) == result.getvalue()
    result.close()  # no-op for bytes


def test_file_changing_while_read_is_flagged_unstable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "growing.log"
    f.write_text("start\n")
    real_fstat = os.fstat
    calls = {"n": 0}

    def fstat(fd: int) -> os.stat_result:
        calls["n"] += 1
        if calls["n"] == 2:  # the check after reading: the writer appended meanwhile
            with open(f, "a") as w:
                w.write("more\n")
        return real_fstat(fd)

    monkeypatch.setattr(os, "fstat", fstat)
    result = build_tar([(str(f), "/log")])
    assert result.unstable == [str(f)]
    info = members(result)["log"]
    assert info.size == len(content(result, "log"))  # header always matches the bytes sent
