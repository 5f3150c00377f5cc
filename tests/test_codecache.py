"""The cache of generated code (tilt_lsp/codecache.py): same behaviour, fewer compiles, no harm
from a damaged, foreign or unwritable cache.  Each case runs in a fresh interpreter, as the
server does, with its own cache folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Loads lsprotocol through the cache, uses the generated methods and prints what happened.
PROBE = r"""
import json, sys
from tilt_lsp import codecache
installed = codecache.install()
from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
a = t.Position(line=1, character=2)
b = t.Position(line=1, character=2)
item = t.CompletionItem(label="x", kind=t.CompletionItemKind.Function, data={"k": 1})
server = LanguageServer("probe", "0")
wire = server.protocol._converter.unstructure(item)
back = server.protocol._converter.structure(wire, t.CompletionItem)
try:
    t.Position(line=1)
    missing = "no error"
except TypeError as e:
    missing = type(e).__name__
codecache.save()
print(json.dumps({"installed": installed, "stats": codecache.stats(), "eq": a == b, "repr": repr(a),
                  "ranges": t.Range(start=a, end=b) == t.Range(start=b, end=a),
                  "wire": wire, "back": back == item, "missing": missing}))
"""


def _probe(cache: Path, **env: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
        env={**os.environ, "XDG_CACHE_HOME": str(cache), **env},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def _behaviour(result: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in result.items() if k not in ("installed", "stats")}


def test_second_start_compiles_nothing_and_behaves_the_same(tmp_path: Path) -> None:
    first = _probe(tmp_path)
    second = _probe(tmp_path)
    off = _probe(tmp_path / "unused", TILT_LSP_NO_CODE_CACHE="1")
    assert first["installed"] and second["installed"] and not off["installed"]
    stats1, stats2 = first["stats"], second["stats"]
    assert isinstance(stats1, dict) and isinstance(stats2, dict)
    assert stats1["known"] == 0 and stats1["compiled"] > 500  # lsprotocol's classes, and cattrs' functions
    assert stats2["known"] >= stats1["used"] and stats2["compiled"] == 0
    assert _behaviour(first) == _behaviour(second) == _behaviour(off)
    assert first["wire"] == {"label": "x", "kind": 3, "data": {"k": 1}} and first["missing"] == "TypeError"
    [cache_file] = list((tmp_path / "tilt-lsp").iterdir())
    assert oct(cache_file.stat().st_mode & 0o777) == "0o600"
    assert not (tmp_path / "unused").exists()


def test_damaged_cache_is_ignored_and_replaced(tmp_path: Path) -> None:
    _probe(tmp_path)
    [cache_file] = list((tmp_path / "tilt-lsp").iterdir())
    cache_file.write_bytes(b"\x00not marshal data" * 100)
    result = _probe(tmp_path)
    stats = result["stats"]
    assert isinstance(stats, dict) and stats["known"] == 0 and stats["compiled"] > 500
    assert _probe(tmp_path)["stats"] == {"known": stats["used"], "used": stats["used"], "compiled": 0}


def test_unwritable_cache_folder_only_means_compiling(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")  # the cache folder would have to be below a file
    result = _probe(blocked)
    stats = result["stats"]
    assert result["installed"] and isinstance(stats, dict) and stats["compiled"] > 500


def test_changed_source_under_a_known_name_is_compiled_afresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tilt_lsp import codecache

    monkeypatch.setattr(codecache, "_known", {})
    monkeypatch.setattr(codecache, "_used", {})
    one = codecache.cached_compile("def f():\n    return 1\n", "<generated f>", "exec")
    codecache._known.update(codecache._used)  # noqa: SLF001 - as if loaded from the file
    again = codecache.cached_compile("def f():\n    return 1\n", "<generated f>", "exec")
    other = codecache.cached_compile("def f():\n    return 2\n", "<generated f>", "exec")
    assert again is one and other is not one
    ns: dict[str, object] = {}
    exec(other, ns)  # noqa: S102 - our own generated snippet
    assert ns["f"]() == 2  # type: ignore[operator]
