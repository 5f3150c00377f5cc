"""Lifecycle, options, robustness: the server over stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from lsputil import (
    ENV,
    accept_registrations,
    at_cursor,
    complete,
    diagnostics,
    make_project,
    open_doc,
    pos,
    wait_for,
)
from pygls.exceptions import JsonRpcMethodNotFound
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


async def test_registers_file_watchers(client: LanguageClient) -> None:
    await wait_for(lambda: bool(client.registrations))  # type: ignore[attr-defined]
    reg = client.registrations[0]  # type: ignore[attr-defined]
    assert reg.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES


async def test_unknown_method_is_method_not_found(client: LanguageClient) -> None:
    with pytest.raises(JsonRpcMethodNotFound):
        await client.protocol.send_request_async("tilt/doesNotExist", {})


async def test_keeps_answering_on_broken_document(client: LanguageClient, project: Path) -> None:
    text, cursor = at_cursor("docker_build('x', '.', live_update=[\n    sync(|\nk8s_yaml(\n")
    uri = open_doc(client, project / "Tiltfile", text)
    diags = await diagnostics(client, uri)
    assert any(d.code == "TL101" for d in diags)
    items = await complete(client, uri, cursor)
    assert items  # builtins and names still complete
    sig = await client.text_document_signature_help_async(
        types.SignatureHelpParams(text_document=types.TextDocumentIdentifier(uri=uri), position=cursor)
    )
    assert sig is not None and sig.signatures[0].label.startswith("sync(")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(text, "docker_build", 2))
    )
    assert hover is not None and "docker_build" in hover.contents.value  # type: ignore[union-attr]


async def test_logs_reach_the_client(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    await diagnostics(client, uri)
    # The invalid option below is logged and shown once.
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tilt": {"diagnostics": {"debounceMs": "soon"}}})
    )
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tilt": {"diagnostics": {"debounceMs": "soon"}}})
    )
    await wait_for(lambda: any("debounceMs" in m.message for m in client.messages))
    await wait_for(lambda: any("debounceMs" in m.message for m in client.log_messages))
    shown = [m for m in client.messages if "debounceMs" in m.message]
    assert len(shown) == 1
    assert shown[0].type == types.MessageType.Warning


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "tilt_lsp"],
        server_env={**ENV, "TILT_LSP_TEST_FAULTS": "hover"},
    ),
)
async def faulty(lsp_client: LanguageClient, tmp_path: Path) -> object:
    accept_registrations(lsp_client)
    root = make_project(tmp_path / "proj")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"),
            root_uri=root.as_uri(),
            initialization_options={"settings": {"liveUpdate": {"enabled": "yes"}, "trace": "loud"}},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_failing_handler_returns_empty_and_server_lives(faulty: LanguageClient, tmp_path: Path) -> None:
    path = tmp_path / "proj" / "Tiltfile"
    uri = open_doc(faulty, path)
    hover = await faulty.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=3, character=3))
    )
    assert hover is None
    await wait_for(lambda: any("injected fault in hover" in m.message for m in faulty.log_messages))
    items = await complete(faulty, uri, types.Position(line=3, character=3))
    assert "docker_build" in {i.label for i in items}


async def test_invalid_initialization_options_reported_once(faulty: LanguageClient) -> None:
    await wait_for(lambda: len(faulty.messages) >= 2)
    text = "\n".join(m.message for m in faulty.messages)
    assert "liveUpdate.enabled" in text and "trace" in text
    assert all(m.type == types.MessageType.Warning for m in faulty.messages)


#: What the VS Code extension sends (vscode-client/src/settings.ts serverSettings()).
VSCODE_SETTINGS = {
    "server": {"path": "", "args": []},
    "trace": {"server": "off"},
    "liveUpdate": {"enabled": False, "onSave": True, "watch": True, "debounceMs": 200, "progress": "statusBar"},
    "docker": {},
    "diagnostics": {"debounceMs": 200, "evaluateEarly": True},
}


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "tilt_lsp"], server_env=ENV),
)
async def vscode(lsp_client: LanguageClient, tmp_path: Path) -> object:
    accept_registrations(lsp_client)
    root = make_project(tmp_path / "proj")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="proj")],
            initialization_options={"settings": VSCODE_SETTINGS},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_vscode_settings_are_accepted(vscode: LanguageClient) -> None:
    # The same settings again through didChangeConfiguration, then one bad value as a marker:
    # messages arrive in order, so once the marker is shown nothing else can be pending.
    for trace in ("verbose", "off"):
        vscode.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"tilt": {**VSCODE_SETTINGS, "trace": {"server": trace}}})
        )
    vscode.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"tilt": {"diagnostics": {"debounceMs": "soon"}}})
    )
    await wait_for(lambda: any("debounceMs" in m.message for m in vscode.messages))
    assert [m.message for m in vscode.messages if "invalid option" in m.message] == [
        "tilt-lsp: invalid option tilt.diagnostics.debounceMs: expected a number of milliseconds, got 'soon'; using the default"
    ]


async def test_tcp_mode_serves(tmp_path: Path) -> None:
    import asyncio
    import json
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tilt_lsp", "serve", "--tcp", f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ),
    )
    try:
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("server did not listen")
        body = json.dumps(
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "rootUri": None}}
        ).encode()
        writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        header = await reader.readuntil(b"\r\n\r\n")
        length = int(header.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        reply = json.loads(await reader.readexactly(length))
        assert reply["result"]["serverInfo"]["name"] == "tilt-lsp"
        writer.close()
    finally:
        proc.kill()
        await proc.wait()
    assert proc.stdout is not None
    assert await proc.stdout.read() == b""  # nothing but protocol (here: nothing) on stdout
