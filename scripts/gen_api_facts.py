#!/usr/bin/env python3
"""Regenerate ``tilt_lsp/tiltfile/data/api_facts.json`` from the shared research catalog.

The shared file (``../shared/tilt-api/facts.json`` relative to the repository root) is not
available to the installed package, so this script copies the factual parts of it (names,
parameters, defaults, types, runtime keyword names) into the package.  Paraphrased summaries,
notes and source-file references are dropped on purpose: the language server ships its own
documentation in ``docs_core.json`` / ``docs_modules.json``.

Qualified names are normalised: in the shared file a module member may be spelled
``"os.path.join"`` with ``"module": "os.path"``; here ``name`` is always the bare member name
(``"join"``) and the qualified name is ``module + "." + name``.  Type names keep their
qualification (``"v1alpha1.Probe"``) because bare type names collide across modules.

Usage::

    python scripts/gen_api_facts.py [--source PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "tilt-api" / "facts.json"
DEFAULT_OUTPUT = ROOT / "tilt_lsp" / "tiltfile" / "data" / "api_facts.json"

STUB_PARAM_KEYS = ("name", "kind", "default", "type")
RUNTIME_PARAM_KEYS = ("name", "optional")


def _bare_name(name: str, module: str | None) -> str:
    if module and name.startswith(module + "."):
        return name[len(module) + 1 :]
    return name


def _stub_param(p: dict[str, Any]) -> dict[str, Any]:
    out = {k: p.get(k) for k in STUB_PARAM_KEYS}
    if p.get("deprecated"):
        out["deprecated"] = True
    return out


def _runtime_param(p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: p.get(k) for k in RUNTIME_PARAM_KEYS}
    out["optional"] = bool(out["optional"])
    out["none_means_unset"] = bool(p.get("none_means_unset", False))
    if p.get("positional_only"):
        out["positional_only"] = True
    return out


def _function(f: dict[str, Any]) -> dict[str, Any]:
    module = f.get("module")
    out: dict[str, Any] = {
        "name": _bare_name(f["name"], module),
        "module": module,
        "params": [_stub_param(p) for p in f.get("params") or []],
        "runtime_params": [_runtime_param(p) for p in f.get("runtime_params") or []],
        "returns": f.get("returns"),
        "deprecated": bool(f.get("deprecated", False)),
        "category": f.get("category"),
        "in_stub": bool(f.get("in_stub", False)),
    }
    if f.get("is_statement"):
        out["is_statement"] = True
    return out


def _value(v: dict[str, Any]) -> dict[str, Any]:
    module = v.get("module")
    return {"name": _bare_name(v["name"], module), "module": module, "type": v.get("type")}


def _type(t: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": t["name"],
        "module": t.get("module"),
        "kind": t.get("kind"),
        "attributes": [{"name": a["name"], "type": a.get("type")} for a in t.get("attributes") or []],
    }
    if t.get("alias_of"):
        out["alias_of"] = " ".join(str(t["alias_of"]).split()).replace("[ ", "[").replace(", ]", "]")
    return out


def generate(source: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": source.get("source"),
        "generated_by": "scripts/gen_api_facts.py",
        "functions": [_function(f) for f in source["functions"]],
        "values": [_value(v) for v in source["values"]],
        "types": [_type(t) for t in source["types"]],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    source = json.loads(args.source.read_text(encoding="utf-8"))
    data = generate(source)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"wrote {args.output}: {len(data['functions'])} functions, "
        f"{len(data['values'])} values, {len(data['types'])} types",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
