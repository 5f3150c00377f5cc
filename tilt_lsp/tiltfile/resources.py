"""Grouping declarations into resources, following Tilt's naming rules.

- Each Kubernetes workload (an object with a pod template) becomes a resource
  named after the workload; names shared by several workloads are qualified as
  ``name:kind`` and then ``name:kind:namespace``.
- ``workload_to_resource_function(fn)`` renames them through a user function.
- ``k8s_resource(workload, new_name=, objects=, ...)`` adjusts a resource, and
  with no workload but ``new_name`` and ``objects`` creates one.
- Non-workload objects nobody claimed go to ``uncategorized``.
- Images join the resources whose containers run them.
- local_resource and Docker Compose services are resources of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import K8sObject, PortForward, Resource, TiltfileModel, TriggerMode, image_name
from .values import TiltObject, starlark_str

if TYPE_CHECKING:
    from .interp import Interpreter
    from .tilt_api import TiltState


def selector_matches(sel: str, obj: K8sObject) -> bool:
    parts = sel.split(":")
    if not parts or parts[0] != obj.name:
        return False
    if len(parts) >= 2 and parts[1] and parts[1].lower() != obj.kind.lower():
        return False
    if len(parts) >= 3 and parts[2] and parts[2] != (obj.namespace or "default"):
        return False
    return len(parts) <= 3


@dataclass
class _Draft:
    name: str
    objects: list[K8sObject] = field(default_factory=list)
    port_forwards: list[PortForward] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    trigger_mode: TriggerMode | None = None
    auto_init: bool = True
    aliases: set[str] = field(default_factory=set)


def _default_names(workloads: list[K8sObject]) -> list[str]:
    names = [o.name for o in workloads]
    for level in (1, 2):
        counts: dict[str, int] = {}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
        if all(c == 1 for c in counts.values()):
            break
        new = []
        for o, n in zip(workloads, names, strict=True):
            if counts[n] > 1:
                n = f"{o.name}:{o.kind.lower()}" if level == 1 else f"{o.name}:{o.kind.lower()}:{o.namespace or 'default'}"
            new.append(n)
        names = new
    return names


def assemble_resources(
    model: TiltfileModel, st: TiltState, interp: Interpreter, report: Callable[..., None]
) -> tuple[Resource, ...]:
    workloads = [o for o in model.k8s_objects if o.is_workload]
    others = [o for o in model.k8s_objects if not o.is_workload]
    names = _default_names(workloads)
    if st.workload_fn is not None:
        renamed = []
        for o, n in zip(workloads, names, strict=True):
            oid = TiltObject(
                "K8sObjectID",
                {"name": o.name, "kind": o.kind, "namespace": o.namespace or "default", "group": _group(o.api_version)},
            )
            v: Any = interp.call_value(st.workload_fn, [oid])
            renamed.append(starlark_str(v) if isinstance(v, str) else n)
        names = renamed
    drafts: dict[str, _Draft] = {}
    order: list[str] = []
    for o, n in zip(workloads, names, strict=True):
        if n not in drafts:
            drafts[n] = _Draft(n, aliases={o.name, f"{o.name}:{o.kind.lower()}", o.selector})
            order.append(n)
        else:
            drafts[n].aliases |= {o.name, o.selector}
        drafts[n].objects.append(o)

    claimed: set[int] = set()
    for cfg in model.k8s_resources:
        target: _Draft | None = None
        if cfg.workload:
            target = drafts.get(cfg.workload) or next(
                (d for d in drafts.values() if cfg.workload in d.aliases), None
            )
            if target is None:
                continue
        elif cfg.new_name and cfg.objects:
            target = _Draft(cfg.new_name)
            drafts[cfg.new_name] = target
            order.append(cfg.new_name)
        if target is None:
            continue
        for sel in cfg.objects:
            for i, o in enumerate(others):
                if i not in claimed and selector_matches(sel, o):
                    target.objects.append(o)
                    claimed.add(i)
        target.port_forwards.extend(cfg.port_forwards)
        target.deps.extend(cfg.resource_deps)
        target.labels.extend(cfg.labels)
        if cfg.trigger_mode is not None:
            target.trigger_mode = cfg.trigger_mode
        if not cfg.auto_init:
            target.auto_init = False
        if cfg.new_name and cfg.workload:
            old = target.name
            drafts.pop(old, None)
            target.name = cfg.new_name
            drafts[cfg.new_name] = target
            order[order.index(old)] = cfg.new_name

    image_names = [(image_name(img.ref), img.ref) for img in model.images]
    out: list[Resource] = []
    rest = [o for i, o in enumerate(others) if i not in claimed]
    if rest:
        out.append(Resource("uncategorized", "k8s", objects=tuple(rest), trigger_mode=model.trigger_mode))
    for n in order:
        d = drafts[n]
        used = {image_name(i) for o in d.objects for i in o.images}
        imgs = tuple(ref for n, ref in image_names if n in used)
        out.append(
            Resource(
                name=d.name,
                type="k8s",
                images=imgs,
                deps=tuple(d.deps),
                port_forwards=tuple(d.port_forwards),
                labels=tuple(d.labels),
                trigger_mode=d.trigger_mode or model.trigger_mode,
                objects=tuple(d.objects),
                auto_init=d.auto_init,
                location=next((c.location for c in model.k8s_resources if c.workload in d.aliases | {d.name}), None),
            )
        )

    # k8s_custom_deploy declares a Kubernetes resource of its own.
    cfg_by_name = {c.workload: c for c in model.k8s_resources if c.workload}
    for name, sel, loc in st.custom_deploys:
        cfg = cfg_by_name.get(name)
        imgs = tuple(ref for n, ref in image_names if sel and n == image_name(sel))
        out.append(
            Resource(
                name=cfg.new_name if cfg and cfg.new_name else name,
                type="k8s",
                images=imgs,
                deps=cfg.resource_deps if cfg else (),
                port_forwards=cfg.port_forwards if cfg else (),
                labels=cfg.labels if cfg else (),
                trigger_mode=(cfg.trigger_mode if cfg and cfg.trigger_mode else model.trigger_mode),
                auto_init=cfg.auto_init if cfg else True,
                location=loc,
            )
        )

    dc_cfg = {c.name: c for c in model.dc_resources}
    for proj in model.compose:
        for svc in proj.services:
            dcfg = dc_cfg.get(svc.name)
            imgs = tuple(
                img.ref
                for img in model.images
                if (svc.image and image_name(img.ref) == image_name(svc.image)) or img.ref == svc.name
            )
            out.append(
                Resource(
                    name=(dcfg.new_name if dcfg and dcfg.new_name else svc.name),
                    type="docker_compose",
                    images=imgs,
                    deps=dcfg.resource_deps if dcfg else (),
                    labels=dcfg.labels if dcfg else (),
                    trigger_mode=(dcfg.trigger_mode if dcfg and dcfg.trigger_mode else model.trigger_mode),
                    auto_init=dcfg.auto_init if dcfg else True,
                    location=dcfg.location if dcfg else proj.location,
                )
            )

    for lr in model.local_resources:
        out.append(
            Resource(
                name=lr.name,
                type="local",
                deps=lr.resource_deps,
                labels=lr.labels,
                trigger_mode=lr.trigger_mode,
                cmd=lr.cmd,
                serve_cmd=lr.serve_cmd,
                deps_paths=lr.deps,
                auto_init=lr.auto_init,
                location=lr.location,
            )
        )
    return tuple(out)


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""
