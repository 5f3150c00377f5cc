"""Tilt's builtins, evaluated safely into declarations.

Nothing here runs a host command or touches the network: ``local()``,
``helm()`` and ``kustomize()`` return placeholder blobs that remember what
would have produced them.  Reading files inside the project is allowed (Tilt
reads them too), with a size cap.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import catalog
from .binding import bind
from .fastyaml import load_simple
from .model import (
    ComposeProject,
    ComposeService,
    Container,
    DcResourceConfig,
    Image,
    K8sObject,
    K8sResourceConfig,
    LiveUpdateSpec,
    LocalResource,
    Location,
    Output,
    PortForward,
    RunStep,
    Severity,
    SyncStep,
    TriggerMode,
)
from .values import (
    Blob,
    Builtin,
    EvalError,
    FrozenDict,
    Module,
    Step,
    Struct,
    TiltObject,
    Unknown,
    iterate,
    starlark_repr,
    starlark_str,
    type_name,
)

if TYPE_CHECKING:
    from .interp import Interpreter

MAX_READ_BYTES = 16 * 1024 * 1024


def _yaml() -> Any:
    """PyYAML, imported on first use (a Tiltfile without YAML does not pay for it)."""
    import yaml

    return yaml


def _yaml_loader() -> Any:
    # libyaml's parser is ~10x faster than the pure-Python one; both are safe loaders.
    yaml = _yaml()
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class PendingImage:
    image: Image
    steps_value: Any  # raw live_update value, validated at creation


@dataclass
class TiltState:
    """Everything a Tiltfile declared, accumulated while it runs."""

    root: str
    root_file: str
    interp: Interpreter
    diag: Callable[[str, str, Location | None, Severity | None], None]
    read_text: Callable[[str], str | None]  # overlay-aware file reader (None: missing)
    images: list[Image] = field(default_factory=list)
    image_refs: set[str] = field(default_factory=set)
    classic: list[tuple[str, LiveUpdateSpec, Location]] = field(default_factory=list)
    k8s_objects: list[K8sObject] = field(default_factory=list)
    k8s_resources: list[K8sResourceConfig] = field(default_factory=list)
    local_resources: list[LocalResource] = field(default_factory=list)
    compose: list[ComposeProject] = field(default_factory=list)
    dc_resources: list[DcResourceConfig] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    output: list[Output] = field(default_factory=list)
    trigger_mode: TriggerMode = "auto"
    trigger_mode_set: bool = False
    team_set: bool = False
    watch_ignores: list[str] = field(default_factory=list)
    watched_files: list[str] = field(default_factory=list)
    default_registry: str | None = None
    allowed_contexts: list[str] = field(default_factory=list)
    enabled_resources: list[str] | None = None
    opaque_yaml: bool = False  # k8s_yaml got a placeholder: object lists are incomplete
    workload_fn: Any = None
    config_defs: dict[str, str] = field(default_factory=dict)
    config_parsed: bool = False
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    custom_kinds: dict[str, str | None] = field(default_factory=dict)
    api_objects: list[tuple[str, str, Location | None]] = field(default_factory=list)
    custom_deploys: list[tuple[str, str | None, Location | None]] = field(default_factory=list)
    # k8s_custom_deploy name -> refs its resource builds (image_deps, then the live-update image)
    custom_deploy_images: dict[str, list[str]] = field(default_factory=dict)
    # image ref -> refs it is built from (Dockerfile FROM / COPY --from, custom_build image_deps), in order
    image_dep_refs: dict[str, list[str]] = field(default_factory=dict)
    k8s_docs: list[dict[str, Any]] = field(default_factory=list)  # parallel to k8s_objects
    kind_rules: list[KindRule] = field(default_factory=list)
    image_deps: set[str] = field(default_factory=set)  # refs other images build FROM / depend on
    suppressed_unused: set[str] = field(default_factory=set)
    load_dynamic: Callable[[str], dict[str, Any]] | None = None
    include: Callable[[str], None] | None = None

    # ------------------------------------------------------------ utilities

    @property
    def here(self) -> str:
        """Directory of the file being executed (relative paths resolve here, as in Tilt)."""
        return os.path.dirname(self.interp.exec_path) or self.root

    def call_loc(self) -> Location | None:
        c = self.interp.cur_call
        if c is None:
            return None
        return self.interp.loc(c[1], c[0])

    def arg_loc(self, name: str, position: int | None = None) -> Location | None:
        """Location of an argument of the builtin call being evaluated, by keyword or position."""
        c = self.interp.cur_call
        if c is None:
            return None
        path, node = c
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == name:
                    return self.interp.loc(kw.value, path)
            if position is not None and position < len(node.args):
                return self.interp.loc(node.args[position], path)
        return self.interp.loc(node, path)

    def abspath(self, p: str) -> str:
        p = os.path.expanduser(p)
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(self.here, p))

    def warn_at(self, code: str, msg: str, loc: Location | None = None) -> None:
        self.diag(code, msg, loc or self.call_loc(), None)


def _s(fname: str, pname: str, v: Any, *, allow_none: bool = False) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, Blob):
        return v.text
    if v is None and allow_none:
        return ""
    raise EvalError(f"{fname}: for parameter {pname}: got {type_name(v)}, want string")


def _str_list(fname: str, pname: str, v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, (str, Blob)):
        return [starlark_str(v)]
    if isinstance(v, (list, tuple)):
        out = []
        for x in v:
            if not isinstance(x, (str, Blob)):
                raise EvalError(
                    f"{fname}: for parameter {pname}: value should be a string or List or Tuple of strings, "
                    f"but is of type {type_name(x)}"
                )
            out.append(starlark_str(x))
        return out
    raise EvalError(
        f"{fname}: for parameter {pname}: value should be a string or List or Tuple of strings, "
        f"but is of type {type_name(v)}"
    )


def _bool(fname: str, pname: str, v: Any, default: bool = False) -> bool:
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    raise EvalError(f"{fname}: for parameter {pname}: got {type_name(v)}, want bool")


def _cmd(fname: str, pname: str, v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    if isinstance(v, (str, Blob)):
        s = starlark_str(v)
        return ("sh", "-c", s) if s else None
    if isinstance(v, (list, tuple)):
        return tuple(_str_list(fname, pname, v))
    raise EvalError(f"{fname}: for parameter {pname}: got {type_name(v)}, want string or list of strings")


def _trigger_mode(fname: str, v: Any) -> TriggerMode | None:
    if v is None:
        return None
    if isinstance(v, TiltObject) and v.type_name == "TriggerMode":
        mode = v.fields.get("mode")
        return "manual" if mode == "manual" else "auto"
    raise EvalError(f"{fname}: for parameter trigger_mode: got {type_name(v)}, want TriggerMode")


def to_plain(v: Any) -> Any:
    """Starlark value -> JSON/YAML-able Python value."""
    if isinstance(v, Blob):
        return v.text
    if isinstance(v, (list, tuple)):
        return [to_plain(x) for x in v]
    if isinstance(v, dict):
        return {starlark_str(k): to_plain(x) for k, x in v.items()}
    if isinstance(v, Struct):
        return {k: to_plain(x) for k, x in v.fields.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise EvalError(f"unsupported type {type_name(v)} for encoding")


def from_plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k) if not isinstance(k, (str, int, float, bool)) else k: from_plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_plain(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def _safe_yaml_docs(text: str, where: str) -> list[Any]:
    docs = load_simple(text)  # plain manifests: no PyYAML needed (see fastyaml)
    if docs is not None:
        return docs
    yaml = _yaml()
    try:
        return [d for d in yaml.load_all(text, Loader=_yaml_loader()) if d is not None]
    except yaml.YAMLError as e:
        raise EvalError(f"{where}: error parsing YAML: {str(e).splitlines()[0]}") from None


# API groups of Kubernetes' own kinds. Tilt decodes these into typed objects, where it finds
# containers, pod templates and Service selectors; objects of other groups (custom resources) stay
# unstructured and are only understood through k8s_kind().
_BUILTIN_GROUPS = frozenset({
    "", "admissionregistration.k8s.io", "apps", "authentication.k8s.io", "authorization.k8s.io", "autoscaling",
    "batch", "certificates.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "extensions",
    "flowcontrol.apiserver.k8s.io", "internal.apiserver.k8s.io", "networking.k8s.io", "node.k8s.io", "policy",
    "rbac.authorization.k8s.io", "resource.k8s.io", "scheduling.k8s.io", "storage.k8s.io",
    "storagemigration.k8s.io",
})


def is_builtin_api(api_version: str) -> bool:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return group in _BUILTIN_GROUPS


def _str_map(v: Any) -> dict[str, str]:
    return {str(k): str(x) for k, x in v.items()} if isinstance(v, dict) else {}


def _pod_template_labels(v: Any, depth: int = 0) -> list[dict[str, str]]:
    """Labels of every pod template (a `template` holding a pod spec) inside a typed object."""
    out: list[dict[str, str]] = []
    if depth > 8:
        return out
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "template" and isinstance(x, dict) and isinstance(x.get("spec"), dict) and "containers" in x["spec"]:
                meta = x.get("metadata")
                out.append(_str_map(meta.get("labels") if isinstance(meta, dict) else None))
            elif isinstance(x, (dict, list)):
                out.extend(_pod_template_labels(x, depth + 1))
    elif isinstance(v, list):
        for x in v:
            out.extend(_pod_template_labels(x, depth + 1))
    return out


def _object_meta_labels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Labels of every ObjectMeta in a typed object (its own and its pod/job templates').

    Tilt's filter_yaml(labels=...) requires all of them to carry the labels, and finds none in
    custom resources (which therefore always match).
    """
    if not is_builtin_api(str(doc.get("apiVersion") or "")):
        return []
    out: list[dict[str, Any]] = []

    def walk(v: Any, depth: int) -> None:
        if depth > 10:
            return
        if isinstance(v, dict):
            for k, x in v.items():
                if k == "metadata" and isinstance(x, dict):
                    lab = x.get("labels")
                    out.append(lab if isinstance(lab, dict) else {})
                elif isinstance(x, (dict, list)):
                    walk(x, depth + 1)
        elif isinstance(v, list):
            for x in v:
                walk(x, depth + 1)

    walk(doc, 0)
    return out


def k8s_entries_from_docs(
    docs: Iterable[Any], source: Location | None, source_file: str | None
) -> list[tuple[K8sObject, dict[str, Any]]]:
    """K8sObjects with the YAML document each came from."""
    out: list[tuple[K8sObject, dict[str, Any]]] = []
    stack = list(docs)
    while stack:
        d = stack.pop(0)
        if not isinstance(d, dict):
            continue
        kind = str(d.get("kind") or "")
        if kind == "List" and isinstance(d.get("items"), list):
            stack[0:0] = d["items"]
            continue
        raw_meta = d.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        name = str(meta.get("name") or "")
        ns = meta.get("namespace")
        api_version = str(d.get("apiVersion") or "")
        typed = is_builtin_api(api_version)
        spec = d.get("spec")
        selector: dict[str, str] | None = None
        if kind == "Service" and api_version == "v1":
            selector = _str_map(spec.get("selector") if isinstance(spec, dict) else None)
        obj = K8sObject(
            kind=kind,
            name=name,
            namespace=str(ns) if ns else None,
            api_version=api_version,
            containers=tuple(_find_containers(spec)) if typed else (),
            labels=_str_map(meta.get("labels")),
            source=source,
            source_file=source_file,
            pod_template_labels=tuple(_pod_template_labels(spec)) if typed else (),
            service_selector=selector,
        )
        out.append((obj, d))
    return out


def k8s_objects_from_docs(docs: Iterable[Any], source: Location | None, source_file: str | None) -> list[K8sObject]:
    return [o for o, _ in k8s_entries_from_docs(docs, source, source_file)]


def _json_path_values(doc: Any, path: str) -> list[Any]:
    """Values at a simple JSONPath such as ``{.spec.image}`` or ``{.spec.containers[*].image}``."""
    p = path.strip()
    if p.startswith("{") and p.endswith("}"):
        p = p[1:-1]
    p = p.strip().lstrip("$").lstrip(".")
    cur: list[Any] = [doc]
    for part in [x for x in p.split(".") if x]:
        key, _, index = part.partition("[")
        nxt: list[Any] = []
        for c in cur:
            v = c.get(key) if isinstance(c, dict) and key else c
            if v is None:
                continue
            if index:
                ix = index.rstrip("]")
                if not isinstance(v, list):
                    continue
                if ix == "*":
                    nxt.extend(v)
                elif ix.lstrip("-").isdigit() and -len(v) <= int(ix) < len(v):
                    nxt.append(v[int(ix)])
            else:
                nxt.append(v)
        cur = nxt
    return cur


@dataclass(frozen=True)
class KindRule:
    """One k8s_kind() call: which objects it covers and where their images are."""

    kind: str
    api_version: str
    json_paths: tuple[str, ...] = ()
    image_object: tuple[str, str, str] | None = None  # (json_path, repo_field, tag_field)

    def matches(self, obj: K8sObject) -> bool:
        # Tilt compiles both as case-insensitive regular expressions that may match anywhere.
        try:
            kind_ok = re.search(self.kind, obj.kind, re.IGNORECASE) is not None
            api_ok = not self.api_version or re.search(self.api_version, obj.api_version, re.IGNORECASE) is not None
        except re.error:
            return False
        return kind_ok and api_ok

    def images(self, doc: dict[str, Any]) -> list[str]:
        out = [v for p in self.json_paths for v in _json_path_values(doc, p) if isinstance(v, str) and v]
        if self.image_object is not None:
            path, repo_field, tag_field = self.image_object
            for v in _json_path_values(doc, path):
                if isinstance(v, dict) and isinstance(v.get(repo_field), str):
                    tag = v.get(tag_field)
                    out.append(f"{v[repo_field]}:{tag}" if isinstance(tag, str) and tag else v[repo_field])
        return out


def apply_kind_rules(obj: K8sObject, doc: dict[str, Any], rules: Iterable[KindRule]) -> K8sObject:
    """Images that k8s_kind() locators find in an object, and kinds declared to be workloads."""
    for rule in rules:
        if not rule.matches(obj):
            continue
        if rule.json_paths or rule.image_object is not None:
            have = {c.image for c in obj.containers}
            extra = tuple(Container("", ref) for ref in rule.images(doc) if ref not in have)
            if extra:
                obj = replace(obj, containers=obj.containers + extra)
        elif not obj.workload_kind:
            obj = replace(obj, workload_kind=True)
    return obj


def _find_containers(spec: Any, depth: int = 0) -> list[Container]:
    """Containers anywhere in a pod template (Deployment, CronJob, Pod, custom kinds)."""
    found: list[Container] = []
    if depth > 8:
        return found
    if isinstance(spec, dict):
        for key in ("initContainers", "containers"):
            cs = spec.get(key)
            if isinstance(cs, list):
                for c in cs:
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        found.append(Container(str(c.get("name") or ""), c["image"]))
        for k, v in spec.items():
            if k not in ("containers", "initContainers") and isinstance(v, (dict, list)):
                found.extend(_find_containers(v, depth + 1))
    elif isinstance(spec, list):
        for v in spec:
            found.extend(_find_containers(v, depth + 1))
    return found


def dockerfile_image_list(text: str) -> list[str]:
    """Image refs a Dockerfile builds on, in order: FROM <ref> and COPY --from=<ref> (not stage names)."""
    out: list[str] = []
    stages: set[str] = set()
    for raw in text.splitlines():
        words = raw.strip().split()
        if not words:
            continue
        head = words[0].upper()
        refs: list[str] = []
        if head == "FROM":
            args = [w for w in words[1:] if not w.startswith("--")]
            if args:
                refs.append(args[0])
            if len(args) >= 3 and args[1].upper() == "AS":
                stages.add(args[2].lower())
        elif head == "COPY":
            refs.extend(w[len("--from="):] for w in words[1:] if w.startswith("--from="))
        for r in refs:
            if r.lower() not in stages and r not in out:
                out.append(r)
    return out


def dockerfile_image_refs(text: str) -> set[str]:
    """Image refs a Dockerfile builds on: FROM <ref> and COPY --from=<ref>."""
    out: set[str] = set()
    for raw in text.splitlines():
        words = raw.strip().split()
        if not words:
            continue
        head = words[0].upper()
        if head == "FROM":
            refs = [w for w in words[1:] if not w.startswith("--")]
            if refs:
                out.add(refs[0])
        elif head == "COPY":
            for w in words[1:]:
                if w.startswith("--from="):
                    out.add(w[len("--from="):])
    return out


def _compose_order(services: list[ComposeService], depends: dict[str, list[str]]) -> list[ComposeService]:
    """Services in the order Tilt lists them: by name, each after the services it depends on."""
    by_name = {s.name: s for s in services}
    out: list[ComposeService] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in by_name:
            return
        seen.add(name)
        for dep in sorted(depends.get(name, [])):
            visit(dep)
        out.append(by_name[name])

    for name in sorted(by_name):
        visit(name)
    return out


# ------------------------------------------------------------------ live update


STEP_ORDER = {"initial_sync": 0, "fall_back_on": 1, "sync": 2, "run": 3, "restart_container": 4}


def build_live_update(st: TiltState, fname: str, value: Any, loc: Location | None, classic: bool = False) -> LiveUpdateSpec | None:
    if value is None:
        return None
    steps_in: list[Any]
    if isinstance(value, Step):
        steps_in = [value]
    elif isinstance(value, (list, tuple)):
        steps_in = list(value)
    else:
        raise EvalError(
            f"{fname}: live_update: 'steps' must be a list of live update steps - got value "
            f"'{starlark_repr(value)}' of type '{type_name(value)}'",
            "TL409",
        )
    if not steps_in:
        return None
    state = -1
    last_restart = False
    initial = False
    fallbacks: list[str] = []
    syncs: list[SyncStep] = []
    runs: list[RunStep] = []
    restart = False
    for item in steps_in:
        if item is Unknown:
            continue
        if not isinstance(item, Step):
            raise EvalError(
                f"{fname}: live_update: 'steps' must be a list of live update steps - got value "
                f"'{starlark_repr(item)}' of type '{type_name(item)}'",
                "TL409",
            )
        item.used = True
        order = STEP_ORDER[item.kind]
        msg = None
        if item.kind == "initial_sync" and state >= 0:
            msg = "initial_sync must appear at most once, at the start of the list"
        elif item.kind == "fall_back_on" and state > 1:
            msg = "fall_back_on steps must appear at the start of the list"
        elif item.kind == "sync" and state > 2:
            msg = (
                "restart container is only valid as the last step"
                if state == 4
                else "all sync steps must precede all run steps"
            )
        elif item.kind == "run" and state == 4:
            msg = "restart container is only valid as the last step"
        if msg is not None:
            st.diag("TL401", f"live_update: {msg}", item.location, None)
        state = max(state, order)
        if item.kind == "initial_sync":
            initial = True
        elif item.kind == "fall_back_on":
            fallbacks.extend(item.args["paths"])
        elif item.kind == "sync":
            syncs.append(SyncStep(item.args["local"], item.args["remote"], item.location))
        elif item.kind == "run":
            runs.append(
                RunStep(item.args["argv"], tuple(item.args["triggers"]), item.args["echo_off"], item.location)
            )
        elif item.kind == "restart_container":
            restart = True
        last_restart = item.kind == "restart_container"
    del last_restart
    for i, s in enumerate(syncs):
        if not s.remote.startswith("/"):
            st.diag(
                "TL402",
                f'live_update: spec.syncs[{i}]: Invalid value: "{s.remote}": sync destination is not absolute',
                s.location,
                None,
            )
    spec = LiveUpdateSpec(
        base_dir=st.here,
        initial_sync=initial,
        fall_back_on=tuple(fallbacks),
        syncs=tuple(syncs),
        runs=tuple(runs),
        restart_container=restart,
        location=loc,
        classic=classic,
    )
    if not spec.enabled:
        st.diag(
            "TL408",
            "live_update: spec.syncs: Invalid value: null: must contain at least 1 sync or 1 exec to run on live update",
            loc,
            None,
        )
    return spec


# ----------------------------------------------------------------- the builtins


class TiltBuiltins:
    """Implementations of Tilt's API over a TiltState."""

    def __init__(self, st: TiltState) -> None:
        self.st = st

    def _b(self, qualname: str, args: tuple[Any, ...], kwargs: dict[str, Any], max_positional: int | None = None) -> dict[str, Any]:
        return bind(qualname, args, kwargs, max_positional)

    # ---- build

    def docker_build(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("docker_build", args, kwargs)
        ref = _s("docker_build", "ref", a["ref"])
        context = st.abspath(_s("docker_build", "context", a["context"]))
        contents = a.get("dockerfile_contents")
        dockerfile: str | None
        df_text: str | None = None
        if contents is not None and starlark_str(contents) != "":
            dockerfile = None
            df_text = _s("docker_build", "dockerfile_contents", contents)
        else:
            df = a.get("dockerfile")
            dockerfile = st.abspath(_s("docker_build", "dockerfile", df)) if df else os.path.join(context, "Dockerfile")
        if "cache" in a and a["cache"] not in (None, ""):
            st.warn_at("TL902", "docker_build: the cache parameter is obsolete and ignored by Tilt", st.arg_loc("cache"))
        build_args = a.get("build_args") or {}
        if not isinstance(build_args, dict):
            raise EvalError(f"docker_build: for parameter build_args: got {type_name(build_args)}, want dict")
        lu = build_live_update(st, "docker_build", a.get("live_update"), st.arg_loc("live_update", 6))
        target = a.get("target")
        img = Image(
            ref=ref,
            kind="docker_build",
            context=context,
            dockerfile=dockerfile,
            dockerfile_contents=df_text,
            target=_s("docker_build", "target", target) or None if target is not None else None,
            build_args={starlark_str(k): starlark_str(v) for k, v in build_args.items()},
            ignore=tuple(_str_list("docker_build", "ignore", a.get("ignore"))),
            only=tuple(_str_list("docker_build", "only", a.get("only"))),
            live_update=lu,
            entrypoint=_cmd("docker_build", "entrypoint", a.get("entrypoint")) or (),
            location=st.call_loc(),
            tiltfile_dir=st.here,
        )
        self._add_image(img)
        text = df_text if df_text is not None else (st.read_text(dockerfile) if dockerfile else None)
        if text:
            st.image_deps.update(dockerfile_image_refs(text))
            st.image_dep_refs[ref] = dockerfile_image_list(text)

    def _add_image(self, img: Image) -> None:
        st = self.st
        if img.ref in st.image_refs:
            raise EvalError(f"Image for ref {img.ref!r} has already been defined", "TL602")
        st.image_refs.add(img.ref)
        st.images.append(img)

    def custom_build(self, *args: Any, **kwargs: Any) -> TiltObject:
        st = self.st
        a = self._b("custom_build", args, kwargs)
        ref = _s("custom_build", "ref", a["ref"])
        command = _cmd("custom_build", "command", a.get("command"))
        deps = [st.abspath(p) for p in _str_list("custom_build", "deps", a.get("deps"))]
        image_deps = _str_list("custom_build", "image_deps", a.get("image_deps"))
        st.image_deps.update(image_deps)
        st.image_dep_refs[ref] = image_deps
        lu = build_live_update(st, "custom_build", a.get("live_update"), st.arg_loc("live_update"))
        img = Image(
            ref=ref,
            kind="custom_build",
            context=st.here,
            live_update=lu,
            deps=tuple(deps),
            command=command,
            ignore=tuple(_str_list("custom_build", "ignore", a.get("ignore"))),
            entrypoint=_cmd("custom_build", "entrypoint", a.get("entrypoint")) or (),
            location=st.call_loc(),
            tiltfile_dir=st.here,
        )
        self._add_image(img)
        return TiltObject("custom_build", {"ref": ref})

    def default_registry(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("default_registry", args, kwargs)
        self.st.default_registry = _s("default_registry", "host", a["host"])

    # ---- live update steps

    def _step(self, kind: str, args: dict[str, Any]) -> Step:
        loc = self.st.call_loc()
        assert loc is not None
        step = Step(kind, args, loc, self.st.here)
        self.st.steps.append(step)
        return step

    def sync(self, *args: Any, **kwargs: Any) -> Step:
        a = self._b("sync", args, kwargs)
        local = self.st.abspath(_s("sync", "local_path", a["local_path"]))
        remote = _s("sync", "remote_path", a["remote_path"])
        return self._step("sync", {"local": local, "remote": remote})

    def run(self, *args: Any, **kwargs: Any) -> Step:
        a = self._b("run", args, kwargs)
        cmd = a["cmd"]
        argv: tuple[str, ...]
        if isinstance(cmd, (str, Blob)):
            argv = ("sh", "-c", starlark_str(cmd))
        elif isinstance(cmd, (list, tuple)):
            argv = tuple(_str_list("run", "cmd", cmd))
        else:
            raise EvalError(f"run: for parameter cmd: got {type_name(cmd)}, want string or list of strings")
        trig = a.get("trigger")
        triggers: list[str] = []
        if trig is not None:
            items = [trig] if isinstance(trig, str) else list(trig) if isinstance(trig, (list, tuple)) else [trig]
            for t in items:
                if not isinstance(t, str):
                    shown = argv[2] if len(argv) == 3 and argv[:2] == ("sh", "-c") else " ".join(argv)
                    raise EvalError(
                        f"run cmd '{shown}' triggers contained value '{starlark_repr(t)}' of type "
                        f"'{type_name(t)}'. it may only contain strings"
                    )
                triggers.append(self.st.abspath(t))
        echo_off = _bool("run", "echo_off", a.get("echo_off"))
        return self._step("run", {"argv": argv, "triggers": triggers, "echo_off": echo_off})

    def fall_back_on(self, *args: Any, **kwargs: Any) -> Step:
        a = self._b("fall_back_on", args, kwargs)
        paths = [self.st.abspath(p) for p in _str_list("fall_back_on", "paths", a["paths"])]
        return self._step("fall_back_on", {"paths": paths})

    def initial_sync(self, *args: Any, **kwargs: Any) -> Step:
        self._b("initial_sync", args, kwargs)
        return self._step("initial_sync", {})

    def restart_container(self, *args: Any, **kwargs: Any) -> Step:
        self._b("restart_container", args, kwargs)
        return self._step("restart_container", {})

    def live_update_classic(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("live_update", args, kwargs)
        image = _s("live_update", "image", a["image"])
        loc = st.call_loc()
        st.diag(
            "TL901",
            "live_update(image, steps) is the tutorial's early form and never shipped in Tilt; "
            f"write docker_build({image!r}, ..., live_update=[...]) instead",
            loc,
            None,
        )
        spec = build_live_update(st, "live_update", a["steps"], loc, classic=True)
        if spec is not None and loc is not None:
            st.classic.append((image, spec, loc))

    # ---- kubernetes

    def k8s_yaml(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("k8s_yaml", args, kwargs)
        y = a["yaml"]
        loc = st.call_loc()
        items = list(y) if isinstance(y, (list, tuple)) else [y]
        for i, item in enumerate(items):
            if item is Unknown:
                st.opaque_yaml = True
                continue
            if isinstance(item, Blob):
                if item.placeholder:
                    st.opaque_yaml = True
                    continue
                docs = _safe_yaml_docs(item.text, "k8s_yaml")
                self._add_k8s(k8s_entries_from_docs(docs, loc, item.source_file))
            elif isinstance(item, str):
                path = st.abspath(item)
                text = st.read_text(path)
                if text is None:
                    where = st.arg_loc("yaml", 0)
                    if isinstance(y, (list, tuple)):
                        c = st.interp.cur_call
                        if c is not None and isinstance(c[1], ast.Call) and c[1].args and isinstance(c[1].args[0], ast.List):
                            elts = c[1].args[0].elts
                            if i < len(elts):
                                where = st.interp.loc(elts[i], c[0])
                    st.warn_at("TL501", f"k8s_yaml: file not found: {path}", where)
                    continue
                docs = _safe_yaml_docs(text, f"k8s_yaml({item})")
                st.watched_files.append(path)
                self._add_k8s(k8s_entries_from_docs(docs, loc, path))
            else:
                raise EvalError(f"k8s_yaml: for parameter yaml: got {type_name(item)}, want string, blob or list")

    def _add_k8s(self, entries: list[tuple[K8sObject, dict[str, Any]]]) -> None:
        st = self.st
        for obj, doc in entries:
            st.k8s_objects.append(apply_kind_rules(obj, doc, st.kind_rules))
            st.k8s_docs.append(doc)

    def k8s_resource(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("k8s_resource", args, kwargs)
        workload = a.get("workload")
        pfs = self._port_forwards(a.get("port_forwards"))
        st.k8s_resources.append(
            K8sResourceConfig(
                workload=_s("k8s_resource", "workload", workload) if workload else None,
                new_name=_s("k8s_resource", "new_name", a["new_name"]) if a.get("new_name") else None,
                port_forwards=tuple(pfs),
                resource_deps=tuple(_str_list("k8s_resource", "resource_deps", a.get("resource_deps"))),
                objects=tuple(_str_list("k8s_resource", "objects", a.get("objects"))),
                trigger_mode=_trigger_mode("k8s_resource", a.get("trigger_mode")),
                labels=tuple(_str_list("k8s_resource", "labels", a.get("labels"))),
                links=tuple(self._links(a.get("links"))),
                auto_init=_bool("k8s_resource", "auto_init", a.get("auto_init"), True),
                location=st.call_loc(),
            )
        )

    def _port_forwards(self, v: Any) -> list[PortForward]:
        if v is None:
            return []
        items = list(v) if isinstance(v, (list, tuple)) else [v]
        out = []
        for x in items:
            if isinstance(x, int) and not isinstance(x, bool):
                out.append(PortForward(x))
            elif isinstance(x, str):
                parts = x.split(":")
                try:
                    if len(parts) == 1:
                        out.append(PortForward(int(parts[0])))
                    elif len(parts) == 2:
                        out.append(PortForward(int(parts[0]), int(parts[1])))
                    else:
                        out.append(PortForward(int(parts[1]), int(parts[2]), host=parts[0]))
                except ValueError:
                    raise EvalError(f"port_forwards: cannot parse {x!r} as a port forward (want 'LOCAL[:CONTAINER]')") from None
            elif isinstance(x, TiltObject) and x.type_name == "port_forward":
                f = x.fields
                out.append(PortForward(f["local_port"], f.get("container_port"), f.get("name"), f.get("link_path"), f.get("host")))
            else:
                raise EvalError(f"port_forwards: got {type_name(x)}, want int, string or port_forward")
        return out

    def _links(self, v: Any) -> list[str]:
        if v is None:
            return []
        items = list(v) if isinstance(v, (list, tuple)) else [v]
        out = []
        for x in items:
            if isinstance(x, str):
                out.append(x)
            elif isinstance(x, TiltObject) and x.type_name == "link":
                out.append(str(x.fields.get("url", "")))
            else:
                raise EvalError(f"links: got {type_name(x)}, want string or link")
        return out

    def port_forward(self, *args: Any, **kwargs: Any) -> TiltObject:
        a = self._b("port_forward", args, kwargs)
        lp = a["local_port"]
        if not isinstance(lp, int) or isinstance(lp, bool):
            raise EvalError(f"port_forward: for parameter local_port: got {type_name(lp)}, want int")
        return TiltObject("port_forward", {k: a.get(k) for k in ("local_port", "container_port", "name", "link_path", "host")})

    def link(self, *args: Any, **kwargs: Any) -> TiltObject:
        a = self._b("link", args, kwargs)
        return TiltObject("link", {"url": _s("link", "url", a["url"]), "name": a.get("name")})

    def k8s_kind(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("k8s_kind", args, kwargs, max_positional=1)
        kind = _s("k8s_kind", "kind", a["kind"])
        st.custom_kinds[kind] = None
        obj_v = a.get("image_object")
        image_object: tuple[str, str, str] | None = None
        if isinstance(obj_v, dict):
            image_object = (
                starlark_str(obj_v.get("json_path", "")),
                starlark_str(obj_v.get("repo_field", "")),
                starlark_str(obj_v.get("tag_field", "")),
            )
        rule = KindRule(
            kind=kind,
            api_version=_s("k8s_kind", "api_version", a.get("api_version"), allow_none=True),
            json_paths=tuple(_str_list("k8s_kind", "image_json_path", a.get("image_json_path"))),
            image_object=image_object,
        )
        st.kind_rules.append(rule)
        # Tilt applies kinds when it assembles resources, so objects declared earlier count too.
        st.k8s_objects[:] = [apply_kind_rules(o, d, [rule]) for o, d in zip(st.k8s_objects, st.k8s_docs, strict=True)]

    def k8s_custom_deploy(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("k8s_custom_deploy", args, kwargs)
        name = _s("k8s_custom_deploy", "name", a["name"])
        lu_value = a.get("live_update")
        sel = a.get("image_selector")
        csel = a.get("container_selector")
        if lu_value:
            if not sel and not csel:
                raise EvalError("k8s_custom_deploy: no Live Update selector specified")
            if sel and csel:
                raise EvalError("k8s_custom_deploy: cannot specify more than one Live Update selector")
        deps = [st.abspath(p) for p in _str_list("k8s_custom_deploy", "deps", a.get("deps"))]
        lu = build_live_update(st, "k8s_custom_deploy", lu_value, st.arg_loc("live_update"))
        st.api_objects.append(("k8s_custom_deploy", name, st.call_loc()))
        st.custom_deploys.append((name, _s("k8s_custom_deploy", "image_selector", sel) if sel else None, st.call_loc()))
        refs = _str_list("k8s_custom_deploy", "image_deps", a.get("image_deps"))
        # Tilt registers a live-update-only image: named by image_selector, or after the deploy for a
        # container_selector.
        lu_ref = (
            _s("k8s_custom_deploy", "image_selector", sel) if sel else f"k8s_custom_deploy:{name}" if csel else None
        )
        if lu is not None and lu_ref:
            refs.append(lu_ref)
        st.custom_deploy_images[name] = refs
        st.image_deps.update(refs)  # consumed by this deploy (not "unused" images)
        if lu is not None and lu_ref:
            st.images.append(
                Image(
                    ref=lu_ref,
                    kind="custom_build",
                    context=st.here,
                    live_update=lu,
                    deps=tuple(deps),
                    location=st.call_loc(),
                    tiltfile_dir=st.here,
                )
            )

    def filter_yaml(self, *args: Any, **kwargs: Any) -> tuple[Blob, Blob]:
        st = self.st
        a = self._b("filter_yaml", args, kwargs)
        y = a["yaml"]
        texts: list[str] = []
        items = list(y) if isinstance(y, (list, tuple)) else [y]
        for item in items:
            if isinstance(item, Blob):
                if item.placeholder:
                    return (Blob("", True, "filter_yaml"), Blob("", True, "filter_yaml"))
                texts.append(item.text)
            elif isinstance(item, str):
                t = st.read_text(st.abspath(item))
                if t is None:
                    raise EvalError(f"filter_yaml: file not found: {st.abspath(item)}", "TL505")
                texts.append(t)
        docs = _safe_yaml_docs("\n---\n".join(texts), "filter_yaml")
        labels = a.get("labels") or {}
        name, ns, kind, apiv = (a.get(k) for k in ("name", "namespace", "kind", "api_version"))

        def rx(p: Any) -> re.Pattern[str] | None:
            if p is None or p == "":
                return None
            try:
                return re.compile(str(p), re.IGNORECASE)
            except re.error:
                raise EvalError(f"filter_yaml: invalid regular expression {p!r}") from None

        # Like Tilt: case-insensitive regular expressions that may match anywhere in the value.
        rn, rns, rk, ra = rx(name), rx(ns), rx(kind), rx(apiv)
        match: list[Any] = []
        rest: list[Any] = []
        flat: list[Any] = []
        stack = list(docs)
        while stack:
            d = stack.pop(0)
            if isinstance(d, dict) and d.get("kind") == "List" and isinstance(d.get("items"), list):
                stack[0:0] = d["items"]
            else:
                flat.append(d)
        for d in flat:
            if not isinstance(d, dict):
                rest.append(d)
                continue
            meta = d.get("metadata") or {}
            ok = True
            if rn and not rn.search(str(meta.get("name", ""))):
                ok = False
            if rns and not rns.search(str(meta.get("namespace", "") or "default")):
                ok = False
            if rk and not rk.search(str(d.get("kind", ""))):
                ok = False
            if ra and not ra.search(str(d.get("apiVersion", ""))):
                ok = False
            if ok and isinstance(labels, dict) and labels:
                want = {starlark_str(k): starlark_str(v) for k, v in labels.items()}
                ok = all(
                    all(str(k) in m and str(m[str(k)]) == v for k, v in want.items())
                    for m in _object_meta_labels(d)
                )
            (match if ok else rest).append(d)
        yaml = _yaml()
        return (Blob(yaml.safe_dump_all(match, sort_keys=False) if match else "", origin="filter_yaml"),
                Blob(yaml.safe_dump_all(rest, sort_keys=False) if rest else "", origin="filter_yaml"))

    def workload_to_resource_function(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("workload_to_resource_function", args, kwargs)
        self.st.workload_fn = a["func"]

    def allow_k8s_contexts(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("allow_k8s_contexts", args, kwargs)
        self.st.allowed_contexts.extend(_str_list("allow_k8s_contexts", "contexts", a["contexts"]))

    def k8s_context(self, *args: Any, **kwargs: Any) -> str:
        return ""

    def k8s_namespace(self, *args: Any, **kwargs: Any) -> str:
        return "default"

    def helm(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("helm", args, kwargs)
        path = self.st.abspath(_s("helm", "paths", a["paths"]))
        return Blob("", placeholder=True, origin=f"helm({os.path.relpath(path, self.st.root)})")

    def kustomize(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("kustomize", args, kwargs)
        path = self.st.abspath(_s("kustomize", "paths", a["paths"]))
        return Blob("", placeholder=True, origin=f"kustomize({os.path.relpath(path, self.st.root)})")

    # ---- local

    def local(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("local", args, kwargs)
        c = a["command"]
        shown = starlark_str(c) if isinstance(c, (str, Blob)) else " ".join(_str_list("local", "command", c))
        return Blob("", placeholder=True, origin=f"local({shown!r})")

    def _local_resource(self, fname: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        st = self.st
        a = self._b(fname, args, kwargs)
        name = _s(fname, "name", a["name"])
        d = a.get("dir")
        st.local_resources.append(
            LocalResource(
                name=name,
                cmd=_cmd(fname, "cmd", a.get("cmd")),
                serve_cmd=_cmd(fname, "serve_cmd", a.get("serve_cmd")),
                deps=tuple(st.abspath(p) for p in _str_list(fname, "deps", a.get("deps"))),
                ignore=tuple(_str_list(fname, "ignore", a.get("ignore"))),
                resource_deps=tuple(_str_list(fname, "resource_deps", a.get("resource_deps"))),
                trigger_mode=_trigger_mode(fname, a.get("trigger_mode")) or st.trigger_mode,
                labels=tuple(_str_list(fname, "labels", a.get("labels"))),
                links=tuple(self._links(a.get("links"))),
                auto_init=_bool(fname, "auto_init", a.get("auto_init"), True),
                allow_parallel=_bool(fname, "allow_parallel", a.get("allow_parallel")),
                dir=st.abspath(_s(fname, "dir", d)) if d else st.here,
                location=st.call_loc(),
            )
        )

    def local_resource(self, *args: Any, **kwargs: Any) -> None:
        self._local_resource("local_resource", args, kwargs)

    def test(self, *args: Any, **kwargs: Any) -> None:
        self.st.warn_at("TL902", "test() is deprecated: use local_resource(..., labels=['test']) instead")
        self._local_resource("test", args, kwargs)

    # ---- docker compose

    def docker_compose(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("docker_compose", args, kwargs)
        cp = a["configPaths"]
        items = list(cp) if isinstance(cp, (list, tuple)) else [cp]
        paths: list[str] = []
        services: list[ComposeService] = []
        depends: dict[str, list[str]] = {}
        svc_profiles: dict[str, list[str]] = {}
        project_name = a.get("project_name")
        pname = _s("docker_compose", "project_name", project_name) if project_name else ""
        for item in items:
            if isinstance(item, Blob):
                text: str | None = item.text
                base = st.here
                paths.append("<inline>")
                if item.placeholder:
                    continue
            else:
                p = st.abspath(_s("docker_compose", "configPaths", item))
                paths.append(p)
                text = st.read_text(p)
                base = os.path.dirname(p)
                if text is None:
                    st.warn_at("TL503", f"docker_compose: file not found: {p}", st.arg_loc("configPaths", 0))
                    continue
                if not pname:
                    pname = os.path.basename(base).lower()
            docs = _safe_yaml_docs(text or "", "docker_compose")
            doc = docs[0] if docs else {}
            if not pname and isinstance(doc, dict) and isinstance(doc.get("name"), str):
                pname = doc["name"]
            svcs = doc.get("services") if isinstance(doc, dict) else None
            if isinstance(svcs, dict):
                for sname, sdef in svcs.items():
                    sdef = sdef if isinstance(sdef, dict) else {}
                    build = sdef.get("build")
                    ctx = None
                    dockerfile = None
                    if isinstance(build, str):
                        ctx = os.path.normpath(os.path.join(base, build))
                    elif isinstance(build, dict):
                        ctx = os.path.normpath(os.path.join(base, str(build.get("context", "."))))
                        if build.get("dockerfile"):
                            dockerfile = os.path.normpath(os.path.join(ctx, str(build["dockerfile"])))
                    image = sdef.get("image")
                    dep = sdef.get("depends_on")
                    names = list(dep) if isinstance(dep, (list, dict)) else []
                    merged = depends.setdefault(str(sname), [])
                    merged.extend(str(n) for n in names if str(n) not in merged)
                    if isinstance(sdef.get("profiles"), list):
                        svc_profiles[str(sname)] = [str(x) for x in sdef["profiles"]]
                    prev = next((s for s in services if s.name == str(sname)), None)
                    if prev is not None:
                        # Later compose files merge into earlier ones, key by key.
                        services.remove(prev)
                        image = image or prev.image
                        ctx = ctx or prev.build_context
                        dockerfile = dockerfile or prev.dockerfile
                    services.append(ComposeService(str(sname), str(image) if image else None, ctx, dockerfile, pname))
        active = set(_str_list("docker_compose", "profiles", a.get("profiles")))
        services = [s for s in services if not svc_profiles.get(s.name) or active & set(svc_profiles[s.name])]
        st.compose.append(ComposeProject(tuple(paths), pname, tuple(_compose_order(services, depends)), st.call_loc()))

    def dc_resource(self, *args: Any, **kwargs: Any) -> None:
        st = self.st
        a = self._b("dc_resource", args, kwargs)
        img = a.get("image")
        if img is not None and not isinstance(img, str):
            raise EvalError(f"image arg must be a string; got {type_name(img)}")
        st.dc_resources.append(
            DcResourceConfig(
                name=_s("dc_resource", "name", a["name"]),
                new_name=_s("dc_resource", "new_name", a["new_name"]) if a.get("new_name") else None,
                trigger_mode=_trigger_mode("dc_resource", a.get("trigger_mode")),
                resource_deps=tuple(_str_list("dc_resource", "resource_deps", a.get("resource_deps"))),
                labels=tuple(_str_list("dc_resource", "labels", a.get("labels"))),
                links=tuple(self._links(a.get("links"))),
                auto_init=_bool("dc_resource", "auto_init", a.get("auto_init"), True),
                location=st.call_loc(),
            )
        )

    # ---- files and encodings

    def _read(self, fname: str, a: dict[str, Any]) -> str | None:
        st = self.st
        path = st.abspath(_s(fname, "paths", a["paths"]))
        text = st.read_text(path)
        if text is None:
            if "default" in a:
                return None
            raise EvalError(f"{fname}: file not found: {path}", "TL505")
        st.watched_files.append(path)
        return text

    def read_file(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("read_file", args, kwargs)
        text = self._read("read_file", a)
        if text is None:
            d = a.get("default")
            return Blob(starlark_str(d) if d is not None else "", origin="read_file default")
        return Blob(text, origin="read_file", source_file=self.st.abspath(_s("read_file", "paths", a["paths"])))

    def watch_file(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("watch_file", args, kwargs)
        self.st.watched_files.append(self.st.abspath(_s("watch_file", "paths", a["paths"])))

    def listdir(self, *args: Any, **kwargs: Any) -> list[str]:
        a = self._b("listdir", args, kwargs)
        d = self.st.abspath(_s("listdir", "dir", a["dir"]))
        recursive = _bool("listdir", "recursive", a.get("recursive"))
        if not os.path.isdir(d):
            raise EvalError(f"listdir: {d} is not a directory", "TL505")
        out: list[str] = []
        if recursive:
            for root, dirs, files in os.walk(d):
                dirs.sort()
                for f in sorted(files):
                    out.append(os.path.join(root, f))
                if len(out) > 100_000:
                    break
        else:
            for f in sorted(os.listdir(d)):
                p = os.path.join(d, f)
                if os.path.isfile(p):
                    out.append(p)
        return out

    def blob(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("blob", args, kwargs)
        return Blob(_s("blob", "input", a["input"]), origin="blob")

    def _structured(self, fname: str, text: str, kind: str) -> Any:
        if kind == "json":
            try:
                return from_plain(json.loads(text))
            except json.JSONDecodeError as e:
                raise EvalError(f"{fname}: error parsing JSON: {e}") from None
        docs = _safe_yaml_docs(text, fname)
        if kind == "yaml":
            if len(docs) > 1:
                raise EvalError(f"{fname}: expected a single YAML document, found {len(docs)}")
            return from_plain(docs[0]) if docs else None
        return [from_plain(d) for d in docs]

    def _reader(self, fname: str, kind: str) -> Callable[..., Any]:
        def impl(*args: Any, **kwargs: Any) -> Any:
            a = self._b(fname, args, kwargs)
            text = self._read(fname, a)
            if text is None:
                return a.get("default")
            return self._structured(fname, text, kind)

        return impl

    def _decoder(self, fname: str, pname: str, kind: str) -> Callable[..., Any]:
        def impl(*args: Any, **kwargs: Any) -> Any:
            a = self._b(fname, args, kwargs)
            v = a[pname]
            if isinstance(v, Blob) and v.placeholder:
                return Unknown
            return self._structured(fname, _s(fname, pname, v), kind)

        return impl

    def encode_json(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("encode_json", args, kwargs)
        return Blob(json.dumps(to_plain(a["obj"]), indent=2) + "\n", origin="encode_json")

    def encode_yaml(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("encode_yaml", args, kwargs)
        return Blob(_yaml().safe_dump(to_plain(a["obj"]), sort_keys=False), origin="encode_yaml")

    def encode_yaml_stream(self, *args: Any, **kwargs: Any) -> Blob:
        a = self._b("encode_yaml_stream", args, kwargs)
        objs = [to_plain(o) for o in iterate(a["objs"])]
        return Blob(_yaml().safe_dump_all(objs, sort_keys=False), origin="encode_yaml_stream")

    def local_git_repo(self, *args: Any, **kwargs: Any) -> TiltObject:
        a = self._b("local_git_repo", args, kwargs)
        root = self.st.abspath(_s("local_git_repo", "paths", a["paths"]))

        def paths(*pa: Any) -> str:
            return os.path.join(root, *[starlark_str(x) for x in pa])

        return TiltObject("git.Repo", {"__methods__": {"paths": Builtin("paths", paths)}, "path": root})

    # ---- settings and misc

    def trigger_mode(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("trigger_mode", args, kwargs)
        if self.st.trigger_mode_set:
            raise EvalError("trigger_mode can only be called once")
        self.st.trigger_mode_set = True
        self.st.trigger_mode = _trigger_mode("trigger_mode", a["trigger_mode"]) or "auto"

    def set_team(self, *args: Any, **kwargs: Any) -> None:
        self._b("set_team", args, kwargs)
        if self.st.team_set:
            raise EvalError("team_id set multiple times")
        self.st.team_set = True

    def update_settings(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("update_settings", args, kwargs)
        self.st.suppressed_unused.update(
            _str_list("update_settings", "suppress_unused_image_warnings", a.get("suppress_unused_image_warnings"))
        )

    def watch_settings(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("watch_settings", args, kwargs)
        self.st.watch_ignores.extend(_str_list("watch_settings", "ignore", a.get("ignore")))

    def struct(self, *args: Any, **kwargs: Any) -> Struct:
        if args:
            raise EvalError("struct: unexpected positional arguments")
        return Struct(dict(kwargs))

    def module(self, *args: Any, **kwargs: Any) -> Struct:
        if len(args) != 1:
            raise EvalError(f"module: got {len(args)} arguments, want 1")
        return Struct(dict(kwargs), type_name="module")

    def fail(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("fail", args, kwargs)
        raise EvalError(starlark_str(a["msg"]), "TL301")

    def warn(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("warn", args, kwargs)
        text = starlark_str(a["msg"])
        self.st.output.append(Output(text, "warn", self.st.call_loc()))
        self.st.warn_at("TL307", text)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        from .interp import ExitRequested

        self._b("exit", args, kwargs)
        raise ExitRequested()

    def print_(self, *args: Any, sep: Any = " ") -> None:
        self.st.output.append(Output(starlark_str(sep).join(starlark_str(x) for x in args), "print", self.st.call_loc()))

    def load_dynamic(self, *args: Any, **kwargs: Any) -> Any:
        a = self._b("load_dynamic", args, kwargs)
        assert self.st.load_dynamic is not None
        return FrozenDict(self.st.load_dynamic(_s("load_dynamic", "path", a["path"])))

    def include(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("include", args, kwargs)
        assert self.st.include is not None
        self.st.include(_s("include", "path", a["path"]))

    def probe_like(self, qualname: str, type_name_: str) -> Callable[..., Any]:
        def impl(*args: Any, **kwargs: Any) -> TiltObject:
            a = self._b(qualname, args, kwargs)
            return TiltObject(type_name_, {k: v for k, v in a.items() if not k.startswith("*")}, self.st.call_loc())

        return impl

    def generic(self, qualname: str, returns: str | None) -> Callable[..., Any]:

        def impl(*args: Any, **kwargs: Any) -> Any:
            a = self._b(qualname, args, kwargs)
            if qualname.startswith("v1alpha1.") and "name" in a and returns in ("None", None):
                self.st.api_objects.append((qualname, starlark_str(a["name"]), self.st.call_loc()))
            if returns in (None, "None"):
                return None
            return TiltObject(returns.split(".")[-1], {k: v for k, v in a.items() if not k.startswith("*")},
                              self.st.call_loc())

        return impl

    # ---- config

    def config_define(self, kind: str) -> Callable[..., Any]:
        qual = f"config.define_{kind}"

        def impl(*args: Any, **kwargs: Any) -> None:
            a = self._b(qual, args, kwargs)
            if self.st.config_parsed:
                raise EvalError(f"{qual}: config.parse has already been called")
            self.st.config_defs[_s(qual, "name", a["name"])] = kind

        return impl

    def config_parse(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._b("config.parse", args, kwargs)
        self.st.config_parsed = True
        out: dict[str, Any] = {}
        # Tilt reads the settings file next to the main Tiltfile.
        cfg = os.path.join(self.st.root, "tilt_config.json")
        text = self.st.read_text(cfg)
        if text:
            try:
                data = json.loads(text)
            except json.JSONDecodeError as e:
                raise EvalError(f"config.parse: {cfg}: {e}") from None
            if isinstance(data, dict):
                for k, v in data.items():
                    if k not in self.st.config_defs:
                        raise EvalError(f"config.parse: {cfg}: unknown setting {k!r}")
                    out[k] = from_plain(v)
        return out

    def set_enabled_resources(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("config.set_enabled_resources", args, kwargs)
        self.st.enabled_resources = _str_list("config.set_enabled_resources", "resources", a["resources"])

    def clear_enabled_resources(self, *args: Any, **kwargs: Any) -> None:
        self._b("config.clear_enabled_resources", args, kwargs)
        self.st.enabled_resources = []

    # ---- os / shlex

    def os_getenv(self, *args: Any, **kwargs: Any) -> Any:
        a = self._b("os.getenv", args, kwargs)
        key = _s("os.getenv", "key", a["key"])
        if key in self.st.environ:
            return self.st.environ[key]
        return a.get("default")

    def os_putenv(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("os.putenv", args, kwargs)
        self.st.environ[_s("os.putenv", "key", a["key"])] = _s("os.putenv", "value", a["value"])

    def os_unsetenv(self, *args: Any, **kwargs: Any) -> None:
        a = self._b("os.unsetenv", args, kwargs)
        self.st.environ.pop(_s("os.unsetenv", "key", a["key"]), None)

    def os_getcwd(self, *args: Any, **kwargs: Any) -> str:
        self._b("os.getcwd", args, kwargs)
        return self.st.here

    def _path1(self, name: str, fn: Callable[[str], Any]) -> Callable[..., Any]:
        qual = f"os.path.{name}"

        def impl(*args: Any, **kwargs: Any) -> Any:
            a = self._b(qual, args, kwargs)
            return fn(_s(qual, "path", a["path"]))

        return impl

    def os_path_join(self, *args: Any, **kwargs: Any) -> str:
        parts = [_s("os.path.join", "path", p) for p in args]
        if not parts:
            raise EvalError("os.path.join: got 0 arguments, want at least 1")
        return os.path.join(*parts)

    def os_path_relpath(self, *args: Any, **kwargs: Any) -> str:
        a = self._b("os.path.relpath", args, kwargs)
        target = self.st.abspath(_s("os.path.relpath", "targpath", a["targpath"]))
        base = self.st.abspath(_s("os.path.relpath", "basepath", a["basepath"])) if a.get("basepath") else self.st.here
        return os.path.relpath(target, base)

    def shlex_quote(self, *args: Any, **kwargs: Any) -> str:
        a = self._b("shlex.quote", args, kwargs)
        return shlex.quote(_s("shlex.quote", "name", a["name"]))

    # ---- assembly of the predeclared environment

    def predeclared(self, path: str, is_root: bool) -> dict[str, Any]:
        st = self.st
        env: dict[str, Any] = {}
        special: dict[str, Callable[..., Any]] = {
            "docker_build": self.docker_build,
            "custom_build": self.custom_build,
            "default_registry": self.default_registry,
            "sync": self.sync,
            "run": self.run,
            "fall_back_on": self.fall_back_on,
            "initial_sync": self.initial_sync,
            "restart_container": self.restart_container,
            "live_update": self.live_update_classic,
            "k8s_yaml": self.k8s_yaml,
            "k8s_resource": self.k8s_resource,
            "port_forward": self.port_forward,
            "link": self.link,
            "k8s_kind": self.k8s_kind,
            "k8s_custom_deploy": self.k8s_custom_deploy,
            "filter_yaml": self.filter_yaml,
            "workload_to_resource_function": self.workload_to_resource_function,
            "allow_k8s_contexts": self.allow_k8s_contexts,
            "k8s_context": self.k8s_context,
            "k8s_namespace": self.k8s_namespace,
            "helm": self.helm,
            "kustomize": self.kustomize,
            "local": self.local,
            "local_resource": self.local_resource,
            "test": self.test,
            "docker_compose": self.docker_compose,
            "dc_resource": self.dc_resource,
            "read_file": self.read_file,
            "watch_file": self.watch_file,
            "listdir": self.listdir,
            "blob": self.blob,
            "read_json": self._reader("read_json", "json"),
            "read_yaml": self._reader("read_yaml", "yaml"),
            "read_yaml_stream": self._reader("read_yaml_stream", "yaml_stream"),
            "decode_json": self._decoder("decode_json", "json", "json"),
            "decode_yaml": self._decoder("decode_yaml", "yaml", "yaml"),
            "decode_yaml_stream": self._decoder("decode_yaml_stream", "yaml", "yaml_stream"),
            "encode_json": self.encode_json,
            "encode_yaml": self.encode_yaml,
            "encode_yaml_stream": self.encode_yaml_stream,
            "local_git_repo": self.local_git_repo,
            "trigger_mode": self.trigger_mode,
            "set_team": self.set_team,
            "watch_settings": self.watch_settings,
            "update_settings": self.update_settings,
            "struct": self.struct,
            "module": self.module,
            "fail": self.fail,
            "warn": self.warn,
            "exit": self.exit,
            "load_dynamic": self.load_dynamic,
            "include": self.include,
            "probe": self.probe_like("probe", "Probe"),
            "exec_action": self.probe_like("exec_action", "ExecAction"),
            "http_get_action": self.probe_like("http_get_action", "HTTPGetAction"),
            "tcp_socket_action": self.probe_like("tcp_socket_action", "TCPSocketAction"),
            "config.define_string": self.config_define("string"),
            "config.define_string_list": self.config_define("string_list"),
            "config.define_bool": self.config_define("bool"),
            "config.define_object": self.config_define("object"),
            "config.parse": self.config_parse,
            "config.set_enabled_resources": self.set_enabled_resources,
            "config.clear_enabled_resources": self.clear_enabled_resources,
            "os.getenv": self.os_getenv,
            "os.putenv": self.os_putenv,
            "os.unsetenv": self.os_unsetenv,
            "os.getcwd": self.os_getcwd,
            "os.path.join": self.os_path_join,
            "os.path.relpath": self.os_path_relpath,
            "os.path.abspath": self._path1("abspath", st.abspath),
            "os.path.basename": self._path1("basename", os.path.basename),
            "os.path.dirname": self._path1("dirname", os.path.dirname),
            "os.path.exists": self._path1("exists", lambda p: os.path.exists(st.abspath(p))),
            "os.path.realpath": self._path1("realpath", lambda p: os.path.realpath(st.abspath(p))),
            "shlex.quote": self.shlex_quote,
        }
        deprecated = {"k8s_image_json_path", "experimental_metrics_settings"}
        modules: dict[str, dict[str, Any]] = {"os": {}, "os.path": {}, "config": {}, "shlex": {}, "sys": {}, "v1alpha1": {}}
        for fn in catalog.function_heads():
            qual = fn.qualname
            impl = special.get(qual)
            if impl is None:
                impl = self.generic(qual, fn.returns)
                if qual in deprecated:
                    impl = self._deprecated(qual, impl)
            b = Builtin(fn.name, impl, qualname=qual)
            if fn.module:
                modules.setdefault(fn.module, {})[fn.name] = b
            else:
                env[fn.name] = b
        # Universe functions that Tilt keeps or shadows.
        env["print"] = Builtin("print", self.print_, qualname="print")
        modules["config"].update(
            {"tilt_subcommand": "up", "main_path": st.root_file, "main_dir": os.path.dirname(st.root_file)}
        )
        modules["os"].update({"name": "posix", "environ": st.environ})
        modules["sys"].update({"argv": ["tilt", "up"], "executable": "tilt"})
        modules["os"]["path"] = Module("os.path", modules.pop("os.path"))
        for mname, members in modules.items():
            env[mname] = Module(mname, members)
        env["TRIGGER_MODE_AUTO"] = TiltObject("TriggerMode", {"mode": "auto"})
        env["TRIGGER_MODE_MANUAL"] = TiltObject("TriggerMode", {"mode": "manual"})
        env["__file__"] = path
        env["__name__"] = "__main__" if is_root else os.path.basename(path)
        return env

    def _deprecated(self, qual: str, impl: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.st.warn_at("TL902", f"{qual} is deprecated and may be removed from Tilt")
            return impl(*args, **kwargs)

        return wrapped
