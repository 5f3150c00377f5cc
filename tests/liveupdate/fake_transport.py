"""An in-memory ``Transport`` for engine tests: each container is a dict path -> bytes."""

from __future__ import annotations

import io
import posixpath
import tarfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tilt_lsp.liveupdate.transport.base import (
    ContainerGone,
    ContainerRef,
    OutputCallback,
    TarData,
    TransportError,
    iter_chunks,
)
from tilt_lsp.tiltfile.model import image_name


@dataclass
class FakeContainer:
    ref: ContainerRef
    image: str
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    restarts: int = 0


class FakeTransport:
    kind = "docker"

    def __init__(self) -> None:
        self.containers: dict[str, FakeContainer] = {}
        self.calls: list[tuple[object, ...]] = []
        self.lock = threading.Lock()
        # argv display -> exit code (or an exception to raise)
        self.run_results: dict[str, int | Exception] = {}
        self.tar_errors: list[Exception] = []  # raised by the next extract_tar calls, in order
        self.run_gate: threading.Event | None = None  # when set, runs wait for it
        self.run_started = threading.Event()
        self.on_run: Callable[[ContainerRef, Sequence[str]], None] | None = None
        self.find_calls = 0

    # ---------------------------------------------------------------- setup

    def add(self, name: str, image: str, cid: str | None = None) -> ContainerRef:
        cid = cid or f"{name}-{len(self.containers):02d}".ljust(64, "0")
        ref = ContainerRef(kind="docker", id=cid, name=name, image=image)
        with self.lock:
            self.containers[cid] = FakeContainer(ref, image)
        return ref

    def remove(self, cid: str) -> None:
        with self.lock:
            del self.containers[cid]

    def of(self, name: str) -> FakeContainer:
        return next(c for c in self.containers.values() if c.ref.name == name)

    def calls_of(self, kind: str) -> list[tuple[object, ...]]:
        with self.lock:
            return [c for c in self.calls if c[0] == kind]

    # ------------------------------------------------------------ transport

    def find_containers(self, image_ref: str) -> list[ContainerRef]:
        with self.lock:
            self.find_calls += 1
            return [c.ref for c in self.containers.values() if image_name(c.image) == image_name(image_ref)]

    def _get(self, c: ContainerRef) -> FakeContainer:
        with self.lock:
            found = self.containers.get(c.id)
        if found is None:
            raise ContainerGone(f"container {c.short_id} no longer exists", container=c)
        return found

    def delete(self, c: ContainerRef, container_paths: Sequence[str]) -> None:
        box = self._get(c)
        with self.lock:
            self.calls.append(("delete", c.name, tuple(container_paths)))
            for path in container_paths:
                for table in (box.files, box.links):
                    for key in [k for k in table if k == path or k.startswith(path.rstrip("/") + "/")]:
                        del table[key]

    def extract_tar(self, c: ContainerRef, tar: TarData) -> None:
        box = self._get(c)
        with self.lock:
            if self.tar_errors:
                err = self.tar_errors.pop(0)
                self.calls.append(("tar-error", c.name, str(err)))
                raise err
        data = b"".join(iter_chunks(tar))
        names: list[str] = []
        with tarfile.open(fileobj=io.BytesIO(data)) as tf, self.lock:
            for member in tf.getmembers():
                path = posixpath.join("/", member.name)
                names.append(path)
                if member.issym():
                    box.links[path] = member.linkname
                elif member.isfile():
                    f = tf.extractfile(member)
                    assert f is not None
                    box.files[path] = f.read()
            self.calls.append(("tar", c.name, tuple(names)))

    def exec_run(self, c: ContainerRef, argv: Sequence[str], on_output: OutputCallback) -> int:
        self._get(c)
        display = argv[2] if len(argv) == 3 and argv[:2] == ["sh", "-c"] else " ".join(argv)
        with self.lock:
            self.calls.append(("run", c.name, display))
        self.run_started.set()
        if self.on_run is not None:
            self.on_run(c, argv)
        if self.run_gate is not None:
            self.run_gate.wait(30)
        on_output(f"running {display}\n".encode())
        result = self.run_results.get(display, 0)
        if isinstance(result, Exception):
            raise result
        if result:
            on_output(b"something went wrong\nlast line\n")
        return result

    def restart(self, c: ContainerRef) -> None:
        box = self._get(c)
        with self.lock:
            box.restarts += 1
            self.calls.append(("restart", c.name))


def transient_error(c: ContainerRef | None = None) -> TransportError:
    return TransportError("connection reset by peer", container=c, transient=True)
