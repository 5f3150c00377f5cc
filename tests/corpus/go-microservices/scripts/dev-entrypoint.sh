#!/bin/sh
# Restart the server whenever live_update replaces the binary.
while true; do
  /app/server &
  pid=$!
  inotifywait -qq -e close_write /app/server 2>/dev/null || sleep 2
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
