import { Effect, Exit, Redacted, Scope } from "effect"
import { chmodSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { TestProject } from "vitest/node"
import { startEmbeddedPostgres } from "../src/layers/EmbeddedPostgres.js"
import { freePort } from "./utils/freePort.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** A database on the test server where each test file may CREATE and DROP its own database. */
    readonly adminDatabaseUrl: string
  }
}

/**
 * One Postgres server for the whole run: the machine's when `TEST_DATABASE_URL` is set (CI runs the
 * suites both ways), otherwise an embedded one, so `npm test` needs no Postgres installed.
 */
export default async function setup(project: TestProject) {
  const external = process.env.TEST_DATABASE_URL
  if (external !== undefined && external !== "") {
    project.provide("adminDatabaseUrl", external)
    return
  }
  const dir = mkdtempSync(join(tmpdir(), "kotadb-test-pg-"))
  chmodSync(dir, 0o755)
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(
    Scope.extend(
      startEmbeddedPostgres({
        dataDir: join(dir, "pg"),
        port: await freePort(),
        // A throwaway server: durability buys nothing here, and commits stop waiting for the disk.
        settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "300" }
      }),
      scope
    )
  )
  project.provide("adminDatabaseUrl", Redacted.value(server.url))
  return async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dir, { recursive: true, force: true })
  }
}
