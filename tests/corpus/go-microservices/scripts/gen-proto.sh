#!/bin/sh
set -eu
protoc --go_out=. --go_opt=paths=source_relative proto/orders.proto
