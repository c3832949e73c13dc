import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../utils/freePort.js"
import { projectRoot } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

const npmRun = (script: string, args: Array<string>, env: Record<string, string | undefined>) => {
  const result = spawnSync("npm", ["run", "--silent", script, "--", ...args], {
    cwd: projectRoot,
    env: { ...process.env, DATABASE_URL: undefined, TEST_DATABASE_URL: undefined, ...env },
    encoding: "utf8",
    timeout: 60_000
  })
  return { status: result.status, output: `${result.stdout}${result.stderr}` }
}

describe("database scripts", () => {
  it.live("db:reset, then db:migrate twice, against a local database", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase("scripts")
      const env = { DATABASE_URL: Redacted.value(url) }
      const reset = npmRun("db:reset", [], env)
      expect(reset.output).toContain("applied 0002_control_plane")
      expect(reset.output).toContain("seeded")
      expect(reset.status).toBe(0)
      const first = npmRun("db:migrate", [], env)
      expect(first.status).toBe(0)
      expect(first.output).toContain("migrations: up to date")
      expect(npmRun("db:migrate", [], env).status).toBe(0)
    }).pipe(Effect.scoped), 120_000)

  it.live("keys: create, list, rotate and revoke against the database", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase("keys")
      const env = { DATABASE_URL: Redacted.value(url) }
      expect(npmRun("db:migrate", [], env).status).toBe(0)
      const created = npmRun("keys", [
        "create",
        "--email",
        "cli@example.test",
        "--rate-limit",
        "30",
        "--allowed-ips",
        "10.0.0.0/8,::1"
      ], env)
      expect(created.status).toBe(0)
      const issued = JSON.parse(created.output.slice(created.output.indexOf("{"), created.output.lastIndexOf("}") + 1))
      expect(issued).toMatchObject({ api_key: expect.stringMatching(/^kdb_live_/), rate_limit: 30 })

      const listed = npmRun("keys", ["list", "--email", "cli@example.test"], env)
      expect(listed.status).toBe(0)
      expect(listed.output).toContain(issued.key_id)
      expect(listed.output).toContain("10.0.0.0/8")
      expect(listed.output).not.toContain(issued.api_key)

      const rotated = npmRun("keys", ["rotate", issued.key_id], env)
      expect(rotated.status).toBe(0)
      expect(rotated.output).not.toContain(issued.api_key)
      expect(npmRun("keys", ["revoke", issued.key_id], env).output).toContain("\"revoked_at\": \"")
      expect(npmRun("keys", ["revoke", "not-a-uuid"], env).status).toBe(2)
      expect(npmRun("keys", ["create", "--email", "nope"], env).status).toBe(2)
    }).pipe(Effect.scoped), 120_000)

  it("db:reset refuses a database that is not local", () => {
    const result = npmRun("db:reset", [], { DATABASE_URL: "postgres://app:topsecret@db.example.com:5432/prod" })
    expect(result.status).toBe(2)
    expect(result.output).toContain("refuses a non-local database")
    expect(result.output).not.toContain("topsecret")
  }, 60_000)

  it.live("db:apply never prints the URL's credentials, not even in a connection error", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const result = npmRun("db:apply", [`postgres://kotadb:Pa55-w0rd-XYZ@127.0.0.1:${port}/remote`], {})
      expect(result.status).not.toBe(0)
      expect(result.output).toContain(`***@127.0.0.1:${port}/remote`)
      expect(result.output).toContain("ECONNREFUSED")
      expect(result.output).not.toContain("Pa55-w0rd-XYZ")
    }), 60_000)

  it("db:new creates the next numbered migration", () => {
    const dir = mkdtempSync(join(tmpdir(), "kotadb-migrations-"))
    for (const file of readdirSync(join(projectRoot, "migrations"))) {
      spawnSync("cp", [join(projectRoot, "migrations", file), dir])
    }
    const count = readdirSync(dir).filter((file) => /^\d{4}_.+\.sql$/.test(file)).length
    const result = npmRun("db:new", ["add_widgets"], { MIGRATIONS_DIR: dir })
    expect(result.status).toBe(0)
    const created = `${String(count + 1).padStart(4, "0")}_add_widgets.sql`
    expect(readdirSync(dir)).toContain(created)
    expect(readFileSync(join(dir, created), "utf8")).toMatch(/^-- \d{4} add widgets/)
    expect(npmRun("db:new", ["Not A Name"], { MIGRATIONS_DIR: dir }).status).toBe(2)
  }, 60_000)
})
