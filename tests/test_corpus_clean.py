"""Every Tiltfile in our realistic corpus evaluates with zero error diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from tilt_lsp.tiltfile.evaluate import evaluate
from tilt_lsp.tiltfile.model import Severity

CORPUS = Path(__file__).resolve().parent / "corpus"
PROJECTS = sorted(p.name for p in CORPUS.iterdir() if (p / "Tiltfile").is_file())


def test_corpus_is_large_enough() -> None:
    assert len(PROJECTS) >= 30


@pytest.mark.parametrize("name", PROJECTS)
def test_no_errors(name: str) -> None:
    model = evaluate(str(CORPUS / name))
    errors = [f"{d.code} {d.path}:{d.range.start.line + 1}: {d.message}" for d in model.diagnostics if d.severity == Severity.ERROR]
    assert errors == []
    # The whole file ran (no budget stop, no early exit hiding problems).
    assert model.tiltfile in model.files
    assert not [d for d in model.diagnostics if d.code in ("TL303", "TL305")]
