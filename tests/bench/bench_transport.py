"""Benchmark the Docker transport (a script, not a pytest test).

    python tests/bench/bench_transport.py [--runs N] [--quick]

Needs a Docker engine (scripts/ensure-docker.sh) and busybox-static; builds the local
``tilt-lsp-test/busybox`` image if missing, pulls nothing, runs containers with --network none.

Table 1, one-file update (copy one 1 KiB file, then run `true`):
  ours exec-tar        DockerTransport.extract_tar + exec_run
  ours put_archive     DockerTransport.extract_tar_via_archive_api + exec_run
  raw SDK exec-tar     the bare docker-py calls (exec_create/exec_start socket/sendall/shutdown/
                       recv/exec_inspect) without our threading, polling and error mapping
  CLI cp + exec        `docker cp FILE ctr:/app/f` + `docker exec ctr true` (subprocesses)
Table 2, copy only, 1/100/1000 files of 1 KiB: the same four ways (CLI: `docker cp DIR/. ctr:/app/`).
Times are wall-clock milliseconds per operation, the methods interleaved run by run;
p99 of few runs is close to the maximum.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.dirname(os.path.dirname(HERE))]

import dockerutil as du  # noqa: E402

from tilt_lsp.liveupdate.transport.base import ContainerRef  # noqa: E402
from tilt_lsp.liveupdate.transport.docker import DockerTransport  # noqa: E402


def make_files(root: str, n: int) -> list[str]:
    names = []
    for i in range(n):
        rel = f"d{i // 100}/f{i}.txt" if n > 1 else "f.txt"
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(os.urandom(512).hex().encode())  # 1 KiB
        names.append(rel)
    return names


def tar_of(root: str, names: list[str], prefix: str = "app") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in names:
            info = tar.gettarinfo(os.path.join(root, rel), arcname=f"{prefix}/{rel}")
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(os.path.join(root, rel), "rb") as fh:
                tar.addfile(info, fh)
    return buf.getvalue()


def raw_exec_tar(api: Any, cid: str, data: bytes) -> None:
    ex = api.exec_create(cid, ["tar", "-C", "/", "-x", "-f", "-"], stdin=True)
    sock = api.exec_start(ex["Id"], socket=True)
    raw = sock._sock
    raw.sendall(data)
    raw.shutdown(socket.SHUT_WR)
    while raw.recv(65536):
        pass
    sock.close()
    code = api.exec_inspect(ex["Id"])["ExitCode"]
    if code != 0:
        raise RuntimeError(f"tar exit {code}")


def raw_exec(api: Any, cid: str, argv: list[str]) -> None:
    ex = api.exec_create(cid, argv)
    api.exec_start(ex["Id"])
    if api.exec_inspect(ex["Id"])["ExitCode"] != 0:
        raise RuntimeError("exec failed")


def cli(*args: str) -> None:
    subprocess.run(["docker", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def measure(
    cases: list[tuple[str, Callable[[], None]]], runs: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Time each case ``runs`` times, interleaved (rotating order) so that load changes hit all alike."""
    for _, fn in cases:
        for _ in range(warmup):
            fn()
    out: dict[str, list[float]] = {name: [] for name, _ in cases}
    for i in range(runs):
        for name, fn in cases[i % len(cases) :] + cases[: i % len(cases)]:
            t0 = time.perf_counter()
            fn()
            out[name].append((time.perf_counter() - t0) * 1000)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def table(title: str, rows: list[tuple[str, str, list[float]]]) -> None:
    print(f"\n{title}\n")
    print(f"| {'method':<18} | {'files':>5} | {'runs':>4} | {'p50 ms':>8} | {'p99 ms':>8} | {'mean ms':>8} |")
    print(f"|{'-' * 20}|{'-' * 6}:|{'-' * 5}:|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|")
    for name, files, xs in rows:
        print(
            f"| {name:<18} | {files:>5} | {len(xs):>4} | {statistics.median(xs):>8.1f} | {pct(xs, 99):>8.1f} "
            f"| {statistics.fmean(xs):>8.1f} |"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=50, help="runs for 1-file cases (fewer for larger ones)")
    ap.add_argument("--quick", action="store_true", help="5 runs each, for a smoke test")
    args = ap.parse_args()
    runs = 5 if args.quick else args.runs

    if not du.docker_available():
        print(du.docker_unavailable_reason(), file=sys.stderr)
        return 2
    du.ensure_base_images()
    api = du.api()
    version = api.version()
    cid = du.run_container()
    ref = ContainerRef(kind="docker", id=cid, name=cid[:12], image=du.BUSYBOX_IMAGE)
    transport = DockerTransport()
    sink: Callable[[bytes], None] = lambda b: None  # noqa: E731
    print(
        f"docker engine {version.get('Version')} (API {version.get('ApiVersion')}), "
        f"{platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            one = os.path.join(tmp, "one")
            names = make_files(one, 1)
            data = tar_of(one, names)
            local = os.path.join(one, names[0])
            cli("exec", cid, "mkdir", "-p", "/app")

            def ours() -> None:
                transport.extract_tar(ref, data)
                if transport.exec_run(ref, ["true"], sink) != 0:
                    raise RuntimeError("run failed")

            def ours_put() -> None:
                transport.extract_tar_via_archive_api(ref, data)
                if transport.exec_run(ref, ["true"], sink) != 0:
                    raise RuntimeError("run failed")

            def raw() -> None:
                raw_exec_tar(api, cid, data)
                raw_exec(api, cid, ["true"])

            def cli_cp_exec() -> None:
                cli("cp", local, f"{cid}:/app/f.txt")
                cli("exec", cid, "true")

            update = measure(
                [
                    ("ours exec-tar", ours),
                    ("ours put_archive", ours_put),
                    ("raw SDK exec-tar", raw),
                    ("CLI cp + exec", cli_cp_exec),
                ],
                runs,
            )
            table("One-file update (copy 1 file + run `true`)", [(k, "1", v) for k, v in update.items()])

            rows: list[tuple[str, str, list[float]]] = []
            for n in (1, 100, 1000):
                root = os.path.join(tmp, f"n{n}")
                names = make_files(root, n)
                blob = tar_of(root, names)
                r = runs if n == 1 else max(3, runs // (2 if n == 100 else 5))
                cases: list[tuple[str, Callable[[], None]]] = [
                    ("ours exec-tar", partial(transport.extract_tar, ref, blob)),
                    ("ours put_archive", partial(transport.extract_tar_via_archive_api, ref, blob)),
                    ("raw SDK exec-tar", partial(raw_exec_tar, api, cid, blob)),
                    ("CLI docker cp", partial(cli, "cp", f"{root}/.", f"{cid}:/app/")),
                ]
                rows += [(name, str(n), xs) for name, xs in measure(cases, r).items()]
            table("Copy only (archive of N files of 1 KiB)", rows)
    finally:
        du.remove_container(cid)
        transport.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
