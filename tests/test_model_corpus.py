"""`tilt-lsp model` against hand-written expectations for every corpus project.

Each `tests/corpus/<name>/expected-model.json` was written by hand from the
project's Tiltfile, the files it reads and Tilt's documented behaviour (never by
copying this command's output), with `$ROOT` standing for the project folder.
The CLI runs for real (`python -m tilt_lsp model DIR --format json`).
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CORPUS = (Path(__file__).resolve().parent / "corpus").resolve()
PROJECTS = sorted(p.name for p in CORPUS.iterdir() if (p / "Tiltfile").is_file())

# Variables that corpus Tiltfiles read (os.getenv / os.environ): the expectations assume them unset.
_TILTFILE_ENV = (
    "CI", "USER", "DEV_NAMESPACE", "STRIPE_MODE", "PORT_BASE", "XDG_CACHE_HOME",
    "CLI_LEGACY_MODE", "CLI_GREETING", "CLI_CONFIG_DIR", "CLI_TELEMETRY",
)


def _run_model(path: Path | str, fmt: str = "json") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _TILTFILE_ENV}
    return subprocess.run(
        [sys.executable, "-m", "tilt_lsp", "model", str(path), "--format", fmt],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _substitute_root(value: Any, root: str) -> Any:
    if isinstance(value, str):
        return root + value[len("$ROOT"):] if value.startswith("$ROOT") else value
    if isinstance(value, list):
        return [_substitute_root(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_root(v, root) for k, v in value.items()}
    return value


def _normalize(doc: dict[str, Any]) -> dict[str, Any]:
    """Tilt keeps a resource's labels as a set; every other list has a defined order."""
    out: dict[str, Any] = json.loads(json.dumps(doc))
    for r in out.get("resources", []):
        r["labels"] = sorted(r.get("labels", []))
    return out


def _differences(expected: Any, actual: Any, where: str = "") -> list[str]:
    if type(expected) is not type(actual):
        return [f"{where or '<root>'}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, dict):
        out = []
        for k in list(expected) + [k for k in actual if k not in expected]:
            if k not in actual:
                out.append(f"{where}.{k}: missing")
            elif k not in expected:
                out.append(f"{where}.{k}: unexpected {actual[k]!r}")
            else:
                out.extend(_differences(expected[k], actual[k], f"{where}.{k}"))
        return out
    if isinstance(expected, list):
        if len(expected) != len(actual):
            names = [x.get("name") or x.get("ref") for x in expected + actual if isinstance(x, dict)]
            detail = f" ({', '.join(str(n) for n in names)})" if names else ""
            return [f"{where}: expected {len(expected)} items, got {len(actual)}{detail}"]
        out = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(_differences(e, a, f"{where}[{i}]"))
        return out
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def test_every_project_has_an_expectation() -> None:
    assert len(PROJECTS) >= 30
    missing = [p for p in PROJECTS if not (CORPUS / p / "expected-model.json").is_file()]
    assert missing == []


@pytest.mark.parametrize("name", PROJECTS)
def test_model_json_matches_expectation(name: str) -> None:
    root = CORPUS / name
    proc = _run_model(root)
    assert proc.returncode == 0, proc.stderr
    actual = _normalize(json.loads(proc.stdout))
    expected = _normalize(_substitute_root(json.loads((root / "expected-model.json").read_text()), str(root)))
    if actual != expected:
        diff = difflib.unified_diff(
            json.dumps(expected, indent=1).splitlines(),
            json.dumps(actual, indent=1).splitlines(),
            "expected",
            "actual",
            lineterm="",
        )
        problems = "\n".join(_differences(expected, actual, "model"))
        pytest.fail(f"{name}: model differs from expected-model.json\n{problems}\n\n" + "\n".join(diff))


def test_text_format_shows_the_tree() -> None:
    proc = _run_model(CORPUS / "go-microservices", "text")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Tiltfile {CORPUS / 'go-microservices' / 'Tiltfile'}"
    assert "  loads services.star" in lines
    assert "k8s resource gateway  (after orders, inventory; labels backend)" in lines
    assert "  Service gateway" in lines
    assert "  port-forward 8080 -> 8080" in lines
    assert "  image orders-platform/orders (docker_build, context .)" in lines
    assert "      sync pkg -> /src/pkg" in lines
    assert "local resource protoc  (labels codegen)" in lines
    assert "  cmd: sh scripts/gen-proto.sh" in lines
    assert lines[-1] == "4 resources, 3 images, 0 errors, 0 warnings"


def test_text_format_compose_and_local() -> None:
    proc = _run_model(CORPUS / "compose-only-blog", "text")
    assert proc.returncode == 0, proc.stderr
    assert "docker_compose resource blog  (after db; labels app)" in proc.stdout
    assert "    restart_container" in proc.stdout


def test_exit_code_1_when_the_tiltfile_has_errors(tmp_path: Path) -> None:
    (tmp_path / "Tiltfile").write_text("local_resource('ok', cmd='true')\nfail('broken on purpose')\n")
    proc = _run_model(tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert [d["code"] for d in doc["diagnostics"] if d["severity"] == "error"] == ["TL301"]
    assert [r["name"] for r in doc["resources"]] == ["ok"]
    assert _run_model(tmp_path, "text").returncode == 1


def test_exit_code_2_for_a_bad_path(tmp_path: Path) -> None:
    proc = _run_model(tmp_path / "no-such-folder")
    assert proc.returncode == 2
    assert "no Tiltfile" in proc.stderr
    assert proc.stdout == ""
