"""Fixtures for Tiltfile model tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tilt_lsp.tiltfile.model import TiltfileModel

from .helpers import run


@pytest.fixture
def tilt(tmp_path: Path) -> Callable[..., TiltfileModel]:
    """tilt(tiltfile_source, files={...}, **evaluate_kwargs) -> TiltfileModel in a fresh temp project."""

    def _run(src: str, files: dict[str, Any] | None = None, **kw: Any) -> TiltfileModel:
        return run(tmp_path, src, files, **kw)

    return _run


@pytest.fixture
def star(tmp_path: Path) -> Callable[[str], list[str]]:
    """star(source) -> print() output; fails if evaluation reported an error."""
    from .helpers import errors, fmt, prints

    def _run(src: str) -> list[str]:
        m = run(tmp_path, src)
        assert not errors(m), "unexpected errors:\n" + fmt(m)
        return prints(m)

    return _run
