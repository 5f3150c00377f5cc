#!/bin/sh
# Renders the flagd deployment with the current flag file inlined and applies
# it; the applied objects are printed as YAML for Tilt to track.
set -eu
flags=$(sed 's/^/    /' "${FLAGD_SOURCE}")
cat <<YAML | kubectl apply -f - -o yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: flagd-flags
data:
  flags.json: |
${flags}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: flagd
spec:
  selector:
    matchLabels: {app: flagd}
  template:
    metadata:
      labels: {app: flagd, app.kubernetes.io/part-of: addons, tier: control}
    spec:
      containers:
        - name: flagd
          image: ghcr.io/open-feature/flagd:v0.11.1
          args: ["start", "--uri", "file:/etc/flagd/flags.json", "--port", "${FLAGD_PORT}"]
          volumeMounts: [{name: flags, mountPath: /etc/flagd}]
      volumes:
        - name: flags
          configMap: {name: flagd-flags}
YAML
