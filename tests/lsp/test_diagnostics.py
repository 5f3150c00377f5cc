"""Diagnostics: published on open, change (debounced) and save, per file across load()."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from lsputil import ENV, accept_registrations, change_doc, diagnostics, edit_doc, open_doc, wait_for
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities


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
    assert d.source == "tilt-lsp"
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


# ------------------------------------------------------- files that are not Tiltfiles


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "tilt_lsp"], server_env=ENV),
)
async def verbose(lsp_client: LanguageClient, project: Path) -> object:
    """A client with trace "verbose": the server's debug log reaches window/logMessage."""
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="proj")],
            initialization_options={
                "settings": {"diagnostics": {"debounceMs": 50}, "trace": {"server": "verbose"}, "liveUpdate": {"enabled": False}}
            },
        )
    )
    yield
    await lsp_client.shutdown_session()


def _save(client: LanguageClient, path: Path) -> None:
    client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=path.as_uri())))


async def _skipped(client: LanguageClient, path: Path) -> None:
    await wait_for(lambda: any(f"no model diagnostics for {path}" in m.message for m in client.log_messages))


async def test_saving_other_files_publishes_nothing(verbose: LanguageClient, project: Path) -> None:
    # What VS Code sends when a synced app file is saved: didSave with the uri only.  Nothing
    # has been evaluated yet, and the file is not Starlark: it must not be evaluated as such.
    message = project / "app" / "message.txt"
    message.parent.mkdir()
    message.write_text("hello from (the app\n")
    _save(verbose, message)
    await _skipped(verbose, message)

    # The same once the Tiltfile has a model, and for a file the client has open as plain text.
    root_uri = open_doc(verbose, project / "Tiltfile")
    await diagnostics(verbose, root_uri)
    notes = project / "notes.txt"
    notes.write_text("def broken(:\n")
    verbose.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=notes.as_uri(), language_id="plaintext", version=1, text="def broken(:\n")
        )
    )
    change_doc(verbose, notes.as_uri(), 2, "def still broken(:\n")
    _save(verbose, notes)
    _save(verbose, message)
    await _skipped(verbose, notes)

    # A Starlark file that no Tiltfile loads is not evaluated on its own either.
    orphan = project / "tools" / "orphan.star"
    orphan.parent.mkdir()
    orphan.write_text("X = undefined_thing\n")
    open_doc(verbose, orphan)
    await _skipped(verbose, orphan)

    # Barrier: an error in the Tiltfile is published after everything above was handled.
    text = (project / "Tiltfile").read_text() + "k8s_yamll('deploy/api.yaml')\n"
    change_doc(verbose, root_uri, 2, text)
    _save(verbose, project / "Tiltfile")
    await diagnostics(verbose, root_uri, lambda ds: any(d.code == "TL201" for d in ds))
    for other in (message, notes, orphan):
        assert other.as_uri() not in verbose.diagnostics, f"diagnostics published for {other.name}"


async def test_saving_a_loaded_file_republishes_it(verbose: LanguageClient, project: Path) -> None:
    root_uri = open_doc(verbose, project / "Tiltfile")
    await diagnostics(verbose, root_uri)
    lib = project / "lib" / "helpers.star"
    lib.write_text(lib.read_text() + "\nBROKEN = undefined_thing\n")
    _save(verbose, lib)  # not open in the editor: saved by another tool, reported by the client
    diags = await diagnostics(verbose, lib.as_uri(), lambda ds: any(d.code == "TL201" for d in ds))
    assert any("undefined_thing" in d.message for d in diags)


# ------------------------------------------------------------- static diagnostics first


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "tilt_lsp"],
        # Every root counts as slow to evaluate: an edit publishes static diagnostics first.
        server_env={**ENV, "TILT_LSP_STATIC_FIRST_MS": "0"},
    ),
)
async def static_first(lsp_client: LanguageClient, project: Path) -> object:
    accept_registrations(lsp_client)
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=project.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=project.as_uri(), name="proj")],
            # Evaluations start when the debounce ends, as before early evaluation: the static pass
            # then has the evaluation process to itself (an early evaluation would make it moot).
            initialization_options={
                "settings": {"diagnostics": {"debounceMs": 50, "evaluateEarly": False}, "trace": "verbose"}
            },
        )
    )
    yield
    await lsp_client.shutdown_session()


class _History(dict[str, Sequence[types.Diagnostic]]):
    """client.diagnostics that also remembers every publish, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.publishes: list[tuple[str, list[str]]] = []

    def __setitem__(self, uri: str, diags: Sequence[types.Diagnostic]) -> None:
        self.publishes.append((uri, sorted(str(d.code) for d in diags)))
        super().__setitem__(uri, diags)


async def test_static_diagnostics_come_first_and_keep_the_models(static_first: LanguageClient, project: Path) -> None:
    client = static_first
    history = client.diagnostics = _History()
    text = "k8s_yaml('deploy/missing.yaml')\n"
    uri = open_doc(client, project / "Tiltfile", text)
    await diagnostics(client, uri, lambda ds: any(d.code == "TL501" for d in ds))
    path = project / "Tiltfile"
    change_doc(client, uri, 2, text + "undefined_thing\n")

    def logged(kind: str) -> bool:
        return any(f"{kind} diagnostics of {path} (version 2)" in m.message for m in client.log_messages)

    await wait_for(lambda: logged("static") and logged("model"))
    order = [m.message for m in client.log_messages if "(version 2)" in m.message]
    assert order[0].startswith("static diagnostics") and order[-1].startswith("model diagnostics")
    # Both publishes of version 2 (static first, then the model's) have the undefined name, and
    # the model's evaluation-time warning was kept while only the static pass had run.
    await wait_for(lambda: len([c for u, c in history.publishes if u == uri and "TL201" in c]) >= 2)
    with_name = [codes for u, codes in history.publishes if u == uri and "TL201" in codes]
    assert with_name[0] == ["TL201", "TL501"] and with_name[-1] == ["TL201", "TL501"]
