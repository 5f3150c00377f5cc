#!/usr/bin/env bash
# The main job, from a fresh machine: set everything up and live-update the demo.
#
#   ./scripts/demo.sh
#
# 1. a virtualenv in .venv with tilt-lsp installed (pip install -e .);
# 2. a local Docker engine (scripts/ensure-docker.sh: installs docker.io and
#    busybox-static when missing - needs root for that - and starts dockerd);
# 3. the base image tilt-lsp/busybox:latest (scripts/build-base-image.sh: docker
#    import of busybox-static, nothing pulled);
# 4. the demo image tilt-lsp-demo/web from examples/demo and a container of it
#    (tilt-lsp-demo-web, --network none);
# 5. `tilt-lsp watch examples/demo`: edit examples/demo/app/pages/hello.txt and
#    save - the change is synced into the container and the page re-rendered.
# Ctrl-C stops watching and removes the demo container.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1

IMAGE=tilt-lsp-demo/web
CONTAINER=tilt-lsp-demo-web
DEMO=examples/demo

step() { printf '\n==== %s\n' "$*" >&2; }

step "python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/pip install -q -e . --config-settings editable_mode=compat >/tmp/tilt-lsp-demo-pip.log 2>&1; then
    cat /tmp/tilt-lsp-demo-pip.log >&2
    exit 1
fi

step "docker engine"
bash scripts/ensure-docker.sh

step "base image tilt-lsp/busybox:latest"
bash scripts/build-base-image.sh

step "demo image $IMAGE and container $CONTAINER"
# The legacy builder uses the local base image as is (no registry lookup); fall back to the default builder.
if ! DOCKER_BUILDKIT=0 docker build -q --network none -t "$IMAGE" "$DEMO" >/dev/null 2>/tmp/tilt-lsp-demo-build.log; then
    docker build -q --network none -t "$IMAGE" "$DEMO" >/dev/null
fi
docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
docker run -d --name "$CONTAINER" --network none "$IMAGE" >/dev/null
cleanup() {
    trap - EXIT INT TERM
    docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
for _ in $(seq 50); do
    [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = "true" ] && break
    sleep 0.1
done
docker logs "$CONTAINER" 2>&1 | sed 's/^/  container log | /' >&2

cat >&2 <<MSG

==== live update is on
Edit and save   $ROOT/$DEMO/app/pages/hello.txt
(or add a page next to it, or change app/build.sh): the file is copied into the
running container and the page is re-rendered there - no image rebuild.
Container log:  docker logs -f $CONTAINER        Stop: Ctrl-C

MSG
.venv/bin/tilt-lsp watch "$DEMO" || true
