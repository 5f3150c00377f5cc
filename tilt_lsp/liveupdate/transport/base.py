"""The contract between the live-update engine and a container transport.

A transport moves an update into one running container: delete paths, unpack a
tar archive at ``/``, run commands, restart. The engine only sees ``Transport``,
so a Docker and a Kubernetes implementation can sit side by side.

Errors: every failure that means "the update did not get through" is a
``TransportError`` (infrastructure, spec rule 25), which the engine answers with a
full rebuild. A run step that exits non-zero is *not* an exception: ``exec_run``
returns the exit code and the engine decides (rule 23). ``describe_exit`` gives
the readable suffix for the exit codes that have one (rule 26).
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

ContainerKind = Literal["docker", "kubernetes"]

# Budget for one command line (sum of argument bytes + NUL + pointer per argument).
# Linux's ARG_MAX is usually 2 MiB shared with the environment, and was 128 KiB on old
# kernels; staying under 96 KiB is safe everywhere and still removes ~2,000 paths per exec.
DEFAULT_MAX_ARGV_BYTES = 96 * 1024

TAR_EXTRACT_ARGV: tuple[str, ...] = ("tar", "-C", "/", "-x", "-f", "-")
RM_PREFIX: tuple[str, ...] = ("rm", "-rf", "--")


@dataclass(frozen=True, kw_only=True)
class ContainerRef:
    """One container an update is applied to."""

    kind: ContainerKind
    id: str  # full container ID
    name: str  # docker: container name without "/"; kubernetes: container name in the pod
    pod: str | None = None  # kubernetes only
    namespace: str | None = None  # kubernetes only
    image: str = ""  # the image reference the container was started from

    @property
    def short_id(self) -> str:
        """The 10-character ID Tilt shows for Docker containers (spec rule 29)."""
        return self.id[:10]

    @property
    def display(self) -> str:
        """How progress lines name the container: ``pod/container`` or a short ID."""
        if self.kind == "kubernetes" and self.pod:
            return f"{self.pod}/{self.name}"
        return self.short_id


# ------------------------------------------------------------ container states

# Docker resets its restart back-off once a container has run this long; a container restarted by
# its restart policy more recently than that is still in its crash loop (spec rule 18).
CRASH_LOOP_WINDOW_S = 10.0


@dataclass(frozen=True, kw_only=True)
class ContainerState:
    """What the runtime says about a container of an image, running or not (spec rules 17-18).

    ``status``: Docker's ``State.Status`` (running, restarting, exited, dead, paused, created).
    ``restart_count``: restarts made by the restart policy (a ``docker restart`` does not count);
    ``started_at``: epoch seconds of the last start; ``exit_code``: the last exit code when the
    container is not running.  Fields the runtime was not asked about stay at their defaults.
    """

    container: ContainerRef
    status: str
    restart_count: int = 0
    started_at: float | None = None
    exit_code: int | None = None

    def crash_looping(self, now: float | None = None) -> bool:
        """Restarting, or restarted by its policy less than ``CRASH_LOOP_WINDOW_S`` ago."""
        if self.status == "restarting":
            return True
        if self.status != "running" or self.restart_count <= 0 or self.started_at is None:
            return False
        now = time.time() if now is None else now
        return now - self.started_at < CRASH_LOOP_WINDOW_S

    @property
    def stopped(self) -> bool:
        """Exited (or dead) and not about to be restarted by its policy."""
        return self.status in ("exited", "dead")

    def describe(self) -> str:
        parts = [self.status]
        if self.restart_count:
            parts.append(f"restart count {self.restart_count}")
        if self.exit_code is not None and self.status != "running":
            parts.append(f"{'last ' if self.status == 'restarting' else ''}exit code {self.exit_code}")
        return ", ".join(parts)


# ---------------------------------------------------------------------- errors


class TransportError(Exception):
    """The update could not be delivered (infrastructure failure): fall back to a full rebuild.

    ``transient`` marks failures worth one retry (connection reset, daemon 5xx, timeout).
    ``exit_code``/``output`` are set when a helper command (tar, rm) ran and failed.
    """

    def __init__(
        self,
        message: str,
        *,
        container: ContainerRef | None = None,
        guidance: str | None = None,
        exit_code: int | None = None,
        output: str = "",
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.container = container
        self.guidance = guidance
        self.exit_code = exit_code
        self.output = output
        self.transient = transient

    def __str__(self) -> str:
        if self.guidance:
            return f"{self.message}\n{self.guidance}"
        return self.message


class ContainerGone(TransportError):
    """The container no longer exists (removed, replaced) or stopped during the update."""


class ContainerNotRunning(ContainerGone):
    """The container exists but is not running (exited, paused, restarting)."""


class DaemonUnavailable(TransportError):
    """The container runtime (Docker daemon, Kubernetes API server) cannot be reached."""


TOOL_MISSING_GUIDANCE = (
    "Live update runs `tar` (to unpack files) and `rm`/`sh` (to delete files and run steps) inside the "
    "container, so the image must provide them in $PATH. Minimal images such as those built FROM scratch "
    "or distroless images do not have them (see https://github.com/tilt-dev/tilt/issues/4303). Use a "
    "development base image that includes a shell and tar, for example a distroless `:debug` variant, "
    "busybox or alpine, or copy a static tar/busybox into the image; otherwise remove live_update for this image."
)

PERMISSION_GUIDANCE = (
    "The container's user may not write the synced paths. Common causes: files or directories in the "
    "image belong to another user (for example copied as root while the image runs as a non-root USER), "
    "or the root filesystem is read-only (docker --read-only, Kubernetes "
    "securityContext.readOnlyRootFilesystem). Fix it in the Dockerfile (`COPY --chown=<user> ...` or "
    "`RUN chown -R <user> <dir>`), run the container as root for development, or sync into a writable directory."
)


class ToolMissing(TransportError):
    """A helper command (tar, rm, sh) is not available in the container image."""

    def __init__(
        self,
        tool: str,
        *,
        container: ContainerRef | None = None,
        exit_code: int | None = None,
        output: str = "",
    ) -> None:
        detail = f": {output.strip()}" if output.strip() else ""
        super().__init__(
            f"cannot run `{tool}` in the container {describe_exit(exit_code or 127)}{detail}",
            container=container,
            guidance=TOOL_MISSING_GUIDANCE,
            exit_code=exit_code,
            output=output,
        )
        self.tool = tool


class PermissionDenied(TransportError):
    """The container user cannot write or delete the target paths."""

    def __init__(
        self,
        message: str,
        *,
        container: ContainerRef | None = None,
        exit_code: int | None = None,
        output: str = "",
    ) -> None:
        super().__init__(
            message, container=container, guidance=PERMISSION_GUIDANCE, exit_code=exit_code, output=output
        )


def describe_exit(code: int) -> str:
    """Readable suffix for exit codes with a well-known meaning ("" for the others)."""
    if code == 137:
        return "(killed by container runtime)"
    if code in (126, 127):
        return "(not found in PATH or not executable)"
    return ""


_PERMISSION_MARKERS = ("permission denied", "cannot open", "read-only file system", "operation not permitted")


def classify_helper_failure(
    tool: str, exit_code: int, output: str, *, container: ContainerRef | None = None
) -> TransportError:
    """Turn a failed tar/rm exec into the matching error (spec rules 25-26).

    126/127: the tool is missing or not executable. Any other non-zero exit whose output
    mentions a permission problem (GNU tar exits 2, busybox tar 1): ``PermissionDenied``.
    """
    text = output.strip()
    if exit_code in (126, 127):
        return ToolMissing(tool, container=container, exit_code=exit_code, output=text)
    lowered = text.lower()
    if any(marker in lowered for marker in _PERMISSION_MARKERS):
        return PermissionDenied(
            f"`{tool}` could not write in the container (exit code {exit_code}): {_tail(text)}",
            container=container,
            exit_code=exit_code,
            output=text,
        )
    suffix = f" {describe_exit(exit_code)}" if describe_exit(exit_code) else ""
    detail = f": {_tail(text)}" if text else ""
    return TransportError(
        f"`{tool}` failed in the container with exit code {exit_code}{suffix}{detail}",
        container=container,
        exit_code=exit_code,
        output=text,
    )


def _tail(text: str, max_lines: int = 10) -> str:
    lines = text.splitlines()
    if len(lines) > max_lines:
        lines = [f"... ({len(lines) - max_lines} more lines)", *lines[-max_lines:]]
    return "\n".join(lines)


# ------------------------------------------------------------------ tar input


@runtime_checkable
class SupportsReadBytes(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


TarData = bytes | bytearray | memoryview | SupportsReadBytes | Iterable[bytes]
"""A tar archive: the whole bytes, a binary file-like object, or an iterable of chunks."""


def iter_chunks(data: TarData, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """Yield non-empty byte chunks from any ``TarData`` without loading a stream whole."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data).cast("B")
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
    elif isinstance(data, SupportsReadBytes):
        while True:
            chunk = data.read(chunk_size)
            if not chunk:
                return
            yield chunk
    else:
        for chunk in data:
            if chunk:
                yield bytes(chunk)


# -------------------------------------------------------------- delete helpers


def prune_delete_paths(paths: Iterable[str]) -> list[str]:
    """Normalise, dedupe and sort container paths, dropping those whose ancestor is also deleted.

    Raises ``ValueError`` for a relative path or for ``/`` itself.
    """
    normalized: set[str] = set()
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"container path to delete is not absolute: {path!r}")
        norm = "/" + posixpath.normpath(path).lstrip("/")
        if norm == "/":
            raise ValueError(f"refusing to delete the container's root directory ({path!r})")
        normalized.add(norm)
    kept: list[str] = []
    for path in sorted(normalized):
        parent = posixpath.dirname(path)
        while parent != "/" and parent not in normalized:
            parent = posixpath.dirname(parent)
        if parent == "/":
            kept.append(path)
    return kept


def _argv_cost(arg: str) -> int:
    return len(arg.encode("utf-8", "surrogateescape")) + 1 + 8


def chunk_argv(
    prefix: Sequence[str], args: Sequence[str], max_bytes: int = DEFAULT_MAX_ARGV_BYTES
) -> list[list[str]]:
    """Split ``prefix + args`` into command lines of at most ``max_bytes`` each (one arg minimum)."""
    base = sum(_argv_cost(a) for a in prefix)
    chunks: list[list[str]] = []
    current: list[str] = []
    size = base
    for arg in args:
        cost = _argv_cost(arg)
        if current and size + cost > max_bytes:
            chunks.append([*prefix, *current])
            current, size = [], base
        current.append(arg)
        size += cost
    if current:
        chunks.append([*prefix, *current])
    return chunks


def rm_commands(container_paths: Iterable[str], max_bytes: int = DEFAULT_MAX_ARGV_BYTES) -> list[list[str]]:
    """The ``rm -rf -- ...`` command lines deleting ``container_paths`` (spec rules 13 and 39)."""
    return chunk_argv(RM_PREFIX, prune_delete_paths(container_paths), max_bytes)


# -------------------------------------------------------------------- protocol

OutputCallback = Callable[[bytes], None]


@runtime_checkable
class Transport(Protocol):
    """What the engine needs from a container runtime. Implementations raise ``TransportError``s."""

    def find_containers(self, image_ref: str) -> list[ContainerRef]:
        """Running containers started from ``image_ref`` (repository match; tag compared if given)."""
        ...

    def delete(self, c: ContainerRef, container_paths: Sequence[str]) -> None:
        """``rm -rf --`` the paths, chunked under the argv budget; no-op for an empty list."""
        ...

    def extract_tar(self, c: ContainerRef, tar: TarData) -> None:
        """Unpack a tar archive at ``/`` in the container (entry names are relative to ``/``)."""
        ...

    def exec_run(self, c: ContainerRef, argv: Sequence[str], on_output: OutputCallback) -> int:
        """Run ``argv``, stream its combined stdout/stderr to ``on_output``; return the exit code."""
        ...

    def restart(self, c: ContainerRef) -> None:
        """Restart the container immediately (no stop grace period)."""
        ...


@runtime_checkable
class SupportsContainerStates(Protocol):
    """Optional: the state of every container of an image, running or not (crash loops, exits)."""

    def container_states(
        self, image_ref: str, compose: Sequence[tuple[str, str]] = ()
    ) -> list[ContainerState]:
        """Containers of ``image_ref`` (and of the compose ``(project, service)`` pairs), any state."""
        ...
