"""Multi-root workspaces: each Tiltfile belongs to its folder; loaded files map to their roots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from lsputil import ENV, accept_registrations, complete, diagnostics, labels, make_project, open_doc, pos
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "tilt_lsp"], server_env=ENV))
async def multi(lsp_client: LanguageClient, tmp_path: Path) -> object:
    accept_registrations(lsp_client)
    one = make_project(tmp_path / "one")
    two = tmp_path / "two"
    (two / "shared").mkdir(parents=True)
    (two / "Tiltfile").write_text("load('shared/common.star', 'NAME')\nlocal_resource(NAME, cmd='true')\n")
    (two / "shared" / "common.star").write_text("NAME = 'from-two'\n")
    (two / "sub").mkdir()
    (two / "sub" / "Tiltfile").write_text("local_resource('standalone', cmd='true')\nSTANDALONE = 1\n")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[
                types.WorkspaceFolder(uri=one.as_uri(), name="one"),
                types.WorkspaceFolder(uri=two.as_uri(), name="two"),
            ],
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_loaded_file_opened_first_finds_its_root(multi: LanguageClient, tmp_path: Path) -> None:
    common = tmp_path / "two" / "shared" / "common.star"
    text = "NAME = undefined_name\n"
    uri = open_doc(multi, common, text)
    diags = await diagnostics(multi, uri, lambda ds: any(d.code == "TL201" for d in ds))
    assert diags
    # The root of folder two evaluated it: its resource list follows the loaded file.
    root = (tmp_path / "two" / "Tiltfile").as_uri()
    await diagnostics(multi, root)


async def test_each_folder_has_its_own_model(multi: LanguageClient, tmp_path: Path) -> None:
    one_tf = tmp_path / "one" / "Tiltfile"
    two_tf = tmp_path / "two" / "Tiltfile"
    uri1 = open_doc(multi, one_tf)
    uri2 = open_doc(multi, two_tf)
    await diagnostics(multi, uri1)
    await diagnostics(multi, uri2)
    text = two_tf.read_text() + "k8s_resource('|')\n"
    cursor = pos(text, "|")
    text = text.replace("|", "")
    multi.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri2, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    # Folder two deploys nothing: the workloads of folder one must not leak in.
    assert "api" not in labels(await complete(multi, uri2, cursor))
    symbols = await multi.workspace_symbol_async(types.WorkspaceSymbolParams(query="make_image"))
    assert symbols and all("/one/" in s.location.uri for s in symbols)  # type: ignore[union-attr]


async def test_tiltfile_in_subfolder_is_its_own_root(multi: LanguageClient, tmp_path: Path) -> None:
    sub = tmp_path / "two" / "sub" / "Tiltfile"
    uri = open_doc(multi, sub)
    await diagnostics(multi, uri)
    hover = await multi.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=pos(sub.read_text(), "STANDALONE"))
    )
    assert hover is not None and "STANDALONE = 1" in hover.contents.value  # type: ignore[union-attr]
