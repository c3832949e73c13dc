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
# The young generation is pinned at V8's own default (two 16 MB semi-spaces): a larger one saves the request
# path some scavenges, but an index job fills all of it and the process then breaks the RSS budget
# (bench/README.md, "Memory").
# The old-space limit is the one V8 picks by itself on the 1 GB VM (fly.toml), pinned so that a machine
# with more memory (a bench) grows the heap as production does, not up to four times its live size.
exec node --enable-source-maps --max-semi-space-size=16 --max-old-space-size=512 dist/src/main.js
