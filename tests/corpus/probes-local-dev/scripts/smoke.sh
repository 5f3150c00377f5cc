#!/bin/sh
set -eu
curl -fsS http://localhost:7070/healthz
curl -fsS -X POST http://localhost:7070/emails -d '{"to":"dev@example.com"}'
echo "smoke test passed"
