"""The README's code table must list every diagnostic code with its severity."""

from __future__ import annotations

from pathlib import Path

from tilt_lsp.tiltfile.codes import CODES

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_code_is_documented() -> None:
    text = README.read_text()
    for c in CODES.values():
        assert f"| `{c.code}` | {c.severity.label} |" in text, c.code


def test_codes_are_stable_shape() -> None:
    for code in CODES:
        assert code.startswith("TL") and len(code) == 5 and code[2] in "1234569", code
