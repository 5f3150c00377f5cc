#!/bin/sh
# Prints a line whenever an add-on changes health.
last=""
while true; do
  now=$(curl -fs -o /dev/null -w '%{http_code}' http://127.0.0.1:9093/-/ready || echo down)
  if [ "$now" != "$last" ]; then
    echo "prometheus: $now"
    last="$now"
  fi
  sleep 5
done
