#!/bin/sh
# Warn early (but do not fail) when host tools are missing.
for tool in git kubectl dotnet; do
  command -v "$tool" >/dev/null 2>&1 || echo "warning: $tool not found on PATH"
done
