"""The language features' requests, registered without importing their implementations.

Answering ``initialize`` needs only the capabilities.  The modules behind the requests (the
Tiltfile catalog, the cursor lexer, the name index, the model types...) are imported by the
first request that needs them, or earlier by :func:`warm_up`, which the server runs on a
thread once the client has sent ``initialized``.

Implementations: ``completion``, ``hover``, ``signature_help``, ``definition``,
``references`` (with rename), ``symbols``, ``code_actions`` and ``semantic_tokens``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ._lsp import safe

if TYPE_CHECKING:
    from ..server import TiltLanguageServer

#: Characters after which clients ask for completion.
COMPLETION_TRIGGERS = [".", "(", ",", "'", '"', "/", "=", "["]
#: Semantic token legend (indexes into these lists are what the tokens carry).
TOKEN_TYPES = ["namespace", "function", "parameter", "variable", "string"]
TOKEN_MODIFIERS = ["defaultLibrary", "declaration", "readonly", "path", "imageRef"]

IMPLEMENTATIONS = (
    "completion",
    "hover",
    "signature_help",
    "definition",
    "references",
    "symbols",
    "code_actions",
    "semantic_tokens",
)


def _impl(name: str) -> Any:
    return importlib.import_module(f"{__package__}.{name}")


def warm_up() -> None:
    """Import every implementation now (on a thread) so that the first request does not pay for it."""
    for name in IMPLEMENTATIONS:
        _impl(name)
    _impl("completion").warm_up()


def register(server: TiltLanguageServer) -> None:
    # Per-server helper objects, made on first use.
    helpers: dict[str, Any] = {}

    def helper(module: str, cls: str) -> Any:
        obj = helpers.get(cls)
        if obj is None:
            obj = helpers[cls] = getattr(_impl(module), cls)(server)
        return obj

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=COMPLETION_TRIGGERS, resolve_provider=True),
    )
    @safe(lambda: None)
    def completion(params: types.CompletionParams) -> types.CompletionList | None:
        result: types.CompletionList | None = helper("completion", "Completer").complete(params)
        return result

    @server.feature(types.COMPLETION_ITEM_RESOLVE)
    @safe(lambda: None)
    def resolve(item: types.CompletionItem) -> types.CompletionItem:
        if item.documentation is None:
            _impl("completion").resolve_docs(item, helper("completion", "Completer").snippets())
        return item

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @safe(lambda: None)
    def hover(params: types.HoverParams) -> types.Hover | None:
        result: types.Hover | None = helper("hover", "Hoverer").hover(params)
        return result

    @server.feature(
        types.TEXT_DOCUMENT_SIGNATURE_HELP,
        types.SignatureHelpOptions(trigger_characters=["(", ","], retrigger_characters=["=", " "]),
    )
    @safe(lambda: None)
    def signature_help(params: types.SignatureHelpParams) -> types.SignatureHelp | None:
        result: types.SignatureHelp | None = helper("signature_help", "SignatureHelper").help(params)
        return result

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @safe(lambda: None)
    def definition(params: types.DefinitionParams) -> list[types.Location] | None:
        return _impl("definition").definitions(server, params.text_document.uri, params.position) or None

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @safe(lambda: None)
    def refs(params: types.ReferenceParams) -> list[types.Location] | None:
        return _impl("references").references(server, params) or None

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    @safe(lambda: None)
    def prep(params: types.PrepareRenameParams) -> types.PrepareRenamePlaceholder | None:
        result: types.PrepareRenamePlaceholder | None = _impl("references").prepare_rename(server, params)
        return result

    @server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
    def do_rename(params: types.RenameParams) -> types.WorkspaceEdit | None:
        try:
            result: types.WorkspaceEdit | None = _impl("references").rename(server, params)
            return result
        except JsonRpcInvalidParams:
            raise
        except Exception:
            import logging

            logging.getLogger(__name__).exception("rename failed")
            return None

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @safe(lambda: None)
    def doc_symbols(params: types.DocumentSymbolParams) -> list[types.DocumentSymbol] | None:
        result: list[types.DocumentSymbol] | None = _impl("symbols").document_symbols(server, params.text_document.uri)
        return result

    @server.feature(types.WORKSPACE_SYMBOL)
    @safe(lambda: None)
    def ws_symbols(params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation] | None:
        result: list[types.SymbolInformation] | None = _impl("symbols").workspace_symbols(server, params.query)
        return result

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    @safe(lambda: None)
    def actions(params: types.CodeActionParams) -> list[types.CodeAction] | None:
        return _impl("code_actions").code_actions(server, params) or None

    @server.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS),
    )
    @safe(lambda: None)
    def full(params: types.SemanticTokensParams) -> types.SemanticTokens | None:
        result: types.SemanticTokens | None = _impl("semantic_tokens").semantic_tokens(server, params.text_document.uri)
        return result


__all__ = ["COMPLETION_TRIGGERS", "IMPLEMENTATIONS", "TOKEN_MODIFIERS", "TOKEN_TYPES", "register", "warm_up"]
