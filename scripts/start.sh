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
exec node --enable-source-maps dist/src/main.js
