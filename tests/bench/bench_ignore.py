"""Benchmark PathMatcher.ignored: 100k checks, p50/p99 per check.

Run: .venv/bin/python tests/bench/bench_ignore.py [--checks N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from tilt_lsp.liveupdate.ignore import build_matcher
from tilt_lsp.tiltfile.model import Image

ROOT = "/home/dev/project"
CTX = f"{ROOT}/services/api"

DOCKERIGNORE = """
# typical project ignore file
.git
.venv
node_modules
**/__pycache__
**/*.pyc
*.log
dist/
build/
coverage/
docs/**/*.png
tmp
!tmp/keep
**/.DS_Store
.env*
!.env.example
*.sqlite3
"""

FILES = {f"{CTX}/.dockerignore": DOCKERIGNORE, f"{ROOT}/.tiltignore": "**/*.bak\nscratch/\n"}

SEGMENTS = [
    "src",
    "app",
    "models",
    "views",
    "tests",
    "node_modules",
    "lib",
    "tmp",
    "keep",
    "docs",
    "img",
    "api",
]
NAMES = [
    "main.py",
    "util.pyc",
    "index.js",
    "x.log",
    ".x.py.swp",
    "README.md",
    "a.png",
    "data.sqlite3",
    "f.bak",
    "4913",
]


def make_paths(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    paths = []
    for _ in range(n):
        depth = rnd.randint(0, 6)
        parts = [rnd.choice(SEGMENTS) for _ in range(depth)]
        if rnd.random() < 0.05:
            parts.insert(0, ".git")
        paths.append("/".join([CTX, *parts, rnd.choice(NAMES)]))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=100_000)
    args = parser.parse_args()

    image = Image(
        ref="api",
        kind="docker_build",
        context=CTX,
        ignore=("*.tmp", "secrets/"),
        only=("src", "app", "lib", "node_modules", "tmp", "docs", ".git"),
    )
    matcher = build_matcher(image, ROOT, ["**/generated/**", "*.orig"], read_file=FILES.get)
    paths = make_paths(args.checks)

    for p in paths[:1000]:  # warm-up
        matcher.ignored(p)

    timings: list[int] = []
    ignored = 0
    clock = time.perf_counter_ns
    check = matcher.ignored
    start = clock()
    for p in paths:
        t0 = clock()
        hit = check(p)
        timings.append(clock() - t0)
        ignored += hit
    total_ns = clock() - start

    q = statistics.quantiles(timings, n=100)
    print(f"checks: {len(paths)}  ignored: {ignored}  total: {total_ns / 1e6:.1f} ms")
    print(
        f"per check: p50 {q[49] / 1000:.2f} us  p99 {q[98] / 1000:.2f} us  max {max(timings) / 1000:.2f} us"
    )


if __name__ == "__main__":
    main()
