import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlLive } from "../../src/layers/Sql.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

/** One row in each code-intelligence table for `repository`. */
const intelOf = (repository: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      INSERT INTO code_symbols (repository_id, path, ordinal, name, kind, language, line, col, end_line, end_col,
        container, signature)
      VALUES (${repository}, 'a.ts', 0, 'make', 'function', 'TypeScript', 1, 1, 2, 2, NULL, 'function make()')`
    yield* sql`
      INSERT INTO code_references (repository_id, path, name, ordinals, kinds, lines, cols, enclosings)
      VALUES (${repository}, 'a.ts', 'make', '{0}', '{c}', '{3}', '{1}', '{NULL}')`
    yield* sql`
      INSERT INTO code_imports (repository_id, path, ordinal, module, module_stem, language, line, resolved_path)
      VALUES (${repository}, 'a.ts', 0, './b', 'b', 'TypeScript', 1, 'b.ts')`
  })

const rowsOf = (repository: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ symbols: number; references: number; imports: number }>`
      SELECT (SELECT count(*)::int FROM code_symbols WHERE repository_id = ${repository}) AS symbols,
             (SELECT count(*)::int FROM code_references WHERE repository_id = ${repository}) AS references,
             (SELECT count(*)::int FROM code_imports WHERE repository_id = ${repository}) AS imports`
    return row!
  })

const none = { symbols: 0, references: 0, imports: 0 }
const one = { symbols: 1, references: 1, imports: 1 }

layer(SqlLive.pipe(Layer.provide(TestDatabaseLive), Layer.provideMerge(testConfig())), {
  timeout: "60 seconds",
  excludeTestServices: true
})("code intelligence rows, held without a foreign key (migration 0028)", (it) => {
  it.effect("go with their repository, whether it is deleted or its user is; other repositories keep theirs", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const alice = yield* insertUser()
      const bob = yield* insertUser()
      const [deleted, kept, ofUser, ofOther] = [
        yield* insertRepository(alice),
        yield* insertRepository(alice),
        yield* insertRepository(bob),
        yield* insertRepository(yield* insertUser())
      ]
      for (const repository of [deleted, kept, ofUser, ofOther]) yield* intelOf(repository)

      yield* sql`DELETE FROM repositories WHERE id = ${deleted}`
      expect(yield* rowsOf(deleted)).toEqual(none)
      expect(yield* rowsOf(kept)).toEqual(one)

      yield* sql`DELETE FROM auth.users WHERE id = ${bob}`
      expect(yield* rowsOf(ofUser)).toEqual(none)
      expect(yield* rowsOf(ofOther)).toEqual(one)
      expect(yield* rowsOf(kept)).toEqual(one)
    }).pipe(Effect.orDie))
})
