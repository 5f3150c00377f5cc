#!/bin/sh
# The demo "web app": renders the page once, serves it over HTTP when busybox
# httpd is available, and prints the page to the log whenever it changes.
# Changes to this file need a container restart; pages and build.sh do not.

WWW=/srv/www
PORT="${PORT:-8000}"

# PID 1 must exit promptly when the container is stopped.
trap 'echo "demo app: stopping"; exit 0' TERM INT

mkdir -p "$WWW"
sh /app/build.sh

if command -v httpd >/dev/null 2>&1; then
    httpd -p "$PORT" -h "$WWW" && echo "demo app: serving $WWW on port $PORT"
fi

last=""
while :; do
    current="$(cat "$WWW/index.txt" 2>/dev/null)"
    if [ "$current" != "$last" ]; then
        echo "----- page rendered $(date -u '+%H:%M:%S') -----"
        echo "$current"
        last="$current"
    fi
    sleep 1
done
