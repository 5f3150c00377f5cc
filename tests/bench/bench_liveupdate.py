"""Benchmark the live-update engine end to end (a script, not a pytest test).

    python tests/bench/bench_liveupdate.py [--runs N] [--quick] [--replicas 10]

Needs a Docker engine (scripts/ensure-docker.sh); builds local busybox images, pulls nothing,
runs containers with --network none, removes what it made.

Table 1 - save -> file readable in the container, and save -> runs done, for 1, 100 and
1,000 changed files (1 KiB each), p50/p99 in milliseconds:
  engine            LiveUpdateEngine.save() until the update's terminal event (the spec without
                    runs: the files are extracted; with one run: the run has exited), with the
                    default transport (a persistent receiver per container for the archive,
                    pre-started execs for runs, both waited for between saves as they are in
                    real use) and with plain execs
  CLI               `docker cp` of the file (or of the folder) + `docker exec ... sh -c RUN`
  raw SDK exec-tar  one exec of `tar -C / -x -f -` through docker-py (archive built in memory
                    beforehand) + one exec of the run
Table 2 - replicas: save -> readable in every container, 1 container vs N, engine with
containers updated concurrently (the default) and one after the other (parallel=1), with
pre-started and with plain execs.
Methods are interleaved run by run (rotating which goes first, after an fs sync, with no
pre-started exec being replaced meanwhile); every update's final content is checked.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.dirname(os.path.dirname(HERE))]

import dockerutil as du  # noqa: E402

from tilt_lsp.liveupdate.engine import EngineOptions, LiveUpdateEngine  # noqa: E402
from tilt_lsp.liveupdate.transport.docker import DockerTransport  # noqa: E402
from tilt_lsp.liveupdate.warmexec import WarmDockerTransport  # noqa: E402

RUN = "test -s /app/src/f0.txt"
TARGETS = (
    "targets: 1 file p50 <= 80 ms and <= 1.0x the CLI baseline; 1,000 files <= 2 s; "
    "N replicas <= 2x one container"
)


# ------------------------------------------------------------------ fixtures


class Bench:
    def __init__(self, root: str) -> None:
        self.root = root
        self.repo = f"tilt-lsp-test/bench-{uuid.uuid4().hex[:8]}"
        self.containers: list[str] = []
        self.api = du.api()

    def project(self, name: str, run: bool) -> str:
        proj = os.path.join(self.root, name)
        os.makedirs(os.path.join(proj, "src"), exist_ok=True)
        steps = "sync('./src', '/app/src')" + (f", run('{RUN}')" if run else "")
        with open(os.path.join(proj, "Tiltfile"), "w") as f:
            f.write(f"docker_build('{self.repo}-{name}', '.', live_update=[{steps}])\n")
        return proj

    def image(self, name: str) -> str:
        return du.build_image(
            f"FROM {du.BUSYBOX_IMAGE}\nRUN mkdir -p /app/src\nLABEL u={uuid.uuid4().hex}\n",
            tag=f"{self.repo}-{name}:latest",
        )

    def start(self, image: str) -> str:
        cid = du.run_container(image)
        self.containers.append(cid)
        return cid


def write_files(proj: str, n: int, stamp: str) -> list[str]:
    paths = []
    for i in range(n):
        path = os.path.join(proj, "src", f"d{i // 100}" if n > 1 else "", f"f{i}.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(stamp + "\n" + "x" * 1000)
        paths.append(path)
    return paths


class EngineRunner:
    """An engine plus a way to wait for one update's terminal event."""

    def __init__(self, proj: str, parallel: int = 8, warm: bool = True) -> None:
        self.cond = threading.Condition()
        self.terminal: dict[str, Any] | None = None
        self.transport = WarmDockerTransport() if warm else DockerTransport()
        self.engine = LiveUpdateEngine(
            proj,
            transport=self.transport,
            on_event=self._event,
            options=EngineOptions(parallel=parallel, poll_interval_s=30.0),
        )
        self.engine.start()

    def _event(self, e: dict[str, Any]) -> None:
        if e["phase"] in ("done", "failed", "fallback", "skipped"):
            with self.cond:
                self.terminal = e
                self.cond.notify_all()

    def ready(self, containers: int, keys: int) -> None:
        """Wait until the pre-started execs exist (as they do between two saves in real use)."""
        if isinstance(self.transport, WarmDockerTransport):
            deadline = time.monotonic() + 60
            t = self.transport
            while (
                len(t._warm) + len(t._receivers) < containers * keys or t._queued
            ) and time.monotonic() < deadline:
                time.sleep(0.01)

    def update(self, paths: list[str]) -> float:
        with self.cond:
            self.terminal = None
        t0 = time.perf_counter()
        self.engine.save(paths)
        with self.cond:
            while self.terminal is None:
                if not self.cond.wait(120):
                    raise RuntimeError("no terminal event")
        elapsed = (time.perf_counter() - t0) * 1000
        if self.terminal["phase"] != "done":
            raise RuntimeError(f"update failed: {self.terminal}")
        return elapsed

    def stop(self) -> None:
        self.engine.stop()


# ---------------------------------------------------------------- baselines


def cli_cp(proj: str, cid: str, n: int, paths: list[str]) -> None:
    if n == 1:
        subprocess.run(["docker", "cp", paths[0], f"{cid}:/app/src/f0.txt"], check=True, capture_output=True)
    else:
        subprocess.run(
            ["docker", "cp", os.path.join(proj, "src") + "/.", f"{cid}:/app/src/"],
            check=True,
            capture_output=True,
        )


def cli_exec(cid: str) -> None:
    subprocess.run(["docker", "exec", cid, "sh", "-c", RUN], check=True, capture_output=True)


def tar_bytes(proj: str, paths: list[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for p in paths:
            rel = os.path.relpath(p, os.path.join(proj, "src"))
            tar.add(p, arcname=f"app/src/{rel}")
    return buf.getvalue()


def raw_exec_tar(api: Any, cid: str, data: bytes) -> None:
    ex = api.exec_create(cid, ["tar", "-C", "/", "-x", "-f", "-"], stdin=True)
    sock = api.exec_start(ex["Id"], socket=True)
    raw = sock._sock
    raw.sendall(data)
    raw.shutdown(1)
    while raw.recv(65536):
        pass
    sock.close()
    while api.exec_inspect(ex["Id"])["Running"]:
        time.sleep(0.001)


def raw_exec(api: Any, cid: str) -> None:
    ex = api.exec_create(cid, ["sh", "-c", RUN])
    api.exec_start(ex["Id"])
    while api.exec_inspect(ex["Id"])["Running"]:
        time.sleep(0.001)


# --------------------------------------------------------------------- stats


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def fmt_row(label: str, files: str, xs: list[float]) -> str:
    return f"  {label:<38} {files:>6} {len(xs):>4} {statistics.median(xs):>9.1f} {pct(xs, 99):>9.1f}"


def header(title: str) -> None:
    print(f"\n{title}")
    print(f"  {'method':<38} {'files':>6} {'runs':>4} {'p50 ms':>9} {'p99 ms':>9}")


# ---------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30, help="runs for 1 file (100 files: runs/3, 1000: runs/6)")
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="few runs, for a smoke test")
    args = ap.parse_args()
    runs = 5 if args.quick else args.runs
    du.ensure_base_images()
    print(f"host: {platform.platform()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"docker: {du.api().version()['Version']}")
    tmp = tempfile.mkdtemp(prefix="bench-liveupdate-")
    bench = Bench(tmp)
    results: dict[tuple[str, str, str], list[float]] = {}
    engines: list[EngineRunner] = []
    api = du.api()
    try:
        # One project + image + container per (engine variant, with/without run).
        variants = {"engine, pre-started execs (default)": True, "engine, plain execs": False}
        runners: dict[tuple[str, str], tuple[EngineRunner, str, str]] = {}
        for label, warm in variants.items():
            for kind, with_run in (("readable", False), ("runs", True)):
                name = f"{'warm' if warm else 'plain'}-{kind}"
                proj = bench.project(name, run=with_run)
                cid = bench.start(bench.image(name))
                runner = EngineRunner(proj, warm=warm)
                engines.append(runner)
                runners[(label, kind)] = (runner, proj, cid)
        c_cli = bench.start(du.BUSYBOX_IMAGE)
        du.exec_output(c_cli, ["mkdir", "-p", "/app/src"])
        c_raw = bench.start(du.BUSYBOX_IMAGE)
        cli_proj = bench.project("cli", run=False)

        for n in (1, 100, 1000):
            n_runs = max(3, runs // {1: 1, 100: 3, 1000: 6}[n])
            for i in range(n_runs + 1):  # the first run warms up and is dropped
                stamp = f"{n}-{i}-{uuid.uuid4().hex[:6]}"
                cases: list[tuple[str, str, Callable[[], float]]] = []
                for (label, kind), (runner, proj, _cid) in runners.items():
                    paths = write_files(proj, n, stamp)
                    runner.ready(1, 2 if kind == "runs" else 1)
                    cases.append((kind, label, lambda r=runner, p=paths: r.update(p)))
                cp = write_files(cli_proj, n, stamp)
                data = tar_bytes(cli_proj, cp)
                cases += [
                    (
                        "readable",
                        "CLI docker cp",
                        lambda cp=cp, n=n: timed(lambda: cli_cp(cli_proj, c_cli, n, cp)),
                    ),
                    (
                        "runs",
                        "CLI docker cp + docker exec",
                        lambda cp=cp, n=n: timed(lambda: (cli_cp(cli_proj, c_cli, n, cp), cli_exec(c_cli))),
                    ),
                    (
                        "readable",
                        "raw SDK exec-tar",
                        lambda d=data: timed(lambda: raw_exec_tar(api, c_raw, d)),
                    ),
                    (
                        "runs",
                        "raw SDK exec-tar + exec",
                        lambda d=data: timed(lambda: (raw_exec_tar(api, c_raw, d), raw_exec(api, c_raw))),
                    ),
                ]
                os.sync()  # write-back of the files just written must not land in one method's time
                shift = i % len(cases)  # and no method is always first
                for kind, label, fn in cases[shift:] + cases[:shift]:
                    for (_, k), (r, _p, _c) in runners.items():  # no background exec starts while measuring
                        r.ready(1, 2 if k == "runs" else 1)
                    ms = fn()
                    if i > 0:
                        results.setdefault((kind, label, str(n)), []).append(ms)
            for (_label, _kind), (_runner, _proj, cid) in runners.items():
                code, out = du.exec_output(
                    cid, ["head", "-n1", "/app/src/f0.txt" if n == 1 else "/app/src/d0/f0.txt"]
                )
                assert out.decode().strip() == stamp, (out, stamp)

        for kind, title in (
            ("readable", "save -> file readable in the container"),
            ("runs", "save -> runs done"),
        ):
            header(f"Table 1: {title}")
            for (k, label, n), xs in results.items():
                if k == kind:
                    print(fmt_row(label, n, xs))

        # ------------------------------------------------------------ replicas
        one_proj, rep_proj = bench.project("one", run=False), bench.project("rep", run=False)
        bench.start(bench.image("one"))
        rep_img = bench.image("rep")
        reps = [bench.start(rep_img) for _ in range(args.replicas)]
        rep_results: dict[str, list[float]] = {}
        for warm in (True, False):
            for parallel in (args.replicas, 1):
                how = "concurrent" if parallel > 1 else "sequential"
                execs = "pre-started" if warm else "plain"
                e_one = EngineRunner(one_proj, warm=warm)
                e_rep = EngineRunner(rep_proj, parallel=parallel, warm=warm)
                for i in range(max(3, runs // (1 if parallel > 1 else 3)) + 1):
                    stamp = f"r{i}-{uuid.uuid4().hex[:6]}"
                    p1, pr = write_files(one_proj, 1, stamp), write_files(rep_proj, 1, stamp)
                    os.sync()
                    e_one.ready(1, 1)
                    e_rep.ready(args.replicas, 1)
                    t1, tn = e_one.update(p1), e_rep.update(pr)
                    if i > 0:
                        rep_results.setdefault(f"1 container, {execs} execs", []).append(t1)
                        rep_results.setdefault(
                            f"{args.replicas} containers, {execs} execs, {how}", []
                        ).append(tn)
                e_one.stop()
                e_rep.stop()
                for cid in reps:
                    code, out = du.exec_output(cid, ["head", "-n1", "/app/src/f0.txt"])
                    assert out.decode().strip() == stamp, (cid, out)
        header("Table 2: replicas, save -> readable in every container (1 file)")
        for label, xs in rep_results.items():
            print(fmt_row(label, "1", xs))

        # ------------------------------------------------------------ summary
        default = "engine, pre-started execs (default)"
        one = statistics.median(results[("readable", default, "1")])
        cli = statistics.median(results[("readable", "CLI docker cp", "1")])
        one_run = statistics.median(results[("runs", default, "1")])
        cli_run = statistics.median(results[("runs", "CLI docker cp + docker exec", "1")])
        thousand = statistics.median(results[("readable", default, "1000")])
        rep1 = statistics.median(rep_results["1 container, pre-started execs"])
        repn = statistics.median(rep_results[f"{args.replicas} containers, pre-started execs, concurrent"])
        print(f"\n{TARGETS}")
        print(
            f"  1 file p50: {one:.1f} ms ({'ok' if one <= 80 else 'MISSED'}); {one / cli:.2f}x CLI docker cp "
            f"({'ok' if one <= cli else 'MISSED'}); with runs {one_run / cli_run:.2f}x CLI cp + exec"
        )
        print(f"  1,000 files p50: {thousand:.0f} ms ({'ok' if thousand <= 2000 else 'MISSED'})")
        print(
            f"  {args.replicas} replicas p50: {repn:.1f} ms = {repn / rep1:.2f}x one container "
            f"({'ok' if repn <= 2 * rep1 else 'MISSED'})"
        )
    finally:
        for e in engines:
            e.stop()
        for cid in bench.containers:
            du.remove_container(cid)
        du.cleanup_session()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
