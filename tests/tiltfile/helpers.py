"""Small helpers for Tiltfile model tests: write a project to a temp dir and evaluate it."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from tilt_lsp.tiltfile.evaluate import evaluate
from tilt_lsp.tiltfile.model import Diagnostic, Severity, TiltfileModel


def write_project(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write files (relative path -> text, dedented; or raw bytes) under root; return root."""
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


def run(root: Path, tiltfile: str, files: Mapping[str, str | bytes] | None = None, **kw: object) -> TiltfileModel:
    """Write `tiltfile` as root/Tiltfile (plus `files`) and evaluate it."""
    write_project(root, {"Tiltfile": tiltfile, **(files or {})})
    return evaluate(str(root / "Tiltfile"), **kw)  # type: ignore[arg-type]


def prints(model: TiltfileModel) -> list[str]:
    """What print() wrote, one entry per call."""
    return [o.text for o in model.output if o.kind == "print"]


def codes(model: TiltfileModel) -> list[str]:
    return [d.code for d in model.diagnostics]


def errors(model: TiltfileModel) -> list[Diagnostic]:
    return [d for d in model.diagnostics if d.severity == Severity.ERROR]


def only(model: TiltfileModel, code: str) -> Diagnostic:
    """The single diagnostic with `code` (fails with the full list otherwise)."""
    found = [d for d in model.diagnostics if d.code == code]
    assert len(found) == 1, f"want exactly one {code}, got: {fmt(model)}"
    return found[0]


def fmt(model: TiltfileModel) -> str:
    return "\n".join(
        f"  {Path(d.path).name}:{d.range.start.line}:{d.range.start.character} {d.code} {d.message}"
        for d in model.diagnostics
    ) or "  (none)"


def no_errors(model: TiltfileModel) -> None:
    assert not errors(model), "unexpected errors:\n" + fmt(model)


def start(d: Diagnostic) -> tuple[int, int]:
    """0-based (line, character) where the diagnostic starts."""
    return (d.range.start.line, d.range.start.character)
