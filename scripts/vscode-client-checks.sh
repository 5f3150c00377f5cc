#!/usr/bin/env bash
# The VS Code extension's part of the test command: install, type-check, lint,
# unit tests, .vsix packaging, then the end-to-end run in a real VS Code.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/vscode-client"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent typecheck
npm run --silent lint
npm test
npm run --silent package
bash "$ROOT/scripts/vscode-e2e.sh"
