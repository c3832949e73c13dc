import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { AppConfig } from "../../src/services/AppConfig.js"
import { projectRoot } from "../utils/ServerProcess.js"

// docker and flyctl are not available here: these checks read the files and hold them to the code.
const fly = readFileSync(join(projectRoot, "fly.toml"), "utf8")
const dockerfile = readFileSync(join(projectRoot, "Dockerfile"), "utf8")

/** The body of one `[table]` / `[[table]]` of fly.toml, up to the next table header. */
const table = (name: string) => {
  const start = fly.split("\n").findIndex((line) => line.trim() === `[${name}]` || line.trim() === `[[${name}]]`)
  expect(start, `fly.toml has [${name}]`).toBeGreaterThanOrEqual(0)
  const lines = fly.split("\n").slice(start + 1)
  const end = lines.findIndex((line) => /^\s*\[/.test(line))
  return lines.slice(0, end === -1 ? undefined : end).join("\n")
}
const value = (body: string, key: string) => {
  const match = new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\n]*)"?`, "m").exec(body)
  expect(match, `${key} is set`).not.toBeNull()
  return match![1]!
}

/** AppConfig as the deployed machine reads it: fly.toml's [env] over the Dockerfile's ENV. */
const deployedConfig = () => {
  const env = new Map<string, string>()
  for (const [, key, val] of dockerfile.matchAll(/(?:ENV\s+|\\\n\s+)([A-Z_]+)=(\S+)/g)) env.set(key!, val!)
  for (const [, key, val] of table("env").matchAll(/^\s*([A-Z_]+)\s*=\s*"([^"]*)"/gm)) env.set(key!, val!)
  env.set("DATABASE_URL", "postgres://user:pw@db.example.test:5432/postgres")
  env.set("KOTADB_WEBHOOK_BASE_URL", "https://kotadb-api.fly.dev")
  env.set("SECRETS_ENCRYPTION_KEY", Buffer.alloc(32, 1).toString("base64"))
  return Effect.runSync(
    Effect.provide(
      AppConfig,
      AppConfig.Default.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(env))))
    )
  )
}

describe("fly.toml and Dockerfile agree with the code", () => {
  it("port, health checks, metrics port, release command, drain within kill_timeout", () => {
    const config = deployedConfig()
    expect(Number(value(table("http_service"), "internal_port"))).toBe(config.port)
    expect(dockerfile).toContain(`EXPOSE ${config.port}`)

    const readiness = table("http_service.checks")
    expect(value(readiness, "path")).toBe("/health")
    const liveness = table("checks.live")
    expect(value(liveness, "path")).toBe("/health/live")
    expect(Number(value(liveness, "port"))).toBe(config.port)

    const metrics = table("metrics")
    expect(Number(value(metrics, "port"))).toBe(config.metricsPort)
    expect(value(metrics, "path")).toBe("/metrics")

    // The release command runs a script the build emits.
    const release = value(table("deploy"), "release_command")
    expect(release).toBe("node dist/scripts/db-migrate.js")
    expect(existsSync(join(projectRoot, "scripts/db-migrate.ts"))).toBe(true)
    expect(dockerfile).toMatch(/COPY scripts scripts/)

    // SIGTERM: the worker's drain and the HTTP drain fit in the kill timeout.
    expect(value(fly, "kill_signal")).toBe("SIGTERM")
    const kill = Duration.decode(value(fly, "kill_timeout").replace(/s$/, " seconds") as Duration.DurationInput)
    expect(Duration.toMillis(kill)).toBeGreaterThanOrEqual(Duration.toMillis(config.workerDrainTimeout) + 10_000)

    // The image runs the built server as the start script does, and has git for the indexer.
    const start = readFileSync(join(projectRoot, "scripts/start.sh"), "utf8")
    const nodeArgs = /exec node (.+)$/m.exec(start)![1]!.split(" ")
    expect(JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!)).toEqual(["node", ...nodeArgs])
    expect(dockerfile).toMatch(/apt-get install[^\n]*\bgit\b/)
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/bin\/tini", "--"\]/)
  })
})
