#!/bin/sh
set -eu
psql -U bookmarks -d "${DB_NAME:-bookmarks}" -c 'DROP TABLE IF EXISTS bookmarks;'
psql -U bookmarks -d "${DB_NAME:-bookmarks}" -c 'CREATE TABLE bookmarks (id serial primary key, url text not null, title text);'
if [ "${SEED:-no}" = "yes" ]; then
  psql -U bookmarks -d "${DB_NAME:-bookmarks}" -c "INSERT INTO bookmarks (url, title) VALUES ('https://example.com', 'Example');"
fi
