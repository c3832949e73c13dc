#!/usr/bin/env bash
# `npm start`: build when the sources are newer than the last build, then replace this shell with node,
# so SIGTERM sent to npm's child reaches node itself (npm does not forward signals to grandchildren).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src migrations package.json tsconfig.json tsconfig.build.json -newer "$stamp" -print -quit)" ]; then
  echo "building dist/ ..." >&2
  npm run --silent build
  touch "$stamp"
fi
# A larger young generation: the request path allocates many short-lived objects, and scavenges
# were a sixth of its CPU with the default (bench/README.md, auth).
exec node --enable-source-maps --max-semi-space-size=64 dist/src/main.js
