#!/bin/sh
# `npm run lint`: eslint (type-aware, the slow part) and prettier --check side by side, each with
# a cache under node_modules/.cache, so a second run re-checks only the files that changed. A clean
# clone (CI) has no cache and checks everything. The eslint cache is keyed by file content: after
# changing a type that other files use, `rm -rf node_modules/.cache/eslint` for a full check.
set -u
cd "$(dirname "$0")/.."
npx eslint --cache --cache-strategy content --cache-location node_modules/.cache/eslint/ . &
eslint_pid=$!
npx prettier --check --cache --cache-location node_modules/.cache/prettier/.cache . &
prettier_pid=$!
wait "$eslint_pid"
eslint_rc=$?
wait "$prettier_pid"
prettier_rc=$?
[ "$eslint_rc" -eq 0 ] && [ "$prettier_rc" -eq 0 ]
