"""stdin read on the event loop (tilt_lsp/stdio.py), and pygls' reader where that is unsafe."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from tilt_lsp.stdio import LoopReader, loop_can_read


def _frame(obj: dict[str, object]) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def test_which_stdin_the_loop_may_read(tmp_path: Path) -> None:
    r, w = os.pipe()
    with os.fdopen(r, "rb") as rf, os.fdopen(w, "wb") as wf:
        assert loop_can_read(rf, wf)  # what editors give a server
    with open(tmp_path / "input", "wb+") as regular, open(tmp_path / "out", "wb") as out:
        assert not loop_can_read(regular, out)  # a file cannot be watched for readiness
    a, b = socket.socketpair()
    with a, b, os.fdopen(os.dup(a.fileno()), "rb") as sin, os.fdopen(os.dup(a.fileno()), "wb") as sout:
        assert not loop_can_read(sin, sout)  # one socket both ways: non-blocking would reach stdout
    master, slave = os.openpty()
    with os.fdopen(master, "rb"), os.fdopen(slave, "rb") as tty, open(tmp_path / "o2", "wb") as out:
        assert not loop_can_read(tty, out)


def test_messages_split_anywhere_are_read_whole() -> None:
    r, w = os.pipe()
    data = _frame({"jsonrpc": "2.0", "id": 1, "method": "a", "params": {"x": "é" * 3000}}) + _frame(
        {"jsonrpc": "2.0", "method": "b"}
    )

    def writer() -> None:
        with os.fdopen(w, "wb", buffering=0) as out:
            for i in range(0, len(data), 7):  # dribble: headers and bodies cut at random places
                out.write(data[i : i + 7])

    async def read_all() -> list[bytes]:
        reader = LoopReader(os.fdopen(r, "rb"))
        got: list[bytes] = []
        while True:
            header = await reader.readline()
            if not header:
                return got
            n = int(header.split(b":")[1])
            assert await reader.readline() == b"\r\n"
            got.append(await reader.readexactly(n))

    t = threading.Thread(target=writer)
    t.start()
    bodies = asyncio.run(read_all())
    t.join()
    assert [json.loads(b).get("method") for b in bodies] == ["a", "b"]
    assert json.loads(bodies[0])["params"]["x"] == "é" * 3000


def test_truncated_body_ends_the_session_instead_of_hanging() -> None:
    r, w = os.pipe()
    os.write(w, b"Content-Length: 100\r\n\r\n{\"jsonrpc\":")
    os.close(w)

    async def go() -> tuple[bytes, bytes, bytes]:
        reader = LoopReader(os.fdopen(r, "rb"))
        return await reader.readline(), await reader.readline(), await reader.readexactly(100)

    assert asyncio.run(asyncio.wait_for(go(), 10)) == (b"Content-Length: 100\r\n", b"\r\n", b"")


def _session(root: Path) -> bytes:
    return b"".join(
        _frame(m)
        for m in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {}}},
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        )
    )


def _responses(out: bytes) -> dict[int, object]:
    got: dict[int, object] = {}
    while out:
        head, _, rest = out.partition(b"\r\n\r\n")
        n = int(head.split(b"Content-Length:")[1].split(b"\r\n")[0])
        msg = json.loads(rest[:n])
        out = rest[n:]
        if "id" in msg and "method" not in msg:
            got[msg["id"]] = msg.get("result")
    return got


def test_server_over_a_pipe_and_over_a_regular_file(tmp_path: Path) -> None:
    """The same session through the loop reader (a pipe) and through pygls' reader (a file)."""
    env = {**os.environ, "TILT_LSP_NO_FORK": "1"}
    session = _session(tmp_path)
    piped = subprocess.run([sys.executable, "-m", "tilt_lsp"], input=session, capture_output=True, timeout=60,
                           env=env, cwd=tmp_path)
    (tmp_path / "in").write_bytes(session)
    with open(tmp_path / "in", "rb") as stdin:
        from_file = subprocess.run([sys.executable, "-m", "tilt_lsp"], stdin=stdin, capture_output=True, timeout=60,
                                   env=env, cwd=tmp_path)
    for run in (piped, from_file):
        got = _responses(run.stdout)
        assert set(got) == {1, 2}, run.stderr.decode()[-2000:]
        result = got[1]
        assert isinstance(result, dict) and result["serverInfo"]["name"] == "tilt-lsp"
