"""Shared fixtures. Docker: tests marked ``@pytest.mark.docker`` need a real engine.

Without one they are skipped, except under CI (``CI=true``) or the project's test command
(``TILT_LSP_REQUIRE_DOCKER=1``), where they fail: CI must
start Docker (``scripts/ensure-docker.sh``), and a silent skip would hide that.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import dockerutil
import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is None or dockerutil.docker_available():
        return
    reason = dockerutil.docker_unavailable_reason()
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("TILT_LSP_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{reason}; docker tests must not be skipped in CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_api() -> Iterator[Any]:
    """Low-level docker client, with the busybox base images built; removes this session's objects at the end."""
    dockerutil.ensure_base_images()
    yield dockerutil.api()
    dockerutil.cleanup_session()
