"""Stable diagnostic codes.

A code is ``TL<family><nn>``.  The family digit says what kind of problem it is:
1 syntax and dialect, 2 names and call signatures, 3 evaluation, 4 live update,
5 files and paths, 6 resources and images, 9 information and deprecation.
Codes are never renumbered: editors and CI configurations may filter on them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Severity


@dataclass(frozen=True)
class Code:
    code: str
    severity: Severity
    title: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFORMATION

CODES: dict[str, Code] = {
    c.code: c
    for c in [
        Code("TL101", _E, "Syntax error"),
        Code("TL102", _E, "Statement that Starlark does not have (class, import, try, with, global, ...)"),
        Code("TL103", _E, "f-strings are not Starlark; use % or .format()"),
        Code("TL104", _E, "The `is` operator is not Starlark; use == / !="),
        Code("TL105", _E, "Expression that Starlark does not have (set literal, generator, **, walrus, ...)"),
        Code("TL106", _E, "load() misuse: not at top level, or a non-literal argument"),
        Code("TL107", _E, "File is not UTF-8 text"),
        Code("TL108", _E, "File too large to analyze"),
        Code("TL201", _E, "Undefined name"),
        Code("TL202", _E, "Unknown keyword argument"),
        Code("TL203", _E, "Missing required argument"),
        Code("TL204", _E, "Too many positional arguments"),
        Code("TL205", _E, "Argument given more than once"),
        Code("TL301", _E, "fail() was called"),
        Code("TL302", _E, "Evaluation error (type, value, key or index error)"),
        Code("TL303", _E, "Evaluation budget exceeded (endless loop?)"),
        Code("TL304", _E, "load() error: missing file, cycle, unknown or private name"),
        Code("TL305", _E, "Call stack too deep (unbounded recursion?)"),
        Code("TL306", _W, "Extension cannot be resolved locally"),
        Code("TL307", _W, "warn() was called"),
        Code("TL308", _E, "Error inside a loaded file"),
        Code("TL401", _E, "live_update steps out of order"),
        Code("TL402", _E, "sync destination is not absolute"),
        Code("TL403", _E, "live_update step created but never used"),
        Code("TL404", _E, "sync source is outside the build context"),
        Code("TL405", _E, "fall_back_on path is outside the build context"),
        Code("TL406", _W, "run() trigger is not under any sync: it can never fire"),
        Code("TL407", _E, "restart_container() on an image deployed to Kubernetes"),
        Code("TL408", _E, "live_update has neither a sync nor a run"),
        Code("TL409", _E, "live_update list holds something that is not a step"),
        Code("TL410", _E, "A run() step failed in the container during live update"),
        Code("TL501", _W, "k8s_yaml file does not exist"),
        Code("TL502", _W, "Dockerfile does not exist"),
        Code("TL503", _W, "Docker Compose file does not exist"),
        Code("TL504", _W, "sync source does not exist"),
        Code("TL505", _E, "File read by the Tiltfile does not exist"),
        Code("TL506", _W, "Build context does not exist"),
        Code("TL601", _W, "live_update for an image that nothing builds"),
        Code("TL602", _E, "Image built more than once"),
        Code("TL603", _E, "k8s_resource names a workload that does not exist"),
        Code("TL604", _E, "Resource name used more than once"),
        Code("TL605", _E, "dc_resource names a service that does not exist"),
        Code("TL606", _W, "Image built but not used by any deployed object"),
        Code("TL901", _I, "Classic live_update(image, steps) form"),
        Code("TL902", _I, "Deprecated builtin"),
    ]
}


# Codes the live-update engine publishes (not produced by evaluating a Tiltfile).
RUNTIME_CODES = frozenset({"TL410"})


def severity_of(code: str) -> Severity:
    return CODES[code].severity
