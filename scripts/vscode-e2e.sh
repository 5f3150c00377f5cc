#!/usr/bin/env bash
# End-to-end test of the VS Code extension in a real VS Code (code-server) driven
# by Debian's Chromium through playwright-core.
#
#   scripts/vscode-e2e.sh                 install what is missing, build the .vsix, run the scenario
#   scripts/vscode-e2e.sh --install-only  only install the prerequisites (apt packages, code-server)
#
# Everything is idempotent. code-server is cached in $TILT_E2E_CACHE (default
# .cache/code-server, gitignored) and reused between runs; the test itself is
# never skipped. Screenshots go to test-artifacts/vscode/.
#
# Environment:
#   TILT_E2E_CACHE      cache dir for code-server (default <repo>/.cache/code-server)
#   TILT_E2E_PYTHON     interpreter that runs `-m tilt_lsp` (default <repo>/.venv/bin/python)
#   TILT_E2E_PARTS      comma-separated subset of client,fake,server,liveupdate,untrusted (local runs only)
#   TILT_E2E_DOCKER=0   do not start Docker (local runs without the liveupdate part); ignored when CI=true
#   TILT_E2E_SKIP_BUILD=1  reuse an existing vscode-client/*.vsix
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENT=$ROOT/vscode-client
CACHE=${TILT_E2E_CACHE:-$ROOT/.cache/code-server}
CODE_SERVER_VERSION=4.100.3          # newest code-server whose engines accept Node 20
RIPGREP_CACHE_NAME=vscode-ripgrep-cache-1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
APT_PACKAGES=(libkrb5-dev libsecret-1-dev libxkbfile-dev ripgrep chromium)

say() { printf 'vscode-e2e: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

install_apt_packages() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    [[ $(id -u) -eq 0 ]] || die "missing Debian packages: ${missing[*]} (install them as root)"
    say "installing ${missing[*]}"
    local APT=(apt-get -o DPkg::Lock::Timeout=600 -q)
    export DEBIAN_FRONTEND=noninteractive
    if ! "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >>/tmp/vscode-e2e-apt.log 2>&1; then
        "${APT[@]}" update >>/tmp/vscode-e2e-apt.log 2>&1 || die "apt-get update failed (/tmp/vscode-e2e-apt.log)"
        "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >>/tmp/vscode-e2e-apt.log 2>&1 \
            || die "apt-get install failed (/tmp/vscode-e2e-apt.log)"
    fi
}

install_code_server() {
    local bin=$CACHE/node_modules/.bin/code-server
    if [[ -x $bin ]] && [[ $(cat "$CACHE/.installed" 2>/dev/null) == "$CODE_SERVER_VERSION" ]]; then
        return 0
    fi
    say "installing code-server $CODE_SERVER_VERSION into $CACHE (takes a few minutes, once)"
    local started=$SECONDS tmp=$CACHE/tmp
    mkdir -p "$CACHE" "$tmp/$RIPGREP_CACHE_NAME" "$tmp/rgseed"
    # @vscode/ripgrep downloads rg from GitHub (unreachable); seed its cache with Debian's rg.
    cp "$(command -v rg)" "$tmp/rgseed/rg"
    tar czf "$tmp/$RIPGREP_CACHE_NAME/$RIPGREP_ASSET" -C "$tmp/rgseed" rg
    [[ -f $CACHE/package.json ]] || echo '{"name":"tilt-lsp-e2e-code-server","private":true}' >"$CACHE/package.json"
    (
        cd "$CACHE"
        # unsafe_perm: postinstall refuses root otherwise; yes: node-pty runs `npx node-gyp`.
        TMPDIR=$tmp npm_config_yes=true npm_config_unsafe_perm=true npm_config_nodedir=/usr \
            npm install --no-audit --no-fund --foreground-scripts "code-server@$CODE_SERVER_VERSION" \
            >"$CACHE/install.log" 2>&1
    ) || die "code-server install failed (see $CACHE/install.log)"
    [[ -x $bin ]] || die "code-server binary missing after install (see $CACHE/install.log)"
    echo "$CODE_SERVER_VERSION" >"$CACHE/.installed"
    say "code-server installed in $((SECONDS - started)) s"
}

build_vsix() {
    cd "$CLIENT"
    if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
        say "npm ci (vscode-client)"
        npm ci --no-audit --no-fund >/dev/null
    fi
    if [[ ${TILT_E2E_SKIP_BUILD:-0} == 1 ]] && compgen -G "$CLIENT/*.vsix" >/dev/null; then
        return 0
    fi
    say "building the .vsix"
    npm run --silent package >/dev/null
}

main() {
    local started=$SECONDS
    if [[ ${CI:-} == true ]]; then
        # CI runs the whole scenario: no part may be skipped there.
        if [[ -n ${TILT_E2E_PARTS:-} || ${TILT_E2E_DOCKER:-1} == 0 ]]; then
            say "CI=true: ignoring TILT_E2E_PARTS/TILT_E2E_DOCKER, running every part"
        fi
        unset TILT_E2E_PARTS
        TILT_E2E_DOCKER=1
    fi
    install_apt_packages
    install_code_server
    if [[ ${1:-} == --install-only ]]; then
        return 0
    fi
    build_vsix
    if [[ ${TILT_E2E_DOCKER:-1} != 0 ]]; then
        "$ROOT/scripts/ensure-docker.sh" || die "Docker is required for the live-update part (TILT_E2E_DOCKER=0 skips it locally)"
    fi
    cd "$CLIENT"
    CODE_SERVER_BIN=$CACHE/node_modules/.bin/code-server \
    TILT_E2E_PYTHON=${TILT_E2E_PYTHON:-$ROOT/.venv/bin/python} \
    TILT_E2E_ARTIFACTS=${TILT_E2E_ARTIFACTS:-$ROOT/test-artifacts/vscode} \
        node e2e/run.mjs
    say "done in $((SECONDS - started)) s"
}

main "$@"
