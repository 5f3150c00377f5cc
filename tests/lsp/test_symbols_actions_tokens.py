"""Document/workspace symbols, quick fixes and semantic tokens over stdio."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from lsputil import diagnostics, open_doc, pos
from pytest_lsp import LanguageClient


def _id(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def _flatten(symbols: list[types.DocumentSymbol]) -> list[types.DocumentSymbol]:
    out: list[types.DocumentSymbol] = []
    for s in symbols:
        out.append(s)
        out.extend(_flatten(list(s.children or [])))
    return out


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.split("\n")
    starts = [0]
    for ln in lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)

    def off(p: types.Position) -> int:
        return starts[p.line] + p.character

    for e in sorted(edits, key=lambda e: off(e.range.start), reverse=True):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end) :]
    return text


# --------------------------------------------------------------------- symbols


async def test_document_symbols(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    await diagnostics(client, uri)
    result = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=_id(uri)))
    assert result is not None
    syms = {s.name: s for s in _flatten(result)}  # type: ignore[arg-type]
    assert syms["APP"].kind == types.SymbolKind.Constant
    assert syms["make_image"].kind == types.SymbolKind.Module  # bound by load()
    assert syms["example/api"].kind == types.SymbolKind.Class  # an image
    assert "deployment/api" in syms and syms["lint"].kind == types.SymbolKind.Event


async def test_document_symbols_nest_under_functions(client: LanguageClient, project: Path) -> None:
    lib = project / "lib" / "helpers.star"
    uri = open_doc(client, lib)
    await diagnostics(client, (project / "Tiltfile").as_uri())
    result = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=_id(uri)))
    assert result is not None
    top = {s.name: s for s in result}  # type: ignore[union-attr]
    assert top["make_image"].kind == types.SymbolKind.Function
    assert top["make_image"].detail == "(ref, context)"
    # the image built inside make_image() is nested under it
    assert [c.name for c in top["make_image"].children or []] == ["example/worker"]


async def test_workspace_symbols(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    await diagnostics(client, uri)
    result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="mkimg"))
    assert result is not None
    names = {s.name: s for s in result}
    assert "make_image" in names
    assert names["make_image"].location.uri == (project / "lib" / "helpers.star").as_uri()  # type: ignore[union-attr]
    result = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="example"))
    assert result is not None and {"example/api", "example/worker"} <= {s.name for s in result}


# ---------------------------------------------------------------- code actions


async def _fix(client: LanguageClient, uri: str, text: str, code: str) -> tuple[str, list[types.CodeAction]]:
    diags = await diagnostics(client, uri, lambda ds: any(d.code == code for d in ds))
    mine = [d for d in diags if d.code == code]
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_id(uri),
            range=mine[0].range,
            context=types.CodeActionContext(diagnostics=mine),
        )
    )
    actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
    assert actions, f"no quick fix for {code}"
    edit = actions[0].edit
    assert edit is not None and edit.changes is not None
    return _apply(text, list(edit.changes[uri])), actions


async def test_fix_reorders_live_update_steps(client: LanguageClient, project: Path) -> None:
    text = (
        "docker_build('example/api', '.', live_update=[\n"
        "    run('pip install -r requirements.txt', trigger=['src']),\n"
        "    sync('./src', '/app/src'),\n"
        "    fall_back_on(['Dockerfile']),\n"
        "])\n"
        "k8s_yaml('deploy/api.yaml')\n"
    )
    uri = open_doc(client, project / "Tiltfile", text)
    fixed, actions = await _fix(client, uri, text, "TL401")
    assert actions[0].kind == types.CodeActionKind.QuickFix
    assert fixed.index("fall_back_on") < fixed.index("sync(") < fixed.index("run(")
    assert fixed.count("\n") == text.count("\n")


async def test_fix_classic_live_update(client: LanguageClient, project: Path) -> None:
    text = (
        "docker_build('example/api', '.')\n"
        "k8s_yaml('deploy/api.yaml')\n"
        "live_update('example/api', [sync('./src', '/app/src')])\n"
    )
    uri = open_doc(client, project / "Tiltfile", text)
    fixed, _ = await _fix(client, uri, text, "TL901")
    assert fixed == (
        "docker_build('example/api', '.', live_update=[sync('./src', '/app/src')])\n"
        "k8s_yaml('deploy/api.yaml')\n"
    )


async def test_fix_did_you_mean_builtin_and_keyword(client: LanguageClient, project: Path) -> None:
    text = "k8s_yamll('deploy/api.yaml')\nlocal_resource('x', cmd='ls', depz=['src'])\n"
    uri = open_doc(client, project / "Tiltfile", text)
    fixed, actions = await _fix(client, uri, text, "TL201")
    assert actions[0].title == "Change to 'k8s_yaml'"
    assert fixed.startswith("k8s_yaml('deploy")
    fixed, _ = await _fix(client, uri, text, "TL202")
    assert "deps=['src']" in fixed


async def test_fix_did_you_mean_uses_diagnostic_data(client: LanguageClient, project: Path) -> None:
    text = "k8s_yamll('deploy/api.yaml')\n"
    uri = open_doc(client, project / "Tiltfile", text)
    diags = await diagnostics(client, uri, lambda ds: any(d.code == "TL201" for d in ds))
    published = next(d for d in diags if d.code == "TL201")
    assert published.data == {"replace": "k8s_yaml"}
    # The suggestion comes from data, not from the message: a client may show (and send back)
    # a message of its own, and the data decides.
    sent = types.Diagnostic(
        range=published.range, message="unknown name", code="TL201", source="tilt-lsp", data={"replace": "k8s_custom_deploy"}
    )
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_id(uri), range=sent.range, context=types.CodeActionContext(diagnostics=[sent])
        )
    )
    actions = [a for a in result or [] if isinstance(a, types.CodeAction)]
    assert [a.title for a in actions] == ["Change to 'k8s_custom_deploy'"]
    # Without data, the message's hint is the fallback.
    legacy = types.Diagnostic(range=published.range, message=published.message, code="TL201", source="tilt-lsp")
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_id(uri), range=legacy.range, context=types.CodeActionContext(diagnostics=[legacy])
        )
    )
    assert [a.title for a in result or [] if isinstance(a, types.CodeAction)] == ["Change to 'k8s_yaml'"]


async def test_fix_relative_sync_destination(client: LanguageClient, project: Path) -> None:
    text = (
        "docker_build('example/api', '.', live_update=[\n"
        "    sync('./src', 'src'),\n"
        "])\n"
        "k8s_yaml('deploy/api.yaml')\n"
    )
    uri = open_doc(client, project / "Tiltfile", text)
    fixed, _ = await _fix(client, uri, text, "TL402")
    assert "sync('./src', '/app/src')" in fixed  # the Dockerfile's WORKDIR is /app


async def test_no_fix_when_workdir_is_ambiguous(client: LanguageClient, project: Path) -> None:
    (project / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY src src\n")
    text = "docker_build('example/api', '.', live_update=[sync('./src', 'src')])\nk8s_yaml('deploy/api.yaml')\n"
    uri = open_doc(client, project / "Tiltfile", text)
    diags = await diagnostics(client, uri, lambda ds: any(d.code == "TL402" for d in ds))
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=_id(uri),
            range=diags[0].range,
            context=types.CodeActionContext(diagnostics=[d for d in diags if d.code == "TL402"]),
        )
    )
    assert not result


# ------------------------------------------------------------- semantic tokens


async def test_semantic_tokens(client: LanguageClient, project: Path) -> None:
    uri = open_doc(client, project / "Tiltfile")
    text = (project / "Tiltfile").read_text()
    await diagnostics(client, uri)
    legend = client.init_result.capabilities.semantic_tokens_provider.legend  # type: ignore[attr-defined]
    result = await client.text_document_semantic_tokens_full_async(types.SemanticTokensParams(text_document=_id(uri)))
    assert result is not None
    data = result.data
    lines = text.split("\n")
    decoded: dict[str, tuple[str, set[str]]] = {}
    line = col = 0
    for i in range(0, len(data), 5):
        dl, dc, length, ttype, mods = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        word = lines[line][col : col + length]
        decoded[word] = (legend.token_types[ttype], {m for b, m in enumerate(legend.token_modifiers) if mods & (1 << b)})
    assert decoded["docker_build"] == ("function", {"defaultLibrary"})
    assert decoded["make_image"][0] == "function" and "defaultLibrary" not in decoded["make_image"][1]
    assert decoded["'deploy/api.yaml'"] == ("string", {"path"})
    assert decoded["'example/worker'"] == ("string", {"imageRef"})
    assert decoded["'Dockerfile'"] == ("string", {"path"})


async def test_semantic_tokens_parameters(client: LanguageClient, project: Path) -> None:
    lib = project / "lib" / "helpers.star"
    text = lib.read_text()
    uri = open_doc(client, lib)
    result = await client.text_document_semantic_tokens_full_async(types.SemanticTokensParams(text_document=_id(uri)))
    assert result is not None
    p = pos(text, "ref, context)")
    line = col = 0
    found = False
    data = result.data
    for i in range(0, len(data), 5):
        dl, dc, _, ttype, _ = data[i : i + 5]
        line += dl
        col = col + dc if dl == 0 else dc
        if (line, col) == (p.line, p.character):
            found = ttype == 2  # parameter
    assert found
