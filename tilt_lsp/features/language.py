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
import logging
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


def warm_up(server: TiltLanguageServer | None = None) -> None:
    """Prepare everything the first requests would otherwise pay for (run on a thread).

    Imports every implementation, builds the builtin completion items, and has the protocol's
    converter (cattrs) generate its code for the requests and results we handle: the first
    completion would otherwise spend ~10 ms on it.
    """
    for name in IMPLEMENTATIONS:
        _impl(name)
    _impl("completion").warm_up()
    if server is not None:
        _warm_protocol(server)


def _warm_protocol(server: TiltLanguageServer) -> None:
    protocol: Any = server.protocol
    converter = getattr(protocol, "_converter", None)
    if converter is None:
        return
    uri = "file:///warm-up/Tiltfile"
    pos = {"line": 0, "character": 0}
    rng = types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=1))
    doc = {"textDocument": {"uri": uri}}
    md = types.MarkupContent(kind=types.MarkupKind.Markdown, value="x")
    diag = types.Diagnostic(
        range=rng, message="m", severity=types.DiagnosticSeverity.Error, code="TL201", source="tilt",
        tags=[types.DiagnosticTag.Unnecessary], data={"replace": "x"},
        related_information=[types.DiagnosticRelatedInformation(location=types.Location(uri=uri, range=rng), message="m")],
    )
    wire_diag = converter.unstructure(diag)
    requests: dict[str, tuple[dict[str, Any], Any]] = {
        types.TEXT_DOCUMENT_COMPLETION: (
            {**doc, "position": pos, "context": {"triggerKind": 1}},
            types.CompletionList(is_incomplete=True, items=[types.CompletionItem(
                label="x", kind=types.CompletionItemKind.Function, detail="x()", documentation=md, sort_text="0",
                filter_text="x", insert_text="x($1)", insert_text_format=types.InsertTextFormat.Snippet,
                text_edit=types.TextEdit(range=rng, new_text="x"), tags=[types.CompletionItemTag.Deprecated],
                data={"builtin": "x"},
            )]),
        ),
        types.COMPLETION_ITEM_RESOLVE: ({"label": "x", "data": {"builtin": "x"}}, types.CompletionItem(label="x", documentation=md)),
        types.TEXT_DOCUMENT_HOVER: ({**doc, "position": pos}, types.Hover(contents=md, range=rng)),
        types.TEXT_DOCUMENT_SIGNATURE_HELP: (
            {**doc, "position": pos, "context": {"triggerKind": 2, "triggerCharacter": "(", "isRetrigger": False}},
            types.SignatureHelp(
                signatures=[types.SignatureInformation(
                    label="x(a)", documentation=md, parameters=[types.ParameterInformation(label=(2, 3), documentation=md)]
                )],
                active_signature=0, active_parameter=0,
            ),
        ),
        types.TEXT_DOCUMENT_DEFINITION: ({**doc, "position": pos}, [types.Location(uri=uri, range=rng)]),
        types.TEXT_DOCUMENT_REFERENCES: (
            {**doc, "position": pos, "context": {"includeDeclaration": True}}, [types.Location(uri=uri, range=rng)]
        ),
        types.TEXT_DOCUMENT_DOCUMENT_SYMBOL: (
            doc,
            [types.DocumentSymbol(name="x", kind=types.SymbolKind.Function, range=rng, selection_range=rng, detail="d",
                                  children=[types.DocumentSymbol(name="y", kind=types.SymbolKind.Variable, range=rng,
                                                                 selection_range=rng)])],
        ),
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL: (doc, types.SemanticTokens(data=[0, 0, 1, 0, 0])),
        types.TEXT_DOCUMENT_CODE_ACTION: (
            {**doc, "range": converter.unstructure(rng), "context": {"diagnostics": [wire_diag], "only": ["quickfix"]}},
            [types.CodeAction(title="t", kind=types.CodeActionKind.QuickFix, diagnostics=[diag], is_preferred=True,
                              edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(range=rng, new_text="x")]}))],
        ),
    }
    # cattrs forgets every hook it has looked up whenever it makes one for a new sequence
    # type (a list of items, of edits, ...): a second pass looks them all up again, after the
    # last such type, so that the first real answers find them.
    for _ in range(2):
        _warm_pass(protocol, converter, requests, rng, uri, diag)


def _warm_pass(
    protocol: Any, converter: Any, requests: dict[str, tuple[dict[str, Any], Any]], rng: types.Range, uri: str,
    diag: types.Diagnostic,
) -> None:
    for i, (method, (params, result)) in enumerate(requests.items()):
        try:
            protocol.structure_message({"jsonrpc": "2.0", "id": -1 - i, "method": method, "params": params})
            result_type = protocol.get_result_type(method)
            if result_type is not None:
                converter.unstructure(result_type(id=-1 - i, result=result, jsonrpc="2.0"))
        except Exception as e:  # noqa: BLE001 - only a warm-up
            logging.getLogger(__name__).debug("warming up %s failed: %s", method, e)
    try:
        converter.unstructure(
            types.PublishDiagnosticsNotification(
                params=types.PublishDiagnosticsParams(uri=uri, diagnostics=[diag], version=1)
            )
        )
    except Exception as e:  # noqa: BLE001
        logging.getLogger(__name__).debug("warming up diagnostics failed: %s", e)
    try:
        # Completion lists are written by tilt_lsp/wire.py, which unstructures the list and its items
        # apart; last, so that no other type's first hook makes cattrs forget these.
        import attrs

        from .. import wire

        completion = requests[types.TEXT_DOCUMENT_COMPLETION][1]
        wire.completion_response(-1, completion, converter.unstructure)
        wire.completion_response(
            -1, attrs.evolve(completion, item_defaults=types.CompletionItemDefaults(edit_range=rng)), converter.unstructure
        )
    except Exception as e:  # noqa: BLE001 - only a warm-up
        logging.getLogger(__name__).debug("warming up completion lists failed: %s", e)


#: After a document opens, its names are found this much later (see ``register``).
OPEN_SCAN_DELAY_S = 0.05


def register(server: TiltLanguageServer) -> None:
    # Per-server helper objects, made on first use.
    helpers: dict[str, Any] = {}

    def opened(uri: str, path: str) -> None:
        # The first completion in a file scans all its lines for the names they bind (13 ms on
        # 5,000 lines), later ones only the edited lines: do the first scan just after the file
        # opens (while its evaluation runs) instead of in front of the user's first completion.
        loop = server.loop
        if loop is None:
            return

        def scan() -> None:
            try:
                doc = _impl("_doc").DocView.of(server, uri)
                if doc is not None and doc.document is not None:
                    doc.symbols()
            except Exception:
                logging.getLogger(__name__).exception("scanning %s for names failed", path)

        loop.call_later(OPEN_SCAN_DELAY_S, scan)

    server.on_open.append(opened)

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
            _impl("completion").resolve_docs(item)
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
