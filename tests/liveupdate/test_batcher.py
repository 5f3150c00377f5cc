"""Debouncer: spec rule 8, test cases 18-20, 22, 55 (with a fake clock)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tilt_lsp.liveupdate.batcher import Batch, Debouncer, DebounceRunner, file_signature


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        self.now += ms / 1000.0


class FakeStat:
    """(mtime_ns, size) per path, editable by the test."""

    def __init__(self) -> None:
        self.sigs: dict[str, tuple[int, int] | None] = {}

    def __call__(self, path: str) -> tuple[int, int] | None:
        return self.sigs.get(path)


def make(**kw: object) -> tuple[Debouncer, FakeClock, FakeStat]:
    clock = FakeClock()
    sig = FakeStat()
    return Debouncer(clock=clock, signature=sig, **kw), clock, sig  # type: ignore[arg-type]


def test_quiet_window_restarts_on_each_event() -> None:
    d, clock, _ = make()
    assert d.poll() is None and d.deadline() is None
    d.add(["/a"])
    opened = clock.now
    clock.advance(150)
    assert d.poll() is None
    d.add(["/b", "/a"])
    clock.advance(199)
    assert d.poll() is None
    clock.advance(1)
    batch = d.poll()
    assert batch == Batch(paths=("/a", "/b"), trigger="quiet", opened_at=opened, flushed_at=clock.now)
    assert d.poll() is None
    assert not d.is_open


def test_deadline_is_min_of_quiet_and_cap() -> None:
    d, clock, _ = make(quiet_ms=200, max_ms=1000)
    d.add(["/a"])
    start = clock.now
    assert d.deadline() == pytest.approx(start + 0.2)
    for _ in range(9):
        clock.advance(100)
        d.add(["/a"])
    assert d.deadline() == pytest.approx(start + 1.0)


def test_case18_ten_saves_100ms_apart_give_one_batch() -> None:
    d, clock, _ = make()
    batches: list[Batch] = []
    for _ in range(10):
        d.add(["/src/app.py"])
        clock.advance(100)
        b = d.poll()
        if b:
            batches.append(b)
    clock.advance(200)
    b = d.poll()
    assert b is not None
    batches.append(b)
    assert [x.paths for x in batches] == [("/src/app.py",)]


def test_case19_continuous_writes_flush_at_the_10s_cap() -> None:
    d, clock, _ = make()
    start = clock.now
    flushed: list[Batch] = []
    for _ in range(150):  # 15 s of writes every 100 ms
        d.add(["/ctx/app.log"])
        clock.advance(100)
        b = d.poll()
        if b:
            flushed.append(b)
    assert len(flushed) == 1
    assert flushed[0].trigger == "max_wait"
    assert flushed[0].flushed_at - start == pytest.approx(10.0)
    assert d.is_open  # the next batch is already collecting


def test_save_flushes_immediately_with_pending_paths() -> None:
    d, clock, sig = make()
    d.add(["/w"])
    clock.advance(10)
    sig.sigs["/s"] = (1, 10)
    batch = d.flush_now(["/s", "/w"])
    assert batch is not None
    assert batch.paths == ("/s", "/w")
    assert batch.trigger == "save"
    assert batch.flushed_at == clock.now
    assert d.flush_now() is None  # nothing left


def test_case22_watcher_echo_of_a_save_is_dropped() -> None:
    d, clock, sig = make()
    sig.sigs["/src/a.py"] = (111, 5)
    assert d.flush_now(["/src/a.py"]) is not None
    clock.advance(30)
    assert d.add(["/src/a.py"]) == 0  # same mtime+size within the window: the save's own event
    clock.advance(500)
    assert d.poll() is None and not d.is_open
    # a real change (new signature) gets through
    sig.sigs["/src/a.py"] = (222, 6)
    assert d.add(["/src/a.py"]) == 1
    clock.advance(200)
    b = d.poll()
    assert b is not None and b.paths == ("/src/a.py",)


def test_dedupe_window_expires() -> None:
    d, clock, sig = make(dedupe_ms=1000)
    sig.sigs["/a"] = (1, 1)
    d.flush_now(["/a"])
    clock.advance(1001)
    assert d.add(["/a"]) == 1


def test_repeated_save_without_change_is_not_applied_twice() -> None:
    d, clock, sig = make()
    sig.sigs["/a"] = (1, 1)
    assert d.flush_now(["/a"]) is not None
    clock.advance(50)
    assert d.flush_now(["/a"]) is None
    sig.sigs["/a"] = (2, 1)
    assert d.flush_now(["/a"]) is not None


def test_deleted_file_saved_then_reported_is_deduped() -> None:
    d, clock, _ = make()
    assert d.flush_now(["/gone"]) is not None  # signature None both times
    clock.advance(10)
    assert d.add(["/gone"]) == 0


def test_overflow_guard_turns_the_batch_into_a_resync() -> None:
    d, clock, _ = make(max_pending=3)
    d.add(["/a", "/b", "/c"])
    assert d.pending == 3
    d.add(["/d", "/e"])
    assert d.pending == 0  # memory released
    clock.advance(200)
    b = d.poll()
    assert b is not None and b.resync and b.paths == ()
    d.add(["/x"])
    clock.advance(200)
    b2 = d.poll()
    assert b2 is not None and not b2.resync and b2.paths == ("/x",)


def test_case20_mass_change_gives_a_bounded_number_of_batches() -> None:
    d, clock, _ = make(max_pending=1000)
    for i in range(5000):
        d.add([f"/repo/f{i}"])
        if i % 100 == 0:
            clock.advance(1)
    assert d.pending == 0
    clock.advance(200)
    b = d.poll()
    assert b is not None and b.resync
    assert d.poll() is None


def test_case55_os_queue_overflow_requests_a_resync() -> None:
    d, clock, _ = make()
    d.add(["/a"])
    d.overflow()
    d.add(["/b"])
    clock.advance(200)
    b = d.poll()
    assert b is not None and b.resync and b.paths == ()


def test_save_during_resync_flushes_the_resync() -> None:
    d, _, _ = make()
    d.overflow()
    b = d.flush_now(["/a"])
    assert b is not None and b.resync and b.trigger == "save"


def test_invalid_settings() -> None:
    with pytest.raises(ValueError):
        Debouncer(quiet_ms=500, max_ms=100)


def test_file_signature(tmp_path: Path) -> None:
    f = tmp_path / "f"
    assert file_signature(str(f)) is None
    f.write_text("abc")
    sig = file_signature(str(f))
    assert sig is not None and sig[1] == 3


# --------------------------------------------------------------------- runner


def test_runner_delivers_quiet_and_save_batches() -> None:
    got: list[Batch] = []
    done = threading.Event()

    def on_batch(b: Batch) -> None:
        got.append(b)
        if len(got) == 2:
            done.set()

    sigs: dict[str, tuple[int, int] | None] = {"/saved": (1, 1)}
    runner = DebounceRunner(Debouncer(quiet_ms=20, max_ms=1000, signature=sigs.get), on_batch).start()
    try:
        runner.submit(["/w1", "/w2"])
        for _ in range(200):
            if got:
                break
            threading.Event().wait(0.01)
        runner.save(["/saved"])
        runner.submit(["/saved"])  # the watcher echo of the save
        assert done.wait(2.0)
    finally:
        runner.stop()
    assert got[0].paths == ("/w1", "/w2") and got[0].trigger == "quiet"
    assert got[1].paths == ("/saved",) and got[1].trigger == "save"
    assert runner.debouncer.pending == 0


def test_runner_survives_handler_errors_and_flushes_on_stop() -> None:
    got: list[Batch] = []

    def on_batch(b: Batch) -> None:
        got.append(b)
        if len(got) == 1:
            raise RuntimeError("boom")

    runner = DebounceRunner(Debouncer(quiet_ms=10_000, max_ms=10_000), on_batch).start()
    runner.save([])  # nothing pending: no batch
    runner.overflow()
    runner.submit(["/late"])
    runner.stop(flush=True)
    assert len(got) == 1 and got[0].resync
    runner2 = DebounceRunner(Debouncer(quiet_ms=10_000, max_ms=10_000), on_batch).start()
    runner2.submit(["/x"])
    runner2.stop(flush=True)
    assert [b.paths for b in got[1:]] == [("/x",)]
