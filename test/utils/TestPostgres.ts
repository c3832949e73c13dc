import { Context, Effect, Layer } from "effect"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { EmbeddedPostgresServer } from "../../src/layers/EmbeddedPostgres.js"
import { DatabaseUrl, startEmbeddedPostgres } from "../../src/layers/EmbeddedPostgres.js"
import { freePort } from "./freePort.js"

/** A Postgres server of one test file's own, for tests that stop and start it. */
export class TestPostgres extends Context.Tag("test/TestPostgres")<TestPostgres, EmbeddedPostgresServer>() {}

export const TestPostgresLive = Layer.scoped(
  TestPostgres,
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "kotadb-own-pg-"))
    chmodSync(dir, 0o755)
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    return yield* startEmbeddedPostgres({ dataDir: join(dir, "pg"), port: yield* Effect.promise(freePort) })
  })
)

/** `DatabaseUrl` of the `TestPostgres` server, which stays in the context for the test to control. */
export const OwnDatabaseLive = Layer.effect(DatabaseUrl, Effect.map(TestPostgres, (server) => server.url)).pipe(
  Layer.provideMerge(TestPostgresLive)
)
