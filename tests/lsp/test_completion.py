"""Completion over stdio, on a project whose Tiltfile load()s a helper file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from lsputil import ENV, accept_registrations, at_cursor, complete, diagnostics, labels, open_doc
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

KIND = types.CompletionItemKind


async def _ready(client: LanguageClient, project: Path, text: str | None = None) -> str:
    """Open the Tiltfile and wait for its first evaluation (for model-backed completions)."""
    tf = project / "Tiltfile"
    full = tf.read_text() if text is None else text
    uri = open_doc(client, tf, full)
    await diagnostics(client, uri)
    return uri


async def _at(client: LanguageClient, project: Path, snippet: str) -> list[types.CompletionItem]:
    """Append ``snippet`` (with a | cursor) to the project Tiltfile and complete there."""
    base = (project / "Tiltfile").read_text()
    text, cursor = at_cursor(base + snippet)
    uri = await _ready(client, project, text)
    return await complete(client, uri, cursor)


async def test_builtins_have_kind_detail_docs_snippet(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "docker_b|")
    item = next(i for i in items if i.label == "docker_build")
    assert item.kind == KIND.Function
    assert item.detail is not None and item.detail.startswith("docker_build(ref: str, context: str")
    assert item.insert_text == "docker_build(${1:ref}, ${2:context})"
    assert item.insert_text_format == types.InsertTextFormat.Snippet
    doc = item.documentation
    if doc is None:
        item = await client.completion_item_resolve_async(item)
        doc = item.documentation
    assert isinstance(doc, types.MarkupContent) and "docs.tilt.dev" in doc.value


async def test_resolve_fills_documentation(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "|")
    item = next(i for i in items if i.label == "k8s_yaml")
    resolved = await client.completion_item_resolve_async(item)
    assert isinstance(resolved.documentation, types.MarkupContent)
    assert "k8s_yaml(" in resolved.documentation.value


async def test_keyword_arguments_use_runtime_names_minus_given(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "docker_build('x', '.', dockerfile='Dockerfile', |)")
    names = labels(items)
    assert "target=" in names and "live_update=" in names and "only=" in names
    assert "dockerfile=" not in names  # already given
    assert "ref=" not in names and "context=" not in names  # bound by position
    items = await _at(client, project, "read_file(|")
    names = labels(items)
    assert "paths=" in names and "file_path=" not in names  # Tilt's run-time name


async def test_keywords_given_after_the_cursor_are_skipped(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "local_resource('x', |, cmd='ls')")
    assert "cmd=" not in labels(items) and "deps=" in labels(items)


async def test_module_members(client: LanguageClient, project: Path) -> None:
    assert {"getenv", "environ", "path"} <= set(labels(await _at(client, project, "os.|")))
    assert {"join", "exists", "dirname"} <= set(labels(await _at(client, project, "os.path.|")))
    assert {"define_string", "parse"} <= set(labels(await _at(client, project, "config.|")))
    assert "quote" in labels(await _at(client, project, "shlex.|"))
    assert "argv" in labels(await _at(client, project, "sys.|"))
    v1 = await _at(client, project, "v1alpha1.|")
    assert v1 and all(i.kind in (KIND.Function, KIND.Constant, KIND.Module) for i in v1)


async def test_user_symbols_including_loaded_names(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "x = |")
    names = set(labels(items))
    assert {"APP", "make_image", "PORTS", "svc"} <= names
    mk = next(i for i in items if i.label == "make_image")
    assert mk.kind == KIND.Function and "make_image(ref, context='.')" in (mk.detail or "")
    app = next(i for i in items if i.label == "APP")
    assert app.detail == '"example/api"'


async def test_locals_and_parameters(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "def f(alpha, beta=1):\n    gamma = 2\n    return |\n")
    names = set(labels(items))
    assert {"alpha", "beta", "gamma"} <= names


async def test_string_list_dict_methods(client: LanguageClient, project: Path) -> None:
    assert {"split", "format", "startswith"} <= set(labels(await _at(client, project, "'a,b'.|")))
    assert {"append", "extend"} <= set(labels(await _at(client, project, "L = [1]\nL.|")))
    assert {"keys", "get", "items"} <= set(labels(await _at(client, project, "D = {'a': 1}\nD.|")))
    # a loaded dict constant, typed from the model
    assert "keys" in labels(await _at(client, project, "PORTS.|"))
    assert "split" in labels(await _at(client, project, "APP.|"))


async def test_path_completion(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "k8s_yaml('|')")
    names = set(labels(items))
    assert {"deploy/", "lib/", "Dockerfile"} <= names
    folder = next(i for i in items if i.label == "deploy/")
    assert folder.kind == KIND.Folder
    items = await _at(client, project, "k8s_yaml('deploy/|')")
    item = next(i for i in items if i.label == "api.yaml")
    assert item.kind == KIND.File and isinstance(item.text_edit, types.TextEdit)
    assert "api.yaml" in labels(await _at(client, project, "k8s_yaml(['deploy/|'])"))
    assert "Dockerfile" in labels(await _at(client, project, "docker_build('x', '.', dockerfile='|')"))
    assert "src/" in labels(await _at(client, project, "docker_build('x', '|')"))
    assert "src/" in labels(await _at(client, project, "sync('|', '/app')"))
    assert "Dockerfile" in labels(await _at(client, project, "read_file('|')"))
    loads = labels(await _at(client, project, "load('lib/|')"))
    assert "helpers.star" in loads


async def test_extension_names(client: LanguageClient, project: Path) -> None:
    items = await _at(client, project, "load('ext://|')")
    assert {"restart_process", "helm_resource"} <= set(labels(items))


async def test_workload_and_resource_names(client: LanguageClient, project: Path) -> None:
    assert {"api", "worker", "frontend"} <= set(labels(await _at(client, project, "k8s_resource('|')")))
    res = set(labels(await _at(client, project, "k8s_resource('worker', resource_deps=['|'])")))
    assert {"api", "lint"} <= res


async def test_image_refs(client: LanguageClient, project: Path) -> None:
    # docker_build(ref): images the YAML deploys but nothing builds come first
    items = await _at(client, project, "docker_build('|')")
    assert labels(items)[0] == "example/frontend"
    assert "example/api" in labels(await _at(client, project, "live_update('|', [])"))


async def test_nothing_in_comments(client: LanguageClient, project: Path) -> None:
    assert await _at(client, project, "# docker_b|") == []


async def test_completion_in_loaded_file(client: LanguageClient, project: Path) -> None:
    lib = project / "lib" / "helpers.star"
    text, cursor = at_cursor(lib.read_text() + "\nX = PO|\n")
    uri = open_doc(client, lib, text)
    items = await complete(client, uri, cursor)
    assert "PORTS" in labels(items)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "tilt_lsp"], server_env=ENV))
async def defaults_client(lsp_client: LanguageClient, project: Path) -> Any:
    """A client that takes one edit range for a whole list (itemDefaults, LSP 3.17): Neovim 0.11's."""
    accept_registrations(lsp_client)
    caps = client_capabilities("neovim")
    assert caps.text_document and caps.text_document.completion and caps.text_document.completion.completion_list
    assert "editRange" in (caps.text_document.completion.completion_list.item_defaults or [])
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=project.as_uri(),
            initialization_options={"settings": {"diagnostics": {"debounceMs": 50}}},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def _result_at(client: LanguageClient, project: Path, snippet: str) -> types.CompletionList:
    base = (project / "Tiltfile").read_text()
    text, cursor = at_cursor(base + snippet)
    uri = await _ready(client, project, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=cursor)
    )
    assert isinstance(result, types.CompletionList)
    return result


async def test_value_items_share_the_edit_range_when_the_client_takes_defaults(
    defaults_client: LanguageClient, project: Path
) -> None:
    result = await _result_at(defaults_client, project, "docker_build('exa|')")
    assert result.items and all(i.text_edit is None for i in result.items)
    assert result.item_defaults is not None and result.item_defaults.edit_range is not None
    rng = result.item_defaults.edit_range
    assert isinstance(rng, types.Range)
    last = len((project / "Tiltfile").read_text().split("\n")) - 1
    # the string's whole body, 'exa' and nothing else, is what an item replaces
    assert (rng.start.line, rng.end.line) == (last, last)
    assert rng.end.character - rng.start.character == len("exa")


async def test_value_items_carry_their_edit_otherwise(client: LanguageClient, project: Path) -> None:
    result = await _result_at(client, project, "docker_build('exa|')")
    assert result.item_defaults is None
    assert result.items and all(isinstance(i.text_edit, types.TextEdit) for i in result.items)
    assert all(i.text_edit.new_text == i.label for i in result.items if isinstance(i.text_edit, types.TextEdit))
