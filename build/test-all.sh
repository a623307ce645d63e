#!/usr/bin/env bash
# Every test of the project: style, unit tests, then the suites against a real Mattermost
# server and PostgreSQL, which this script starts and always stops again.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "setup"
make --no-print-directory setup
step "style and types"
make --no-print-directory check-style
step "unit tests (Go with -race, jest)"
make --no-print-directory unit-test
step "fuzzing, a short pass: every Go fuzz target for a few seconds (make fuzz runs them longer)"
FUZZTIME="${FUZZTIME:-3s}" make --no-print-directory fuzz
step "server part against the plugin API of Mattermost 11.7 and 11.11"
make --no-print-directory check-api-compat
step "plugin bundle"
make --no-print-directory dist
tar -tzf dist/*.tar.gz | sort
step "reproducible release: two clean clones of this commit, byte-identical (docs/design.md §12.1)"
make --no-print-directory check-reproducible

step "real Mattermost server"
trap 'step "stopping the server"; make --no-print-directory mm-down' EXIT
make --no-print-directory mm-up MM_UP_FLAGS=--fresh
step "end-to-end: install, REST checks, Go integration suite, browser suite"
make --no-print-directory e2e
step "all tests passed"
