"""JSON for completion responses, each item encoded once.

On a big Tiltfile a completion list is 150 items, and most of them are the same objects from
one keystroke to the next (builtins, keyword arguments, the file's names: the completion
feature keeps them).  pygls turns a whole response into dictionaries with cattrs and those
into JSON on every request: about 0.6 ms for 150 items on an idle machine, several times
that on a busy one, all of it on the protocol loop.  Here each item's JSON is kept, keyed by
the item's identity and dropped with the item, and a response is a join of those strings.

Items must not be changed once they have been answered: the completion feature makes new
items instead of modifying ones it has returned.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable
from typing import Any

import attrs
from lsprotocol import types

Unstructure = Callable[[Any], Any]

# id(item) -> (a weak reference to the item, its JSON).  The reference's callback removes the
# entry when the item goes, before its id can be given to another object.
_FRAGMENTS: dict[int, tuple[weakref.ref[types.CompletionItem], str]] = {}


def _forget(key: int) -> Callable[[object], None]:
    def forget(_ref: object) -> None:
        _FRAGMENTS.pop(key, None)

    return forget


def item_json(item: types.CompletionItem, unstructure: Unstructure) -> str:
    key = id(item)
    hit = _FRAGMENTS.get(key)
    if hit is not None and hit[0]() is item:
        return hit[1]
    text = json.dumps(unstructure(item))
    _FRAGMENTS[key] = (weakref.ref(item, _forget(key)), text)
    return text


def completion_response(msg_id: int | str, result: types.CompletionList, unstructure: Unstructure) -> str:
    """The JSON-RPC response carrying ``result``, as pygls would write it (up to whitespace)."""
    rest = unstructure(attrs.evolve(result, items=[]))
    rest.pop("items", None)
    head = json.dumps(rest)[:-1]  # without the closing brace
    items = ",".join([item_json(i, unstructure) for i in result.items])
    sep = "," if rest else ""
    return f'{{"id":{json.dumps(msg_id)},"jsonrpc":"2.0","result":{head}{sep}"items":[{items}]}}}}'


def cached_items() -> int:
    """How many items have their JSON kept (for tests)."""
    return len(_FRAGMENTS)


__all__ = ["cached_items", "completion_response", "item_json"]
