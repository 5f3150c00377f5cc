"""Facts the editor features need beyond the API catalog.

Which builtin arguments are paths, resource names or image refs; Starlark's own
builtins and the methods of str/list/dict (with short signatures written for hover and
signature help); and cheap type guesses for a receiver before ``.``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..tiltfile import catalog
from ._cursor import split_top_level

# --------------------------------------------------------------- argument roles

#: (qualified builtin, run-time parameter name) whose string values are file system paths.
PATH_PARAMS: frozenset[tuple[str, str]] = frozenset(
    {
        ("k8s_yaml", "yaml"),
        ("docker_build", "context"),
        ("docker_build", "dockerfile"),
        ("custom_build", "deps"),
        ("custom_build", "dir"),
        ("sync", "local_path"),
        ("run", "trigger"),
        ("fall_back_on", "paths"),
        ("read_file", "paths"),
        ("read_yaml", "paths"),
        ("read_json", "paths"),
        ("read_yaml_stream", "paths"),
        ("watch_file", "paths"),
        ("listdir", "dir"),
        ("load", "path"),
        ("load_dynamic", "path"),
        ("include", "path"),
        ("local_resource", "deps"),
        ("local_resource", "dir"),
        ("local_resource", "serve_dir"),
        ("docker_compose", "configPaths"),
        ("docker_compose", "env_file"),
        ("helm", "paths"),
        ("helm", "values"),
        ("kustomize", "paths"),
        ("local", "dir"),
        ("os.path.exists", "path"),
        ("os.path.abspath", "path"),
        ("os.path.realpath", "path"),
        ("os.path.isdir", "path"),
        ("os.path.isfile", "path"),
        ("os.path.basename", "path"),
        ("os.path.dirname", "path"),
        ("k8s_custom_deploy", "deps"),
        ("local_git_repo", "path"),
    }
)
#: Arguments naming a Kubernetes workload (k8s_resource) or a Compose service (dc_resource).
WORKLOAD_PARAMS: frozenset[tuple[str, str]] = frozenset({("k8s_resource", "workload")})
SERVICE_PARAMS: frozenset[tuple[str, str]] = frozenset({("dc_resource", "name")})
#: Arguments naming resources.
RESOURCE_PARAMS: frozenset[str] = frozenset({"resource_deps"})
#: Arguments naming image refs that something already builds or deploys.
IMAGE_PARAMS: frozenset[tuple[str, str]] = frozenset(
    {
        ("docker_build", "ref"),
        ("custom_build", "ref"),
        ("live_update", "image"),
        ("dc_resource", "image"),
        ("custom_build", "image_deps"),
        ("k8s_image_json_path", "name"),
    }
)
#: Builtins whose first argument declares an image (for hover and semantic tokens).
IMAGE_DECLARING = frozenset({"docker_build", "custom_build"})


def runtime_param_at(fn: catalog.Function, positional: int, keyword: str | None) -> str | None:
    """The run-time parameter an argument binds to (by keyword, or by position)."""
    if keyword is not None:
        rt = catalog.runtime_keywords(fn)
        if keyword in rt:
            return keyword
        p = fn.param(keyword)
        if p is not None and p.renamed and p.renamed in rt:
            return p.renamed
        return keyword
    names = [r.name for r in fn.runtime_params if not r.variadic]
    if any(r.name == "*args" for r in fn.runtime_params) and not names:
        stub = [p.name for p in fn.params if p.kind == "positional"]
        return stub[0] if stub else None
    if not fn.runtime_params:
        names = [p.name for p in fn.params if p.kind in ("positional", "keyword")]
    if positional < len(names):
        return names[positional]
    return None


def documented_param(fn: catalog.Function, runtime_name: str) -> catalog.Param | None:
    """The catalog parameter shown in signatures for a run-time name."""
    p = fn.param(runtime_name)
    if p is not None and not p.runtime_only:
        return p
    for q in fn.params:
        if q.renamed == runtime_name and not q.runtime_only:
            return q
    return p


# ------------------------------------------------------------- Starlark builtins


@dataclass(frozen=True)
class Builtin:
    name: str
    signature: str  # full label, e.g. "len(x) -> int"
    doc: str
    returns: str | None = None

    @property
    def params(self) -> list[str]:
        inner = self.signature[self.signature.index("(") + 1 : self.signature.rindex(")")]
        return [p.strip() for p in split_top_level(inner) if p.strip()]


def _b(sig: str, doc: str, returns: str | None = None) -> Builtin:
    return Builtin(sig.split("(", 1)[0], sig, doc, returns)


STARLARK_BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in [
        _b("abs(x) -> int", "Absolute value of a number.", "int"),
        _b("all(iterable) -> bool", "True when every element is truthy (and for an empty iterable).", "bool"),
        _b("any(iterable) -> bool", "True when at least one element is truthy.", "bool"),
        _b("bool(x=False) -> bool", "Truth value of `x`.", "bool"),
        _b("bytes(x) -> bytes", "Bytes from a string (UTF-8) or from a list of ints in 0..255.", "bytes"),
        _b("chr(i) -> str", "The one-character string for Unicode code point `i`.", "str"),
        _b("dict(pairs=[], **kwargs) -> dict", "A new dictionary from key/value pairs and keyword arguments.", "dict"),
        _b("dir(x) -> list", "Names of the attributes and methods of `x`, sorted.", "list"),
        _b("enumerate(x, start=0) -> list", "List of (index, element) pairs.", "list"),
        _b("float(x) -> float", "Floating-point number from a number or string.", "float"),
        _b("getattr(x, name, default) -> any", "Attribute `name` of `x`, or `default` when it has none.", None),
        _b("hasattr(x, name) -> bool", "Whether `x` has an attribute or method called `name`.", "bool"),
        _b("hash(x) -> int", "Hash of a string, as Starlark computes it (stable across runs).", "int"),
        _b("int(x, base=10) -> int", "Integer from a number, bool or string (in `base`).", "int"),
        _b("len(x) -> int", "Number of elements of a string, list, tuple, dict or set.", "int"),
        _b("list(x=[]) -> list", "A new list with the elements of iterable `x`.", "list"),
        _b("max(*args, key=None) -> any", "Largest argument, or largest element of a single iterable argument.", None),
        _b("min(*args, key=None) -> any", "Smallest argument, or smallest element of a single iterable argument.", None),
        _b("ord(s) -> int", "Unicode code point of the one-character string `s`.", "int"),
        _b("print(*args, sep=' ') -> None", "Write the arguments to Tilt's log.", "None"),
        _b("range(start_or_stop, stop, step=1) -> range", "Sequence of integers, as in Python.", "list"),
        _b("repr(x) -> str", "Starlark source representation of `x`.", "str"),
        _b("reversed(x) -> list", "A new list with the elements of `x` in reverse order.", "list"),
        _b("set(x=[]) -> set", "A new set with the elements of iterable `x`.", "set"),
        _b("sorted(x, key=None, reverse=False) -> list", "A new sorted list of the elements of `x`.", "list"),
        _b("str(x) -> str", "String form of `x` (a string is returned unchanged).", "str"),
        _b("tuple(x=[]) -> tuple", "A new tuple with the elements of iterable `x`.", "tuple"),
        _b("type(x) -> str", "Name of the type of `x`, such as `\"string\"` or `\"list\"`.", "str"),
        _b("zip(*iterables) -> list", "List of tuples pairing up the elements of the iterables.", "list"),
    ]
}

STARLARK_KEYWORDS = (
    "def", "if", "elif", "else", "for", "in", "return", "pass", "break", "continue",
    "and", "or", "not", "lambda", "load", "while", "True", "False", "None",
)

# ------------------------------------------------------------------ methods


def _methods(*sigs: tuple[str, str]) -> dict[str, Builtin]:
    return {s.split("(", 1)[0]: Builtin(s.split("(", 1)[0], s, d) for s, d in sigs}


STR_METHODS: dict[str, Builtin] = _methods(
    ("capitalize() -> str", "Copy with the first character upper-cased and the rest lower-cased."),
    ("codepoint_ords() -> list", "The Unicode code points of the string, as ints."),
    ("codepoints() -> list", "The characters of the string, each as a one-character string."),
    ("count(sub, start=0, end=None) -> int", "Number of non-overlapping occurrences of `sub`."),
    ("elem_ords() -> list", "The bytes of the string's UTF-8 encoding, as ints."),
    ("elems() -> list", "The characters of the string."),
    ("endswith(suffix, start=0, end=None) -> bool", "Whether the string ends with `suffix` (or one of a tuple of suffixes)."),
    ("find(sub, start=0, end=None) -> int", "Index of the first `sub`, or -1."),
    ("format(*args, **kwargs) -> str", "Replace `{}` / `{0}` / `{name}` fields with the arguments."),
    ("index(sub, start=0, end=None) -> int", "Index of the first `sub`; an error when it is missing."),
    ("isalnum() -> bool", "Non-empty and only letters and digits."),
    ("isalpha() -> bool", "Non-empty and only letters."),
    ("isdigit() -> bool", "Non-empty and only digits."),
    ("islower() -> bool", "Has cased characters and all are lower case."),
    ("isspace() -> bool", "Non-empty and only white space."),
    ("istitle() -> bool", "Title case: words start upper case and continue lower case."),
    ("isupper() -> bool", "Has cased characters and all are upper case."),
    ("join(iterable) -> str", "The strings of `iterable` joined with this string between them."),
    ("lower() -> str", "Lower-case copy."),
    ("lstrip(chars=None) -> str", "Copy without leading white space (or leading `chars`)."),
    ("partition(sep) -> tuple", "(before, sep, after) around the first `sep`."),
    ("removeprefix(prefix) -> str", "Copy without `prefix` when it starts with it."),
    ("removesuffix(suffix) -> str", "Copy without `suffix` when it ends with it."),
    ("replace(old, new, count=-1) -> str", "Copy with occurrences of `old` replaced by `new`."),
    ("rfind(sub, start=0, end=None) -> int", "Index of the last `sub`, or -1."),
    ("rindex(sub, start=0, end=None) -> int", "Index of the last `sub`; an error when it is missing."),
    ("rpartition(sep) -> tuple", "(before, sep, after) around the last `sep`."),
    ("rsplit(sep=None, maxsplit=-1) -> list", "Split from the right."),
    ("rstrip(chars=None) -> str", "Copy without trailing white space (or trailing `chars`)."),
    ("split(sep=None, maxsplit=-1) -> list", "Split on `sep`, or on runs of white space."),
    ("splitlines(keepends=False) -> list", "The lines of the string."),
    ("startswith(prefix, start=0, end=None) -> bool", "Whether the string starts with `prefix` (or one of a tuple of prefixes)."),
    ("strip(chars=None) -> str", "Copy without leading and trailing white space (or `chars`)."),
    ("title() -> str", "Title-cased copy."),
    ("upper() -> str", "Upper-case copy."),
)
LIST_METHODS: dict[str, Builtin] = _methods(
    ("append(x) -> None", "Add `x` at the end."),
    ("clear() -> None", "Remove every element."),
    ("extend(iterable) -> None", "Add the elements of `iterable` at the end."),
    ("index(x, start=0, end=None) -> int", "Index of the first element equal to `x`."),
    ("insert(i, x) -> None", "Insert `x` before index `i`."),
    ("pop(i=-1) -> any", "Remove and return the element at `i` (the last by default)."),
    ("remove(x) -> None", "Remove the first element equal to `x`."),
)
DICT_METHODS: dict[str, Builtin] = _methods(
    ("clear() -> None", "Remove every entry."),
    ("get(key, default=None) -> any", "The value for `key`, or `default`."),
    ("items() -> list", "List of (key, value) pairs, in insertion order."),
    ("keys() -> list", "List of keys, in insertion order."),
    ("pop(key, default) -> any", "Remove `key` and return its value (or `default`)."),
    ("popitem() -> tuple", "Remove and return the first (key, value) pair."),
    ("setdefault(key, default=None) -> any", "The value for `key`, inserting `default` when missing."),
    ("update(pairs=[], **kwargs) -> None", "Add or replace entries."),
    ("values() -> list", "List of values, in insertion order."),
)


@functools.cache
def _checked_methods() -> dict[str, dict[str, Builtin]]:
    """Our method tables restricted to what the evaluator really implements."""
    from ..tiltfile import values as v

    def keep(ours: dict[str, Builtin], real: dict[str, object]) -> dict[str, Builtin]:
        return {k: b for k, b in ours.items() if k in real}

    return {
        "str": keep(STR_METHODS, dict(v.STR_METHODS)),
        "list": keep(LIST_METHODS, dict(v.LIST_METHODS)),
        "dict": keep(DICT_METHODS, dict(v.DICT_METHODS)),
    }


def methods_of(type_name: str) -> dict[str, Builtin]:
    return _checked_methods().get(type_name, {})


def type_of_catalog_return(returns: str | None) -> str | None:
    """Map a catalog return annotation to str/list/dict when it is one of those."""
    if not returns:
        return None
    r = returns.strip()
    if r in ("str", "Blob"):
        return "str" if r == "str" else None
    if r.startswith(("List", "list", "Tuple")):
        return "list"
    if r.startswith(("Dict", "dict")):
        return "dict"
    return None


def type_of_expression(expr: str) -> str | None:
    """Guess str/list/dict from the text of an expression (an assignment's right side)."""
    e = expr.strip()
    if not e:
        return None
    head = e[0]
    if head in "'\"" or e[:2].lower() in ("r'", 'r"', "b'", 'b"'):
        return "str"
    if head == "[":
        return "list"
    if head == "{":
        return "dict"
    name = e.split("(", 1)[0].strip()
    if "(" in e and name:
        if name in ("str", "repr", "type"):
            return "str"
        if name in ("list", "sorted", "reversed", "range", "enumerate", "zip"):
            return "list"
        if name == "dict":
            return "dict"
        fn = catalog.function(name)
        if fn is not None:
            return type_of_catalog_return(fn.returns)
        if name.endswith((".format", ".join", ".lower", ".upper", ".strip", ".replace")):
            return "str"
        if name.endswith((".split", ".keys", ".values", ".items", ".splitlines")):
            return "list"
    if "%" in e and head in "'\"":
        return "str"
    return None
