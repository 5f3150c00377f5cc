"""Container discovery for many images: one container listing and one image listing per round."""

from __future__ import annotations

from typing import Any

from tilt_lsp.liveupdate.transport.docker import DockerTransport


class _Api:
    """The few docker.APIClient calls discovery makes, counted."""

    def __init__(self, containers: list[dict[str, Any]], images: list[dict[str, Any]]) -> None:
        self._containers = containers
        self._images = images
        self.calls: list[str] = []

    def containers(self, all: bool = False, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        self.calls.append("containers")
        wanted = (filters or {}).get("status")
        return [c for c in self._containers if wanted is None or c["State"] == wanted]

    def images(self) -> list[dict[str, Any]]:
        self.calls.append("images")
        return self._images


def _fixture(n: int) -> _Api:
    images = [
        {"Id": f"sha256:{i:064x}", "RepoTags": [f"example/svc-{i}:latest"], "RepoDigests": []} for i in range(n)
    ]
    images.append({"Id": "sha256:" + "f" * 64, "RepoTags": ["<none>:<none>"], "RepoDigests": []})
    images.append(
        {"Id": "sha256:" + "e" * 64, "RepoTags": ["busybox:1.36"], "RepoDigests": ["busybox@sha256:" + "d" * 64]}
    )
    containers = [
        {"Id": f"{i:064x}", "Names": [f"/svc-{i}-1"], "Image": f"example/svc-{i}", "ImageID": f"sha256:{i:064x}",
         "State": "running"}
        for i in range(n)
    ]
    # started by another tag of svc-3's image: found through the image ID
    containers.append({"Id": "a" * 64, "Names": ["/alias"], "Image": "other/name:v2", "ImageID": f"sha256:{3:064x}",
                       "State": "running"})
    containers.append({"Id": "b" * 64, "Names": ["/bb"], "Image": "busybox:1.36", "ImageID": "sha256:" + "e" * 64,
                       "State": "exited"})
    return _Api(containers, images)


def test_a_round_lists_containers_and_images_once_for_every_image() -> None:
    api = _fixture(50)
    transport = DockerTransport(client=api)
    with transport.discovery_round():
        found = {i: transport.find_containers(f"example/svc-{i}") for i in range(50)}
    assert api.calls.count("containers") == 1
    assert api.calls.count("images") == 1
    assert [c.name for c in found[7]] == ["svc-7-1"]
    assert sorted(c.name for c in found[3]) == ["alias", "svc-3-1"]


def test_outside_a_round_every_lookup_asks_the_daemon() -> None:
    api = _fixture(3)
    transport = DockerTransport(client=api)
    transport.find_containers("example/svc-1")
    transport.find_containers("example/svc-2")
    assert api.calls.count("containers") == 2  # fresh state for every update outside discovery
    with transport.discovery_round():
        transport.find_containers("example/svc-1")
    transport.find_containers("example/svc-1")
    assert api.calls.count("containers") == 4


def test_image_ids_by_tag_by_any_tag_and_by_digest() -> None:
    api = _fixture(2)
    transport = DockerTransport(client=api)
    from tilt_lsp.liveupdate.transport.docker import parse_image_ref

    def ids(ref: str) -> set[str]:
        return transport._local_image_ids(ref, parse_image_ref(ref))  # noqa: SLF001 - the rule itself

    assert ids("busybox") == {"sha256:" + "e" * 64}
    assert ids("docker.io/library/busybox:1.36") == {"sha256:" + "e" * 64}
    assert ids("busybox:latest") == set()
    assert ids("busybox@sha256:" + "d" * 64) == {"sha256:" + "e" * 64}
    assert ids("busybox@sha256:" + "c" * 64) == set()
    assert ids("example/svc-1:latest") == {f"sha256:{1:064x}"}


def test_with_the_daemon_down_a_round_tries_to_connect_once(tmp_path: Any) -> None:
    """A real connection failure (no socket at the address): the first lookup of the round
    tries, the other images get the same error without another attempt."""
    import pytest

    from tilt_lsp.liveupdate.transport.base import DaemonUnavailable

    transport = DockerTransport(docker_host=f"unix://{tmp_path}/no-daemon.sock", timeout=2)
    attempts = 0
    connect = transport._connect  # noqa: SLF001 - counting the attempts is the point

    def counted() -> Any:
        nonlocal attempts
        attempts += 1
        return connect()

    transport._connect = counted  # type: ignore[method-assign]  # noqa: SLF001
    with transport.discovery_round():
        for i in range(40):
            with pytest.raises(DaemonUnavailable):
                transport.find_containers(f"example/svc-{i}")
    assert attempts == 1
    with transport.discovery_round():  # the next round asks again: the daemon may be up by now
        with pytest.raises(DaemonUnavailable):
            transport.find_containers("example/svc-0")
    assert attempts == 2
