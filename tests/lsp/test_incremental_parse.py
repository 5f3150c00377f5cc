"""Edits that move statements (lines inserted or deleted above them) or break the syntax, over
stdio: the published diagnostics are the ones a from-scratch evaluation of the same text gives
(the evaluation process keeps the file's statements parsed between edits: tiltfile/chunks.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from lsputil import ENV, accept_registrations, edit_doc, open_doc, wait_for
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tilt_lsp.tiltfile import chunks
from tilt_lsp.tiltfile import evaluate as evaluation

TEXT = """\
APP = 'example/api'
docker_build(APP, '.')
k8s_yaml('deploy/api.yaml')

def helper(name):
    return name + suffix_undefined

print(undefined_a)
local_resource('lint', cmd='echo lint')
"""


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "tilt_lsp"],
        # Every root counts as slow: static diagnostics are published first, then the model's.
        server_env={**ENV, "TILT_LSP_STATIC_FIRST_MS": "0"},
    ),
)
async def client(lsp_client: LanguageClient, project: Path) -> Any:
    accept_registrations(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="proj")],
            initialization_options={"settings": {"diagnostics": {"debounceMs": 20}}},
        )
    )
    yield
    await lsp_client.shutdown_session()


def expected(path: Path, text: str) -> set[tuple[str, int, int, str]]:
    """Diagnostics of ``text`` by a whole parse and evaluation, here in the test process."""
    chunks.ENABLED = False
    evaluation._PARSE_CACHE.clear()
    try:
        model = evaluation.evaluate(str(path), {str(path): text})
    finally:
        chunks.ENABLED = True
    return {(d.code, d.range.start.line, d.range.start.character, d.message) for d in model.diagnostics if d.path == str(path)}


def published(client: LanguageClient, uri: str) -> set[tuple[str, int, int, str]]:
    return {
        (str(d.code), d.range.start.line, d.range.start.character, d.message) for d in client.diagnostics.get(uri, [])
    }


def apply(text: str, line: int, col: int, end_line: int, end_col: int, new: str) -> str:
    lines = text.split("\n")
    head = "\n".join(lines[:line] + [lines[line][:col]])
    tail = "\n".join([lines[end_line][end_col:]] + lines[end_line + 1 :])
    return head + new + tail


async def test_moved_and_broken_statements_keep_exact_diagnostics(client: LanguageClient, project: Path) -> None:
    tiltfile = project / "Tiltfile"
    text = TEXT
    uri = open_doc(client, tiltfile, text)
    want = expected(tiltfile, text)
    assert any("undefined_a" in w[3] for w in want)
    await wait_for(lambda: published(client, uri) == want)
    edits = [
        (0, 0, 0, 0, "\n\n"),  # everything moves down two lines
        (1, 0, 2, 0, ""),  # ... and back up one
        (4, 0, 4, 0, "x = (\n"),  # a statement that does not parse
        (4, 0, 5, 0, ""),  # fixed again
        (9, 0, 9, 0, "undefined_b\n"),  # a new undefined name near the end
        (0, 0, 0, 0, "suffix_undefined = 1\n"),  # defines a name an unchanged statement uses
        (0, 0, 1, 0, ""),
        (6, 0, 6, 0, "'''\n"),  # an unterminated string swallows the rest
        (6, 0, 7, 0, ""),
    ]
    for version, (line, col, end_line, end_col, new) in enumerate(edits, start=2):
        text = apply(text, line, col, end_line, end_col, new)
        edit_doc(client, uri, version, line, col, end_line, end_col, new)
        want = expected(tiltfile, text)
        try:
            await wait_for(lambda want=want: published(client, uri) == want)
        except AssertionError:
            raise AssertionError(f"after edit {version}: {sorted(published(client, uri))} != {sorted(want)}") from None
