"""Engine logic against an in-memory transport: phases, scheduling, failures, replay, pause."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from liveupdate.fake_transport import FakeTransport, transient_error
from liveupdate.recorder import TIMEOUT, Recorder, check_sequences
from tilt_lsp.liveupdate.engine import EngineOptions, LiveUpdateEngine
from tilt_lsp.liveupdate.transport.base import ToolMissing


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a1")
    (tmp_path / "src" / "b.txt").write_text("b1")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "Tiltfile").write_text(
        "docker_build('web', '.', live_update=[\n"
        "    sync('./src', '/app/src'),\n"
        "    run('make', trigger=['./src/a.txt']),\n"
        "    run('echo done'),\n"
        "])\n"
    )
    return tmp_path


EngineFactory = Callable[..., tuple[LiveUpdateEngine, FakeTransport, Recorder]]


@pytest.fixture
def make_engine(project: Path) -> Iterator[EngineFactory]:
    engines: list[LiveUpdateEngine] = []

    def make(
        containers: tuple[str, ...] = ("web-1",), poll: float = 0.05, **opts: Any
    ) -> tuple[LiveUpdateEngine, FakeTransport, Recorder]:
        fake = FakeTransport()
        for name in containers:
            fake.add(name, "web:latest")
        rec = Recorder()
        engine = LiveUpdateEngine(
            str(project),
            transport=fake,
            on_event=rec.event,
            on_log=rec.log,
            on_result=rec.result,
            options=EngineOptions(poll_interval_s=poll, **opts),
        )
        engines.append(engine)
        engine.start()
        return engine, fake, rec

    yield make
    for e in engines:
        e.stop(timeout=5)


def test_save_runs_phases_in_order_with_one_terminal(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    (project / "src" / "a.txt").write_text("a2")
    engine.save([str(project / "src" / "a.txt")])
    (done,) = rec.wait_terminals(1)
    assert done["phase"] == "done", done
    assert done["message"].startswith("updated in ") and done["message"].endswith(" ms")
    phases = [e["phase"] for e in rec.by_update()[done["updateId"]]]
    assert phases == ["queued", "sync", "run", "run", "done"]
    runs = [e for e in rec.events if e["phase"] == "run"]
    assert [r["step"] for r in runs] == [
        {"index": 1, "total": 2, "command": "make"},
        {"index": 2, "total": 2, "command": "echo done"},
    ]
    assert runs[0]["message"] == "run 1/2: make"
    sync = next(e for e in rec.events if e["phase"] == "sync")
    assert sync["message"] == "sync 1 file \u2192 web-1"
    assert sync["files"] == ["src/a.txt"]
    assert sync["containers"][0]["name"] == "web-1" and sync["containers"][0]["kind"] == "docker"
    assert fake.of("web-1").files == {"/app/src/a.txt": b"a2"}
    check_sequences(rec)
    texts = [line.text for line in rec.logs]
    assert "1 File Changed: [src/a.txt]" in texts
    assert "[CMD 1/2] sh -c make" in texts


def test_trigger_not_matching_skips_run(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    engine.save([str(project / "src" / "b.txt")])
    rec.wait_terminals(1)
    assert [c[2] for c in fake.calls_of("run")] == ["echo done"]


def test_skipped_when_no_container(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine(containers=())
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "skipped"
    assert "no running container of image web" in term["message"]
    check_sequences(rec)
    assert not fake.calls


def test_replay_to_a_container_that_appears_later(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine(containers=())
    (project / "src" / "a.txt").write_text("a2")
    engine.save([str(project / "src" / "a.txt")])
    rec.wait_terminals(1)
    (project / "src" / "b.txt").unlink()
    engine.save([str(project / "src" / "b.txt")])
    rec.wait_terminals(2)
    fake.add("web-2", "web:dev")  # a new container (any tag of the image)
    terms = rec.wait_terminals(3)
    assert terms[-1]["phase"] == "done", terms
    box = fake.of("web-2")
    assert box.files == {"/app/src/a.txt": b"a2"}
    assert ("delete", "web-2", ("/app/src/b.txt",)) in fake.calls
    assert sorted(terms[-1]["files"]) == ["src/a.txt", "src/b.txt"]
    check_sequences(rec)


def test_replay_after_container_replaced(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    (project / "src" / "a.txt").write_text("a2")
    engine.save([str(project / "src" / "a.txt")])
    rec.wait_terminals(1)
    old = fake.of("web-1").ref
    fake.remove(old.id)
    fake.add("web-1", "web:latest", cid="new".ljust(64, "1"))
    terms = rec.wait_terminals(2)
    assert terms[-1]["phase"] == "done"
    assert fake.containers["new".ljust(64, "1")].files == {"/app/src/a.txt": b"a2"}
    # and nothing more happens afterwards (the new container is up to date)
    time.sleep(0.3)
    assert len(rec.terminals()) == 2


def test_pause_holds_changes_and_resume_applies_them(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    engine.pause()
    (project / "src" / "a.txt").write_text("paused")
    engine.save([str(project / "src" / "a.txt")])
    assert engine.wait_idle(TIMEOUT)
    time.sleep(0.2)
    assert rec.events == [] and fake.calls_of("tar") == []
    assert engine.status()["paused"] is True
    engine.resume()
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done" and term["files"] == ["src/a.txt"]
    assert fake.of("web-1").files["/app/src/a.txt"] == b"paused"
    assert engine.status()["paused"] is False


def test_run_failure_keeps_files_and_next_save_only_sends_new_changes(
    make_engine: EngineFactory, project: Path
) -> None:
    engine, fake, rec = make_engine()
    fake.run_results["make"] = 2
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "failed"
    assert 'command "make" failed with exit code: 2' in term["message"]
    assert "last line" in term["message"]
    assert rec.results[-1].run_failure is not None and rec.results[-1].run_failure.exit_code == 2
    assert fake.of("web-1").files == {"/app/src/a.txt": b"a1"}  # files stay
    assert [c[2] for c in fake.calls_of("run")] == ["make"]  # stopped at the failing step
    assert engine.status()["images"][0]["state"] == "failed"
    # no automatic retry
    time.sleep(0.3)
    assert len(rec.terminals()) == 1
    fake.run_results.clear()
    engine.save([str(project / "src" / "b.txt")])
    terms = rec.wait_terminals(2)
    assert terms[-1]["phase"] == "done"
    assert fake.calls_of("tar")[-1][2] == ("app/src/b.txt",) or fake.calls_of("tar")[-1][2] == (
        "/app/src/b.txt",
    )
    assert engine.status()["images"][0]["state"] == "ok"
    check_sequences(rec)


@pytest.mark.parametrize(
    ("code", "text"),
    [(126, "not found in PATH or not executable"), (127, "not found in PATH or not executable")],
)
def test_exit_126_127_are_readable(make_engine: EngineFactory, project: Path, code: int, text: str) -> None:
    engine, fake, rec = make_engine()
    fake.run_results["make"] = code
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "failed"
    assert f"exit code: {code} ({text})" in term["message"]


def test_exit_137_is_infrastructure(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    fake.run_results["make"] = 137
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "failed"
    assert "killed by container runtime" in term["message"]
    assert rec.results[-1].run_failure is None and rec.results[-1].infra_error


def test_infra_error_gives_guidance_and_is_not_retried_in_a_loop(
    make_engine: EngineFactory, project: Path
) -> None:
    engine, fake, rec = make_engine()
    box = fake.of("web-1")
    fake.tar_errors.append(ToolMissing("tar", container=box.ref, exit_code=127))
    (project / "src" / "a.txt").write_text("a2")
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "failed"
    assert "tilt-dev/tilt/issues/4303" in term["message"]  # the tar guidance
    assert [c[2] for c in fake.calls_of("run")] == []
    time.sleep(0.4)  # several discovery polls
    assert len(rec.terminals()) == 1
    # The next change sends the failed change again (watermark not advanced, rule 27).
    engine.save([str(project / "src" / "b.txt")])
    terms = rec.wait_terminals(2)
    assert terms[-1]["phase"] == "done"
    assert sorted(fake.calls_of("tar")[-1][2]) == ["/app/src/a.txt", "/app/src/b.txt"]


def test_transient_error_is_retried_once(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    fake.tar_errors.append(transient_error())
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done"
    assert len(fake.calls_of("tar-error")) == 1 and len(fake.calls_of("tar")) == 1


def test_fallback_is_reported_and_nothing_is_copied(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    engine.save([str(project / "other" / "x.txt"), str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "fallback"
    assert "Found file(s) not matching any sync" in term["message"]
    assert "does not build images" in term["message"]
    assert fake.calls_of("tar") == [] and fake.calls_of("run") == []
    status = engine.status()["images"][0]
    assert status["needsRebuild"] == ["other/x.txt"] and status["state"] == "fallback"
    check_sequences(rec)


def test_ignored_and_editor_temp_files_do_nothing(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    for name in (".a.txt.swp", "4913", "a.txt~", ".#a.txt", "a.txt___jb_tmp___"):
        (project / "src" / name).write_text("tmp")
    engine.changed(
        [str(project / "src" / n) for n in (".a.txt.swp", "4913", "a.txt~", ".#a.txt", "a.txt___jb_tmp___")]
    )
    engine.changed([str(project / ".git" / "index")])
    engine.save([str(project / "Dockerfile")])
    assert engine.wait_idle(TIMEOUT)
    time.sleep(0.3)
    assert rec.events == []


def test_watcher_and_save_of_same_path_give_one_update(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    (project / "src" / "a.txt").write_text("a2")
    engine.save([str(project / "src" / "a.txt")])
    engine.changed([str(project / "src" / "a.txt")])
    assert engine.wait_idle(TIMEOUT)
    time.sleep(0.4)
    assert len(rec.terminals()) == 1


def test_burst_of_watcher_events_is_one_update(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    for i in range(10):
        (project / "src" / "a.txt").write_text(f"v{i}")
        engine.changed([str(project / "src" / "a.txt")])
        time.sleep(0.02)
    assert engine.wait_idle(TIMEOUT)
    assert len(rec.wait_terminals(1)) == 1
    time.sleep(0.4)
    assert len(rec.terminals()) == 1
    assert fake.of("web-1").files["/app/src/a.txt"] == b"v9"


def test_save_during_update_is_applied_right_after(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    fake.run_gate = threading.Event()
    (project / "src" / "a.txt").write_text("first")
    engine.save([str(project / "src" / "a.txt")])
    assert fake.run_started.wait(TIMEOUT)
    (project / "src" / "a.txt").write_text("second")
    engine.save([str(project / "src" / "a.txt")])
    fake.run_gate.set()
    terms = rec.wait_terminals(2)
    assert [t["phase"] for t in terms] == ["done", "done"]
    assert terms[0]["updateId"] != terms[1]["updateId"]
    assert fake.of("web-1").files["/app/src/a.txt"] == b"second"
    check_sequences(rec)


def test_all_replicas_are_updated_and_reported(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine(containers=("web-1", "web-2", "web-3"))
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done"
    assert sorted(c["name"] for c in term["containers"]) == ["web-1", "web-2", "web-3"]
    for name in ("web-1", "web-2", "web-3"):
        assert fake.of(name).files == {"/app/src/a.txt": b"a1"}
    assert sorted(c[1] for c in fake.calls_of("run") if c[2] == "make") == ["web-1", "web-2", "web-3"]
    check_sequences(rec)


def test_replica_run_failure_stops_later_steps_everywhere(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine(containers=("web-1", "web-2"))
    fake.run_results["make"] = 1
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "failed"
    assert not [c for c in fake.calls_of("run") if c[2] == "echo done"]
    for name in ("web-1", "web-2"):
        assert fake.of(name).files == {"/app/src/a.txt": b"a1"}


def test_sync_now_image_resyncs_every_file(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    assert engine.sync_now("web") == ["web"]
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "done"
    assert fake.of("web-1").files == {"/app/src/a.txt": b"a1", "/app/src/b.txt": b"b1"}
    assert [c[2] for c in fake.calls_of("run")] == ["make", "echo done"]
    with pytest.raises(ValueError):
        engine.sync_now("nope-not-an-image")


def test_sync_now_file_acts_like_a_save(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    assert engine.sync_now("src/b.txt") == ["web"]
    (term,) = rec.wait_terminals(1)
    assert term["files"] == ["src/b.txt"]


def test_tiltfile_change_reloads_the_model(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    tiltfile = project / "Tiltfile"
    tiltfile.write_text(tiltfile.read_text().replace("/app/src", "/srv/code"))
    engine.save([str(tiltfile)])
    assert engine.wait_idle(TIMEOUT)
    assert rec.events == []  # a Tiltfile change is not synced
    engine.save([str(project / "src" / "a.txt")])
    rec.wait_terminals(1)
    assert fake.of("web-1").files == {"/srv/code/a.txt": b"a1"}


def test_status_reports_images_containers_and_last_result(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    engine.save([str(project / "src" / "a.txt")])
    rec.wait_terminals(1)
    status = engine.status()
    (img,) = status["images"]
    assert img["image"] == "web" and img["state"] == "ok"
    assert img["lastResult"]["phase"] == "done"
    assert [c["name"] for c in img["containers"]] == ["web-1"]
    assert img["containers"][0]["upToDate"] is True


def test_container_gone_midway_is_reported(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    box = fake.of("web-1")
    fake.on_run = lambda c, argv: fake.remove(box.ref.id)
    engine.save([str(project / "src" / "a.txt")])
    (term,) = rec.wait_terminals(1)
    assert term["phase"] == "failed"
    assert "went away" in term["message"]


def test_custom_build_deps_are_watched(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("custom")
    (tmp_path / "Tiltfile").write_text(
        "custom_build('web', 'make image', deps=['./src'], live_update=[sync('./src', '/app/src')])\n"
    )
    fake = FakeTransport()
    fake.add("web-1", "web:latest")
    rec = Recorder()
    engine = LiveUpdateEngine(
        str(tmp_path), transport=fake, on_event=rec.event, options=EngineOptions(poll_interval_s=0.05)
    )
    engine.start()
    try:
        assert engine.relevant(str(tmp_path / "src" / "a.txt"))
        assert not engine.relevant(str(tmp_path / "elsewhere.txt"))
        engine.save([str(tmp_path / "src" / "a.txt")])
        assert rec.wait_terminals(1)[-1]["phase"] == "done"
        assert fake.of("web-1").files == {"/app/src/a.txt": b"custom"}
    finally:
        engine.stop()


def test_pause_one_image_only(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    assert engine.pause("web") == ["web"]
    assert engine.status()["images"][0]["paused"] is True and engine.status()["paused"] is False
    engine.save([str(project / "src" / "a.txt")])
    assert engine.wait_idle(TIMEOUT)
    assert rec.events == []
    with pytest.raises(ValueError):
        engine.pause("no-such-image")
    engine.resume("web")
    assert rec.wait_terminals(1)[-1]["phase"] == "done"


def test_stop_gives_every_queued_update_its_terminal(make_engine: EngineFactory, project: Path) -> None:
    engine, fake, rec = make_engine()
    fake.run_gate = threading.Event()
    engine.save([str(project / "src" / "a.txt")])
    assert fake.run_started.wait(TIMEOUT)
    (project / "src" / "b.txt").write_text("queued behind")
    engine.save([str(project / "src" / "b.txt")])
    deadline = time.monotonic() + TIMEOUT
    while len([e for e in rec.events if e["phase"] == "queued"]) < 2:  # accepted, waiting for the first
        assert time.monotonic() < deadline
        time.sleep(0.01)
    stopper = threading.Thread(target=engine.stop, kwargs={"timeout": 10})
    stopper.start()
    time.sleep(0.1)
    fake.run_gate.set()
    stopper.join(20)
    terms = rec.wait_terminals(2)
    assert [t["phase"] for t in terms] == ["done", "skipped"]
    check_sequences(rec)


# ------------------------------------------------------------ manual trigger mode (rule 19)

_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: web
"""


@pytest.mark.parametrize(
    ("extra", "manual"),
    [
        ("", False),
        ("trigger_mode(TRIGGER_MODE_MANUAL)\n", True),
        ("k8s_yaml('deploy.yaml')\nk8s_resource('web', trigger_mode=TRIGGER_MODE_MANUAL)\n", True),
        (
            "k8s_yaml('deploy.yaml')\nk8s_resource('web', trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False)\n",
            True,
        ),
        (
            "trigger_mode(TRIGGER_MODE_MANUAL)\nk8s_yaml('deploy.yaml')\nk8s_resource('web', trigger_mode=TRIGGER_MODE_AUTO)\n",
            False,
        ),
    ],
)
def test_trigger_mode_comes_from_the_resource_of_the_image(
    make_engine: EngineFactory, project: Path, extra: str, manual: bool
) -> None:
    (project / "deploy.yaml").write_text(_DEPLOYMENT)
    tiltfile = project / "Tiltfile"
    tiltfile.write_text(extra + tiltfile.read_text())
    engine, fake, rec = make_engine()
    (image,) = engine.status()["images"]
    assert image["triggerMode"] == ("manual" if manual else "auto")
    (project / "src" / "a.txt").write_text("a2")
    engine.save([str(project / "src" / "a.txt")])
    term = rec.wait_terminals(1)[-1]
    if manual:
        assert term["phase"] == "skipped" and term["message"].startswith("Only updates on manual trigger")
        assert fake.calls_of("tar") == []
        assert engine.trigger() == ["web"]
        assert rec.wait_terminals(2)[-1]["phase"] == "done"
    else:
        assert term["phase"] == "done"
    assert fake.of("web-1").files["/app/src/a.txt"] == b"a2"
    check_sequences(rec)


def test_switching_to_auto_trigger_applies_held_changes(make_engine: EngineFactory, project: Path) -> None:
    tiltfile = project / "Tiltfile"
    auto = tiltfile.read_text()
    tiltfile.write_text("trigger_mode(TRIGGER_MODE_MANUAL)\n" + auto)
    engine, fake, rec = make_engine()
    (project / "src" / "b.txt").write_text("b2")
    engine.save([str(project / "src" / "b.txt")])
    assert rec.wait_terminals(1)[-1]["phase"] == "skipped"
    tiltfile.write_text(auto)
    engine.save([str(tiltfile)])
    assert rec.wait_terminals(2)[-1]["phase"] == "done"
    assert fake.of("web-1").files["/app/src/b.txt"] == b"b2"
    assert engine.status()["images"][0]["pendingFiles"] == []
