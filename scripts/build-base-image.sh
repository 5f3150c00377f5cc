#!/usr/bin/env bash
# Build the local base image tilt-lsp/busybox:latest with `docker import`: a root
# filesystem made of the host's static busybox binary plus a symlink for every
# applet (sh, tar, rm, httpd, ...). Nothing is pulled from a registry.
#
#   scripts/build-base-image.sh [--force] [TAG]
#
# Idempotent: an existing image is kept unless --force is given.
# Needs: docker (a running engine) and busybox-static (scripts/ensure-docker.sh installs both).
set -euo pipefail

force=0
if [[ "${1:-}" == "--force" ]]; then force=1; shift; fi
TAG="${1:-tilt-lsp/busybox:latest}"

say() { printf 'build-base-image: %s\n' "$*" >&2; }

if [[ $force -eq 0 ]] && docker image inspect "$TAG" >/dev/null 2>&1; then
    say "$TAG already exists (use --force to rebuild)"
    exit 0
fi

busybox=""
for cand in /bin/busybox /usr/bin/busybox "$(command -v busybox || true)"; do
    if [[ -n "$cand" && -x "$cand" ]]; then busybox="$cand"; break; fi
done
[[ -n "$busybox" ]] || { say "ERROR: busybox not found; install busybox-static (scripts/ensure-docker.sh does)"; exit 1; }
if command -v file >/dev/null 2>&1 && file -L "$busybox" | grep -q "dynamically linked"; then
    say "ERROR: $busybox is dynamically linked; install busybox-static"
    exit 1
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,home/app,proc,sys,dev,var,srv}
mkdir -m 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
chmod 755 "$rootfs/bin/busybox"
"$busybox" --list-full | while read -r applet; do
    [[ -z "$applet" || "$applet" == "bin/busybox" ]] && continue
    mkdir -p "$rootfs/$(dirname "$applet")"
    ln -sf /bin/busybox "$rootfs/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

say "importing $TAG from $busybox"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf - . |
    docker import \
        -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["sh"]' \
        - "$TAG" >/dev/null
say "built $TAG"
