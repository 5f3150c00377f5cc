"""Static checks in a forked child: same results as computing them in process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tilt_lsp.tiltfile import evaluate as ev
from tilt_lsp.tiltfile import forking

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from gen_tiltfile import generate  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")

BAD = """
x = f"hi {1}"
y = 1 is 2
z = {1, 2}
def g(a, a): return a
if True:
    load('./lib.star', 'svc_name')
q = undefined_name + 1
docker_build('x', '.', bogus_kw=1)
k8s_yaml()
s = "bad \\q escape" "adjacent"
n = 1_000
t = os.path.joinn('a')
def broken(:
    pass
fail_here = {}["nokey"]
"""


def _evaluate(path: str, fork: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(forking, "_DISABLED", not fork)
    ev._PARSE_CACHE.clear()
    return repr(ev.evaluate(path))


def test_same_model_and_diagnostics_with_and_without_fork(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = generate(str(tmp_path), 1800)
    lines = Path(path).read_text().split("\n")
    lines[300:300] = BAD.split("\n")
    Path(path).write_text("\n".join(lines))
    assert len(Path(path).read_text()) >= ev._FORK_MIN_CHARS
    calls: list[int] = []
    real = forking.ForkedCall.__init__

    def counting(self: forking.ForkedCall, fn: object) -> None:
        calls.append(1)
        real(self, fn)  # type: ignore[arg-type]

    monkeypatch.setattr(forking.ForkedCall, "__init__", counting)
    with_fork = _evaluate(path, True, monkeypatch)
    assert calls, "the large file's checks should have run in a child"
    without = _evaluate(path, False, monkeypatch)
    assert with_fork == without
    for code in ("TL101", "TL103", "TL104", "TL105", "TL106", "TL201", "TL202", "TL203"):
        assert f"code='{code}'" in with_fork


def test_forked_call_result_failure_and_cancel() -> None:
    assert forking.ForkedCall(lambda: [("a", 1)]).result(10) == [("a", 1)]
    assert forking.ForkedCall(lambda: 1 // 0).result(10) is None
    assert forking.ForkedCall(lambda: object()).result(10) is None  # not marshal-able
    slow = forking.ForkedCall(lambda: __import__("time").sleep(30))
    assert slow.result(0.2) is None  # timed out: killed and reaped
    forking.ForkedCall(lambda: __import__("time").sleep(30)).cancel()
