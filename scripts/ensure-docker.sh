#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`.
#
# Idempotent and safe to call concurrently: a lock serialises callers, an
# already working engine is left alone, and at most one dockerd is ever started.
# Installs docker.io and busybox-static from Debian when missing (needs root),
# then starts dockerd without networking (tests run containers with
# --network none) and waits up to 60 s for it to answer.
set -euo pipefail

LOG=/tmp/dockerd.log
LOCK=/tmp/ensure-docker.lock
WAIT_SECONDS=60

say() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

docker_ok() { docker info >/dev/null 2>&1; }
dockerd_pids() {
    if command -v pgrep >/dev/null 2>&1; then pgrep -x dockerd; else pidof dockerd; fi
}

if command -v docker >/dev/null 2>&1 && docker_ok; then
    exit 0
fi

exec 9>"$LOCK"
if command -v flock >/dev/null 2>&1; then
    flock -w 300 9 || die "timed out waiting for another ensure-docker.sh run (lock $LOCK)"
fi

# Another caller may have finished the job while we waited for the lock.
if command -v docker >/dev/null 2>&1 && docker_ok; then
    exit 0
fi

need_install=()
command -v dockerd >/dev/null 2>&1 || need_install+=(docker.io)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need_install+=(busybox-static)

if ((${#need_install[@]})); then
    [[ $(id -u) -eq 0 ]] || die "need root to install ${need_install[*]} (run as root or install them first)"
    export DEBIAN_FRONTEND=noninteractive
    say "installing ${need_install[*]}"
    # Wait for other apt/dpkg users (another session may be installing) instead of failing at once.
    APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
    apt_install() { "${APT[@]}" install -y --no-install-recommends docker.io busybox-static; }
    # Only refresh the package lists when the packages cannot be found/fetched with the current ones.
    if ! apt_install >>/tmp/ensure-docker-apt.log 2>&1; then
        say "apt-get install failed with the current package lists; running apt-get update"
        "${APT[@]}" update >>/tmp/ensure-docker-apt.log 2>&1 || die "apt-get update failed (see /tmp/ensure-docker-apt.log)"
        apt_install >>/tmp/ensure-docker-apt.log 2>&1 || die "apt-get install docker.io busybox-static failed (see /tmp/ensure-docker-apt.log)"
    fi
fi

command -v dockerd >/dev/null 2>&1 || die "dockerd not found after installing docker.io"
command -v docker >/dev/null 2>&1 || die "docker CLI not found after installing docker.io"

if dockerd_pids >/dev/null 2>&1; then
    say "a dockerd is already running (pid $(dockerd_pids | tr '\n' ' ')); waiting for it instead of starting another"
else
    say "starting dockerd (log: $LOG)"
    # setsid: own session, so the caller's job control or terminal does not take the daemon down with it.
    # 9>&-: the daemon must not inherit (and so keep holding) the lock.
    setsid dockerd --iptables=false --ip-forward=false --bridge=none >>"$LOG" 2>&1 </dev/null 9>&- &
    disown || true
fi

for ((i = 0; i < WAIT_SECONDS; i++)); do
    if docker_ok; then
        say "docker is ready"
        exit 0
    fi
    if ! dockerd_pids >/dev/null 2>&1; then
        say "dockerd exited; last lines of $LOG:"
        tail -n 30 "$LOG" >&2 || true
        die "dockerd failed to start"
    fi
    sleep 1
done

say "last lines of $LOG:"
tail -n 30 "$LOG" >&2 || true
die "docker info still failing after ${WAIT_SECONDS}s (dockerd running but not answering)"
