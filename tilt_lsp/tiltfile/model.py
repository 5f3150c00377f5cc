"""The typed result of evaluating a Tiltfile.

Everything in here is a frozen dataclass: once evaluation finishes the model is
shared between the language features and the live-update engine, and neither may
change it.  All filesystem paths are absolute; positions are 0-based (LSP style).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import lru_cache
from typing import Literal


@dataclass(frozen=True, order=True)
class Position:
    line: int
    character: int


@dataclass(frozen=True)
class Range:
    start: Position
    end: Position

    @staticmethod
    def of(line: int, col: int, end_line: int, end_col: int) -> Range:
        return Range(Position(line, col), Position(end_line, end_col))

    def contains(self, pos: Position) -> bool:
        return self.start <= pos <= self.end


ZERO_RANGE = Range.of(0, 0, 0, 0)


@dataclass(frozen=True)
class Location:
    path: str
    range: Range


class Severity(IntEnum):
    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class RelatedInfo:
    location: Location
    message: str


@dataclass(frozen=True)
class Diagnostic:
    path: str
    range: Range
    severity: Severity
    code: str
    message: str
    related: tuple[RelatedInfo, ...] = ()
    # Machine-readable hints for quick fixes (e.g. {"replace": "docker_build"}).
    data: Mapping[str, object] | None = None
    deprecated: bool = False
    unnecessary: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "range": {
                "start": {"line": self.range.start.line, "character": self.range.start.character},
                "end": {"line": self.range.end.line, "character": self.range.end.character},
            },
            "severity": self.severity.label,
            "code": self.code,
            "message": self.message,
        }


TriggerMode = Literal["auto", "manual"]


# --------------------------------------------------------------------- live update


@dataclass(frozen=True)
class SyncStep:
    local: str  # absolute host path (file or directory)
    remote: str  # container path as written (should be absolute POSIX)
    location: Location | None = None


@dataclass(frozen=True)
class RunStep:
    argv: tuple[str, ...]  # a string command becomes ("sh", "-c", cmd)
    triggers: tuple[str, ...] = ()  # absolute host paths
    echo_off: bool = False
    location: Location | None = None

    @property
    def display(self) -> str:
        """Short form used in progress and errors: a `sh -c` script shows only the script."""
        if len(self.argv) == 3 and self.argv[0] == "sh" and self.argv[1] == "-c":
            return self.argv[2]
        return " ".join(self.argv)


@dataclass(frozen=True)
class LiveUpdateSpec:
    base_dir: str  # directory of the Tiltfile that declared the steps
    initial_sync: bool = False
    fall_back_on: tuple[str, ...] = ()  # absolute host paths
    syncs: tuple[SyncStep, ...] = ()
    runs: tuple[RunStep, ...] = ()
    restart_container: bool = False
    location: Location | None = None  # the live_update=[...] argument (or classic call)
    classic: bool = False  # declared through the tutorial form live_update(image, steps)

    @property
    def enabled(self) -> bool:
        """Tilt turns live update off when there is neither a sync nor a run."""
        return bool(self.syncs or self.runs)


# --------------------------------------------------------------------------- images


ImageKind = Literal["docker_build", "custom_build"]


@dataclass(frozen=True)
class Image:
    ref: str
    kind: ImageKind
    context: str  # absolute build context (custom_build: the Tiltfile directory)
    dockerfile: str | None = None  # absolute path, None when dockerfile_contents is inline
    dockerfile_contents: str | None = None
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # patterns as written (dockerignore syntax)
    only: tuple[str, ...] = ()  # paths relative to the context as written
    live_update: LiveUpdateSpec | None = None
    deps: tuple[str, ...] = ()  # custom_build: absolute watched paths
    command: tuple[str, ...] | None = None  # custom_build: argv of the build command
    entrypoint: tuple[str, ...] = ()
    location: Location | None = None
    tiltfile_dir: str = ""

    @property
    def watch_paths(self) -> tuple[str, ...]:
        """The host paths whose changes concern this image."""
        if self.kind == "custom_build":
            return self.deps
        return (self.context,)


# ----------------------------------------------------------------------- kubernetes


@dataclass(frozen=True)
class Container:
    name: str
    image: str


@dataclass(frozen=True)
class K8sObject:
    kind: str
    name: str
    namespace: str | None
    api_version: str
    containers: tuple[Container, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    source: Location | None = None  # the k8s_yaml call (or the file it read)
    source_file: str | None = None  # the YAML file, when read from disk
    # Labels of each pod template in the object: a Service whose selector they satisfy joins the
    # workload's resource (Tilt's grouping rule).
    pod_template_labels: tuple[Mapping[str, str], ...] = ()
    service_selector: Mapping[str, str] | None = None  # spec.selector of a core v1 Service
    workload_kind: bool = False  # k8s_kind(kind) without an image locator makes the kind a workload

    @property
    def is_workload(self) -> bool:
        return bool(self.containers) or self.workload_kind

    @property
    def images(self) -> tuple[str, ...]:
        return tuple(c.image for c in self.containers)

    @property
    def selector(self) -> str:
        """Tilt's fully qualified object selector: name:kind:namespace."""
        ns = self.namespace or "default"
        return f"{self.name}:{self.kind.lower()}:{ns}"


@dataclass(frozen=True)
class PortForward:
    local_port: int
    container_port: int | None = None
    name: str | None = None
    link_path: str | None = None
    host: str | None = None


@dataclass(frozen=True)
class K8sResourceConfig:
    workload: str | None
    new_name: str | None = None
    port_forwards: tuple[PortForward, ...] = ()
    resource_deps: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    trigger_mode: TriggerMode | None = None
    labels: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    auto_init: bool = True
    location: Location | None = None


@dataclass(frozen=True)
class LocalResource:
    name: str
    cmd: tuple[str, ...] | None = None
    serve_cmd: tuple[str, ...] | None = None
    deps: tuple[str, ...] = ()  # absolute paths
    ignore: tuple[str, ...] = ()
    resource_deps: tuple[str, ...] = ()
    trigger_mode: TriggerMode = "auto"
    labels: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    auto_init: bool = True
    allow_parallel: bool = False
    dir: str = ""
    location: Location | None = None


# ------------------------------------------------------------------- docker compose


@dataclass(frozen=True)
class ComposeService:
    name: str
    image: str | None
    build_context: str | None  # absolute, when the service builds
    dockerfile: str | None = None
    project: str = ""


@dataclass(frozen=True)
class ComposeProject:
    config_paths: tuple[str, ...]
    project_name: str
    services: tuple[ComposeService, ...] = ()
    location: Location | None = None


@dataclass(frozen=True)
class DcResourceConfig:
    name: str
    new_name: str | None = None
    trigger_mode: TriggerMode | None = None
    resource_deps: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    auto_init: bool = True
    location: Location | None = None


# -------------------------------------------------------------------- resources


ResourceType = Literal["k8s", "local", "docker_compose"]


@dataclass(frozen=True)
class Resource:
    """A resource as Tilt would show it in its UI, after all naming rules."""

    name: str
    type: ResourceType
    images: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()  # resource_deps
    port_forwards: tuple[PortForward, ...] = ()
    labels: tuple[str, ...] = ()
    trigger_mode: TriggerMode = "auto"
    objects: tuple[K8sObject, ...] = ()
    cmd: tuple[str, ...] | None = None
    serve_cmd: tuple[str, ...] | None = None
    deps_paths: tuple[str, ...] = ()
    auto_init: bool = True
    location: Location | None = None


# --------------------------------------------------------------- files and loads


@dataclass(frozen=True)
class Definition:
    """A top-level name bound in a file (def, assignment, load alias, loop var)."""

    name: str
    location: Location
    kind: Literal["function", "variable", "load"]
    value_repr: str | None = None  # for constants: the value, for hover
    signature: str | None = None  # for functions
    docstring: str | None = None


@dataclass(frozen=True)
class LoadEdge:
    module: str  # as written: './lib/Tiltfile', 'ext://restart_process'
    path: str | None  # resolved absolute path, None when it cannot be resolved
    location: Location  # the load(...) statement's string argument
    symbols: tuple[tuple[str, str], ...] = ()  # (local name, exported name)
    kind: Literal["load", "load_dynamic", "include"] = "load"


@dataclass(frozen=True)
class FileInfo:
    path: str
    definitions: tuple[Definition, ...] = ()
    loads: tuple[LoadEdge, ...] = ()


@dataclass(frozen=True)
class Output:
    text: str
    kind: Literal["print", "warn"]
    location: Location | None = None


@dataclass(frozen=True)
class TiltfileModel:
    tiltfile: str
    files: Mapping[str, FileInfo] = field(default_factory=dict)  # every evaluated file, root first
    images: tuple[Image, ...] = ()
    k8s_objects: tuple[K8sObject, ...] = ()
    k8s_resources: tuple[K8sResourceConfig, ...] = ()
    local_resources: tuple[LocalResource, ...] = ()
    compose: tuple[ComposeProject, ...] = ()
    dc_resources: tuple[DcResourceConfig, ...] = ()
    resources: tuple[Resource, ...] = ()
    trigger_mode: TriggerMode = "auto"
    watch_ignores: tuple[str, ...] = ()
    default_registry: str | None = None
    allowed_k8s_contexts: tuple[str, ...] = ()
    enabled_resources: tuple[str, ...] | None = None
    output: tuple[Output, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def loads(self) -> tuple[str, ...]:
        """Absolute paths of every file loaded besides the root, in evaluation order."""
        return tuple(p for p in self.files if p != self.tiltfile)

    def image(self, ref: str) -> Image | None:
        for img in self.images:
            if img.ref == ref or image_name(img.ref) == image_name(ref):
                return img
        return None


@lru_cache(maxsize=4096)
def image_name(ref: str) -> str:
    """Repository part of an image reference, without tag or digest."""
    ref = ref.split("@", 1)[0]
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref = ref[:colon]
    return ref
