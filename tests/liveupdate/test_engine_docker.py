"""The live-update engine against a real Docker engine (spec test list, Docker cases).

Every test builds its own image (distinct image ID) so that container discovery never
touches another test's containers; containers run with ``--network none``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dockerutil as du
import pytest

from liveupdate.recorder import TIMEOUT, Recorder, check_sequences
from tilt_lsp.liveupdate.engine import EngineOptions, LiveUpdateEngine
from tilt_lsp.liveupdate.transport.docker import COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, DockerTransport
from tilt_lsp.liveupdate.warmexec import WarmDockerTransport

pytestmark = pytest.mark.docker


class Project:
    """A project folder with a Tiltfile, its own image and containers, and an engine."""

    def __init__(self, root: Path, transport: str = "warm") -> None:
        self.root = root
        self.transport_kind = transport
        self.transports: list[DockerTransport] = []
        self.repo = f"tilt-lsp-test/lu-{uuid.uuid4().hex[:10]}"
        self.containers: list[str] = []
        self.engines: list[LiveUpdateEngine] = []
        root.mkdir(parents=True, exist_ok=True)
        (root / "Dockerfile").write_text("FROM scratch\n")

    def write(self, rel: str, content: str | bytes = "x") -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def tiltfile(self, steps: str, *, extra: str = "", build_args: str = "") -> None:
        self.write(
            "Tiltfile",
            f"{extra}docker_build('{self.repo}', '.'{build_args}, live_update=[\n{steps}\n])\n",
        )

    def build(self, base: str = du.BUSYBOX_IMAGE, extra: str = "RUN mkdir -p /app") -> str:
        return du.build_image(
            f"FROM {base}\n{extra}\nLABEL tilt-lsp-test.unique={uuid.uuid4().hex}\n",
            tag=f"{self.repo}:latest",
        )

    def run(self, image: str | None = None, **kwargs: Any) -> str:
        cid = du.run_container(image or f"{self.repo}:latest", **kwargs)
        self.containers.append(cid)
        return cid

    def engine(self, *, watch: bool = False, **opts: Any) -> tuple[LiveUpdateEngine, Recorder]:
        rec = Recorder()
        opts.setdefault("poll_interval_s", 0.3)
        transport = WarmDockerTransport() if self.transport_kind == "warm" else DockerTransport()
        self.transports.append(transport)
        engine = LiveUpdateEngine(
            str(self.root),
            transport=transport,
            on_event=rec.event,
            on_log=rec.log,
            on_result=rec.result,
            options=EngineOptions(**opts),
            watch=watch,
        )
        self.engines.append(engine)
        engine.start()
        return engine, rec

    def save(self, engine: LiveUpdateEngine, *rels: str) -> None:
        engine.save([str(self.root / r) for r in rels])

    def close(self) -> None:
        for e in self.engines:
            e.stop(timeout=10)
        for cid in self.containers:
            du.remove_container(cid)


@pytest.fixture(params=["warm", "cold"])
def proj(request: pytest.FixtureRequest, docker_api: Any, tmp_path: Path) -> Iterator[Project]:
    """Every test runs with pre-started execs (the default) and with plain execs."""
    p = Project(tmp_path / "proj", request.param)
    yield p
    p.close()


def cat(cid: str, path: str) -> str | None:
    code, out = du.exec_output(cid, ["cat", path])
    return out.decode("utf-8", "surrogateescape") if code == 0 else None


def exists(cid: str, path: str) -> bool:
    return (
        du.exec_output(cid, ["test", "-e", path])[0] == 0 or du.exec_output(cid, ["test", "-L", path])[0] == 0
    )


def sh(cid: str, script: str) -> str:
    code, out = du.exec_output(cid, ["sh", "-c", script])
    assert code == 0, out
    return out.decode("utf-8", "surrogateescape")


def wait_until(pred: Any, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


# ------------------------------------------------------------------ mapping


def test_mapping_file_to_directory_and_untriggered_run(proj: Project) -> None:
    proj.write("src/a.txt", "hello")
    proj.write("conf/app.ini", "k=v")
    proj.tiltfile(
        "  sync('./src', '/app/src'),\n  sync('./conf/app.ini', '/etc/app/'),\n"
        "  run('echo ran >> /tmp/runs'),"
    )
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt", "conf/app.ini")
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done", term["message"]
    assert cat(cid, "/app/src/a.txt") == "hello"
    assert cat(cid, "/etc/app/app.ini") == "k=v"
    assert cat(cid, "/tmp/runs") == "ran\n"
    assert term["files"] == ["conf/app.ini", "src/a.txt"]
    assert term["containers"][0]["id"] == cid
    check_sequences(rec)
    texts = [line.text for line in rec.logs]
    assert "2 Files Changed: [conf/app.ini src/a.txt]" in texts
    assert any(t.startswith("Will copy 2 file(s) to container: " + cid[:10]) for t in texts)
    assert f"  \u2192 Container {cid[:10]} updated!" in texts


def test_overlapping_syncs_first_declared_wins(proj: Project) -> None:
    proj.write("static/s.css", "body{}")
    proj.tiltfile("  sync('.', '/app'),\n  sync('./static', '/srv'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "static/s.css")
    assert rec.wait_terminals(1)[0]["phase"] == "done"
    assert cat(cid, "/app/static/s.css") == "body{}"
    assert not exists(cid, "/srv/s.css")


# --------------------------------------------------------- deletes / renames


def test_delete_file_and_directory_of_1000_files(proj: Project) -> None:
    proj.write("src/keep.txt", "k")
    proj.write("src/gone.txt", "g")
    for i in range(1000):
        proj.write(f"src/big/f{i:04d}.txt", str(i))
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    engine.sync_now(proj.repo)
    assert rec.wait_terminals(1)[0]["phase"] == "done"
    assert sh(cid, "ls /app/src/big | wc -l").strip() == "1000"
    deleted = [str(p) for p in (proj.root / "src" / "big").iterdir()]
    for p in deleted:
        os.unlink(p)
    os.rmdir(proj.root / "src" / "big")
    os.unlink(proj.root / "src" / "gone.txt")
    engine.changed([*deleted, str(proj.root / "src" / "big"), str(proj.root / "src" / "gone.txt")])
    term = rec.wait_terminals(2)[-1]
    assert term["phase"] == "done", term["message"]
    assert not exists(cid, "/app/src/big") and not exists(cid, "/app/src/gone.txt")
    assert cat(cid, "/app/src/keep.txt") == "k"
    texts = [line.text for line in rec.logs]
    assert any(t.startswith("Will delete 2 file(s) from container") for t in texts), texts[-10:]


def test_renames_file_and_nested_directory(proj: Project) -> None:
    proj.write("src/a.txt", "A")
    proj.write("src/pkg/sub/mod.txt", "M")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    engine.sync_now(proj.repo)
    rec.wait_terminals(1)
    os.rename(proj.root / "src" / "a.txt", proj.root / "src" / "b.txt")
    os.rename(proj.root / "src" / "pkg", proj.root / "src" / "lib")
    engine.changed([str(proj.root / "src" / p) for p in ("a.txt", "b.txt", "pkg", "lib")])
    assert rec.wait_terminals(2)[-1]["phase"] == "done"
    assert not exists(cid, "/app/src/a.txt") and cat(cid, "/app/src/b.txt") == "A"
    assert not exists(cid, "/app/src/pkg") and cat(cid, "/app/src/lib/sub/mod.txt") == "M"


def test_create_then_delete_within_one_batch_is_harmless(proj: Project) -> None:
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.write("src/keep.txt", "k")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    engine.changed([str(proj.root / "src" / "tmp.txt"), str(proj.root / "src" / "keep.txt")])
    assert rec.wait_terminals(1)[0]["phase"] == "done"
    assert cat(cid, "/app/src/keep.txt") == "k"


# ------------------------------------------------------------------ triggers


def test_triggers_select_runs_in_order(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.write("src/b.txt", "b")
    proj.write("src/dir/c.txt", "c")
    proj.tiltfile(
        "  sync('./src', '/app/src'),\n"
        "  run('echo A >> /tmp/log', trigger=['./src/a.txt']),\n"
        "  run('echo D >> /tmp/log', trigger=['./src/dir']),\n"
        "  run('echo ALWAYS >> /tmp/log'),"
    )
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/b.txt")
    rec.wait_terminals(1)
    assert cat(cid, "/tmp/log") == "ALWAYS\n"
    proj.save(engine, "src/a.txt")
    rec.wait_terminals(2)
    assert cat(cid, "/tmp/log") == "ALWAYS\nA\nALWAYS\n"
    proj.save(engine, "src/dir/c.txt")
    rec.wait_terminals(3)
    assert cat(cid, "/tmp/log") == "ALWAYS\nA\nALWAYS\nD\nALWAYS\n"


def test_trigger_outside_syncs_and_fall_back_on_fall_back(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.write("src/deps/lock.txt", "1")
    proj.write("pkg.json", "{}")
    proj.tiltfile(
        "  fall_back_on(['./src/deps']),\n  sync('./src', '/app/src'),\n"
        "  run('echo R >> /tmp/log', trigger=['./pkg.json']),"
    )
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "pkg.json")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "fallback"
    assert (
        "Found file(s) not matching any sync" in term["message"]
        and "does not build images" in term["message"]
    )
    proj.save(engine, "src/deps/lock.txt")
    term = rec.wait_terminals(2)[-1]
    assert term["phase"] == "fallback"
    assert "Detected change to stop file" in term["message"]
    # mixed batch: nothing copied
    proj.write("src/a.txt", "changed")
    proj.write("pkg.json", '{"v": 2}')
    proj.save(engine, "src/a.txt", "pkg.json")
    assert rec.wait_terminals(3)[-1]["phase"] == "fallback"
    assert not exists(cid, "/app/src/a.txt") and not exists(cid, "/tmp/log")
    check_sequences(rec)


# ------------------------------------------------------------ ignores + watcher


def test_ignored_and_editor_temp_files_never_reach_the_container(proj: Project) -> None:
    proj.write(".dockerignore", "**/*.log\n")
    proj.write("src/a.txt", "a")
    proj.write("src/generated/out.txt", "g")
    proj.tiltfile("  sync('./src', '/app/src'),", build_args=", ignore=['src/generated']")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine(watch=True)
    for name in (
        "x.log",
        "generated/out2.txt",
        ".a.txt.swp",
        "4913",
        "a.txt~",
        ".#a.txt",
        "#a.txt#",
        "a___jb_tmp___",
    ):
        proj.write(f"src/{name}", "noise")
    proj.write(".git/index", "git churn")
    assert engine.wait_idle(TIMEOUT)
    proj.write("src/a.txt", "real")
    (term,) = rec.wait_terminals(1)
    assert engine.wait_idle(TIMEOUT)
    assert len(rec.terminals()) == 1
    assert term["phase"] == "done" and term["files"] == ["src/a.txt"], term
    assert cat(cid, "/app/src/a.txt") == "real"
    assert sh(cid, "ls -a /app/src").split() == [".", "..", "a.txt"]


def test_only_restricts_the_watched_files(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.write("src/b.txt", "b")
    proj.tiltfile("  sync('./src', '/app/src'),", build_args=", only=['src/a.txt']")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/b.txt")
    proj.save(engine, "src/a.txt")
    (term,) = rec.wait_terminals(1)
    assert term["files"] == ["src/a.txt"]
    assert not exists(cid, "/app/src/b.txt")


def test_watcher_change_outside_editor_and_atomic_save(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine(watch=True)
    tmp = proj.write("src/.a.txt.tmp-save", "atomic")
    os.replace(tmp, proj.root / "src" / "a.txt")
    wait_until(lambda: cat(cid, "/app/src/a.txt") == "atomic")
    assert engine.wait_idle(TIMEOUT)
    assert not exists(cid, "/app/src/.a.txt.tmp-save")


def test_burst_of_writes_is_one_update_with_last_content(proj: Project) -> None:
    proj.write("src/a.txt", "0")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('echo x >> /tmp/runs'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine(watch=True, debounce_ms=1000)
    for i in range(10):
        proj.write("src/a.txt", f"v{i}")
        time.sleep(0.1)
    rec.wait_terminals(1)
    assert engine.wait_idle(TIMEOUT)
    assert len(rec.terminals()) == 1
    assert cat(cid, "/app/src/a.txt") == "v9"
    assert cat(cid, "/tmp/runs") == "x\n"


def test_save_and_watcher_report_of_the_same_file_give_one_update(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('echo x >> /tmp/runs'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine(watch=True)
    proj.write("src/a.txt", "saved")
    proj.save(engine, "src/a.txt")
    rec.wait_terminals(1)
    time.sleep(0.5)  # let the watcher's own report of the write arrive
    assert engine.wait_idle(TIMEOUT)
    assert len(rec.terminals()) == 1
    assert cat(cid, "/tmp/runs") == "x\n"


# ----------------------------------------------------------- concurrency


def test_save_during_update_is_applied_after_and_last_save_wins(proj: Project) -> None:
    proj.write("src/a.txt", "v1")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('sleep 1'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    wait_until(lambda: any(e["phase"] == "run" for e in rec.events))
    proj.write("src/a.txt", "v2")
    proj.save(engine, "src/a.txt")
    proj.write("src/a.txt", "v3")
    proj.save(engine, "src/a.txt")
    terms = rec.wait_terminals(2)
    assert engine.wait_idle(TIMEOUT)
    assert all(t["phase"] == "done" for t in rec.terminals())
    assert len(rec.terminals()) <= 3
    assert cat(cid, "/app/src/a.txt") == "v3"
    assert terms[0]["updateId"] != terms[1]["updateId"]
    check_sequences(rec)


def test_every_replica_is_updated(proj: Project) -> None:
    proj.write("src/a.txt", "rep")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('cat /app/src/a.txt > /tmp/seen'),")
    proj.build()
    cids = [proj.run() for _ in range(3)]
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done"
    assert sorted(c["id"] for c in term["containers"]) == sorted(cids)
    for cid in cids:
        assert cat(cid, "/tmp/seen") == "rep"


def test_compose_service_containers_are_found_by_labels(proj: Project) -> None:
    proj.write("src/a.txt", "compose")
    proj.write(
        "docker-compose.yml",
        f"services:\n  web:\n    image: {proj.repo}\n    build: .\n  db:\n    image: other/db\n",
    )
    proj.tiltfile("  sync('./src', '/app/src'),", extra="docker_compose('docker-compose.yml')\n")
    base = proj.build()
    engine, rec = proj.engine()
    model = engine.model
    assert model is not None
    project = model.compose[0].project_name
    # A container of the service started from another image (as compose names it): found by labels only.
    other = du.build_image(f"FROM {base}\nLABEL composed=1\n", tag=f"{proj.repo}-composed:v1")
    labels = {
        COMPOSE_PROJECT_LABEL: project,
        COMPOSE_SERVICE_LABEL: "web",
        "com.docker.compose.container-number": "1",
    }
    cid = proj.run(other, labels=labels)
    bystander = proj.run(
        du.BUSYBOX_IMAGE, labels={COMPOSE_PROJECT_LABEL: project, COMPOSE_SERVICE_LABEL: "db"}
    )
    proj.save(engine, "src/a.txt")
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done", term["message"]
    assert [c["id"] for c in term["containers"]] == [cid]
    assert term["resource"] == "web"
    assert cat(cid, "/app/src/a.txt") == "compose"
    assert not exists(bystander, "/app/src/a.txt")


# -------------------------------------------------------------- failures


def test_failing_run_keeps_files_marks_failed_and_next_save_recovers(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.write("src/ok", "0")
    proj.tiltfile(
        "  sync('./src', '/app/src'),\n"
        "  run('echo building; test \"$(cat /app/src/ok)\" = 1 || { echo broken build >&2; exit 3; }'),\n"
        "  run('echo after >> /tmp/after'),"
    )
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt", "src/ok")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed"
    assert "failed with exit code: 3" in term["message"] and "broken build" in term["message"]
    assert cat(cid, "/app/src/a.txt") == "a"  # files stay
    assert not exists(cid, "/tmp/after")  # stop at the first failure
    result = rec.results[-1]
    assert result.run_failure is not None and result.run_failure.index == 1
    assert engine.status()["images"][0]["state"] == "failed"
    proj.write("src/ok", "1")
    proj.save(engine, "src/ok")
    term = rec.wait_terminals(2)[-1]
    assert term["phase"] == "done" and term["files"] == ["src/ok"]
    assert cat(cid, "/tmp/after") == "after\n"
    output = [line.text for line in rec.logs if line.kind == "output"]
    assert "building" in output and "broken build" in output


@pytest.mark.parametrize(
    ("cmd", "expected"),
    [
        ("run('/no/such/binary')", "exit code: 127 (not found in PATH or not executable)"),
        ("run(['/etc/passwd'])", "(not found in PATH or not executable)"),
        ("run('kill -9 $$')", "exit code: 137 (killed by container runtime)"),
    ],
)
def test_exit_codes_126_127_137_are_readable(proj: Project, cmd: str, expected: str) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile(f"  sync('./src', '/app/src'),\n  {cmd},")
    proj.build()
    proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed"
    assert expected in term["message"], term["message"]


def test_image_without_tar_gets_guidance(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build(base=du.NOTAR_IMAGE)
    proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed"
    assert "tar" in term["message"] and "issues/4303" in term["message"]
    time.sleep(1.0)  # several discovery polls: an infrastructure failure is not retried in a loop
    assert len(rec.terminals()) == 1


def test_non_root_user_over_root_files_gets_permission_guidance(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build(extra="RUN mkdir -p /app/src && chmod 755 /app /app/src")
    proj.run(user="1000")
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed"
    assert "COPY --chown" in term["message"], term["message"]


# ---------------------------------------------------------- restart, replay


def test_restart_container_after_runs_and_files_survive(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('echo r > /tmp/ran'),\n  restart_container(),")
    proj.build()
    cid = proj.run()
    started = du.api().inspect_container(cid)["State"]["StartedAt"]
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "done"
    phases = [e["phase"] for e in rec.by_update()[term["updateId"]]]
    assert phases == ["queued", "sync", "run", "restart", "done"]
    restart = next(e for e in rec.events if e["phase"] == "restart")
    assert restart["message"] == f"restart {restart['containers'][0]['name']}"
    du.wait_state(cid, running=True)
    assert du.api().inspect_container(cid)["State"]["StartedAt"] != started
    assert cat(cid, "/app/src/a.txt") == "a" and cat(cid, "/tmp/ran") == "r\n"


def test_replay_to_a_replacement_container(proj: Project) -> None:
    proj.write("src/a.txt", "v1")
    proj.write("src/old.txt", "old")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('echo x >> /tmp/runs'),")
    proj.build(extra="RUN mkdir -p /app/src && echo old > /app/src/old.txt")
    first = proj.run()
    engine, rec = proj.engine()
    proj.write("src/a.txt", "v2")
    proj.save(engine, "src/a.txt")
    rec.wait_terminals(1)
    os.unlink(proj.root / "src" / "old.txt")
    proj.save(engine, "src/old.txt")
    rec.wait_terminals(2)
    du.remove_container(first)
    second = proj.run()  # a new container id: nothing live-updated yet
    term = rec.wait_terminals(3)[-1]  # the monitor replays without a new save
    assert term["phase"] == "done" and term["containers"][0]["id"] == second
    assert sorted(term["files"]) == ["src/a.txt", "src/old.txt"]
    assert cat(second, "/app/src/a.txt") == "v2"
    assert not exists(second, "/app/src/old.txt")
    assert cat(second, "/tmp/runs") == "x\n"


def test_no_container_is_skipped_then_replayed_when_one_starts(proj: Project) -> None:
    proj.write("src/a.txt", "late")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "skipped" and "no running container" in term["message"]
    cid = proj.run()
    assert rec.wait_terminals(2)[-1]["phase"] == "done"
    assert cat(cid, "/app/src/a.txt") == "late"


def test_initial_sync_copies_everything_to_a_new_container(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.write("src/d/b.txt", "b")
    proj.tiltfile("  initial_sync(),\n  sync('./src', '/app/src'),")
    proj.build()
    engine, rec = proj.engine()
    cid = proj.run()
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    assert cat(cid, "/app/src/a.txt") == "a" and cat(cid, "/app/src/d/b.txt") == "b"


# ------------------------------------------------------------ tar contents


def test_symlinks_arrive_as_links_and_are_not_followed(proj: Project) -> None:
    proj.write("outside/secret.txt", "do not send")
    proj.write("src/real.txt", "r")
    os.symlink("../outside/secret.txt", proj.root / "src" / "rel-link")
    os.symlink("/etc/hostname", proj.root / "src" / "abs-link")
    os.symlink("../outside", proj.root / "src" / "dir-link")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    engine.sync_now(proj.repo)
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    assert sh(cid, "readlink /app/src/rel-link").strip() == "../outside/secret.txt"
    assert sh(cid, "readlink /app/src/abs-link").strip() == "/etc/hostname"
    assert sh(cid, "readlink /app/src/dir-link").strip() == "../outside"
    assert not exists(cid, "/app/outside")


def test_odd_file_names_round_trip(proj: Project) -> None:
    names = ["with space.txt", "ünïcödé-日本.txt", "-leading-dash.txt", "d" * 60 + "/" + "e" * 80 + ".txt"]
    for i, name in enumerate(names):
        proj.write(f"src/{name}", f"content {i}")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, *(f"src/{n}" for n in names))
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    for i, name in enumerate(names):
        assert cat(cid, f"/app/src/{name}") == f"content {i}", name
    os.unlink(proj.root / "src" / "-leading-dash.txt")
    proj.save(engine, "src/-leading-dash.txt")
    assert rec.wait_terminals(2)[-1]["phase"] == "done"
    assert not exists(cid, "/app/src/-leading-dash.txt")


def test_executable_bit_survives(proj: Project) -> None:
    script = proj.write("src/run.sh", "#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    proj.tiltfile("  sync('./src', '/app/src'),\n  run(['/app/src/run.sh']),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/run.sh")
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    assert sh(cid, "test -x /app/src/run.sh && echo yes").strip() == "yes"
    assert "hi" in [line.text for line in rec.logs if line.kind == "output"]


# ---------------------------------------------------------------- forms


def test_classic_live_update_form(proj: Project) -> None:
    proj.write("src/a.txt", "classic")
    proj.write(
        "Tiltfile",
        f"live_update('{proj.repo}', [sync('./src', '/app/src'), run('echo c > /tmp/c')])\n"
        f"docker_build('{proj.repo}', '.')\n",
    )
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    assert cat(cid, "/app/src/a.txt") == "classic" and cat(cid, "/tmp/c") == "c\n"


def test_tiltfile_edit_reloads_and_pause_resume(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine(watch=True)
    proj.tiltfile("  sync('./src', '/srv/code'),")
    wait_until(lambda: engine.status()["images"][0]["syncs"][0]["remote"] == "/srv/code")
    engine.pause()
    proj.write("src/a.txt", "paused")
    proj.save(engine, "src/a.txt")
    assert engine.wait_idle(TIMEOUT)
    assert not exists(cid, "/srv/code/a.txt") and rec.events == []
    engine.resume()
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    assert cat(cid, "/srv/code/a.txt") == "paused"


def test_stop_while_update_runs_still_gives_a_terminal(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('sleep 1'),")
    proj.build()
    proj.run()
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    wait_until(lambda: any(e["phase"] == "run" for e in rec.events))
    t = threading.Thread(target=engine.stop, kwargs={"timeout": 20})
    t.start()
    t.join(30)
    assert len(rec.terminals()) == 1
    check_sequences(rec)


# ------------------------------------------------------------ pre-started execs


@pytest.mark.parametrize("proj", ["warm"], indirect=True)
def test_prestarted_execs_are_used_and_replaced(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('echo $((1+1)) > /tmp/two'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    transport = proj.transports[-1]
    assert isinstance(transport, WarmDockerTransport)
    # One persistent receiver for the archives, one gated exec for the run.
    wait_until(lambda: len(transport._warm) == 1 and len(transport._receivers) == 1)
    receiver = transport._receivers[cid]
    for i in range(3):
        proj.write("src/a.txt", f"v{i}")
        proj.save(engine, "src/a.txt")
        assert rec.wait_terminals(i + 1)[-1]["phase"] == "done"
        wait_until(lambda: len(transport._warm) == 1)
    assert transport.warm_hits == 6 and transport.warm_misses == 0
    assert transport._receivers[cid] is receiver  # the same receiver served every update
    assert cat(cid, "/app/src/a.txt") == "v2" and cat(cid, "/tmp/two") == "2\n"
    # The run's environment is the container's own (PATH, HOME), as with a fresh exec.
    assert [line.text for line in rec.logs if line.kind == "output"] == []


@pytest.mark.parametrize("proj", ["warm"], indirect=True)
def test_image_without_sh_falls_back_to_plain_execs(proj: Project) -> None:
    proj.write("src/a.txt", "no shell")
    proj.tiltfile(
        "  sync('./src', '/app/src'),\n  run(['/bin/busybox', 'cp', '/app/src/a.txt', '/tmp/copy']),"
    )
    proj.build(extra='RUN mkdir -p /app\nRUN ["/bin/busybox", "rm", "/bin/sh"]')
    cid = proj.run(command=["/bin/busybox", "sleep", "3600"])
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    assert rec.wait_terminals(1)[-1]["phase"] == "done", rec.terminals()[-1]["message"]
    assert cat(cid, "/tmp/copy") == "no shell"


@pytest.mark.parametrize("proj", ["warm"], indirect=True)
def test_docker_events_trigger_replay_without_polling(proj: Project) -> None:
    proj.write("src/a.txt", "via events")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    engine, rec = proj.engine(poll_interval_s=3600)  # no polling: only Docker events can wake discovery
    proj.save(engine, "src/a.txt")
    assert rec.wait_terminals(1)[-1]["phase"] == "skipped"
    cid = proj.run()
    assert rec.wait_terminals(2)[-1]["phase"] == "done"
    assert cat(cid, "/app/src/a.txt") == "via events"


# ------------------------------------------------- crash loops, exited containers (rules 17-18)


def run_with_restart_policy(proj: Project, command: str, policy: str = "always") -> str:
    """A container of the project's image restarted by Docker's restart policy (labelled for cleanup)."""
    api = du.api()
    created = api.create_container(
        f"{proj.repo}:latest",
        command=["sh", "-c", command],
        name=du.unique_name(),
        labels=du.session_labels(),
        host_config=api.create_host_config(network_mode="none", restart_policy={"Name": policy}),
        network_disabled=True,
    )
    cid = str(created["Id"])
    proj.containers.append(cid)
    api.start(cid)
    return cid


def restart_count(cid: str) -> int:
    return int(du.api().inspect_container(cid)["RestartCount"])


def in_container(cid: str, path: str) -> bool:
    """Whether ``path`` exists in the container's filesystem, whatever its state (archive API)."""
    import docker.errors

    try:
        du.api().get_archive(cid, path)
    except docker.errors.NotFound:
        return False
    return True


def test_crash_looping_container_fails_and_stays_failed_until_replaced(
    proj: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tilt_lsp.liveupdate.transport import base

    monkeypatch.setattr(base, "CRASH_LOOP_WINDOW_S", 1.0)  # a crash loop ends 1 s after the last restart
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),\n  run('echo ran > /tmp/ran'),")
    proj.build()
    # Crashes on its first three starts, then keeps running (its counter lives in the container).
    crashing = run_with_restart_policy(
        proj,
        'n=$(cat /n 2>/dev/null || echo 0); echo $((n+1)) > /n; [ "$n" -ge 3 ] && exec sleep 3600; sleep 0.2; exit 3',
    )
    wait_until(lambda: restart_count(crashing) >= 1)
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed", term
    assert term["message"].startswith("CrashLoopBackOff: Cannot live update because container crashing."), (
        term
    )
    assert "does not build images" in term["message"]
    assert rec.results[-1].reason == "CrashLoopBackOff"
    assert any(
        "CrashLoopBackOff: Cannot live update because container crashing" in line.text for line in rec.logs
    )
    assert not in_container(crashing, "/app/src/a.txt") and not in_container(crashing, "/tmp/ran")
    assert engine.status()["images"][0]["crashLooping"]

    # The crash loop ends; the failure is sticky all the same until the container is replaced.
    wait_until(
        lambda: restart_count(crashing) >= 3 and du.api().inspect_container(crashing)["State"]["Running"]
    )
    time.sleep(1.5)
    proj.write("src/a.txt", "b")
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(2)[-1]
    assert term["phase"] == "failed" and term["message"].startswith("CrashLoopBackOff"), term
    assert not in_container(crashing, "/app/src/a.txt")
    time.sleep(1.0)  # no automatic retry into the crash loop
    assert len(rec.terminals()) == 2

    du.remove_container(crashing)
    fresh = proj.run()
    term = rec.wait_terminals(3)[-1]  # the new container receives the changes (replay)
    assert term["phase"] == "done", term["message"]
    assert cat(fresh, "/app/src/a.txt") == "b" and cat(fresh, "/tmp/ran") == "ran\n"
    assert engine.status()["images"][0]["crashLooping"] == []
    check_sequences(rec)


def test_restarting_container_without_a_running_one_is_a_crash_loop(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = run_with_restart_policy(proj, "exit 3")
    wait_until(lambda: restart_count(cid) >= 2)
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed", term
    assert "Cannot live update because container crashing" in term["message"]
    assert "exit code 3" in term["message"] or "restart count" in term["message"], term["message"]
    check_sequences(rec)


def test_exited_container_skips_without_hanging_and_gets_the_changes_on_start(proj: Project) -> None:
    """Spec test 38: deletes for an exited (not crash-looping) container: skipped at once, replayed on start."""
    proj.write("src/a.txt", "a")
    proj.write("src/gone.txt", "g")
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    engine.sync_now(proj.repo)
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    du.api().stop(cid, timeout=5)
    du.wait_state(cid, running=False)
    os.unlink(proj.root / "src" / "gone.txt")
    t0 = time.monotonic()
    proj.save(engine, "src/gone.txt")
    term = rec.wait_terminals(2)[-1]
    assert time.monotonic() - t0 < 10
    assert term["phase"] == "skipped", term
    assert "no running container" in term["message"] and "exited" in term["message"], term["message"]
    assert in_container(cid, "/app/src/gone.txt")
    du.api().start(cid)
    term = rec.wait_terminals(3)[-1]
    assert term["phase"] == "done", term["message"]
    assert not exists(cid, "/app/src/gone.txt") and cat(cid, "/app/src/a.txt") == "a"
    check_sequences(rec)


# ------------------------------------------------------------ manual trigger (rule 19)


def test_manual_trigger_mode_holds_changes_until_triggered(proj: Project) -> None:
    proj.write("src/a.txt", "a1")
    proj.write("src/b.txt", "b1")
    proj.tiltfile(
        "  sync('./src', '/app/src'),\n  run('cat /app/src/*.txt > /tmp/all'),",
        extra="trigger_mode(TRIGGER_MODE_MANUAL)\n",
    )
    proj.build()
    cid = proj.run()
    engine, rec = proj.engine()
    assert engine.status()["images"][0]["triggerMode"] == "manual"
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "skipped" and term["message"].startswith("Only updates on manual trigger"), term
    assert term["files"] == ["src/a.txt"]
    proj.write("src/b.txt", "b2")
    proj.save(engine, "src/b.txt")
    assert rec.wait_terminals(2)[-1]["phase"] == "skipped"
    time.sleep(1.0)  # several discovery polls: nothing is applied behind the user's back
    assert not exists(cid, "/app/src/a.txt") and not exists(cid, "/tmp/all")
    status = engine.status()["images"][0]
    assert status["pendingFiles"] == ["src/a.txt", "src/b.txt"] and status["waitingForTrigger"] is True
    assert status["state"] == "held"

    assert engine.sync_now(proj.repo) == [proj.repo]  # the trigger
    term = rec.wait_terminals(3)[-1]
    assert term["phase"] == "done", term["message"]
    assert term["files"] == ["src/a.txt", "src/b.txt"]
    assert cat(cid, "/tmp/all") == "a1b2"
    status = engine.status()["images"][0]
    assert status["pendingFiles"] == [] and status["waitingForTrigger"] is False

    engine.sync_now(proj.repo)  # nothing held: Tilt would rebuild; we say so
    term = rec.wait_terminals(4)[-1]
    assert term["phase"] == "fallback" and "full rebuild" in term["message"], term
    assert engine.trigger() == []  # the watch CLI's trigger leaves images without held changes alone
    check_sequences(rec)


# ---------------------------------------------------------- PodsInconsistent (rule 24)


def test_run_failing_in_one_replica_only_is_pods_inconsistent(proj: Project) -> None:
    proj.write("src/a.txt", "a")
    proj.tiltfile(
        "  sync('./src', '/app/src'),\n  run('test -e /tmp/marker || { echo no marker; exit 5; }'),\n"
        "  run('echo later > /tmp/later'),"
    )
    proj.build()
    with_marker, without = proj.run(), proj.run()
    sh(with_marker, "touch /tmp/marker")
    engine, rec = proj.engine()
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(1)[-1]
    assert term["phase"] == "failed", term
    assert term["message"].startswith("PodsInconsistent: "), term["message"]
    assert "full rebuild" in term["message"] and "exit code: 5" in term["message"]
    result = rec.results[-1]
    assert result.reason == "PodsInconsistent" and result.run_failure is not None
    names = {du.api().inspect_container(c)["Name"].lstrip("/"): c for c in (with_marker, without)}
    assert result.run_failure.container == next(n for n, c in names.items() if c == without)
    for cid in (with_marker, without):
        assert cat(cid, "/app/src/a.txt") == "a"  # the files are in every replica
        assert not exists(cid, "/tmp/later")  # no replica ran the later steps
    assert any("PodsInconsistent" in line.text for line in rec.logs)
    # When the step fails in every replica, it is an ordinary run failure (rule 23).
    sh(with_marker, "rm /tmp/marker")
    proj.write("src/a.txt", "a2")
    proj.save(engine, "src/a.txt")
    term = rec.wait_terminals(2)[-1]
    assert term["phase"] == "failed" and not term["message"].startswith("PodsInconsistent")
    assert rec.results[-1].reason is None
    check_sequences(rec)


# ------------------------------------------------------------ persistent receiver


@pytest.mark.parametrize("proj", ["warm"], indirect=True)
def test_receiver_serves_updates_and_is_replaced_after_a_failure_or_its_death(proj: Project) -> None:
    import hashlib

    big = os.urandom(600 * 1024)  # larger than what is written inline: a writer thread sends it
    proj.write("src/locked/big.bin", big)
    proj.write("src/locked/after.txt", "after")
    proj.write("src/open/a.txt", "a1")
    proj.write("src/open/big.bin", big)
    proj.tiltfile("  sync('./src', '/app/src'),")
    proj.build(
        extra="RUN mkdir -p /app/src/locked /app/src/open && chown 1000 /app/src/open && chmod 755 /app/src/locked"
    )
    cid = proj.run(user="1000")
    engine, rec = proj.engine()
    transport = proj.transports[-1]
    assert isinstance(transport, WarmDockerTransport)
    wait_until(lambda: cid in transport._receivers)
    first = transport._receivers[cid]
    proj.save(engine, "src/open/a.txt", "src/open/big.bin")
    assert rec.wait_terminals(1)[-1]["phase"] == "done"
    assert sh(cid, "md5sum /app/src/open/big.bin").split()[0] == hashlib.md5(big).hexdigest()
    assert transport._receivers[cid] is first  # a success keeps the receiver

    proj.save(engine, "src/locked/big.bin", "src/locked/after.txt")  # tar fails on its first entry
    term = rec.wait_terminals(2)[-1]
    assert term["phase"] == "failed" and "COPY --chown" in term["message"], term
    # tar may have left part of that request unread: a fresh receiver takes over.
    wait_until(lambda: cid in transport._receivers and transport._receivers[cid] is not first)
    second = transport._receivers[cid]
    chowned = du.exec_output(cid, ["chown", "1000", "/app/src/locked"], user="0")
    assert chowned[0] == 0, chowned
    proj.write("src/open/a.txt", "a2")
    proj.save(engine, "src/open/a.txt")  # retries the failed files too
    term = rec.wait_terminals(3)[-1]
    assert term["phase"] == "done", term["message"]
    assert cat(cid, "/app/src/open/a.txt") == "a2" and cat(cid, "/app/src/locked/after.txt") == "after"
    assert transport._receivers[cid] is second

    # Kill the receiver's shell: the next update still lands (fresh exec) and a new receiver starts.
    killer = (
        f"for p in /proc/[0-9]*; do [ ${{p#/proc/}} != $$ ] && grep -q {second.marker} $p/cmdline 2>/dev/null"
        " && kill ${p#/proc/}; done; true"
    )
    sh(cid, killer)
    wait_until(lambda: not second.usable())
    proj.write("src/open/a.txt", "a3")
    proj.save(engine, "src/open/a.txt")
    assert rec.wait_terminals(4)[-1]["phase"] == "done"
    assert cat(cid, "/app/src/open/a.txt") == "a3"
    wait_until(lambda: cid in transport._receivers and transport._receivers[cid] is not second)
    proj.write("src/open/a.txt", "a4")
    proj.save(engine, "src/open/a.txt")
    assert rec.wait_terminals(5)[-1]["phase"] == "done"
    assert cat(cid, "/app/src/open/a.txt") == "a4"
    check_sequences(rec)
