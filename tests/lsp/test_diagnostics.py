"""Diagnostics: published on open, change (debounced) and save, per file across load()."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from lsputil import change_doc, diagnostics, edit_doc, open_doc
from pytest_lsp import LanguageClient


async def test_initialize_advertises_features(client: LanguageClient) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    sync = caps.text_document_sync
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.completion_provider is not None and caps.completion_provider.resolve_provider
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert caps.rename_provider and caps.document_symbol_provider and caps.workspace_symbol_provider
    assert caps.signature_help_provider is not None and caps.code_action_provider
    assert caps.semantic_tokens_provider is not None


async def test_clean_project_has_no_errors(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    diags = await diagnostics(client, uri)
    assert not [d for d in diags if d.severity == types.DiagnosticSeverity.Error]


async def test_change_is_debounced_and_published(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    await diagnostics(client, uri)
    text = (project / "Tiltfile").read_text() + "k8s_yamll('deploy/api.yaml')\n"
    change_doc(client, uri, 2, text)
    diags = await diagnostics(client, uri, lambda ds: any(d.code == "TL201" for d in ds))
    d = next(d for d in diags if d.code == "TL201")
    assert "did you mean k8s_yaml" in d.message
    assert d.source == "tilt"
    assert d.range.start.line == text.count("\n") - 1
    # Fix it with an incremental edit: the error goes away.
    edit_doc(client, uri, 3, d.range.start.line, 8, d.range.start.line, 9, "")
    await diagnostics(client, uri, lambda ds: not any(d.code == "TL201" for d in ds))


async def test_errors_in_loaded_file_are_published_for_that_file(client: LanguageClient, project: Path) -> None:
    lib = project / "lib" / "helpers.star"
    lib_text = lib.read_text() + "\nBROKEN = undefined_thing\n"
    lib_uri = open_doc(client, lib, lib_text)
    diags = await diagnostics(client, lib_uri, lambda ds: any(d.code == "TL201" for d in ds))
    assert any("undefined_thing" in d.message for d in diags)
    # The root Tiltfile (not open) was evaluated with the unsaved helpers text.
    root_uri = (project / "Tiltfile").as_uri()
    root_diags = await diagnostics(client, root_uri)
    assert all(d.code != "TL201" for d in root_diags)


async def test_save_republishes_from_disk(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    await diagnostics(client, uri)
    client.diagnostics.pop(uri)
    (project / "deploy" / "api.yaml").unlink()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=(project / "deploy" / "api.yaml").as_uri(), type=types.FileChangeType.Deleted)]
        )
    )
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))
    diags = await diagnostics(client, uri, lambda ds: any(d.code in ("TL501", "TL505") for d in ds))
    assert any("api.yaml" in d.message for d in diags)


async def test_live_update_diagnostics_have_codes(client: LanguageClient, project: Path) -> None:
    text = (
        "docker_build('example/api', '.', live_update=[\n"
        "    run('make'),\n"
        "    sync('./src', 'src'),\n"
        "])\n"
        "k8s_yaml('deploy/api.yaml')\n"
    )
    uri = open_doc(client, project / "Tiltfile", text)
    diags = await diagnostics(client, uri, lambda ds: any(d.code == "TL401" for d in ds))
    codes = {d.code for d in diags}
    assert {"TL401", "TL402"} <= codes
