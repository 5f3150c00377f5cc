"""The YAML fast path gives exactly what PyYAML's safe loader gives, or declines."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from tilt_lsp.tiltfile.fastyaml import load_simple

ROOT = Path(__file__).resolve().parents[1]


def pyyaml(text: str) -> list[Any] | None:
    try:
        return [d for d in yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if d is not None]
    except yaml.YAMLError:
        return None


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down (True == 1 would hide a bool/int mix-up)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: app
        image: example/web:1.0
        args: []
        resources: {}
        ports:
          - containerPort: 8080
            protocol: TCP
---
# a comment
apiVersion: v1
kind: Service
metadata:
  name: 'web'
spec:
  selector:
    app: "web"
  ports:
  - port: 80
"""


def test_typical_manifests_take_the_fast_path() -> None:
    got = load_simple(DEPLOYMENT)
    assert got is not None
    assert same(got, pyyaml(DEPLOYMENT))


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",  # anchors
        "a: !!str 1\n",  # tags
        "a: [1, 2]\n",  # flow collections
        "a: |\n  text\n",  # block scalars
        "a: one\n  two\n",  # multi-line plain scalars
        "a: 1.5\n",  # floats
        "a: 0o17\n",
        "a: 012\n",
        "a: 1:30\n",  # sexagesimal
        "a: 2001-12-14\n",  # timestamps
        "a: x # comment\n",
        "a: 'it''s'\n",
        'a: "tab\\t"\n',
        "a: caf\u00e9\n",
        "--- text\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: 1\r\nb: 2\r\n",
        "? complex\n: key\n",
        "<<: {a: 1}\n",
        "a:\n\tb: 1\n",
        "just a scalar\n",
    ],
)
def test_declines_what_it_does_not_know(text: str) -> None:
    assert load_simple(text) is None


def test_corpus_yaml_files_agree() -> None:
    n = 0
    for p in sorted(ROOT.rglob("*.y*ml")):
        text = p.read_text(encoding="utf-8", errors="replace")
        got = load_simple(text)
        if got is None:
            continue
        n += 1
        assert same(got, pyyaml(text)), p
    assert n > 10


_GOOD = [
    "a", "name", "app", "web", "x_y", "/path/to", "image:tag", "example/svc:1.0", "http://h:80/x", "a,b", "k=v",
    "yes", "No", "on", "OFF", "true", "False", "null", "Null", "~", "y", "n", "0", "7", "42", "'q'", '"dq"', "''",
    '""', "'a b'", "[]", "{}", "a b", "make -C /app", "a:b",
]  # fmt: skip
_TRICKY = [
    "007", "1_0", "1.5", "-1", "+1", "0x1f", ".inf", "1e3", "[a]", "a  b", "a: b", "a:", "a #c", "#c", "&a", "*a",
    "!t", "|", ">", "@x", "%x", "`x", "a'b", "-", "- x", "'a'b'", '"a\\"',
]  # fmt: skip
_KEYS = ["a", "b", "name", "app.kubernetes.io/name", "x_y", "/k", "'q k'", '"dq"']
_TRICKY_KEYS = ["yes", "null", "1", "a b", "<<", "a:b", "- a", "? a"]


def _word(rng: random.Random) -> str:
    return rng.choice(_TRICKY if rng.random() < 0.08 else _GOOD)


def _key(rng: random.Random) -> str:
    return rng.choice(_TRICKY_KEYS if rng.random() < 0.05 else _KEYS)


def _gen(rng: random.Random, depth: int, indent: int, out: list[str]) -> None:
    kind = rng.random()
    pad = " " * indent
    if kind < 0.6 or depth == 0:
        for _ in range(rng.randint(1, 3)):
            key = _key(rng)
            if depth > 0 and rng.random() < 0.4:
                out.append(f"{pad}{key}:")
                child = indent + rng.choice([0, 1, 2, 2, 4]) if rng.random() < 0.5 else indent + 2
                _gen(rng, depth - 1, child, out)
            else:
                out.append(f"{pad}{key}:{rng.choice([' ', ' ', '  ', ''])}{_word(rng)}")
            if rng.random() < 0.1:
                out.append(rng.choice(["", "# note", pad + "  # note", "---"]))
    else:
        for _ in range(rng.randint(1, 3)):
            if depth > 0 and rng.random() < 0.5:
                key = _key(rng)
                sp = rng.choice([" ", " ", "   "])
                out.append(f"{pad}-{sp}{key}: {_word(rng)}")
                sub: list[str] = []
                _gen(rng, depth - 1, indent + 1 + len(sp), sub)
                out.extend(line for line in sub if not line.lstrip().startswith("- ") or rng.random() < 0.5)
            else:
                out.append(f"{pad}- {_word(rng)}")


def test_random_documents_agree_with_pyyaml() -> None:
    rng = random.Random(1234)
    fast = 0
    for _ in range(4000):
        lines: list[str] = []
        for d in range(rng.randint(1, 2)):
            if d:
                lines.append("---")
            _gen(rng, rng.randint(0, 3), 0, lines)
        text = "\n".join(lines) + rng.choice(["\n", "", "\n\n"])
        got = load_simple(text)
        if got is None:
            continue
        fast += 1
        want = pyyaml(text)
        assert want is not None and same(got, want), text
    assert fast > 500  # the generator must exercise the fast path, not only the fallbacks
