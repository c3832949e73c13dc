import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { dumpSchema, SCHEMA_FILE } from "../../scripts/SchemaDump.js"
import { migrate } from "../../src/layers/Migrations.js"
import { projectRoot } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

describe("migrations/_schema.sql", () => {
  it.live("is what the migrations produce (after a migration: npm run db:schema)", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase("schema")
      const dumped = yield* Effect.zipRight(migrate, dumpSchema).pipe(Effect.provide(PgClient.layer({ url })))
      const checkedIn = readFileSync(join(projectRoot, SCHEMA_FILE), "utf8")
      expect(dumped).toEqual(checkedIn)
    }).pipe(Effect.scoped))
})
