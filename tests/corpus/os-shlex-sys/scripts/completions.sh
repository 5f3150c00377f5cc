#!/bin/sh
# Writes shell completion stubs for the CLI into ./completions.
set -eu
name="$1"
mkdir -p completions
printf 'complete -W "greet" %s\n' "$name" > "completions/$name.bash"
echo "wrote completions/$name.bash"
