"""Typed server options.

Clients send options in two shapes:

* ``initializationOptions``: ``{"settings": {...}}`` (a bare ``{...}`` is accepted too);
* ``workspace/didChangeConfiguration``: ``{"settings": {"tilt": {...}}}``.

Inside, keys are dotted camelCase paths, either nested (``{"diagnostics": {"debounceMs": 300}}``)
or flat (``{"diagnostics.debounceMs": 300}``).  ``trace`` is either a level (``"verbose"``) or,
as VS Code sends its ``tilt.trace.server`` setting, ``{"server": "verbose"}``.  Every value is checked against its type; a bad
value is replaced by the default and reported as a :class:`Problem` so the server can tell the
user once.  Unknown keys are ignored (clients tend to send more than we read).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

TraceLevel = Literal["off", "messages", "verbose"]
_TRACE_LEVELS: tuple[TraceLevel, ...] = ("off", "messages", "verbose")


@dataclass(frozen=True, kw_only=True)
class DiagnosticsSettings:
    debounce_ms: int = 200
    # Start evaluating before the debounce ends, so that the diagnostics are ready when it does.
    evaluate_early: bool = True


@dataclass(frozen=True, kw_only=True)
class LiveUpdateSettings:
    enabled: bool = True
    on_save: bool = True
    watch: bool = True
    debounce_ms: int = 200


@dataclass(frozen=True, kw_only=True)
class DockerSettings:
    host: str | None = None


@dataclass(frozen=True, kw_only=True)
class Settings:
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)
    live_update: LiveUpdateSettings = field(default_factory=LiveUpdateSettings)
    docker: DockerSettings = field(default_factory=DockerSettings)
    trace: TraceLevel = "off"


@dataclass(frozen=True)
class Problem:
    key: str
    message: str

    def __str__(self) -> str:
        return f"tilt.{self.key}: {self.message}"


def _int_ms(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
        raise ValueError(f"expected a number of milliseconds, got {v!r}")
    if v < 0 or v > 60_000:
        raise ValueError(f"expected 0..60000 milliseconds, got {v!r}")
    return int(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"expected true or false, got {v!r}")
    return v


def _opt_str(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ValueError(f"expected a string or null, got {v!r}")
    return v


def _trace(v: Any) -> TraceLevel:
    # VS Code clients send ``tilt.trace.server`` as ``{"trace": {"server": "off"}}``; others a bare string.
    if isinstance(v, Mapping):
        if set(v) != {"server"}:
            raise ValueError(f"expected one of {', '.join(_TRACE_LEVELS)} or {{\"server\": ...}}, got {v!r}")
        v = v["server"]
    for level in _TRACE_LEVELS:
        if v == level:
            return level
    raise ValueError(f"expected one of {', '.join(_TRACE_LEVELS)}, got {v!r}")


# key -> (section attribute, field attribute or None for top level, checker)
_FIELDS: dict[str, tuple[str, str | None, Callable[[Any], Any]]] = {
    "diagnostics.debounceMs": ("diagnostics", "debounce_ms", _int_ms),
    "diagnostics.evaluateEarly": ("diagnostics", "evaluate_early", _bool),
    "liveUpdate.enabled": ("live_update", "enabled", _bool),
    "liveUpdate.onSave": ("live_update", "on_save", _bool),
    "liveUpdate.watch": ("live_update", "watch", _bool),
    "liveUpdate.debounceMs": ("live_update", "debounce_ms", _int_ms),
    "docker.host": ("docker", "host", _opt_str),
    "trace": ("trace", None, _trace),
    "trace.server": ("trace", None, _trace),  # the flat spelling of {"trace": {"server": ...}}
}


def _flatten(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if not isinstance(k, str):
            continue
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and key not in _FIELDS:
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _unwrap(raw: Any, *, from_configuration: bool) -> Mapping[str, Any]:
    """Find the option mapping inside the envelope a client sent."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        # pygls turns unknown JSON objects into namedtuple-like objects.
        as_dict = getattr(raw, "_asdict", None)
        if as_dict is None:
            return {}
        raw = as_dict()
    inner = raw.get("settings", raw)
    if isinstance(inner, Mapping) and from_configuration and isinstance(inner.get("tilt"), Mapping):
        inner = inner["tilt"]
    elif isinstance(inner, Mapping) and isinstance(inner.get("tilt"), Mapping):
        inner = inner["tilt"]
    return _to_plain(inner) if isinstance(inner, Mapping) else {}


def _to_plain(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {k: _to_plain(x) for k, x in v.items()}
    as_dict = getattr(v, "_asdict", None)
    if as_dict is not None:
        return _to_plain(as_dict())
    return v


def parse(raw: Any, *, from_configuration: bool = False) -> tuple[Settings, list[Problem]]:
    """Read options from a client payload; bad values fall back to their defaults."""
    flat = _flatten(_unwrap(raw, from_configuration=from_configuration))
    settings = Settings()
    problems: list[Problem] = []
    for key, (section, attr, check) in _FIELDS.items():
        if key not in flat:
            continue
        try:
            value = check(flat[key])
        except ValueError as e:
            problems.append(Problem(key, f"{e}; using the default"))
            continue
        if attr is None:
            settings = replace(settings, **{section: value})
        else:
            sub = replace(getattr(settings, section), **{attr: value})
            settings = replace(settings, **{section: sub})
    return settings, problems


__all__ = [
    "DiagnosticsSettings",
    "DockerSettings",
    "LiveUpdateSettings",
    "Problem",
    "Settings",
    "TraceLevel",
    "parse",
]
