"""Semantic checks over an evaluated model (live update, files, resources and images)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from .model import Image, Location, RelatedInfo, Severity, TiltfileModel, image_name
from .values import starlark_repr

if TYPE_CHECKING:
    from .tilt_api import TiltState

Report = Callable[..., None]

RESTART_K8S_MESSAGE = (
    "Found `restart_container()` LiveUpdate step in resource(s): [{res}]. `restart_container()`  has been "
    "deprecated for k8s resources. We recommend the restart_process extension: "
    "https://github.com/tilt-dev/tilt-extensions/tree/master/restart_process. For more information, see "
    "https://docs.tilt.dev/live_update_reference.html#restarting-your-process"
)


def is_under(path: str, root: str) -> bool:
    path = os.path.normpath(path)
    root = os.path.normpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _exists(st: TiltState, path: str) -> bool:
    return st.read_text(path) is not None or os.path.exists(path)


def run_checks(model: TiltfileModel, st: TiltState, report: Report) -> TiltfileModel:
    # Steps created but never handed to a build.
    for step in st.steps:
        if not step.used:
            report(
                "TL403",
                f"live_update step was created but not used in a live_update: value '{starlark_repr(step)}' "
                f"of type '{step.type_name}'",
                step.location,
            )

    images = list(model.images)
    # Attach the classic live_update(image, steps) form to the image it names.
    for ref, spec, loc in st.classic:
        idx = next((i for i, img in enumerate(images) if img.ref == ref), None)
        if idx is None:
            idx = next((i for i, img in enumerate(images) if image_name(img.ref) == image_name(ref)), None)
        if idx is None:
            report("TL601", f"live_update for image {ref!r}, but no docker_build or custom_build builds it", loc)
            continue
        images[idx] = replace(images[idx], live_update=spec)

    k8s_images = {image_name(i) for o in model.k8s_objects for i in o.images}
    compose_images = {image_name(s.image) for p in model.compose for s in p.services if s.image}
    restart_k8s: list[tuple[Image, Location | None]] = []
    for img in images:
        where = img.location
        if img.kind == "docker_build":
            if not os.path.isdir(img.context) and not _exists(st, img.context):
                report("TL506", f"docker_build: build context does not exist: {img.context}", where)
            if img.dockerfile is not None and not _exists(st, img.dockerfile):
                report("TL502", f"docker_build: Dockerfile not found: {img.dockerfile}", where)
        lu = img.live_update
        if lu is None:
            continue
        watched = [p for p in img.watch_paths]
        shown = "[" + " ".join(watched) + "]"
        for s in lu.syncs:
            if watched and not any(is_under(s.local, w) for w in watched):
                report(
                    "TL404",
                    f"sync step source '{s.local}' is not a child of any watched filepaths ({shown})",
                    s.location,
                )
            elif not os.path.exists(s.local) and st.read_text(s.local) is None:
                report("TL504", f"sync source does not exist: {s.local}", s.location)
        for p in lu.fall_back_on:
            if watched and not any(is_under(p, w) for w in watched):
                report(
                    "TL405",
                    f"fall_back_on paths '{p}' is not a child of any watched filepaths ({shown})",
                    lu.location,
                )
        for r in lu.runs:
            for t in r.triggers:
                if not any(is_under(t, s.local) for s in lu.syncs):
                    report(
                        "TL406",
                        f"run() trigger '{os.path.relpath(t, lu.base_dir)}' is not under any sync() path: "
                        "a change there falls back to a full rebuild, so this run can never fire",
                        r.location,
                    )
        if lu.restart_container and image_name(img.ref) in k8s_images and image_name(img.ref) not in compose_images:
            restart_k8s.append((img, lu.location))
    for img, lu_loc in restart_k8s:
        res = ", ".join(
            o.name for o in model.k8s_objects if image_name(img.ref) in {image_name(i) for i in o.images}
        )
        report("TL407", RESTART_K8S_MESSAGE.format(res=res), lu_loc)

    # k8s_resource / dc_resource naming things that do not exist.
    if not st.opaque_yaml and st.workload_fn is None:
        names = _workload_names(model) | {name for name, _, _ in st.custom_deploys}
        for cfg in model.k8s_resources:
            if cfg.workload and cfg.workload not in names and not _matches_any_object(cfg.workload, model):
                near = _near(cfg.workload, sorted(names))
                msg = f"k8s_resource: no workload found matching {cfg.workload!r}"
                if near:
                    msg += f" (did you mean {near}?)"
                elif names:
                    msg += f"; workloads are: {', '.join(sorted(names)[:8])}"
                report("TL603", msg, cfg.location)
    services = {s.name for p in model.compose for s in p.services}
    if model.compose and not any(not p.services for p in model.compose):
        for dc in model.dc_resources:
            if dc.name not in services:
                near = _near(dc.name, sorted(services))
                msg = f"dc_resource: no Docker Compose service named {dc.name!r}"
                if near:
                    msg += f" (did you mean {near}?)"
                report("TL605", msg, dc.location)

    # Images nobody deploys.
    deployed = k8s_images | compose_images | {image_name(r) for r in st.image_deps}
    deployed |= {image_name(sel) for _, sel, _ in st.custom_deploys if sel}
    suppressed = {image_name(r) for r in st.suppressed_unused}
    if not st.opaque_yaml and (model.k8s_objects or model.compose) and not st.custom_kinds:
        for img in images:
            if image_name(img.ref) not in deployed and image_name(img.ref) not in suppressed:
                report(
                    "TL606",
                    f"Image not used in any deploy config: {img.ref!r} is built but no Kubernetes object or "
                    "Compose service uses it",
                    img.location,
                )

    # Duplicate resource names.
    seen: dict[str, Location | None] = {}
    for lr in model.local_resources:
        if lr.name in seen:
            prev = seen[lr.name]
            rel = (RelatedInfo(prev, "first declared here"),) if prev else ()
            report("TL604", f"local_resource named {lr.name!r} already exists", lr.location, Severity.ERROR, rel)
        seen[lr.name] = lr.location
    return replace(model, images=tuple(images))


def _workload_names(model: TiltfileModel) -> set[str]:
    out: set[str] = set()
    for o in model.k8s_objects:
        if o.is_workload:
            out.add(o.name)
            out.add(f"{o.name}:{o.kind.lower()}")
            out.add(o.selector)
    return out


def _matches_any_object(sel: str, model: TiltfileModel) -> bool:
    from .resources import selector_matches

    return any(selector_matches(sel, o) for o in model.k8s_objects)


def _near(word: str, cands: list[str]) -> str | None:
    import difflib

    m = difflib.get_close_matches(word, cands, n=1, cutoff=0.6)
    return m[0] if m else None
