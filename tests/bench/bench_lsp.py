"""Benchmark the language server over stdio (not a test: prints p50/p99 tables).

    .venv/bin/python tests/bench/bench_lsp.py [--iterations 300] [--edits 10000]
        [--live-update on|off] [--client vscode|nvim07] [--only features|diagnostics|spawn|rss ...]

Measures, in one run:
* completion / hover / signature help right after an edit (time from sending the
  didChange to the answer), on a generated 5,000-line Tiltfile and on tests/corpus/*, as the
  VS Code extension's client (its completion capabilities); completion on the 5,000-line file
  also as Neovim 0.7's client, which predates LSP 3.17's itemDefaults;
* diagnostics refresh: from the last edit to the publish that reports (or clears) the
  edit's problem, minus the debounce: for an undefined name (the static pass may report it)
  and, on the 5,000-line file, for a missing file (only evaluation finds it);
* spawn -> initialize answered, for tilt-lsp (with its generated-code cache filled by an
  earlier start, and without it, as on the very first start) and for a bare pygls server
  (the floor), alternating them so that all see the same load;
* the server's RSS (and the evaluation process's) after 10,000 edits to the 5,000-line Tiltfile.

Bytecode is cached outside the tree first (as installed packages have it), even when the
environment sets PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from gen_tiltfile import generate  # noqa: E402

BARE_SERVER = (
    "from pygls.lsp.server import LanguageServer\n"
    "LanguageServer('bare', '0').start_io()\n"
)
DEBOUNCE_MS = 200
#: What clients declare about completion.  "vscode": what vscode-languageclient 9 (our
#: extension's client) sends, among it itemDefaults (one edit range for a whole list);
#: "nvim07": Neovim 0.7's built-in client, which predates itemDefaults.
COMPLETION_CAPABILITIES: dict[str, dict[str, Any]] = {
    "vscode": {
        "contextSupport": True,
        "completionItem": {
            "snippetSupport": True,
            "commitCharactersSupport": True,
            "documentationFormat": ["markdown", "plaintext"],
            "deprecatedSupport": True,
            "preselectSupport": True,
            "tagSupport": {"valueSet": [1]},
            "insertReplaceSupport": True,
            "resolveSupport": {"properties": ["documentation", "detail", "additionalTextEdits"]},
            "labelDetailsSupport": True,
        },
        "completionList": {"itemDefaults": ["commitCharacters", "editRange", "insertTextFormat", "insertTextMode", "data"]},
    },
    "nvim07": {
        "completionItem": {
            "snippetSupport": False,
            "commitCharactersSupport": False,
            "documentationFormat": ["markdown", "plaintext"],
            "deprecatedSupport": False,
            "preselectSupport": False,
        },
        "contextSupport": False,
    },
}
#: The client the sessions pretend to be (--client).
CLIENT = "vscode"
#: liveUpdate.enabled sent by every benchmark session (--live-update off sets it to false).
LIVE_UPDATE = True


class Client:
    """A minimal JSON-RPC client: one reader thread, timestamps on arrival."""

    def __init__(self, cmd: list[str], cwd: str, env: dict[str, str] | None = None) -> None:
        self.spawned = time.perf_counter()
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(os.environ.get("BENCH_STDERR", os.devnull), "w"), cwd=cwd,
                                  env=env)
        self._next = 0
        self._waiting: dict[int, queue.Queue[tuple[float, Any]]] = {}
        self.notifications: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        out = self.p.stdout
        while True:
            n = -1
            while True:
                line = out.readline()
                if not line:
                    return
                if line == b"\r\n":
                    break
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":", 1)[1])
            msg = json.loads(out.read(n))
            now = time.perf_counter()
            if "id" in msg and "method" not in msg:
                q = self._waiting.get(msg["id"])
                if q is not None:
                    q.put((now, msg))
            elif "id" in msg:  # a request from the server: answer null
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
            else:
                self.notifications.put((now, msg))

    def _send(self, obj: dict[str, Any]) -> None:
        body = json.dumps(obj).encode()
        assert self.p.stdin is not None
        with self._lock:
            self.p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.p.stdin.flush()

    def request(self, method: str, params: Any) -> tuple[float, Any]:
        """Send a request; return (arrival time, result)."""
        self._next += 1
        rid = self._next
        q: queue.Queue[tuple[float, Any]] = queue.Queue()
        self._waiting[rid] = q
        self._send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        t, msg = q.get(timeout=60)
        del self._waiting[rid]
        return t, msg.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def initialize(self, root: str, options: dict[str, Any] | None = None) -> float:
        options = json.loads(json.dumps(options or {}))
        options.setdefault("settings", {}).setdefault("liveUpdate", {})["enabled"] = LIVE_UPDATE
        t, _ = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": Path(root).as_uri(),
                "capabilities": {"textDocument": {"completion": COMPLETION_CAPABILITIES[CLIENT]}},
                "initializationOptions": options or {},
            },
        )
        self.notify("initialized", {})
        return t - self.spawned

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.p.wait(timeout=5)
        except Exception:  # noqa: BLE001
            self.p.kill()

    def rss_mb(self, pid: int | None = None) -> float:
        with open(f"/proc/{pid or self.p.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def children_rss_mb(self) -> float:
        """RSS of the server's child processes (the evaluation worker)."""
        total = 0.0
        for task in os.listdir(f"/proc/{self.p.pid}/task"):
            try:
                with open(f"/proc/{self.p.pid}/task/{task}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            for k in kids:
                try:
                    total += self.rss_mb(k)
                except OSError:
                    pass
        return total

    def wait_diagnostics(
        self, uri: str, version: int, timeout: float = 60, predicate: Any = None
    ) -> float:
        """Arrival time of the first publish for ``uri`` computed from ``version`` or newer
        (and whose diagnostics satisfy ``predicate``, when given)."""
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no diagnostics for {uri} v{version}")
            t, msg = self.notifications.get(timeout=left)
            if msg.get("method") != "textDocument/publishDiagnostics":
                continue
            p = msg["params"]
            if p["uri"] == uri and (p.get("version") or 0) >= version:
                if predicate is None or predicate(p["diagnostics"]):
                    return t


def server_cmd() -> list[str]:
    return [sys.executable, "-m", "tilt_lsp"]


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))
    return s[k]


def row(name: str, values_ms: list[float]) -> str:
    return f"| {name:<46} | {pct(values_ms, 50):8.2f} | {pct(values_ms, 99):8.2f} | {len(values_ms):5d} |"


# ------------------------------------------------------------------ scenarios


def _pos(line: int, col: int) -> dict[str, int]:
    return {"line": line, "character": col}


def _insert(client: Client, uri: str, version: int, line: int, col: int, text: str) -> None:
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": _pos(line, col), "end": _pos(line, col)}, "text": text}],
        },
    )


def _delete(client: Client, uri: str, version: int, line: int, col: int, end_col: int) -> None:
    client.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": _pos(line, col), "end": _pos(line, end_col)}, "text": ""}],
        },
    )


TYPED = "docker_build('example/x', '.', dockerfile='Dockerfile', "


def features_after_edit(tiltfile: Path, iterations: int) -> dict[str, list[float]]:
    """Type TYPED char by char on a new line in the middle of the file; after each keystroke ask
    for completion, then signature help, then hover (each after its own keystroke)."""
    text = tiltfile.read_text()
    lines = text.split("\n")
    # a blank line between two top-level statements near the middle
    mid = len(lines) // 2
    while mid < len(lines) - 1 and not (lines[mid].strip() == "" and (lines[mid + 1][:1].isalpha())):
        mid += 1
    client = Client(server_cmd(), str(tiltfile.parent))
    client.initialize(str(tiltfile.parent), {"settings": {"diagnostics": {"debounceMs": DEBOUNCE_MS}}})
    uri = tiltfile.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "tiltfile", "version": 1, "text": text}})
    client.wait_diagnostics(uri, 1)
    version = 1
    calls = ("docker_build(", "k8s_yaml(", "local_resource(", "docker_compose(", "custom_build(", "helm(", "load(")
    hover_line = next((i for i, ln in enumerate(lines) if any(c in ln for c in calls)), 0)
    hover_col = max([lines[hover_line].find(c) for c in calls] + [0]) + 2
    out: dict[str, list[float]] = {"completion": [], "signature": [], "hover": []}
    col = 0
    kinds = ["completion", "signature", "hover"]
    for i in range(iterations * 3):
        if col == len(TYPED):
            version += 1
            _delete(client, uri, version, mid, 0, col)
            col = 0
        ch = TYPED[col]
        version += 1
        t0 = time.perf_counter()
        _insert(client, uri, version, mid, col, ch)
        col += 1
        kind = kinds[i % 3]
        if kind == "completion":
            t1, _ = client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": _pos(mid, col)})
        elif kind == "signature":
            t1, _ = client.request("textDocument/signatureHelp", {"textDocument": {"uri": uri}, "position": _pos(mid, col)})
        else:
            t1, _ = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": _pos(hover_line, hover_col)})
        out[kind].append((t1 - t0) * 1000)
        if i % 10 == 9:  # pause now and then so some evaluations run in between, as when typing
            time.sleep(0.25)
    client.close()
    return out


#: Edits whose diagnostics the benchmark waits for: an undefined name (found by parsing alone,
#: so a static pass may report it) and a missing k8s_yaml file (found only by evaluating).
UNDEFINED_EDIT = ("undefined_name_x", "undefined_name_x")
RUNTIME_EDIT = ("k8s_yaml('k8s/missing-x.yaml')", "missing-x.yaml")


def diagnostics_refresh(tiltfile: Path, iterations: int, edit: tuple[str, str] = UNDEFINED_EDIT) -> list[float]:
    """Toggle ``edit`` on the last line; time edit -> the publish that reports (or clears) it,
    minus the debounce."""
    text = tiltfile.read_text()
    inserted, marker = edit
    client = Client(server_cmd(), str(tiltfile.parent))
    client.initialize(str(tiltfile.parent), {"settings": {"diagnostics": {"debounceMs": DEBOUNCE_MS}}})
    uri = tiltfile.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "tiltfile", "version": 1, "text": text + "\n"}})
    client.wait_diagnostics(uri, 1)
    last = text.count("\n") + 1
    version = 1
    out: list[float] = []
    for i in range(iterations):
        version += 1
        t0 = time.perf_counter()
        present = i % 2 == 0
        if present:
            _insert(client, uri, version, last, 0, inserted)
        else:
            _delete(client, uri, version, last, 0, len(inserted))
        t1 = client.wait_diagnostics(
            uri, version, predicate=lambda ds, want=present: any(marker in d["message"] for d in ds) == want
        )
        out.append((t1 - t0) * 1000 - DEBOUNCE_MS)
        time.sleep(0.05)
    client.close()
    return out


def spawn_initialize(cmd: list[str], root: str, n: int, env: dict[str, str] | None = None) -> list[float]:
    out = []
    for _ in range(n):
        c = Client(cmd, root, env)
        out.append(c.initialize(root) * 1000)
        c.close()
    return out


def rss_after_edits(tiltfile: Path, edits: int) -> tuple[float, float, float]:
    text = tiltfile.read_text()
    client = Client(server_cmd(), str(tiltfile.parent))
    client.initialize(str(tiltfile.parent), {"settings": {"diagnostics": {"debounceMs": DEBOUNCE_MS}}})
    uri = tiltfile.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "tiltfile", "version": 1, "text": text + "\n"}})
    client.wait_diagnostics(uri, 1)
    start = client.rss_mb()
    last = text.count("\n") + 1
    version = 1
    width = 0
    for i in range(edits):
        version += 1
        if width >= 80:
            _delete(client, uri, version, last, 0, width)
            width = 0
        else:
            _insert(client, uri, version, last, 0, "x")
            width += 1
        if i % 50 == 49:
            client.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": _pos(last, width)})
        if i % 1000 == 999 or i == edits - 1:  # let an evaluation run now and then, and at the end
            client.wait_diagnostics(uri, version)
    end = client.rss_mb()
    worker = client.children_rss_mb()
    client.close()
    return start, end, worker


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=300, help="requests of each kind per file")
    ap.add_argument("--edits", type=int, default=10_000)
    ap.add_argument("--spawns", type=int, default=10)
    ap.add_argument("--corpus", default=str(REPO / "tests" / "corpus"))
    ap.add_argument("--live-update", choices=["on", "off"], default="on",
                    help="liveUpdate.enabled for the sessions (the engine runs in the server process)")
    ap.add_argument("--only", choices=["features", "diagnostics", "spawn", "rss"], action="append",
                    help="run only these measurements (repeatable)")
    ap.add_argument("--client", choices=sorted(COMPLETION_CAPABILITIES), default="vscode",
                    help="completion capabilities the sessions declare (the 5,000-line completion row is "
                    "also measured with the other client's)")
    args = ap.parse_args()
    only = set(args.only or ["features", "diagnostics", "spawn", "rss"])
    global LIVE_UPDATE, CLIENT
    LIVE_UPDATE = args.live_update == "on"
    CLIENT = args.client
    print(f"live update {'on' if LIVE_UPDATE else 'off'}, completion capabilities of {CLIENT}")

    tmp = Path(tempfile.mkdtemp(prefix="tilt-lsp-bench-"))
    # An installed package has its bytecode compiled (pip does it); a sandbox that sets
    # PYTHONDONTWRITEBYTECODE would make every spawn recompile tilt_lsp but not pygls, which
    # is not what users see.  Cache bytecode outside the tree and warm it up once.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ.setdefault("PYTHONPYCACHEPREFIX", str(tmp / "pycache"))
    big = Path(generate(str(tmp / "big"), 5000))
    corpus = sorted(Path(args.corpus).glob("*/Tiltfile"))
    root = str(corpus[0].parent) if corpus else str(tmp)
    bare = tmp / "bare_server.py"
    bare.write_text(BARE_SERVER)
    bare_cmd = [sys.executable, str(bare)]
    spawn_initialize(server_cmd(), root, 1)  # compile and cache bytecode (and generated code)
    spawn_initialize(bare_cmd, root, 1)

    print("| measurement                                    |  p50 ms  |  p99 ms  |    n  |")
    print("|------------------------------------------------|----------|----------|-------|")
    if "features" in only:
        feats = features_after_edit(big, args.iterations)
        for kind in ("completion", "signature", "hover"):
            print(row(f"{kind} after edit, 5,000-line Tiltfile", feats[kind]), flush=True)
        other = next(c for c in COMPLETION_CAPABILITIES if c != CLIENT)
        CLIENT, chosen = other, CLIENT
        print(row(f"  completion, same, {other} client", features_after_edit(big, args.iterations)["completion"]), flush=True)
        CLIENT = chosen
        merged: dict[str, list[float]] = {"completion": [], "signature": [], "hover": []}
        per_corpus = max(20, args.iterations // max(len(corpus), 1))
        for tf in corpus:
            f = features_after_edit(tf, per_corpus)
            for k, v in f.items():
                merged[k].extend(v)
        for kind in ("completion", "signature", "hover"):
            print(row(f"{kind} after edit, corpus ({len(corpus)} Tiltfiles)", merged[kind]), flush=True)
    if "diagnostics" in only:
        print(row("diagnostics after edit (minus 200 ms debounce), 5k", diagnostics_refresh(big, 20)), flush=True)
        print(row("  same, error found only by evaluating, 5k", diagnostics_refresh(big, 20, RUNTIME_EDIT)), flush=True)
        corpus_diag: list[float] = []
        for tf in corpus:
            corpus_diag.extend(diagnostics_refresh(tf, 6))
        print(row("diagnostics after edit (minus debounce), corpus", corpus_diag), flush=True)
    if "spawn" in only:
        # Alternate the servers so that all see the same load on a shared machine.  The first
        # start of tilt-lsp above filled its cache of generated code (tilt_lsp/codecache.py), as
        # any earlier session does; "first start" runs without that cache.
        ours: list[float] = []
        cold: list[float] = []
        floor: list[float] = []
        no_cache = {**os.environ, "TILT_LSP_NO_CODE_CACHE": "1"}
        for _ in range(args.spawns):
            ours += spawn_initialize(server_cmd(), root, 1)
            cold += spawn_initialize(server_cmd(), root, 1, no_cache)
            floor += spawn_initialize(bare_cmd, root, 1)
        print(row("spawn -> initialize answered, tilt-lsp", ours))
        print(row("  same, first start (no generated-code cache)", cold))
        print(row("spawn -> initialize answered, bare pygls", floor))
        print(row("  difference (tilt-lsp - bare), paired", [a - b for a, b in zip(ours, floor, strict=True)]))
        print(row("  difference (first start - bare), paired", [a - b for a, b in zip(cold, floor, strict=True)]))
    if "rss" in only:
        start, end, worker = rss_after_edits(big, args.edits)
        print(
            f"\nRSS of tilt-lsp on the 5,000-line Tiltfile: {start:.0f} MB after open, {end:.0f} MB after "
            f"{args.edits:,} edits (+ {worker:.0f} MB for the evaluation process)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
