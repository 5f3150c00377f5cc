"""pytest-lsp fixtures: the real server over stdio, on a small project made per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from lsputil import ENV, accept_registrations, make_project
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "tilt_lsp"], server_env=ENV),
)
async def client(lsp_client: LanguageClient, project: Path) -> Any:
    accept_registrations(lsp_client)
    lsp_client.init_result = await lsp_client.initialize_session(  # type: ignore[attr-defined]
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="proj")],
            initialization_options={"settings": {"diagnostics": {"debounceMs": 50}}},
        )
    )
    yield
    await lsp_client.shutdown_session()


