"""Grouping declarations into resources, following Tilt's naming rules.

- Each Kubernetes workload (an object with a container image, or of a kind that
  ``k8s_kind`` declared) becomes a resource named after the workload; names
  shared by several workloads are qualified as ``name:kind`` and then
  ``name:kind:namespace``.
- ``workload_to_resource_function(fn)`` renames them through a user function.
- A Service whose selector matches a workload's pod template labels (in the
  same namespace, or with no namespace of its own) joins that workload.
- ``k8s_resource(workload, new_name=, objects=, ...)`` adjusts a resource, and
  with no workload but ``new_name`` and ``objects`` creates one.
- Non-workload objects nobody claimed go to ``uncategorized``.
- Images join the resources whose containers run them, after the images they
  are built from (Dockerfile ``FROM``, ``custom_build(image_deps=)``), as in
  Tilt's manifests.
- Resources come in Tilt's order: Kubernetes resources (``k8s_custom_deploy``
  first, then workloads in YAML order, then ``k8s_resource``-made groups),
  Docker Compose services, local resources, and ``uncategorized`` last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import K8sObject, PortForward, Resource, TiltfileModel, TriggerMode, image_name
from .values import TiltObject, starlark_str

if TYPE_CHECKING:
    from .interp import Interpreter
    from .model import Location
    from .tilt_api import TiltState


def selector_matches(sel: str, obj: K8sObject) -> bool:
    parts = sel.split(":")
    if not parts or parts[0].lower() != obj.name.lower():
        return False
    if len(parts) >= 2 and parts[1] and parts[1].lower() != obj.kind.lower():
        return False
    if len(parts) >= 3 and parts[2] and parts[2].lower() != (obj.namespace or "default").lower():
        return False
    return len(parts) <= 3


def _service_joins(svc: K8sObject, workload: K8sObject) -> bool:
    """Tilt's rule for attaching a Service to a workload: its selector matches a pod template."""
    if svc.service_selector is None:
        return False
    if svc.namespace not in (None, "default") and svc.namespace != (workload.namespace or "default"):
        return False
    return any(
        all(labels.get(k) == v for k, v in svc.service_selector.items()) for labels in workload.pod_template_labels
    )


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
    image_refs: list[str] = field(default_factory=list)  # k8s_custom_deploy: images it builds
    location: Location | None = None


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


def _add_unique(dest: list[str], items: tuple[str, ...] | list[str]) -> None:
    for x in items:
        if x not in dest:
            dest.append(x)


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
    # k8s_custom_deploy makes its resource while the Tiltfile runs, before any workload.
    for name, _sel, loc in st.custom_deploys:
        if name not in drafts:
            drafts[name] = _Draft(name, aliases={name}, image_refs=list(st.custom_deploy_images.get(name, [])),
                                  location=loc)
            order.append(name)
    claimed: set[int] = set()
    for o, n in zip(workloads, names, strict=True):
        if n not in drafts:
            drafts[n] = _Draft(n, aliases={o.name, f"{o.name}:{o.kind.lower()}", o.selector})
            order.append(n)
        else:
            drafts[n].aliases |= {o.name, o.selector}
        drafts[n].objects.append(o)
        for i, other in enumerate(others):
            if i not in claimed and _service_joins(other, o):
                drafts[n].objects.append(other)
                claimed.add(i)

    for cfg in model.k8s_resources:
        target: _Draft | None = None
        if cfg.workload:
            target = drafts.get(cfg.workload) or next(
                (d for d in drafts.values() if cfg.workload in d.aliases), None
            )
            if target is None:
                if not st.opaque_yaml:
                    continue
                # The workload may be in YAML we cannot see (helm, kustomize, local output):
                # keep the resource the Tiltfile configures.
                target = _Draft(cfg.workload, aliases={cfg.workload})
                drafts[cfg.workload] = target
                order.append(cfg.workload)
        elif cfg.new_name and cfg.objects:
            target = drafts.get(cfg.new_name)
            if target is None:
                target = _Draft(cfg.new_name)
                drafts[cfg.new_name] = target
                order.append(cfg.new_name)
        if target is None:
            continue
        if target.location is None:
            target.location = cfg.location
        for sel in cfg.objects:
            for i, o in enumerate(others):
                if i not in claimed and selector_matches(sel, o):
                    target.objects.append(o)
                    claimed.add(i)
        target.port_forwards.extend(cfg.port_forwards)
        _add_unique(target.deps, cfg.resource_deps)
        _add_unique(target.labels, cfg.labels)
        if cfg.trigger_mode is not None:
            target.trigger_mode = cfg.trigger_mode
        if not cfg.auto_init:
            target.auto_init = False
        if cfg.new_name and cfg.workload and cfg.new_name != target.name and cfg.new_name not in drafts:
            old = target.name
            drafts.pop(old, None)
            target.name = cfg.new_name
            drafts[cfg.new_name] = target
            order[order.index(old)] = cfg.new_name

    images = _ImageIndex(model, st)
    out: list[Resource] = []
    for n in order:
        d = drafts[n]
        direct = d.image_refs + [i for o in d.objects for i in o.images]
        out.append(
            Resource(
                name=d.name,
                type="k8s",
                images=images.expand(direct),
                deps=tuple(d.deps),
                port_forwards=tuple(d.port_forwards),
                labels=tuple(d.labels),
                trigger_mode=d.trigger_mode or model.trigger_mode,
                objects=tuple(d.objects),
                auto_init=d.auto_init,
                location=d.location,
            )
        )

    dc_cfg = {c.name: c for c in model.dc_resources}
    for proj in model.compose:
        for svc in proj.services:
            dcfg = dc_cfg.get(svc.name)
            direct = [
                img.ref
                for img in model.images
                if (svc.image and image_name(img.ref) == image_name(svc.image)) or img.ref == svc.name
            ]
            out.append(
                Resource(
                    name=(dcfg.new_name if dcfg and dcfg.new_name else svc.name),
                    type="docker_compose",
                    images=images.expand(direct),
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

    rest = [o for i, o in enumerate(others) if i not in claimed]
    if rest:
        # Tilt's manifest for leftover objects sets no trigger mode, so it is always auto.
        out.append(Resource("uncategorized", "k8s", objects=tuple(rest)))
    return tuple(out)


class _ImageIndex:
    """Maps the image refs a deploy consumes to the images this Tiltfile builds."""

    def __init__(self, model: TiltfileModel, st: TiltState) -> None:
        self.refs = [img.ref for img in model.images]
        self.ref_set = set(self.refs)
        self.by_name: dict[str, str] = {}
        for r in self.refs:
            self.by_name.setdefault(image_name(r), r)
        self.deps = st.image_dep_refs

    def builder(self, consumed: str) -> str | None:
        if consumed in self.ref_set:
            return consumed
        return self.by_name.get(image_name(consumed))

    def expand(self, consumed: list[str]) -> tuple[str, ...]:
        """Built images for `consumed`, each after the built images it depends on (deduplicated)."""
        out: list[str] = []
        seen: set[str] = set()

        def visit(ref: str) -> None:
            if ref in seen:
                return
            seen.add(ref)
            for dep in self.deps.get(ref, ()):
                b = self.builder(dep)
                if b is not None:
                    visit(b)
            out.append(ref)

        for c in consumed:
            b = self.builder(c)
            if b is not None:
                visit(b)
        return tuple(out)


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""
