"""Helpers for the stdio tests: a sample project and client-side conveniences."""

from __future__ import annotations

import asyncio
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

ENV = {k: v for k, v in os.environ.items() if k != "TILT_LSP_TEST_FAULTS"}

TILTFILE = """\
load('./lib/helpers.star', 'make_image', 'PORTS', svc='service_name')

APP = 'example/api'
docker_build(APP, '.', dockerfile='Dockerfile', live_update=[
    sync('./src', '/app/src'),
])
k8s_yaml('deploy/api.yaml')
k8s_resource('api', port_forwards=PORTS['api'])
make_image('example/worker')
local_resource('lint', cmd='echo lint', deps=['src'])
"""

HELPERS = '''\
PORTS = {'api': 8080}


def make_image(ref, context='.'):
    """Build an image from the repository root."""
    docker_build(ref, context)


def service_name(name):
    return 'svc-' + name
'''

API_YAML = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      containers:
      - name: api
        image: example/api
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
      - name: worker
        image: example/worker
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: frontend
spec:
  template:
    spec:
      containers:
      - name: web
        image: example/frontend
"""


def make_project(root: Path) -> Path:
    files = {
        "Tiltfile": TILTFILE,
        "lib/helpers.star": HELPERS,
        "deploy/api.yaml": API_YAML,
        "Dockerfile": "FROM python:3.11-slim AS base\nWORKDIR /app\nCOPY src src\n",
        "src/main.py": "print('hi')\n",
        "tilt_modules/restart_process/Tiltfile": "def docker_build_with_restart(ref, context):\n    pass\n",
        "tilt_modules/helm_resource/Tiltfile": "def helm_resource(name):\n    pass\n",
    }
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


# ------------------------------------------------------------------- helpers


def accept_registrations(client: LanguageClient) -> None:
    """Answer client/registerCapability (the server asks to watch Tiltfiles) and remember it."""
    client.registrations = []  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def open_doc(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="tiltfile", version=version, text=path.read_text() if text is None else text
            )
        )
    )
    return uri


def change_doc(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def edit_doc(client: LanguageClient, uri: str, version: int, line: int, col: int, end_line: int, end_col: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(
                        start=types.Position(line=line, character=col),
                        end=types.Position(line=end_line, character=end_col),
                    ),
                    text=text,
                )
            ],
        )
    )


async def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the server")
        await asyncio.sleep(0.02)


async def diagnostics(client: LanguageClient, uri: str, predicate: Callable[[list[types.Diagnostic]], bool] | None = None) -> list[types.Diagnostic]:
    """Wait until diagnostics for ``uri`` arrive (and satisfy ``predicate``)."""

    def ready() -> bool:
        if uri not in client.diagnostics:
            return False
        return predicate is None or predicate(list(client.diagnostics[uri]))

    await wait_for(ready)
    return list(client.diagnostics[uri])


def pos(text: str, marker: str, offset: int = 0) -> types.Position:
    """Position of the first ``marker`` in ``text`` (plus ``offset`` characters)."""
    i = text.index(marker) + offset
    line = text.count("\n", 0, i)
    col = i - (text.rfind("\n", 0, i) + 1)
    return types.Position(line=line, character=col)


def at_cursor(text: str) -> tuple[str, types.Position]:
    """Strip the ``|`` cursor marker from ``text`` and return (text, position)."""
    p = pos(text, "|")
    return text.replace("|", "", 1), p


async def complete(client: LanguageClient, uri: str, position: types.Position) -> list[types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    if result is None:
        return []
    return list(result.items if isinstance(result, types.CompletionList) else result)


def labels(items: list[types.CompletionItem]) -> list[str]:
    return [i.label for i in items]
