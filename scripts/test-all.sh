#!/usr/bin/env bash
# Sets up everything on a fresh machine and runs every check and test.
# This is the README's test command, and exactly what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PIP_DISABLE_PIP_VERSION_CHECK=1
# Docker-marked tests must fail, never skip, when this script runs them.
export TILT_LSP_REQUIRE_DOCKER=1

step() { printf '\n==== %s\n' "$*"; }

step "python environment"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip >/dev/null
# compat: a plain .pth entry instead of an import hook (the hook costs ~15 ms at every start)
.venv/bin/pip install -q -e '.[test,kubernetes]' --config-settings editable_mode=compat \
  || .venv/bin/pip install -q -e '.[test,kubernetes]'

step "system packages (docker engine, busybox, neovim)"
bash scripts/ensure-docker.sh
if ! command -v nvim >/dev/null 2>&1; then
  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim >/dev/null
fi

step "ruff"
.venv/bin/ruff check tilt_lsp tests scripts
step "mypy"
.venv/bin/mypy

step "pytest"
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"

if [ -d vscode-client ] && [ -f vscode-client/package.json ]; then
  step "vscode-client"
  bash scripts/vscode-client-checks.sh
fi
echo
echo "all checks passed"
