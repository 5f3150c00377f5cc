"""tilt_lsp/wire.py: completion responses written from each item's kept JSON."""

from __future__ import annotations

import gc
import json

from lsprotocol import types
from lsprotocol.types import METHOD_TO_TYPES
from pygls.lsp.server import LanguageServer

from tilt_lsp import wire


def _items() -> list[types.CompletionItem]:
    rng = types.Range(start=types.Position(line=3, character=4), end=types.Position(line=3, character=9))
    return [
        types.CompletionItem(label="plain"),
        types.CompletionItem(
            label="docker_build",
            kind=types.CompletionItemKind.Function,
            detail="docker_build(ref, context, ...)",
            documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value="Builds an image: `é` ☃"),
            insert_text="docker_build(${1:ref})",
            insert_text_format=types.InsertTextFormat.Snippet,
            tags=[types.CompletionItemTag.Deprecated],
            sort_text="2docker_build",
            data={"builtin": "docker_build"},
        ),
        types.CompletionItem(label="api", kind=types.CompletionItemKind.Reference, text_edit=types.TextEdit(range=rng, new_text="api")),
    ]


def test_a_response_is_what_pygls_would_write() -> None:
    protocol = LanguageServer("t", "0").protocol
    response_type = METHOD_TO_TYPES[types.TEXT_DOCUMENT_COMPLETION][1]
    for result in (
        types.CompletionList(is_incomplete=True, items=_items()),
        types.CompletionList(is_incomplete=False, items=[]),
        types.CompletionList(
            is_incomplete=False,
            items=_items(),
            item_defaults=types.CompletionItemDefaults(commit_characters=["("], data={"k": 1}),
        ),
    ):
        for msg_id in (7, "req-7"):
            ours = wire.completion_response(msg_id, result, protocol._converter.unstructure)
            theirs = json.dumps(response_type(id=msg_id, result=result), default=protocol._serialize_message)
            assert json.loads(ours) == json.loads(theirs)
            assert ours.isascii()  # Content-Length counts characters and bytes alike


def test_each_item_is_encoded_once_and_forgotten_with_the_item() -> None:
    unstructure = LanguageServer("t", "0").protocol._converter.unstructure
    calls = 0

    def counting(obj: object) -> object:
        nonlocal calls
        calls += 1
        return unstructure(obj)

    items = _items()
    before = wire.cached_items()
    first = wire.completion_response(1, types.CompletionList(is_incomplete=False, items=items), counting)
    encoded = calls
    second = wire.completion_response(2, types.CompletionList(is_incomplete=False, items=items), counting)
    assert calls - encoded == 1  # only the list's own fields; every item came from the cache
    assert first.replace('"id":1', '"id":2') == second
    assert wire.cached_items() == before + len(items)
    del items, first, second
    gc.collect()
    assert wire.cached_items() == before


def test_after_the_warm_up_the_first_answers_make_no_cattrs_code() -> None:
    """cattrs forgets the hooks it looked up whenever it makes one for a new sequence type; the
    warm-up leaves them all looked up, so the first completion, hover and signature help of a
    session are as fast as the later ones."""
    from tilt_lsp.features import language
    from tilt_lsp.server import create_server

    server = create_server()
    converter = server.protocol._converter
    language.warm_up(server)
    dispatch = converter._unstructure_func.dispatch
    misses = dispatch.cache_info().misses
    wire.completion_response(3, types.CompletionList(is_incomplete=True, items=_items()), converter.unstructure)
    md = types.MarkupContent(kind=types.MarkupKind.Markdown, value="x")
    for method, result in (
        (types.TEXT_DOCUMENT_HOVER, types.Hover(contents=md)),
        (
            types.TEXT_DOCUMENT_SIGNATURE_HELP,
            types.SignatureHelp(signatures=[types.SignatureInformation(label="f(a)", parameters=[types.ParameterInformation(label=(2, 3))])]),
        ),
    ):
        converter.unstructure(METHOD_TO_TYPES[method][1](id=4, result=result))
    assert dispatch.cache_info().misses == misses
