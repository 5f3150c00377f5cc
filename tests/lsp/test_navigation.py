"""Hover, signature help, definition, references and rename, across load()."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from lsputil import at_cursor, diagnostics, open_doc, pos
from pygls.exceptions import JsonRpcInvalidParams
from pytest_lsp import LanguageClient


def _id(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def _open(client: LanguageClient, project: Path, text: str | None = None) -> tuple[str, str]:
    tf = project / "Tiltfile"
    full = tf.read_text() if text is None else text
    uri = open_doc(client, tf, full)
    await diagnostics(client, uri)
    return uri, full


async def _hover(client: LanguageClient, uri: str, p: types.Position) -> str | None:
    h = await client.text_document_hover_async(types.HoverParams(text_document=_id(uri), position=p))
    if h is None:
        return None
    assert isinstance(h.contents, types.MarkupContent)
    return h.contents.value


# ----------------------------------------------------------------------- hover


async def test_hover_builtin_signature_docs_link(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    value = await _hover(client, uri, pos(text, "docker_build", 3))
    assert value is not None
    assert "docker_build(ref: str, context: str" in value
    assert "https://docs.tilt.dev/api.html#api.docker_build" in value


async def test_hover_module_member(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project, "x = os.path.join('a', 'b')\n")
    value = await _hover(client, uri, pos(text, "join", 1))
    assert value is not None and "os.path.join" in value


async def test_hover_user_function_across_load(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    value = await _hover(client, uri, pos(text, "make_image('example/worker')", 2))
    assert value is not None
    assert "make_image(ref, context='.')" in value
    assert "Build an image from the repository root." in value


async def test_hover_constant_shows_value(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    value = await _hover(client, uri, pos(text, "PORTS['api']", 1))
    assert value is not None and '{"api": 8080}' in value
    value = await _hover(client, uri, pos(text, "APP, '.'", 1))
    assert value is not None and '"example/api"' in value


async def test_hover_image_ref_shows_build_and_workloads(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    value = await _hover(client, uri, pos(text, "'example/api'", 3))
    assert value is not None
    assert "docker_build" in value and "deployment/api" in value


async def test_hover_keyword_argument(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    value = await _hover(client, uri, pos(text, "dockerfile=", 2))
    assert value is not None and "Parameter of `docker_build`" in value


# -------------------------------------------------------------- signature help


async def _sig(client: LanguageClient, project: Path, snippet: str) -> types.SignatureHelp | None:
    base = (project / "Tiltfile").read_text()
    text, cursor = at_cursor(base + snippet)
    uri = open_doc(client, project / "Tiltfile", text)
    return await client.text_document_signature_help_async(
        types.SignatureHelpParams(text_document=_id(uri), position=cursor)
    )


def _active_label(sig: types.SignatureHelp) -> str:
    info = sig.signatures[sig.active_signature or 0]
    assert info.parameters is not None and sig.active_parameter is not None
    start, end = info.parameters[sig.active_parameter].label  # type: ignore[misc]
    return info.label[start:end]


async def test_signature_positional(client: LanguageClient, project: Path) -> None:
    sig = await _sig(client, project, "docker_build('x', |")
    assert sig is not None and sig.signatures[0].label.startswith("docker_build(")
    assert _active_label(sig).startswith("context")


async def test_signature_keyword(client: LanguageClient, project: Path) -> None:
    sig = await _sig(client, project, "docker_build('x', '.', live_update=[|")
    assert sig is not None and _active_label(sig).startswith("live_update")
    sig = await _sig(client, project, "read_file(paths=|")
    assert sig is not None and _active_label(sig).startswith("file_path")  # documented name, run-time alias


async def test_signature_user_function_across_load(client: LanguageClient, project: Path) -> None:
    await _open(client, project)
    sig = await _sig(client, project, "make_image('a', |")
    assert sig is not None and sig.signatures[0].label.startswith("make_image(ref, context='.')")
    assert _active_label(sig) == "context='.'"
    sig = await _sig(client, project, "svc(|")
    assert sig is not None and _active_label(sig) == "name"


# ------------------------------------------------------------------ definition


async def _definition(client: LanguageClient, uri: str, p: types.Position) -> list[types.Location]:
    result = await client.text_document_definition_async(types.DefinitionParams(text_document=_id(uri), position=p))
    if result is None:
        return []
    return list(result) if isinstance(result, list) else [result]  # type: ignore[list-item]


async def test_definition_same_file(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    locs = await _definition(client, uri, pos(text, "APP, '.'", 1))
    assert len(locs) == 1 and locs[0].uri == uri and locs[0].range.start.line == 2


async def test_definition_across_load(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    lib_uri = (project / "lib" / "helpers.star").as_uri()
    locs = await _definition(client, uri, pos(text, "make_image('example/worker')", 1))
    assert locs and locs[0].uri == lib_uri and locs[0].range.start.line == 3
    # an aliased load: svc -> service_name
    text2 = text + "svc('x')\n"
    uri2 = open_doc(client, project / "Tiltfile", text2, version=2)
    locs = await _definition(client, uri2, pos(text2, "svc('x')", 1))
    assert locs and locs[0].uri == lib_uri and locs[0].range.start.line == 8


async def test_definition_of_load_path_and_path_strings(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    locs = await _definition(client, uri, pos(text, "./lib/helpers.star", 3))
    assert locs and locs[0].uri == (project / "lib" / "helpers.star").as_uri()
    locs = await _definition(client, uri, pos(text, "deploy/api.yaml", 2))
    assert locs and locs[0].uri == (project / "deploy" / "api.yaml").as_uri()


async def test_definition_of_image_ref(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    locs = await _definition(client, uri, pos(text, "'example/worker'", 3))
    assert locs and locs[0].uri == (project / "lib" / "helpers.star").as_uri()


# -------------------------------------------------------- references & rename


async def test_references_across_load(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=_id(uri),
            position=pos(text, "make_image('example/worker')", 1),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert result is not None
    lib_uri = (project / "lib" / "helpers.star").as_uri()
    where = {(loc.uri, loc.range.start.line) for loc in result}
    assert (lib_uri, 3) in where  # def make_image
    assert (uri, 0) in where  # the load() name
    assert (uri, 8) in where  # the call


async def test_references_of_parameter_stay_local(client: LanguageClient, project: Path) -> None:
    lib = project / "lib" / "helpers.star"
    text = lib.read_text()
    uri = open_doc(client, lib, text)
    result = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=_id(uri),
            position=pos(text, "ref, context)", 0),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    assert result is not None and {loc.range.start.line for loc in result} == {3, 5}


async def test_rename_across_load(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    p = pos(text, "make_image('example/worker')", 1)
    prep = await client.text_document_prepare_rename_async(types.PrepareRenameParams(text_document=_id(uri), position=p))
    assert prep is not None
    edit = await client.text_document_rename_async(types.RenameParams(text_document=_id(uri), position=p, new_name="build_image"))
    assert edit is not None and edit.changes is not None
    lib_uri = (project / "lib" / "helpers.star").as_uri()
    assert {e.range.start.line for e in edit.changes[lib_uri]} == {3}
    assert {e.range.start.line for e in edit.changes[uri]} == {0, 8}
    assert all(e.new_text == "build_image" for edits in edit.changes.values() for e in edits)


async def test_rename_through_alias_keeps_local_name(client: LanguageClient, project: Path) -> None:
    lib = project / "lib" / "helpers.star"
    text = lib.read_text()
    uri = open_doc(client, lib, text)
    await diagnostics(client, (project / "Tiltfile").as_uri())
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=_id(uri), position=pos(text, "service_name", 1), new_name="svc_name")
    )
    assert edit is not None and edit.changes is not None
    tf_edits = edit.changes[(project / "Tiltfile").as_uri()]
    assert len(tf_edits) == 1  # only the 'service_name' string in load(); the alias svc stays


async def test_rename_rejects_invalid_names(client: LanguageClient, project: Path) -> None:
    uri, text = await _open(client, project)
    with pytest.raises(JsonRpcInvalidParams):
        await client.text_document_rename_async(
            types.RenameParams(text_document=_id(uri), position=pos(text, "APP =", 0), new_name="not valid")
        )
