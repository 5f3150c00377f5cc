#!/bin/sh
# Tilt passes the built runtime image as TILT_IMAGE_0.
set -eu
sed "s|FN_RUNTIME_IMAGE|${TILT_IMAGE_0}|g" k8s/functions.yaml \
  | kubectl apply -n "${FN_NAMESPACE}" -f - -o yaml
