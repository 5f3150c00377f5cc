#!/bin/sh
# Renders app/pages/*.txt into /srv/www/index.txt (plain text, for the log)
# and /srv/www/index.html (for the browser). Live update re-runs this script
# whenever a page, the template or this script changes.
set -eu

WWW=/srv/www
mkdir -p "$WWW"

body=""
for page in /app/pages/*.txt; do
    [ -f "$page" ] || continue
    title="$(basename "$page" .txt)"
    body="$body== $title ==
$(cat "$page")

"
done

printf '%s' "$body" > "$WWW/index.txt.tmp"
mv "$WWW/index.txt.tmp" "$WWW/index.txt"

html_body="$(sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' "$WWW/index.txt")"
awk -v body="$html_body" '{ if ($0 == "@BODY@") print body; else print }' /app/template.html > "$WWW/index.html.tmp"
mv "$WWW/index.html.tmp" "$WWW/index.html"

echo "build.sh: rendered $(ls /app/pages/*.txt | wc -l) page(s)"
