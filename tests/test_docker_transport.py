"""DockerTransport against real containers (marked ``docker``), plus pure tests of the shared helpers."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import dockerutil as du
import pytest

from tilt_lsp.liveupdate.transport.base import (
    DEFAULT_MAX_ARGV_BYTES,
    ContainerGone,
    ContainerNotRunning,
    ContainerRef,
    DaemonUnavailable,
    PermissionDenied,
    ToolMissing,
    Transport,
    TransportError,
    chunk_argv,
    classify_helper_failure,
    describe_exit,
    iter_chunks,
    prune_delete_paths,
    rm_commands,
)
from tilt_lsp.liveupdate.transport.docker import DockerTransport, canonical_repository, parse_image_ref

needs_docker = pytest.mark.docker


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def transport() -> Iterator[DockerTransport]:
    t = DockerTransport()
    yield t
    t.close()


def _ref(cid: str, image: str = du.BUSYBOX_IMAGE) -> ContainerRef:
    return ContainerRef(kind="docker", id=cid, name=cid[:12], image=image)


@pytest.fixture
def make_container(docker_api: Any) -> Iterator[Any]:
    """Factory: start a labelled container, removed after the test."""
    made: list[str] = []

    def make(image: str = du.BUSYBOX_IMAGE, **kwargs: Any) -> ContainerRef:
        cid = du.run_container(image, **kwargs)
        made.append(cid)
        return _ref(cid, image)

    yield make
    for cid in made:
        du.remove_container(cid)


@pytest.fixture
def container(make_container: Any) -> ContainerRef:
    ref: ContainerRef = make_container()
    return ref


def sh(c: ContainerRef, script: str, user: str = "") -> tuple[int, str]:
    code, out = du.exec_output(c.id, ["sh", "-c", script], user=user)
    return code, out.decode("utf-8", "replace")


def make_tar(entries: list[tuple[str, bytes | str | None, int]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """entries: (name, data | symlink target (str) | None for a directory, mode)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode = mode
            info.mtime = 1_700_000_000
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(data, str):
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ------------------------------------------------------- pure helper tests


def test_describe_exit() -> None:
    assert describe_exit(137) == "(killed by container runtime)"
    assert describe_exit(126) == describe_exit(127) == "(not found in PATH or not executable)"
    assert describe_exit(1) == ""


def test_prune_delete_paths_drops_descendants_and_normalises() -> None:
    paths = ["/app/b/c.txt", "/app/b", "/app/b/d/e", "/app//x/", "/app/x", "/other/./y", "/app/bb"]
    assert prune_delete_paths(paths) == ["/app/b", "/app/bb", "/app/x", "/other/y"]
    with pytest.raises(ValueError):
        prune_delete_paths(["relative/path"])
    with pytest.raises(ValueError):
        prune_delete_paths(["/app/.."])


def test_chunk_argv_respects_budget() -> None:
    args = [f"/srv/{'x' * 50}/{i}" for i in range(5000)]
    chunks = chunk_argv(["rm", "-rf", "--"], args, max_bytes=10_000)
    assert len(chunks) > 1
    assert [a for ch in chunks for a in ch[3:]] == args
    for ch in chunks:
        assert ch[:3] == ["rm", "-rf", "--"]
        assert sum(len(a.encode()) + 9 for a in ch) <= 10_000
    # a single oversized argument still gets its own command line
    assert chunk_argv(["rm"], ["/" + "y" * 200], max_bytes=50) == [["rm", "/" + "y" * 200]]


def test_rm_commands_default_budget() -> None:
    cmds = rm_commands([f"/d/f{i}" for i in range(20_000)])
    assert len(cmds) >= 2
    assert all(sum(len(a.encode()) + 9 for a in c) <= DEFAULT_MAX_ARGV_BYTES for c in cmds)


def test_classify_helper_failure() -> None:
    assert isinstance(classify_helper_failure("tar", 127, "tar: not found"), ToolMissing)
    assert isinstance(classify_helper_failure("tar", 126, "exec failed"), ToolMissing)
    denied = classify_helper_failure("tar", 2, "tar: app/x: Cannot open: File exists")
    assert isinstance(denied, PermissionDenied)
    assert "chown" in str(denied)
    assert isinstance(classify_helper_failure("tar", 1, "tar: x: Read-only file system"), PermissionDenied)
    other = classify_helper_failure("tar", 2, "tar: Unexpected EOF in archive")
    assert type(other) is TransportError and other.exit_code == 2


def test_iter_chunks_accepts_bytes_files_and_iterables() -> None:
    data = os.urandom(1000)
    assert b"".join(iter_chunks(data, 300)) == data
    assert b"".join(iter_chunks(bytearray(data), 300)) == data
    assert b"".join(iter_chunks(io.BytesIO(data), 300)) == data
    assert b"".join(iter_chunks([data[:10], b"", data[10:]])) == data


def test_parse_image_ref() -> None:
    assert canonical_repository("busybox") == "docker.io/library/busybox"
    assert canonical_repository("docker.io/busybox") == "docker.io/library/busybox"
    assert canonical_repository("me/app") == "docker.io/me/app"
    assert canonical_repository("localhost:5000/app") == "localhost:5000/app"
    assert canonical_repository("gcr.io/p/app") == "gcr.io/p/app"
    r = parse_image_ref("localhost:5000/app:dev")
    assert (r.repository, r.tag) == ("localhost:5000/app", "dev")
    assert parse_image_ref("app").matches(parse_image_ref("docker.io/library/app:v9"))
    assert parse_image_ref("app:latest").matches(parse_image_ref("app"))
    assert not parse_image_ref("app:v1").matches(parse_image_ref("app:v2"))
    assert not parse_image_ref("app").matches(parse_image_ref("other/app"))


def _frame(stream: int, payload: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_exec_stream_keeps_bytes_buffered_with_the_http_headers() -> None:
    """Output that http.client read together with the 101 headers must not be lost."""
    from types import SimpleNamespace

    from tilt_lsp.liveupdate.transport.docker import _ExecStream

    ours, daemon = socket.socketpair()
    try:
        sock_io = socket.SocketIO(ours, "rb")
        fp = io.BufferedReader(sock_io)
        daemon.sendall(b"HTTP/1.1 101 UPGRADED\r\n\r\n" + _frame(1, b"early ") + _frame(2, b"err "))
        time.sleep(0.05)
        assert fp.readline().startswith(b"HTTP/1.1 101")  # over-reads the frames into fp's buffer
        assert fp.readline() == b"\r\n"
        sock_io._response = SimpleNamespace(raw=SimpleNamespace(_fp=SimpleNamespace(fp=fp)))  # type: ignore[attr-defined]
        stream = _ExecStream(sock_io)
        daemon.sendall(_frame(1, b"late") + b"\x01\x00\x00")  # a split header follows
        daemon.sendall(b"\x00\x00\x00\x00\x02ok")
        daemon.shutdown(socket.SHUT_WR)
        assert list(stream.frames()) == [(1, b"early "), (2, b"err "), (1, b"late"), (1, b"ok")]
    finally:
        ours.close()
        daemon.close()


def test_exec_stream_passes_unframed_bytes_through() -> None:
    from tilt_lsp.liveupdate.transport.docker import _ExecStream

    ours, daemon = socket.socketpair()
    try:
        stream = _ExecStream(ours)
        daemon.sendall(b'OCI runtime exec failed: exec: "tar": not found\r\n')
        daemon.shutdown(socket.SHUT_WR)
        assert (
            b"".join(p for _, p in stream.frames()) == b'OCI runtime exec failed: exec: "tar": not found\r\n'
        )
    finally:
        ours.close()
        daemon.close()


def test_docker_transport_satisfies_protocol() -> None:
    assert isinstance(DockerTransport(), Transport)


def test_import_does_not_load_docker_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys, tilt_lsp.liveupdate.transport.docker, tilt_lsp.liveupdate.transport.base;"
        "print('docker' in sys.modules, 'requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------- discovery


@pytest.fixture(scope="module")
def disc_images(docker_api: Any) -> dict[str, str]:
    """Two different images in one fresh repository (v1, v2) plus an alias tag of v1 elsewhere."""
    repo = f"tilt-lsp-test/disc-{uuid.uuid4().hex[:8]}"
    base = f"FROM {du.BUSYBOX_IMAGE}\n"
    v1 = du.build_image(base + "RUN echo one > /version\n", tag=f"{repo}:v1")
    v2 = du.build_image(base + "RUN echo two > /version\n", tag=f"{repo}:v2")
    alias = du.tag_image(v1, f"tilt-lsp-test/alias-{uuid.uuid4().hex[:8]}", "x")
    v1_id = str(docker_api.inspect_image(v1)["Id"])
    return {"repo": repo, "v1": v1, "v2": v2, "alias": alias, "v1_id": v1_id}


def _ids(refs: list[ContainerRef]) -> set[str]:
    return {r.id for r in refs}


@needs_docker
def test_find_containers_by_tag_repo_and_id(
    transport: DockerTransport, make_container: Any, disc_images: dict[str, str]
) -> None:
    repo = disc_images["repo"]
    c1 = make_container(disc_images["v1"])  # by tag
    c2 = make_container(disc_images["v2"])  # other tag of the same repository, other image
    c3 = make_container(disc_images["v1_id"])  # started by image ID
    c4 = make_container(disc_images["alias"])  # another name for the v1 image
    stopped = du.run_container(disc_images["v1"], start=False)
    exited = du.run_container(disc_images["v1"], command=["true"], start=True, wait_running=0.0)
    du.wait_state(exited, running=False)
    unrelated = make_container(du.BUSYBOX_IMAGE)

    assert _ids(transport.find_containers(repo)) == {c1.id, c2.id, c3.id, c4.id}
    assert _ids(transport.find_containers(f"{repo}:v1")) == {c1.id, c3.id, c4.id}
    assert _ids(transport.find_containers(f"{repo}:v2")) == {c2.id}
    assert _ids(transport.find_containers(f"docker.io/{repo}:v2")) == {c2.id}
    assert _ids(transport.find_containers(disc_images["alias"])) == {c1.id, c3.id, c4.id}
    assert transport.find_containers(f"{repo}:nope") == []
    assert unrelated.id not in _ids(transport.find_containers(repo))

    by_id = {r.id: r for r in transport.find_containers(f"{repo}:v1")}
    assert by_id[c1.id].image == disc_images["v1"]
    assert by_id[c1.id].kind == "docker" and by_id[c1.id].name.startswith("tilt-lsp-test-")
    du.remove_container(stopped)
    du.remove_container(exited)


@needs_docker
def test_find_compose_containers(transport: DockerTransport, make_container: Any) -> None:
    project = f"proj{uuid.uuid4().hex[:6]}"

    def labels(service: str, number: int, oneoff: bool = False) -> dict[str, str]:
        return {
            "com.docker.compose.project": project,
            "com.docker.compose.service": service,
            "com.docker.compose.container-number": str(number),
            "com.docker.compose.oneoff": "True" if oneoff else "False",
        }

    web2 = make_container(labels=labels("web", 2))
    web1 = make_container(labels=labels("web", 1))
    make_container(labels=labels("web", 1, oneoff=True))
    make_container(labels=labels("db", 1))
    stopped = du.run_container(labels=labels("web", 3), start=False)
    try:
        found = transport.find_compose_containers(project, "web")
        assert [r.id for r in found] == [web1.id, web2.id]
        assert transport.find_compose_containers(project, "nope") == []
    finally:
        du.remove_container(stopped)


# ------------------------------------------------------------------ extract

ODD_ENTRIES: list[tuple[str, bytes | str | None, int]] = [
    ("app", None, 0o755),
    ("app/dir", None, 0o755),
    ("app/dir/plain.txt", b"plain\n", 0o644),
    ("app/with space.txt", b"space\n", 0o644),
    ("app/ünïcødé-файл.txt", b"unicode\n", 0o644),
    ("app/-leading-dash", b"dash\n", 0o644),
    ("app/run.sh", b"#!/bin/sh\necho ran\n", 0o755),
    ("app/" + "d" * 60 + "/" + "f" * 90 + ".txt", b"long\n", 0o644),
    ("app/link-rel", "dir/plain.txt", 0o777),
    ("app/link-abs", "/does/not/exist", 0o777),
    ("app/" + "l" * 110, "/" + "t" * 150, 0o777),
    ("app/empty", b"", 0o600),
]


def _check_odd_entries(c: ContainerRef) -> None:
    long_file = "/app/" + "d" * 60 + "/" + "f" * 90 + ".txt"
    code, out = sh(
        c, "cat /app/dir/plain.txt '/app/with space.txt' /app/ünïcødé-файл.txt ./app/-leading-dash 2>&1"
    )
    assert (code, out) == (0, "plain\nspace\nunicode\ndash\n")
    assert sh(c, f"cat {long_file}") == (0, "long\n")
    assert sh(c, "/app/run.sh") == (0, "ran\n")
    assert sh(c, "readlink /app/link-rel; readlink /app/link-abs; readlink /app/" + "l" * 110) == (
        0,
        "dir/plain.txt\n/does/not/exist\n/" + "t" * 150 + "\n",
    )
    assert sh(c, "cat /app/link-rel") == (0, "plain\n")
    assert sh(c, "stat -c '%a %u %s' /app/empty /app/run.sh") == (0, "600 0 0\n755 0 19\n")


@needs_docker
@pytest.mark.parametrize("fmt", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT], ids=["pax", "gnu"])
def test_extract_tar_odd_names(transport: DockerTransport, container: ContainerRef, fmt: int) -> None:
    transport.extract_tar(container, make_tar(ODD_ENTRIES, fmt))
    _check_odd_entries(container)


@needs_docker
def test_extract_tar_via_archive_api(transport: DockerTransport, container: ContainerRef) -> None:
    transport.extract_tar_via_archive_api(container, make_tar(ODD_ENTRIES))
    _check_odd_entries(container)


@needs_docker
def test_extract_tar_streams_file_objects_and_iterables(
    transport: DockerTransport, container: ContainerRef
) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    archive = make_tar([("big/blob.bin", payload, 0o644)])
    transport.extract_tar(container, io.BytesIO(archive))
    expected = hashlib.sha256(payload).hexdigest()
    assert sh(container, "sha256sum /big/blob.bin | cut -d' ' -f1") == (0, expected + "\n")
    transport.extract_tar(container, (archive[i : i + 7777] for i in range(0, len(archive), 7777)))
    assert sh(container, "sha256sum /big/blob.bin | cut -d' ' -f1") == (0, expected + "\n")


@needs_docker
def test_extract_tar_overwrites_and_replaces(transport: DockerTransport, container: ContainerRef) -> None:
    transport.extract_tar(container, make_tar([("app/f.txt", b"v1\n", 0o644)]))
    transport.extract_tar(container, make_tar([("app/f.txt", b"version two\n", 0o644)]))
    assert sh(container, "cat /app/f.txt") == (0, "version two\n")


@needs_docker
def test_extract_corrupt_archive_is_transport_error(
    transport: DockerTransport, container: ContainerRef
) -> None:
    archive = make_tar([("app/f.txt", b"x" * 5000, 0o644)])
    with pytest.raises(TransportError) as info:
        transport.extract_tar(container, archive[:1000])  # truncated mid-file
    assert not isinstance(info.value, ContainerGone)
    assert info.value.exit_code not in (None, 0)


# ------------------------------------------------------------------- delete


@needs_docker
def test_delete_20000_paths_is_chunked(
    transport: DockerTransport, container: ContainerRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = (
        "mkdir -p /d/keep && cd /d && i=0; while [ $i -lt 20000 ]; do : > f$i; i=$((i+1)); done; : > ./-x"
    )
    assert sh(container, script)[0] == 0
    paths = [f"/d/f{i}" for i in range(20_000)] + ["/d/-x", "/d/not-there"]

    calls: list[int] = []
    real_run = transport._run

    def spy(c: ContainerRef, argv: Any, *args: Any, **kwargs: Any) -> int:
        calls.append(len(argv))
        return real_run(c, argv, *args, **kwargs)

    monkeypatch.setattr(transport, "_run", spy)
    transport.delete(container, paths)
    assert len(calls) >= 2, "20,000 paths must not go into one argv"
    assert sum(n - 3 for n in calls) == len(paths)
    assert sh(container, "ls -A /d") == (0, "keep\n")


@needs_docker
def test_delete_collapses_descendants(
    transport: DockerTransport, container: ContainerRef, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sh(container, "mkdir -p /t/a/b && : > /t/a/b/c && : > /t/z")[0] == 0
    argvs: list[list[str]] = []
    real_run = transport._run

    def spy(c: ContainerRef, argv: Any, *args: Any, **kwargs: Any) -> int:
        argvs.append(list(argv))
        return real_run(c, argv, *args, **kwargs)

    monkeypatch.setattr(transport, "_run", spy)
    transport.delete(container, ["/t/a/b/c", "/t/a", "/t/a/b"])
    transport.delete(container, [])
    assert argvs == [["rm", "-rf", "--", "/t/a"]]
    assert sh(container, "ls -A /t") == (0, "z\n")


# --------------------------------------------------------------------- exec


@needs_docker
def test_exec_run_streams_output(transport: DockerTransport, container: ContainerRef) -> None:
    seen: list[tuple[float, bytes]] = []
    start = time.monotonic()
    code = transport.exec_run(
        container,
        ["sh", "-c", "echo one; sleep 1; echo two >&2"],
        lambda b: seen.append((time.monotonic(), b)),
    )
    end = time.monotonic()
    assert code == 0
    assert b"".join(b for _, b in seen) == b"one\ntwo\n"
    first = next(t for t, b in seen if b"one" in b)
    assert end - first >= 0.7, "output must arrive while the command is still running"
    assert first - start < 0.9


@needs_docker
@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["sh", "-c", "echo failing >&2; exit 1"], {1}),
        (["sh", "-c", "no-such-command-xyz"], {127}),
        (["sh", "-c", "/etc/passwd"], {126}),
        (["no-such-binary-xyz"], {126, 127}),  # the runtime reports a missing argv[0]
        (["sh", "-c", "kill -9 $$"], {137}),
    ],
    ids=["exit1", "sh-127", "sh-126", "runtime-missing", "killed-137"],
)
def test_exec_run_exit_codes(
    transport: DockerTransport, container: ContainerRef, argv: list[str], expected: set[int]
) -> None:
    out: list[bytes] = []
    code = transport.exec_run(container, argv, out.append)
    assert code in expected, b"".join(out)
    if code in (126, 127, 137):
        assert describe_exit(code)
    # the container itself is fine afterwards
    assert transport.exec_run(container, ["true"], out.append) == 0


@needs_docker
def test_exec_run_uses_container_user_and_workdir(transport: DockerTransport, make_container: Any) -> None:
    image = du.build_image(f"FROM {du.BUSYBOX_IMAGE}\nWORKDIR /home/app\nUSER 1000\n")
    c = make_container(image)
    out: list[bytes] = []
    assert transport.exec_run(c, ["sh", "-c", "id -u; pwd"], out.append) == 0
    assert b"".join(out) == b"1000\n/home/app\n"


@needs_docker
def test_exec_timeout_is_transient_transport_error(container: ContainerRef) -> None:
    t = DockerTransport(exec_timeout=0.5)
    start = time.monotonic()
    with pytest.raises(TransportError) as info:
        t.exec_run(container, ["sh", "-c", "echo started; sleep 5"], lambda b: None)
    assert time.monotonic() - start < 3
    assert info.value.transient and "timed out" in str(info.value)
    assert not isinstance(info.value, ContainerGone)
    t.close()


@needs_docker
def test_warm_exec_timeout_is_transient_and_the_step_warms_again(container: ContainerRef) -> None:
    """A pre-started run step that outlives ``exec_timeout`` is aborted and reported as a timeout;
    the next run of the same step gets a fresh warm exec and succeeds."""
    from tilt_lsp.liveupdate.warmexec import WarmDockerTransport
    from tilt_lsp.tiltfile.model import RunStep

    step = RunStep(argv=("sh", "-c", "test -f /tmp/slow && sleep 60; echo fine"))
    t = WarmDockerTransport(exec_timeout=0.5)

    def warmed() -> None:
        deadline = time.monotonic() + 20
        while (container.id, ("run", *step.argv)) not in t._warm:
            assert time.monotonic() < deadline, "the run step was never pre-started"
            time.sleep(0.02)

    try:
        assert sh(container, "touch /tmp/slow")[0] == 0
        t.prepare(container, [step])
        warmed()
        start = time.monotonic()
        with pytest.raises(TransportError) as info:
            t.exec_run(container, step.argv, lambda b: None)
        assert time.monotonic() - start < 30  # aborted, not waited out
        assert info.value.transient and "timed out after 0.5s" in str(info.value)
        assert t.warm_hits == 1
        assert sh(container, "rm /tmp/slow")[0] == 0
        warmed()
        out: list[bytes] = []
        assert t.exec_run(container, step.argv, out.append) == 0
        assert b"".join(out) == b"fine\n" and t.warm_hits == 2
    finally:
        t.close()


# ------------------------------------------------------------------- errors


@needs_docker
def test_notar_image_is_tool_missing(transport: DockerTransport, make_container: Any) -> None:
    c = make_container(du.NOTAR_IMAGE)
    with pytest.raises(ToolMissing) as info:
        transport.extract_tar(c, make_tar([("app/f.txt", b"x", 0o644)]))
    err = info.value
    assert err.tool == "tar" and err.exit_code in (126, 127)
    text = str(err)
    assert "not found in PATH or not executable" in text
    assert "4303" in text and "debug" in text and "sh" in text
    # the archive API needs no tar in the image
    transport.extract_tar_via_archive_api(c, make_tar([("app/f.txt", b"x", 0o644)]))
    assert sh(c, "cat /app/f.txt") == (0, "x")


@needs_docker
def test_non_root_over_root_owned_files_is_permission_denied(
    transport: DockerTransport, make_container: Any
) -> None:
    image = du.build_image(
        f"FROM {du.BUSYBOX_IMAGE}\nRUN mkdir /app && echo old > /app/file && chmod 755 /app && chmod 644 /app/file\n"
        "USER 1000\n"
    )
    c = make_container(image)
    with pytest.raises(PermissionDenied) as info:
        transport.extract_tar(c, make_tar([("app/file", b"new\n", 0o644)]))
    assert info.value.exit_code not in (None, 0)
    assert "Permission denied" in info.value.output
    assert "chown" in str(info.value) and "root" in str(info.value)
    assert sh(c, "cat /app/file") == (0, "old\n")
    with pytest.raises(PermissionDenied):
        transport.delete(c, ["/app/file"])


@needs_docker
def test_read_only_rootfs_is_permission_denied(transport: DockerTransport, make_container: Any) -> None:
    c = make_container(read_only=True)
    with pytest.raises(PermissionDenied) as info:
        transport.extract_tar(c, make_tar([("app/file", b"new\n", 0o644)]))
    assert "read-only" in str(info.value).lower()
    with pytest.raises(PermissionDenied):
        transport.extract_tar_via_archive_api(c, make_tar([("app/file", b"new\n", 0o644)]))


@needs_docker
def test_restart_keeps_container_filesystem(transport: DockerTransport, container: ContainerRef) -> None:
    transport.extract_tar(container, make_tar([("app/kept.txt", b"survives\n", 0o644)]))
    before = du.api().inspect_container(container.id)["State"]["StartedAt"]
    transport.restart(container)
    du.wait_state(container.id, running=True)
    state = du.api().inspect_container(container.id)["State"]
    assert state["StartedAt"] != before
    assert sh(container, "cat /app/kept.txt") == (0, "survives\n")
    assert container.id in _ids(transport.find_containers(du.BUSYBOX_IMAGE))


@needs_docker
def test_container_removed_during_exec_is_container_gone(
    transport: DockerTransport, container: ContainerRef
) -> None:
    fired = threading.Event()

    def on_output(data: bytes) -> None:
        if b"ready" in data and not fired.is_set():
            fired.set()
            threading.Thread(target=du.remove_container, args=(container.id,)).start()

    with pytest.raises(ContainerGone):
        transport.exec_run(container, ["sh", "-c", "echo ready; sleep 60"], on_output)
    assert fired.is_set()


@needs_docker
def test_container_removed_during_extract_is_container_gone(
    transport: DockerTransport, container: ContainerRef
) -> None:
    archive = make_tar([("big/blob.bin", os.urandom(8 * 1024 * 1024), 0o644)])

    def chunks() -> Iterator[bytes]:
        yield archive[:65536]
        du.remove_container(container.id)
        for i in range(65536, len(archive), 65536):
            yield archive[i : i + 65536]

    with pytest.raises(ContainerGone):
        transport.extract_tar(container, chunks())


@needs_docker
def test_removed_or_stopped_container(transport: DockerTransport, make_container: Any) -> None:
    gone = make_container()
    du.remove_container(gone.id)
    with pytest.raises(ContainerGone):
        transport.extract_tar(gone, make_tar([("a", b"x", 0o644)]))
    with pytest.raises(ContainerGone):
        transport.delete(gone, ["/a"])
    with pytest.raises(ContainerGone):
        transport.exec_run(gone, ["true"], lambda b: None)
    with pytest.raises(ContainerGone):
        transport.restart(gone)

    stopped = make_container()
    du.api().stop(stopped.id, timeout=0)
    with pytest.raises(ContainerNotRunning):
        transport.extract_tar(stopped, make_tar([("a", b"x", 0o644)]))


@pytest.mark.parametrize("host", ["unix:///nonexistent/docker.sock", "tcp://127.0.0.1:1"])
def test_daemon_unreachable(host: str) -> None:
    t = DockerTransport(host, timeout=5)
    with pytest.raises(DaemonUnavailable) as info:
        t.find_containers("anything")
    assert info.value.transient
    with pytest.raises(DaemonUnavailable):
        t.extract_tar(_ref("0" * 64), b"")


# ------------------------------------------------------------ container states (rules 17-18)


def test_container_states_report_running_crash_looping_and_exited(transport: DockerTransport) -> None:
    import time
    import uuid

    repo = f"tilt-lsp-test/states-{uuid.uuid4().hex[:8]}"
    du.build_image(f"FROM {du.BUSYBOX_IMAGE}\nLABEL u={uuid.uuid4().hex}\n", tag=f"{repo}:latest")
    api = du.api()
    made: list[str] = []
    try:
        running = du.run_container(f"{repo}:latest")
        made.append(running)
        exited = du.run_container(f"{repo}:latest", command=["sh", "-c", "exit 4"], wait_running=0)
        made.append(exited)
        created = api.create_container(
            f"{repo}:latest",
            command=["sh", "-c", "exit 3"],
            name=du.unique_name(),
            labels=du.session_labels(),
            host_config=api.create_host_config(network_mode="none", restart_policy={"Name": "always"}),
            network_disabled=True,
        )
        looping = str(created["Id"])
        made.append(looping)
        api.start(looping)
        deadline = time.monotonic() + 20
        while (
            int(api.inspect_container(looping)["RestartCount"]) < 2
            or api.inspect_container(exited)["State"]["Running"]
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        states = {s.container.id: s for s in transport.container_states(repo)}
        assert set(states) == {running, exited, looping}
        assert states[running].status == "running" and not states[running].crash_looping()
        assert states[exited].stopped and states[exited].exit_code == 4 and not states[exited].crash_looping()
        assert states[looping].crash_looping() and states[looping].restart_count >= 2
        assert "restart count" in states[looping].describe()
        assert "exit code 4" in states[exited].describe()
        # find_containers returns the running containers: the stopped one never, the crash-looping
        # one only if the listing catches it in its few milliseconds of being up between restarts
        # (CI once did).
        found = [c.id for c in transport.find_containers(repo)]
        assert running in found and exited not in found
        assert set(found) <= {running, looping}
    finally:
        for cid in made:
            du.remove_container(cid)


def test_crash_loop_rule_uses_the_restart_count_and_the_start_time() -> None:
    from tilt_lsp.liveupdate.transport.base import CRASH_LOOP_WINDOW_S, ContainerState

    c = _ref("0" * 64)
    now = 1_000_000.0
    assert ContainerState(container=c, status="restarting", restart_count=1).crash_looping(now)
    assert ContainerState(container=c, status="running", restart_count=3, started_at=now - 2).crash_looping(
        now
    )
    assert not ContainerState(
        container=c, status="running", restart_count=3, started_at=now - CRASH_LOOP_WINDOW_S - 1
    ).crash_looping(now)
    assert not ContainerState(container=c, status="running", restart_count=0, started_at=now).crash_looping(
        now
    )
    assert not ContainerState(container=c, status="exited", restart_count=5, exit_code=1).crash_looping(now)
