"""`tilt-lsp model`: what a Tiltfile declares, as stable JSON or a readable tree.

The JSON shape is documented in the README and is a compatibility promise:
fields are only ever added, never renamed or removed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .tiltfile.model import Image, LiveUpdateSpec, PortForward, Resource, Severity, TiltfileModel


def _live_update_json(lu: LiveUpdateSpec | None) -> dict[str, Any] | None:
    if lu is None:
        return None
    return {
        "initial_sync": lu.initial_sync,
        "fall_back_on": list(lu.fall_back_on),
        "syncs": [{"local": s.local, "remote": s.remote} for s in lu.syncs],
        "runs": [{"argv": list(r.argv), "triggers": list(r.triggers), "echo_off": r.echo_off} for r in lu.runs],
        "restart_container": lu.restart_container,
    }


def _image_json(img: Image) -> dict[str, Any]:
    return {
        "ref": img.ref,
        "kind": img.kind,
        "context": img.context,
        "dockerfile": img.dockerfile,
        "dockerfile_contents": img.dockerfile_contents,
        "target": img.target,
        "build_args": dict(img.build_args),
        "ignore": list(img.ignore),
        "only": list(img.only),
        "live_update": _live_update_json(img.live_update),
    }


def _pf_json(pf: PortForward) -> dict[str, Any]:
    return {
        "local_port": pf.local_port,
        "container_port": pf.container_port,
        "name": pf.name,
        "link_path": pf.link_path,
        "host": pf.host,
    }


def _resource_json(r: Resource) -> dict[str, Any]:
    return {
        "name": r.name,
        "type": r.type,
        "images": list(r.images),
        "deps": list(r.deps),
        "port_forwards": [_pf_json(p) for p in r.port_forwards],
        "labels": list(r.labels),
        "trigger_mode": r.trigger_mode,
        "auto_init": r.auto_init,
        "objects": [{"kind": o.kind, "name": o.name, "namespace": o.namespace} for o in r.objects],
        "cmd": list(r.cmd) if r.cmd is not None else None,
        "serve_cmd": list(r.serve_cmd) if r.serve_cmd is not None else None,
        "deps_paths": list(r.deps_paths),
    }


def model_json(model: TiltfileModel) -> dict[str, Any]:
    return {
        "tiltfile": model.tiltfile,
        "loads": list(model.loads),
        "images": [_image_json(i) for i in model.images],
        "resources": [_resource_json(r) for r in model.resources],
        "diagnostics": [d.to_json() for d in model.diagnostics],
    }


def _fmt_cmd(argv: tuple[str, ...] | None) -> str:
    if argv is None:
        return "-"
    if len(argv) == 3 and argv[:2] == ("sh", "-c"):
        return argv[2]
    return " ".join(argv)


def model_text(model: TiltfileModel) -> str:
    base = os.path.dirname(model.tiltfile)

    def rel(p: str) -> str:
        r = os.path.relpath(p, base)
        return "." if r == "." else (r if not r.startswith("..") else p)

    lines = [f"Tiltfile {model.tiltfile}"]
    for p in model.loads:
        lines.append(f"  loads {rel(p)}")
    images = {i.ref: i for i in model.images}
    shown: set[str] = set()
    for r in model.resources:
        head = f"{r.type} resource {r.name}"
        extras = []
        if r.trigger_mode == "manual":
            extras.append("manual trigger")
        if not r.auto_init:
            extras.append("auto_init=False")
        if r.deps:
            extras.append("after " + ", ".join(r.deps))
        if r.labels:
            extras.append("labels " + ", ".join(r.labels))
        lines.append(head + (f"  ({'; '.join(extras)})" if extras else ""))
        for o in r.objects:
            lines.append(f"  {o.kind} {o.name}" + (f" (namespace {o.namespace})" if o.namespace else ""))
        for pf in r.port_forwards:
            target = f" -> {pf.container_port}" if pf.container_port else ""
            lines.append(f"  port-forward {pf.local_port}{target}")
        if r.type == "local":
            lines.append(f"  cmd: {_fmt_cmd(r.cmd)}")
            if r.serve_cmd:
                lines.append(f"  serve: {_fmt_cmd(r.serve_cmd)}")
            for d in r.deps_paths:
                lines.append(f"  watches {rel(d)}")
        for ref in r.images:
            shown.add(ref)
            img = images.get(ref)
            if img is not None:
                lines.extend("  " + ln for ln in _image_lines(img, rel))
    for img in model.images:
        if img.ref not in shown:
            lines.append("image not used by any resource:")
            lines.extend("  " + ln for ln in _image_lines(img, rel))
    errors = sum(1 for d in model.diagnostics if d.severity == Severity.ERROR)
    warnings = sum(1 for d in model.diagnostics if d.severity == Severity.WARNING)
    lines.append(f"{len(model.resources)} resources, {len(model.images)} images, {errors} errors, {warnings} warnings")
    for diag in model.diagnostics:
        start = diag.range.start
        lines.append(f"  {rel(diag.path)}:{start.line + 1}:{start.character + 1}: {diag.severity.label} {diag.code} {diag.message}")
    return "\n".join(lines) + "\n"


def _image_lines(img: Image, rel: Any) -> list[str]:
    where = rel(img.context)
    out = [f"image {img.ref} ({img.kind}, context {where})"]
    if img.dockerfile:
        out.append(f"  dockerfile {rel(img.dockerfile)}" + (f" target {img.target}" if img.target else ""))
    elif img.dockerfile_contents is not None:
        out.append("  dockerfile inline")
    lu = img.live_update
    if lu is not None:
        out.append("  live_update:")
        if lu.initial_sync:
            out.append("    initial_sync")
        for p in lu.fall_back_on:
            out.append(f"    fall_back_on {rel(p)}")
        for s in lu.syncs:
            out.append(f"    sync {rel(s.local)} -> {s.remote}")
        for r in lu.runs:
            trig = f"  (when {', '.join(rel(t) for t in r.triggers)} changes)" if r.triggers else ""
            out.append(f"    run {_fmt_cmd(r.argv)}{trig}")
        if lu.restart_container:
            out.append("    restart_container")
    return out


def cmd_model(path: str, fmt: str) -> int:
    from .tiltfile.evaluate import evaluate, find_tiltfile

    tf = find_tiltfile(path)
    if not os.path.exists(tf):
        print(f"tilt-lsp model: no Tiltfile at {tf}", file=sys.stderr)
        return 2
    model = evaluate(tf)
    if fmt == "json":
        json.dump(model_json(model), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(model_text(model))
    return 1 if any(d.severity == Severity.ERROR for d in model.diagnostics) else 0
