"""Keep the bytecode of generated methods between runs, as ``.pyc`` files do for modules.

``lsprotocol.types`` defines ~560 attrs classes; attrs writes the source of each class's
``__init__``, ``__eq__``, ``__repr__``... and compiles it at import time: ~1,000 ``compile()``
calls, about 150-180 ms of every server start (more than half of pygls' own start-up).  cattrs
does the same for each (un)structure function it generates on first use.  The result depends
only on the source text, its file name and the compiler flags, so it can be kept: this module
gives ``attr._make`` and ``cattrs.gen`` a ``compile`` that looks the code up in a cache file
first (same file name, same source: same code object) and compiles the rest as before.

The cache is one ``marshal`` file per Python and library version under the user's cache folder
(``$XDG_CACHE_HOME/tilt-lsp``, else ``~/.cache/tilt-lsp``); it is written after start-up, holding
what this run used, atomically.  Anything unexpected (no cache folder, a corrupt or foreign file,
another library layout) only means compiling as before.  ``TILT_LSP_NO_CODE_CACHE=1`` turns it
off.  Nothing here reads the workspace: the cache belongs to the user running the server.
"""

from __future__ import annotations
import __future__

import builtins
import importlib
import logging
import marshal
import os
import sys
import tempfile
import threading
from types import CodeType
from typing import Any

log = logging.getLogger(__name__)

#: Modules whose ``compile`` is replaced.  Both compile with ``from __future__ import
#: annotations`` in effect (inherited by ``compile``), so cached code is compiled with it too.
PATCHED_MODULES = ("attr._make", "cattrs.gen")
_FLAGS = __future__.annotations.compiler_flag
_FORMAT = 1  # bump when the file layout changes
_MAX_ENTRIES = 5000

_real_compile = builtins.compile
_lock = threading.Lock()
_known: dict[tuple[str, str], tuple[str, CodeType]] = {}  # loaded: (filename, mode) -> (source, code)
_used: dict[tuple[str, str], tuple[str, CodeType]] = {}  # what this run compiled or looked up
_path: str | None = None
_compiled = 0  # cache misses this run
_unsaved = 0  # of which not written yet
_installed = False


def _versions(modules: list[Any]) -> str:
    """Python's bytecode tag and the generators' versions (their files' sizes and times: cheap,
    and they change with every install of another version)."""
    parts = [sys.implementation.cache_tag or "py", f"m{marshal.version}", f"f{_FORMAT}"]
    for mod in modules:
        try:
            st = os.stat(mod.__file__)
            parts.append(f"{st.st_size:x}{st.st_mtime_ns:x}")
        except (OSError, TypeError, AttributeError):
            parts.append("0")
    return "-".join(parts)


def cache_dir() -> str | None:
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.path.expanduser("~"), ".cache") if os.path.expanduser("~") != "~" else None
    )
    return os.path.join(base, "tilt-lsp") if base else None


def cached_compile(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
    """``compile`` for the generated methods: the cached code object when the source is the same."""
    global _compiled, _unsaved
    if args or kwargs or not isinstance(source, str) or not isinstance(filename, str):
        return _real_compile(source, filename, mode, *args, **kwargs)
    key = (filename, mode)
    hit = _known.get(key)
    if hit is not None and hit[0] == source:
        with _lock:
            _used[key] = hit
        return hit[1]
    code = _real_compile(source, filename, mode, _FLAGS, True)
    with _lock:
        _used[key] = (source, code)
        _compiled += 1
        _unsaved += 1
    return code


def install() -> bool:
    """Load the cache and hand ``cached_compile`` to the code generators (before lsprotocol loads)."""
    global _path, _installed
    if _installed or os.environ.get("TILT_LSP_NO_CODE_CACHE"):
        return _installed
    try:
        modules = [importlib.import_module(name) for name in PATCHED_MODULES]
    except ImportError:
        return False
    folder = cache_dir()
    if folder is None:
        return False
    _path = os.path.join(folder, f"generated-code-{_versions(modules)}.marshal")
    try:
        with open(_path, "rb") as f:
            loaded = marshal.load(f)
        if isinstance(loaded, dict):
            _known.update(loaded)
    except FileNotFoundError:
        pass
    except Exception as e:  # noqa: BLE001 - a damaged cache is a missing cache
        log.debug("ignoring the code cache %s: %s", _path, e)
    for mod in modules:
        mod.compile = cached_compile  # type: ignore[attr-defined]  # module globals come before builtins
    _installed = True
    return True


def save() -> None:
    """Write what this run used, when it compiled anything new (atomically; errors are ignored)."""
    global _unsaved
    if not _installed or _path is None:
        return
    with _lock:
        if not _unsaved:
            return
        # What earlier runs needed and this one did not (yet) stays, up to a bound.
        entries = {**_known, **_used}
        if len(entries) > _MAX_ENTRIES:
            entries = dict(_used)
        _unsaved = 0
    folder = os.path.dirname(_path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".generated-code-")
        try:
            with os.fdopen(fd, "wb") as f:
                marshal.dump(entries, f)
            os.replace(tmp, _path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        log.debug("cannot write the code cache %s: %s", _path, e)


def stats() -> dict[str, int]:
    """Entries loaded, used and compiled this run (for tests and logs)."""
    with _lock:
        return {"known": len(_known), "used": len(_used), "compiled": _compiled}


__all__ = ["PATCHED_MODULES", "cache_dir", "cached_compile", "install", "save", "stats"]
