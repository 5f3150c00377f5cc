"""Docker helpers for tests and benchmarks.

Nothing here pulls from a registry: the base images are built locally from the
host's ``busybox-static`` binary (installed by ``scripts/ensure-docker.sh``).

* ``tilt-lsp-test/busybox:latest``: busybox plus a symlink for every applet
  (sh, tar, rm, sleep, cat, id, ...).
* ``tilt-lsp-test/notar:latest``: the same without the ``tar`` applet link, like
  a minimal image that lacks tar (tilt#4303).

Both are cached by tag (and rebuilt when the recipe or the busybox binary changes).
Everything else a test creates (derived images, containers) carries the label
``tilt-lsp-test=1`` plus a per-process session label, so that ``cleanup_session()``
removes only what this process made, even when several test runs share one daemon.
Containers always run with ``--network none``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

LABEL = "tilt-lsp-test"
SESSION_LABEL = "tilt-lsp-test.session"
RECIPE_LABEL = "tilt-lsp-test.recipe"
SESSION_ID = uuid.uuid4().hex[:12]

BUSYBOX_IMAGE = "tilt-lsp-test/busybox:latest"
NOTAR_IMAGE = "tilt-lsp-test/notar:latest"

# Bump when the rootfs layout below changes, to force a rebuild of cached images.
_RECIPE_VERSION = "2"

# PID 1 exits promptly on SIGTERM (a plain `sleep` as PID 1 would ignore it).
KEEPALIVE_CMD = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 1; done"]

_PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
_GROUP = b"root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"


def _api(timeout: int = 60) -> Any:
    """A low-level client configured like the docker CLI: DOCKER_HOST (+ TLS variables) or the local socket."""
    import docker
    from docker.utils import kwargs_from_env

    return docker.APIClient(version="auto", timeout=timeout, **kwargs_from_env())


@cache
def api() -> Any:
    """A shared low-level docker client (API version negotiated with the daemon)."""
    return _api()


@cache
def docker_available() -> bool:
    """True when a Docker daemon answers a ping on the default host."""
    try:
        client = _api(timeout=5)
        ok = bool(client.ping())
        client.close()
        return ok
    except Exception as exc:  # any failure means "not usable"
        log.info("docker unavailable: %s", exc)
        return False


def docker_unavailable_reason() -> str:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    return f"Docker daemon not reachable at {host} (run scripts/ensure-docker.sh)"


# ----------------------------------------------------------------- base images


def busybox_binary() -> str:
    for cand in ("/bin/busybox", "/usr/bin/busybox", shutil.which("busybox") or ""):
        if cand and os.path.isfile(cand):
            return cand
    raise RuntimeError("busybox not found: install busybox-static (scripts/ensure-docker.sh does)")


def _applet_paths(busybox: str) -> list[str]:
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True).stdout
    return sorted({line.strip().lstrip("/") for line in out.splitlines() if line.strip()})


def _add_dir(tar: tarfile.TarFile, name: str, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = 0
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def rootfs_tar(*, exclude: Iterable[str] = ()) -> bytes:
    """A root filesystem: static busybox, one symlink per applet (minus ``exclude``)."""
    busybox = busybox_binary()
    excluded = set(exclude)
    applets = [p for p in _applet_paths(busybox) if os.path.basename(p) not in excluded]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in (
            "bin",
            "sbin",
            "usr",
            "usr/bin",
            "usr/sbin",
            "etc",
            "root",
            "home",
            "proc",
            "sys",
            "dev",
            "var",
        ):
            _add_dir(tar, d)
        _add_dir(tar, "tmp", 0o1777)
        _add_dir(tar, "home/app", 0o755)
        with open(busybox, "rb") as fh:
            _add_file(tar, "bin/busybox", fh.read(), 0o755)
        for path in applets:
            if path == "bin/busybox":
                continue
            info = tarfile.TarInfo(path)
            info.type = tarfile.SYMTYPE
            info.linkname = "/bin/busybox"
            info.mtime = 0
            tar.addfile(info)
        _add_file(tar, "etc/passwd", _PASSWD)
        _add_file(tar, "etc/group", _GROUP)
    return buf.getvalue()


def _context_tar(dockerfile: str, files: Mapping[str, bytes] | None = None) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        _add_file(tar, "Dockerfile", dockerfile.encode())
        for name, data in (files or {}).items():
            _add_file(tar, name, data, 0o755 if name.endswith(".sh") else 0o644)
    buf.seek(0)
    return buf


def _build(tag: str, dockerfile: str, files: Mapping[str, bytes] | None, labels: Mapping[str, str]) -> str:
    """Build with the legacy builder through the API (no pulls, no network); returns the image ID."""
    client = api()
    stream = client.build(
        fileobj=_context_tar(dockerfile, files),
        custom_context=True,
        tag=tag,
        rm=True,
        forcerm=True,
        pull=False,
        network_mode="none",
        labels=dict(labels),
        decode=True,
    )
    lines: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise RuntimeError(f"docker build {tag} failed: {chunk['error']}\n" + "".join(lines))
        if "stream" in chunk:
            lines.append(str(chunk["stream"]))
    return str(client.inspect_image(tag)["Id"])


def _image_labels(tag: str) -> dict[str, str] | None:
    import docker.errors

    try:
        info = api().inspect_image(tag)
    except docker.errors.ImageNotFound:
        return None
    return dict(info.get("Config", {}).get("Labels") or {})


def _recipe_hash(busybox: str, exclude: Iterable[str]) -> str:
    h = hashlib.sha256()
    h.update(_RECIPE_VERSION.encode())
    h.update(",".join(sorted(exclude)).encode())
    with open(busybox, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()[:16]


def _ensure_base(tag: str, exclude: Iterable[str]) -> None:
    recipe = _recipe_hash(busybox_binary(), exclude)
    labels = _image_labels(tag)
    if labels is not None and labels.get(RECIPE_LABEL) == recipe:
        return
    log.info("building base image %s", tag)
    dockerfile = f"FROM scratch\nADD rootfs.tar /\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\nCMD {_json(KEEPALIVE_CMD)}\n"
    _build(tag, dockerfile, {"rootfs.tar": rootfs_tar(exclude=exclude)}, {RECIPE_LABEL: recipe})


def _json(argv: list[str]) -> str:
    import json

    return json.dumps(argv)


@cache
def ensure_base_images() -> None:
    """Build the two busybox base images unless a tag with the same recipe exists."""
    _ensure_base(BUSYBOX_IMAGE, ())
    _ensure_base(NOTAR_IMAGE, ("tar",))


# --------------------------------------------------------------- test objects


def session_labels(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    labels = {LABEL: "1", SESSION_LABEL: SESSION_ID}
    labels.update(extra or {})
    return labels


def unique_name(prefix: str = "t") -> str:
    return f"tilt-lsp-test-{prefix}-{uuid.uuid4().hex[:8]}"


def build_image(
    dockerfile: str,
    *,
    tag: str | None = None,
    files: Mapping[str, bytes] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """Build a small image (normally ``FROM`` one of the base images); returns its tag.

    The image is labelled for removal by ``cleanup_session()``.
    """
    ensure_base_images()
    tag = tag or f"tilt-lsp-test/img-{uuid.uuid4().hex[:10]}:latest"
    _build(tag, dockerfile, files, session_labels(labels))
    return tag


def tag_image(image: str, repository: str, tag: str) -> str:
    api().tag(image, repository, tag=tag)
    return f"{repository}:{tag}"


def run_container(
    image: str = BUSYBOX_IMAGE,
    *,
    command: list[str] | None = None,
    entrypoint: list[str] | None = None,
    name: str | None = None,
    user: str | None = None,
    labels: Mapping[str, str] | None = None,
    read_only: bool = False,
    start: bool = True,
    wait_running: float = 10.0,
) -> str:
    """Create (and start) a labelled container with ``--network none``; returns its ID.

    The default command is a shell loop that keeps the container running and exits on SIGTERM.
    ``wait_running``: seconds to wait for the Running state (0: do not wait).
    """
    client = api()
    host_config = client.create_host_config(network_mode="none", read_only=read_only)
    created = client.create_container(
        image,
        command=command if command is not None else (None if entrypoint else KEEPALIVE_CMD),
        entrypoint=entrypoint,
        name=name or unique_name(),
        user=user or "",
        labels=session_labels(labels),
        host_config=host_config,
        network_disabled=True,
    )
    cid = str(created["Id"])
    if start:
        client.start(cid)
        if wait_running > 0:
            wait_state(cid, running=True, timeout=wait_running)
    return cid


def wait_state(container: str, *, running: bool, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        state = api().inspect_container(container)["State"]
        if bool(state.get("Running")) == running:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"container {container[:12]} did not reach running={running}: {state}")
        time.sleep(0.05)


def exec_output(container: str, argv: list[str], *, user: str = "") -> tuple[int, bytes]:
    """Run a command in a container (test-side check, not the transport under test)."""
    client = api()
    ex = client.exec_create(container, argv, user=user)
    out = client.exec_start(ex["Id"])
    code = client.exec_inspect(ex["Id"])["ExitCode"]
    return int(code), bytes(out)


def remove_container(container: str) -> None:
    import docker.errors

    deadline = time.monotonic() + 30
    while True:
        try:
            api().remove_container(container, force=True, v=True)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            # someone else (a test thread) is removing it: wait until it is gone
            if "already in progress" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def cleanup_session(session: str | None = None) -> None:
    """Remove containers and images labelled with this session (default: this process)."""
    import docker.errors

    client = api()
    sel = f"{SESSION_LABEL}={session or SESSION_ID}"
    for c in client.containers(all=True, filters={"label": sel}):
        try:
            client.remove_container(c["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            log.warning("could not remove container %s: %s", c["Id"][:12], exc)
    for img in client.images(filters={"label": sel}):
        for ref in img.get("RepoTags") or [img["Id"]]:
            try:
                client.remove_image(ref, force=True, noprune=False)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                log.warning("could not remove image %s: %s", ref, exc)


def cleanup_all_test_objects(older_than_s: float = 0.0) -> None:
    """Remove every container labelled ``tilt-lsp-test=1`` (any session) created more than ``older_than_s`` ago."""
    import docker.errors

    client = api()
    now = time.time()
    for c in client.containers(all=True, filters={"label": f"{LABEL}=1"}):
        if now - float(c.get("Created", now)) < older_than_s:
            continue
        try:
            client.remove_container(c["Id"], force=True, v=True)
        except docker.errors.APIError:
            pass
