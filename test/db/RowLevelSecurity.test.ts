import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlLive } from "../../src/layers/Sql.js"
import { insertRepository, insertUser } from "../utils/fixtures.js"
import { testConfig } from "../utils/TestApp.js"
import { TestDatabaseLive } from "../utils/TestDatabase.js"

const TENANT_TABLES = [
  "api_keys",
  "api_key_usage",
  "api_key_usage_monthly",
  "repositories",
  "indexing_jobs",
  "indexing_job_events",
  "webhook_deliveries",
  "token_usage",
  "indexed_files",
  "indexed_chunks",
  "repository_status_view"
] as const

/** Seeds one of everything for a new user and returns the user id. */
const seedTenant = (name: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const user = yield* insertUser(`${name}@example.test`)
    const [key] = yield* sql<{ id: string }>`
      INSERT INTO api_keys (user_id, key_hash, key_prefix)
      VALUES (${user}, encode(sha256(${name}::bytea), 'hex'), 'kdb_live_x') RETURNING id`
    const repo = yield* insertRepository(user, name)
    const [job] = yield* sql<{ id: string }>`
      INSERT INTO indexing_jobs (repository_id, requested_by, job_type) VALUES (${repo}, ${key!.id}, 'full_index')
      RETURNING id`
    yield* sql`INSERT INTO indexing_job_events (job_id, event_type) VALUES (${job!.id}, 'enqueued')`
    yield* sql`
      INSERT INTO webhook_deliveries (repository_id, delivery_id, event_type, job_id)
      VALUES (${repo}, ${`delivery-${name}`}, 'push', ${job!.id})`
    yield* sql`
      INSERT INTO token_usage (api_key_id, user_id, repository_id, job_id, usage_type, tokens_used)
      VALUES (${key!.id}, ${user}, ${repo}, ${job!.id}, 'files', 3)`
    yield* sql`
      INSERT INTO indexed_files (repository_id, path, blob_sha, size_bytes, line_count)
      VALUES (${repo}, 'src/main.ts', 'abc', 5, 1)`
    yield* sql`
      INSERT INTO indexed_chunks (repository_id, path, chunk_no, start_line, content, folded)
      VALUES (${repo}, 'src/main.ts', 0, 1, 'hello', 'hello')`
    yield* sql`
      INSERT INTO api_key_usage (key_id, user_id, route, method, status, outcome)
      VALUES (${key!.id}, ${user}, '/api/v1/repositories', 'GET', 200, 'ok')`
    yield* sql`
      INSERT INTO api_key_usage_monthly (key_id, month, outcome, requests) VALUES (${key!.id}, '2027-01-01', 'ok', 1)`
    yield* sql`
      INSERT INTO repository_secrets (repository_id, ciphertext, nonce, auth_tag, key_id, secret_hash)
      VALUES (${repo}, '\\x00', decode(repeat('00', 12), 'hex'), decode(repeat('00', 16), 'hex'), 'k1', 'h')`
    return user
  })

/** Runs `query` as a Supabase API role with the given JWT claims, in a transaction of its own. */
const asRole = <A>(role: string, claims: object, query: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.gen(function*() {
      yield* sql.unsafe(`SET LOCAL ROLE ${role}`)
      yield* sql`SELECT set_config('request.jwt.claims', ${JSON.stringify(claims)}, true)`
      return yield* query(sql)
    })))

const countAll = (sql: SqlClient.SqlClient) =>
  Effect.forEach(TENANT_TABLES, (table) =>
    sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql(table)}`.pipe(
      Effect.map((rows) => [table, rows[0]!.n] as const)
    )).pipe(Effect.map(Object.fromEntries))

const forbidden = <A, R>(effect: Effect.Effect<A, unknown, R>) =>
  Effect.flip(effect).pipe(Effect.map((error) => String((error as { cause?: { code?: string } }).cause?.code)))

layer(SqlLive.pipe(Layer.provide(TestDatabaseLive), Layer.provideMerge(testConfig())), {
  timeout: "60 seconds",
  excludeTestServices: true
})("row-level security", (it) => {
  it.effect("a user's session sees only that user's rows, and secrets only the service role", () =>
    Effect.gen(function*() {
      const alice = yield* seedTenant("alice")
      const bob = yield* seedTenant("bob")
      const one = Object.fromEntries(TENANT_TABLES.map((t) => [t, 1]))

      expect(yield* asRole("authenticated", { sub: alice, role: "authenticated" }, countAll)).toEqual(one)
      expect(yield* asRole("authenticated", { sub: bob, role: "authenticated" }, countAll)).toEqual(one)
      const aliceRepos = yield* asRole(
        "authenticated",
        { sub: alice, role: "authenticated" },
        (sql) => sql<{ userId: string }>`SELECT user_id FROM repositories`
      )
      expect(aliceRepos.map((r) => r.userId)).toEqual([alice])

      // 42501 = insufficient_privilege
      expect(
        yield* forbidden(
          asRole("authenticated", { sub: alice, role: "authenticated" }, (sql) => sql`SELECT * FROM repository_secrets`)
        )
      ).toBe("42501")
      expect(
        yield* forbidden(
          asRole(
            "authenticated",
            { sub: alice, role: "authenticated" },
            (sql) => sql`UPDATE api_keys SET rate_limit = 100000`
          )
        )
      ).toBe("42501")
      expect(yield* forbidden(asRole("anon", {}, (sql) => sql`SELECT * FROM repositories`))).toBe("42501")
      expect(yield* forbidden(asRole("anon", {}, (sql) => sql`SELECT * FROM repository_secrets`))).toBe("42501")

      const service = yield* asRole(
        "service_role",
        { role: "service_role" },
        (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM repository_secrets`
      )
      expect(service[0]!.n).toBe(2)
      const serviceRepos = yield* asRole("service_role", { role: "service_role" }, countAll)
      expect(serviceRepos).toEqual(Object.fromEntries(TENANT_TABLES.map((t) => [t, 2])))
    }))
})
