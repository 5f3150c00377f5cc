"""Docker transport: live updates through the Docker Engine exec API (docker SDK, low-level client).

The docker SDK (and requests) are imported lazily, the first time a ``DockerTransport``
talks to the daemon, so importing ``tilt_lsp`` stays fast.

Copying files: exec-tar versus the archive API
-----------------------------------------------
``extract_tar`` (the default, as Tilt does) runs ``tar -C / -x -f -`` through
``exec_create(stdin=True)`` + ``exec_start(socket=True)``, streams the archive into the
process's stdin, half-closes the socket, reads the output to EOF and reads the exit code
with ``exec_inspect``. ``extract_tar_via_archive_api`` uses ``PUT /containers/{id}/archive``
(docker-py ``put_archive``) instead. Trade-offs:

* Who writes. exec-tar writes as the container's exec user, exactly like the application
  would, so a non-root image over root-owned files fails loudly (``PermissionDenied`` with
  guidance) and files created by a non-root user belong to that user. The archive API writes
  as the daemon (root): no permission errors, but files land owned by the tar headers'
  uid/gid (0, since archives zero them) because docker-py sends neither ``copyUIDGID`` nor
  ``noOverwriteDirNonDir`` -- a non-root app may then be unable to rewrite its own files.
* Image requirements. exec-tar needs ``tar`` (and ``rm`` for deletes) in $PATH, so scratch
  and distroless images fail (``ToolMissing``, tilt#4303). The archive API needs nothing in
  the image and even works on stopped containers.
* Symmetry. exec-tar behaves the same over the Kubernetes exec API, so both transports share
  one model and the same failure modes; the archive API is Docker-only (and rejected by
  Hyper-V isolated Windows containers, compose#11574).
* Cost. exec-tar takes three requests (create, start+hijack, inspect; more if the exit code is
  not yet recorded) and starts a process through the runtime; the archive API is one streamed
  request. Measured with ``tests/bench/bench_transport.py`` (Docker 20.10, 2 CPUs, busy VM):
  one small file p50 ~55 ms for exec-tar vs ~45 ms for the archive API, our wrapper within noise
  of the bare SDK calls and a little ahead of ``docker cp``; at 1,000 files all ways take
  0.3-0.8 s, dominated by the container filesystem. So the archive API saves ~10 ms per update,
  not enough to give up the properties above; it remains available behind this class.
Deletes always need an exec (``rm -rf --``), so the exec path is required anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import base as _base
from .base import (
    DEFAULT_MAX_ARGV_BYTES,
    TAR_EXTRACT_ARGV,
    ContainerGone,
    ContainerNotRunning,
    ContainerRef,
    ContainerState,
    DaemonUnavailable,
    OutputCallback,
    PermissionDenied,
    TarData,
    Transport,
    TransportError,
    classify_helper_failure,
    iter_chunks,
    rm_commands,
)

log = logging.getLogger(__name__)

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"
COMPOSE_ONEOFF_LABEL = "com.docker.compose.oneoff"
COMPOSE_NUMBER_LABEL = "com.docker.compose.container-number"

_OUTPUT_KEEP_BYTES = 64 * 1024  # tail of tar/rm output kept for error messages
_EXIT_CODE_WAIT_S = 10.0  # how long the exit code may lag behind the end of the output stream


# ------------------------------------------------------------------ image refs


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference with the repository in canonical form (``docker.io/library/x``)."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    def matches(self, other: ImageRef) -> bool:
        """Repository match; tag (or digest) compared only when this reference names one."""
        if self.repository != other.repository:
            return False
        if self.digest is not None:
            return self.digest == other.digest
        if self.tag is not None:
            return self.tag == (other.tag or "latest")
        return True


def parse_image_ref(ref: str) -> ImageRef:
    name, _, digest = ref.partition("@")
    tag: str | None = None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return ImageRef(canonical_repository(name), tag or None, digest or None)


def canonical_repository(name: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox``; names with a registry host stay as they are."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return f"{domain}/{path}"


def _is_image_id(text: str, image_id: str) -> bool:
    """Whether a container's listed image is really an ID (started by ID, or its tag moved)."""
    bare = text.removeprefix("sha256:")
    if len(bare) < 12 or any(ch not in "0123456789abcdef" for ch in bare):
        return False
    return image_id.removeprefix("sha256:").startswith(bare)


# --------------------------------------------------------------- exec stream


class _ExecStream:
    """The hijacked connection of a started exec: multiplexed output frames, optional stdin."""

    def __init__(self, sock_io: Any) -> None:
        self._io = sock_io
        self._sock: socket.socket = getattr(sock_io, "_sock", sock_io)
        self._sock.settimeout(None)  # deadlines are enforced by abort() from a watchdog
        self._pending = self._take_buffered(sock_io)
        self._closed = False

    def _take_buffered(self, sock_io: Any) -> bytes:
        """Bytes the HTTP layer read past the response headers (the start of the output).

        ``exec_start(socket=True)`` hands back the raw socket, but http.client parsed the
        headers through a buffered reader that may already hold the first output frames.
        """
        response = getattr(sock_io, "_response", None)
        fp = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
        if fp is None or not hasattr(fp, "peek"):
            return b""
        try:
            self._sock.setblocking(False)
            try:
                data = fp.peek(1 << 16)  # buffered bytes, plus at most one non-blocking read
            except OSError:
                data = b""
            return bytes(fp.read(len(data))) if data else b""
        finally:
            self._sock.settimeout(None)

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(stream, payload) until EOF; stream 1 = stdout, 2 = stderr, 0 = unframed bytes."""
        buf = bytearray()
        unframed = False
        while True:
            if self._pending:
                data, self._pending = self._pending, b""
            else:
                data = self._sock.recv(65536)
            if not data:
                if len(buf) > 8:  # the stream broke inside a frame: keep the partial payload
                    yield buf[0], bytes(buf[8:])
                return
            if unframed:
                yield 0, data
                continue
            buf += data
            while len(buf) >= 8:
                stream = buf[0]
                if stream > 2 or buf[1:4] != b"\x00\x00\x00":
                    unframed = True  # a TTY exec or a plain-text error: pass bytes through
                    yield 0, bytes(buf)
                    buf.clear()
                    break
                size = int.from_bytes(buf[4:8], "big")
                if len(buf) < 8 + size:
                    break
                payload = bytes(buf[8 : 8 + size])
                del buf[: 8 + size]
                if payload:
                    yield stream, payload

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        self._sock.sendall(data)

    def shutdown_write(self) -> None:
        self._sock.shutdown(socket.SHUT_WR)

    def abort(self) -> None:
        """Unblock any thread stuck in recv/send on this connection."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for obj in (self._io, self._sock, getattr(self._io, "_response", None)):
            close = getattr(obj, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # closing must never mask the real outcome
                    log.debug("error closing exec stream", exc_info=True)


class _Watchdog:
    """Aborts an exec stream once ``timeout`` seconds pass (never when None); ``expired`` tells.

    ``cancel()`` in a ``finally`` after the work: a stream aborted by the watchdog makes the
    blocked read or write return with an error, which the caller reports as a timeout.
    """

    def __init__(self, stream: _ExecStream, timeout: float | None) -> None:
        self.expired = threading.Event()
        self._stream = stream
        self._timer: threading.Timer | None = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        self.expired.set()
        self._stream.abort()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def _timed_out(what: str, timeout: float | None, c: ContainerRef) -> TransportError:
    """The error for `what` cut short by its deadline (transient: trying again may work)."""
    return TransportError(f"`{what}` timed out after {timeout:g}s", container=c, transient=True)


class _TailBuffer:
    """Collects output, keeping only the last ``limit`` bytes."""

    def __init__(self, limit: int = _OUTPUT_KEEP_BYTES) -> None:
        self._buf = bytearray()
        self._limit = limit

    def __call__(self, data: bytes) -> None:
        self._buf += data
        if len(self._buf) > self._limit:
            del self._buf[: len(self._buf) - self._limit]

    def text(self) -> str:
        return self._buf.decode("utf-8", "replace")


# ------------------------------------------------------------------ transport


class DockerTransport:
    """``Transport`` over a Docker Engine (local socket or ``DOCKER_HOST``).

    ``docker_host``: e.g. ``unix:///var/run/docker.sock`` or ``tcp://127.0.0.1:2375``; when None,
    the environment decides (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``, ``DOCKER_CERT_PATH``) and
    falls back to the local unix socket. ``timeout`` bounds each API request; ``tar_timeout``
    bounds a whole tar/rm exec; ``exec_timeout`` bounds a run step (None: no limit).
    """

    kind = "docker"

    def __init__(
        self,
        docker_host: str | None = None,
        *,
        timeout: float = 30.0,
        tar_timeout: float | None = 300.0,
        exec_timeout: float | None = None,
        max_argv_bytes: int = DEFAULT_MAX_ARGV_BYTES,
        client: Any | None = None,
    ) -> None:
        self._explicit_host = docker_host
        self.docker_host = docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST
        self.timeout = timeout
        self.tar_timeout = tar_timeout
        self.exec_timeout = exec_timeout
        self.max_argv_bytes = max_argv_bytes
        self._client: Any | None = client
        self._lock = threading.Lock()
        self._round = threading.local()  # listings shared by the lookups of one discovery round

    # -------------------------------------------------------------- client

    @property
    def api(self) -> Any:
        """The low-level ``docker.APIClient`` (created on first use; API version negotiated)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
                client = self._client
        return client

    def _connect(self) -> Any:
        try:
            import docker
            import docker.errors
            from docker.utils import kwargs_from_env
        except ImportError as exc:  # pragma: no cover - docker is a declared dependency
            raise DaemonUnavailable("the docker Python SDK is not installed (pip install docker)") from exc
        kwargs: dict[str, Any] = {}
        if self._explicit_host is None:
            kwargs = kwargs_from_env()
        kwargs.setdefault("base_url", self._explicit_host or DEFAULT_DOCKER_HOST)
        try:
            return docker.APIClient(version="auto", timeout=self.timeout, **kwargs)
        except docker.errors.DockerException as exc:
            raise DaemonUnavailable(
                f"cannot reach the Docker daemon at {kwargs['base_url']}: {exc}", transient=True
            ) from exc

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @contextmanager
    def _translate(self, c: ContainerRef | None, action: str) -> Iterator[None]:
        """Map docker SDK / requests / socket errors to the transport error taxonomy."""
        import docker.errors
        import requests.exceptions

        try:
            yield
        except TransportError:
            raise
        except docker.errors.NotFound as exc:
            detail = _api_error_text(exc)
            if c is None:
                raise TransportError(f"{action}: {detail}") from exc
            raise ContainerGone(
                f"{action}: container {c.short_id} no longer exists ({detail})", container=c
            ) from exc
        except docker.errors.APIError as exc:
            detail = _api_error_text(exc)
            lowered = detail.lower()
            if c is not None and (
                "is not running" in lowered or "is paused" in lowered or "is restarting" in lowered
            ):
                raise ContainerNotRunning(f"{action}: {detail}", container=c) from exc
            if c is not None and (
                "no such container" in lowered
                or "marked for removal" in lowered
                or "removal in progress" in lowered
            ):
                raise ContainerGone(f"{action}: {detail}", container=c) from exc
            status = exc.status_code or 0
            raise TransportError(f"{action}: {detail}", container=c, transient=status >= 500) from exc
        except requests.exceptions.ConnectionError as exc:
            raise DaemonUnavailable(
                f"{action}: cannot reach the Docker daemon at {self.docker_host}: {exc}",
                container=c,
                transient=True,
            ) from exc
        except (requests.exceptions.Timeout, TimeoutError) as exc:
            raise TransportError(
                f"{action}: Docker daemon timed out: {exc}", container=c, transient=True
            ) from exc
        except docker.errors.DockerException as exc:
            raise TransportError(f"{action}: {exc}", container=c) from exc
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            raise DaemonUnavailable(
                f"{action}: cannot reach the Docker daemon at {self.docker_host}: {exc}",
                container=c,
                transient=True,
            ) from exc
        except OSError as exc:
            raise TransportError(
                f"{action}: connection to the Docker daemon failed: {exc}", container=c, transient=True
            ) from exc

    # ----------------------------------------------------------- discovery

    @contextmanager
    def discovery_round(self) -> Iterator[None]:
        """Lookups made by this thread meanwhile share one container and one image listing.

        The engine looks for the containers of every image every few seconds; a Tiltfile with
        hundreds of images would otherwise cost hundreds of daemon round trips per round.
        """
        outer = getattr(self._round, "memo", None)
        if outer is None:
            self._round.memo = {}
        try:
            yield
        finally:
            if outer is None:
                self._round.memo = None

    def _listing(self, kind: str, **kwargs: Any) -> list[dict[str, Any]]:
        """``api.containers(**kwargs)`` or ``api.images()``, once per discovery round (a failure
        too: with the daemon down, a round of hundreds of images makes one connection attempt)."""
        memo: dict[tuple[Any, ...], list[dict[str, Any]] | BaseException] | None = getattr(self._round, "memo", None)
        key = (kind, repr(sorted(kwargs.items())))
        if memo is not None and key in memo:
            known = memo[key]
            if isinstance(known, BaseException):
                raise known  # the daemon failed this round: do not ask again per image
            return known
        try:
            found = list(self.api.containers(**kwargs) if kind == "containers" else self.api.images())
        except Exception as exc:
            if memo is not None:
                memo[key] = exc
            raise
        if memo is not None:
            memo[key] = found
        return found

    def find_containers(self, image_ref: str) -> list[ContainerRef]:
        """Running containers of ``image_ref``.

        A container matches when its configured image (``Config.Image``) has the same repository
        (any tag when ``image_ref`` names none; the same tag or digest when it does), or when it
        runs the image ID of a local image tagged with ``image_ref`` (started by ID, or via another
        tag of the same image).
        """
        with self._translate(None, f"finding containers of {image_ref}"):
            found = [ref for ref, _ in self._image_containers(image_ref, {"status": "running"})]
        return sorted(found, key=lambda r: (r.name, r.id))

    def _image_containers(
        self, image_ref: str, filters: dict[str, Any] | None, *, all: bool = False
    ) -> list[tuple[ContainerRef, dict[str, Any]]]:
        """(ref, list item) of the containers of ``image_ref`` (see ``find_containers``)."""
        want = parse_image_ref(image_ref)
        found: list[tuple[ContainerRef, dict[str, Any]]] = []
        image_ids = self._local_image_ids(image_ref, want)
        for item in self._listing("containers", all=all, filters=filters):
            cid, image_id = str(item["Id"]), str(item.get("ImageID") or "")
            config_image = str(item.get("Image") or "")
            if _is_image_id(config_image, image_id):
                config_image = self._config_image(cid) or config_image
            by_name = (
                bool(config_image)
                and not _is_image_id(config_image, image_id)
                and want.matches(parse_image_ref(config_image))
            )
            if by_name or image_id in image_ids:
                found.append((self._ref(item, config_image), item))
        return found

    def container_states(
        self, image_ref: str, compose: Sequence[tuple[str, str]] = ()
    ) -> list[ContainerState]:
        """Every container of ``image_ref`` or of the compose services, in any state (rules 17-18).

        One listing with ``all=True``; a container is inspected (restart count, start time, exit
        code) only when it is restarting, stopped, or running for less than the crash-loop window
        according to the listing's status text ("Up 3 seconds"): a container up for longer cannot
        be in a crash loop.
        """
        items: dict[str, tuple[ContainerRef, dict[str, Any]]] = {}
        with self._translate(None, f"listing containers of {image_ref}"):
            for ref, item in self._image_containers(image_ref, None, all=True):
                items[ref.id] = (ref, item)
            for project, service in compose:
                filters = {
                    "label": [f"{COMPOSE_PROJECT_LABEL}={project}", f"{COMPOSE_SERVICE_LABEL}={service}"]
                }
                for item in self.api.containers(all=True, filters=filters):
                    labels = item.get("Labels") or {}
                    if str(labels.get(COMPOSE_ONEOFF_LABEL, "")).lower() == "true":
                        continue
                    ref = self._ref(item, str(item.get("Image") or ""))
                    items.setdefault(ref.id, (ref, item))
        states: list[ContainerState] = []
        for ref, item in items.values():
            status = str(item.get("State") or "")
            if status == "running" and not _recently_started(
                str(item.get("Status") or ""), _base.CRASH_LOOP_WINDOW_S
            ):
                states.append(ContainerState(container=ref, status=status))
                continue
            states.append(self._inspect_state(ref, status))
        return sorted(states, key=lambda s: (s.container.name, s.container.id))

    def _inspect_state(self, ref: ContainerRef, listed: str) -> ContainerState:
        import docker.errors

        try:
            with self._translate(ref, "inspecting container"):
                info = self.api.inspect_container(ref.id)
        except ContainerGone:
            return ContainerState(container=ref, status="removing")
        except docker.errors.DockerException:  # pragma: no cover - _translate maps these
            return ContainerState(container=ref, status=listed)
        state = info.get("State") or {}
        status = str(state.get("Status") or listed)
        exit_code = state.get("ExitCode")
        return ContainerState(
            container=ref,
            status=status,
            restart_count=int(info.get("RestartCount") or 0),
            started_at=_parse_docker_time(str(state.get("StartedAt") or "")),
            exit_code=int(exit_code) if exit_code is not None and status != "running" else None,
        )

    def find_compose_containers(self, project: str, service: str) -> list[ContainerRef]:
        """Running containers of a Docker Compose service (one-off ``run`` containers excluded)."""
        filters = {
            "status": "running",
            "label": [f"{COMPOSE_PROJECT_LABEL}={project}", f"{COMPOSE_SERVICE_LABEL}={service}"],
        }
        with self._translate(None, f"finding containers of compose service {project}/{service}"):
            listed = self.api.containers(filters=filters)
        found: list[tuple[int, ContainerRef]] = []
        for item in listed:
            labels = item.get("Labels") or {}
            if str(labels.get(COMPOSE_ONEOFF_LABEL, "")).lower() == "true":
                continue
            try:
                number = int(labels.get(COMPOSE_NUMBER_LABEL, "0"))
            except ValueError:
                number = 0
            found.append((number, self._ref(item, str(item.get("Image") or ""))))
        return [ref for _, ref in sorted(found, key=lambda p: (p[0], p[1].name))]

    def _local_image_ids(self, image_ref: str, want: ImageRef) -> set[str]:
        """IDs of the local images tagged with ``image_ref`` (any tag when it names none).

        From one listing of the local images: a tag matches as ``want.matches`` says (so
        ``busybox`` and ``docker.io/library/busybox:latest`` are the same image), a digest
        reference matches the image's repository digests.
        """
        ids: set[str] = set()
        for img in self._listing("images"):
            names = img.get("RepoDigests") if want.digest is not None else img.get("RepoTags")
            for name in names or ():
                name = str(name)
                if name.startswith("<none>"):
                    continue
                if want.matches(parse_image_ref(name)):
                    ids.add(str(img["Id"]))
                    break
        return ids

    def _config_image(self, cid: str) -> str | None:
        import docker.errors

        try:
            info = self.api.inspect_container(cid)
        except docker.errors.NotFound:
            return None
        return str((info.get("Config") or {}).get("Image") or "") or None

    @staticmethod
    def _ref(item: dict[str, Any], image: str) -> ContainerRef:
        names = [str(n).lstrip("/") for n in item.get("Names") or []]
        plain = [n for n in names if "/" not in n]
        name = (plain or names or [str(item["Id"])[:12]])[0]
        return ContainerRef(kind="docker", id=str(item["Id"]), name=name, image=image)

    # ------------------------------------------------------------ updates

    def delete(self, c: ContainerRef, container_paths: Sequence[str]) -> None:
        """``rm -rf -- <paths>`` in as few execs as the argv budget allows (ancestors win)."""
        for argv in rm_commands(container_paths, self.max_argv_bytes):
            out = _TailBuffer()
            code = self._run(c, argv, out, stdin=None, timeout=self.tar_timeout, what="rm -rf")
            if code != 0:
                self._raise_if_stopped(c)
                raise classify_helper_failure("rm", code, out.text(), container=c)

    def extract_tar(self, c: ContainerRef, tar: TarData) -> None:
        """Stream ``tar`` into ``tar -C / -x -f -`` over exec stdin (see module docstring)."""
        out = _TailBuffer()
        code = self._run(
            c,
            TAR_EXTRACT_ARGV,
            out,
            stdin=iter_chunks(tar),
            timeout=self.tar_timeout,
            what="tar -C / -x -f -",
        )
        if code != 0:
            self._raise_if_stopped(c)
            raise classify_helper_failure("tar", code, out.text(), container=c)

    def extract_tar_via_archive_api(self, c: ContainerRef, tar: TarData) -> None:
        """Alternative to ``extract_tar``: ``PUT /containers/{id}/archive?path=/`` (docker-py ``put_archive``).

        Needs no tar in the image and works on stopped containers, but writes as root and keeps the
        archive's uid/gid (see the module docstring).
        """
        data: bytes | Iterator[bytes]
        data = bytes(tar) if isinstance(tar, bytes | bytearray | memoryview) else iter_chunks(tar)
        try:
            with self._translate(c, "uploading archive"):
                self.api.put_archive(c.id, "/", data)
        except TransportError as exc:
            if "read-only" in exc.message.lower() or "permission denied" in exc.message.lower():
                raise PermissionDenied(exc.message, container=c) from exc
            raise

    def exec_run(self, c: ContainerRef, argv: Sequence[str], on_output: OutputCallback) -> int:
        """Run ``argv`` with the container's default user/workdir/env; stream output; return the exit code.

        A non-zero exit is returned, not raised. Raises ``ContainerGone`` when the container
        disappears or stops while the command runs (including a 137 caused by that).
        """
        if not argv:
            raise ValueError("empty command")
        code = self._run(c, argv, on_output, stdin=None, timeout=self.exec_timeout, what=" ".join(argv))
        if code == 137:
            self._raise_if_stopped(c, settle_s=0.5)
        return code

    def restart(self, c: ContainerRef) -> None:
        """``docker restart -t 0``: kill and start again; returns once the daemon has restarted it."""
        with self._translate(c, "restarting container"):
            self.api.restart(c.id, timeout=0)

    # ------------------------------------------------------------ internals

    def _run(
        self,
        c: ContainerRef,
        argv: Sequence[str],
        on_output: OutputCallback,
        *,
        stdin: Iterable[bytes] | None,
        timeout: float | None,
        what: str,
    ) -> int:
        with self._translate(c, f"creating exec `{what}`"):
            created = self.api.exec_create(
                c.id, list(argv), stdin=stdin is not None, stdout=True, stderr=True, tty=False
            )
        exec_id = str(created["Id"])
        with self._translate(c, f"starting exec `{what}`"):
            stream = _ExecStream(self.api.exec_start(exec_id, socket=True))

        watchdog = _Watchdog(stream, timeout)
        try:
            if stdin is None:
                for _, payload in stream.frames():
                    on_output(payload)
            else:
                self._pump(stream, stdin, on_output)
        except OSError as exc:
            if watchdog.expired.is_set():
                raise _timed_out(what, timeout, c) from exc
            self._raise_if_stopped(c)
            raise TransportError(
                f"connection to the Docker daemon broke during `{what}`: {exc}", container=c, transient=True
            ) from exc
        finally:
            watchdog.cancel()
            stream.close()
        if watchdog.expired.is_set():
            raise _timed_out(what, timeout, c)

        # The exit code is authoritative even when input could not all be written: tar exits 0
        # only after a complete archive, and a broken connection closes its stdin early.
        code = self._exit_code(c, exec_id, what)
        log.debug("exec %s in %s exited %d", what, c.short_id, code)
        return code

    @staticmethod
    def _pump(stream: _ExecStream, stdin: Iterable[bytes], on_output: OutputCallback) -> None:
        """Write ``stdin`` while a thread drains the output (avoids a full-pipe deadlock).

        When the output ends first (the process exited: tar missing, tar done, container killed),
        the connection is shut down so that a blocked write returns instead of waiting forever
        for a daemon that no longer reads. Write errors are not raised: the exit code decides.
        """
        failure: list[BaseException] = []
        output_done = threading.Event()

        def drain() -> None:
            try:
                for _, payload in stream.frames():
                    on_output(payload)
            except BaseException as exc:  # re-raised in the calling thread
                failure.append(exc)
            finally:
                output_done.set()
                if not writer_done.is_set():
                    stream.abort()

        writer_done = threading.Event()
        reader = threading.Thread(target=drain, name="docker-exec-output", daemon=True)
        reader.start()
        write_error: OSError | None = None
        try:
            for chunk in stdin:
                if output_done.is_set():
                    break
                try:
                    stream.sendall(chunk)
                except OSError as exc:
                    write_error = exc
                    break
            writer_done.set()
            if not output_done.is_set():
                try:
                    stream.shutdown_write()
                except OSError as exc:
                    write_error = write_error or exc
        except BaseException:
            writer_done.set()
            stream.abort()  # the input source failed: do not leave tar waiting for more
            reader.join()
            raise
        reader.join()
        if failure:
            raise failure[0]
        if write_error is not None:
            log.debug("exec input ended early: %s", write_error)

    def _exit_code(self, c: ContainerRef, exec_id: str, what: str) -> int:
        deadline = time.monotonic() + _EXIT_CODE_WAIT_S
        delay = 0.002
        while True:
            with self._translate(c, f"inspecting exec `{what}`"):
                info = self.api.exec_inspect(exec_id)
            code = info.get("ExitCode")
            if not info.get("Running") and code is not None:
                return int(code)
            if time.monotonic() > deadline:
                self._raise_if_stopped(c)
                raise TransportError(
                    f"`{what}` output ended but the command did not finish", container=c, transient=True
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _raise_if_stopped(self, c: ContainerRef, settle_s: float = 0.0) -> None:
        """Raise ContainerGone/ContainerNotRunning when the container vanished or stopped.

        ``settle_s``: keep looking that long, since a kill can reach our exec before the
        container's own state changes.
        """
        import docker.errors

        deadline = time.monotonic() + settle_s
        while True:
            try:
                with self._translate(c, "inspecting container"):
                    state = self.api.inspect_container(c.id).get("State") or {}
            except ContainerGone:
                raise
            except TransportError:
                return  # cannot tell; let the caller report the original failure
            except docker.errors.DockerException:  # pragma: no cover - _translate maps these
                return
            if not state.get("Running") or state.get("Restarting") or state.get("Paused"):
                status = state.get("Status") or "not running"
                raise ContainerNotRunning(f"container {c.short_id} is {status}", container=c)
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)


def _recently_started(status: str, window_s: float) -> bool:
    """Whether a listing's status text ("Up 3 seconds", "Up 2 hours") may mean less than ``window_s``
    of uptime.  Text that is not understood counts as recent (the container is then inspected)."""
    text = status.lower()
    if not text.startswith("up "):
        return True
    rest = text[3:]
    if rest.startswith("less than a second"):
        return True
    words = rest.split()
    if len(words) >= 2 and words[0].isdigit() and words[1].startswith("second"):
        return int(words[0]) < window_s + 1  # the text is rounded down
    return not any(unit in text for unit in ("minute", "hour", "day", "week", "month", "year"))


def _parse_docker_time(text: str) -> float | None:
    """Epoch seconds of a Docker RFC 3339 timestamp with nanoseconds; None for the zero time."""
    if not text or text.startswith("0001-"):
        return None
    from datetime import datetime

    main, _, frac = text.rstrip("Z").partition(".")
    tz = ""
    for sign in ("+", "-"):
        if sign in frac:
            frac, _, rest = frac.partition(sign)
            tz = sign + rest
    if not tz and len(main) > 19 and main[19] in "+-":
        main, tz = main[:19], main[19:]
    try:
        base = datetime.fromisoformat(main + (tz or "+00:00"))
    except ValueError:
        return None
    fraction = float(f"0.{frac}") if frac.isdigit() else 0.0
    return base.timestamp() + fraction


def _api_error_text(exc: Any) -> str:
    explanation = getattr(exc, "explanation", None)
    if explanation:
        return str(explanation).strip()
    return str(exc)


if TYPE_CHECKING:
    _conforms: Transport = DockerTransport()  # mypy checks DockerTransport against the protocol
