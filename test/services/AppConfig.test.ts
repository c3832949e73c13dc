import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option } from "effect"
import { AppConfig } from "../../src/services/AppConfig.js"

const load = (env: Record<string, string>) =>
  AppConfig.pipe(
    Effect.provide(
      AppConfig.Default.pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      )
    )
  )

const EXTERNAL = { DATABASE_URL: "postgres://app:secret@db.example.com:5432/kotadb" }

describe("AppConfig", () => {
  it.effect("boots on defaults with no environment at all (embedded mode)", () =>
    Effect.gen(function*() {
      const config = yield* load({})
      expect(config.port).toBe(8080)
      expect(Option.isNone(config.databaseUrl)).toBe(true)
      expect(config.embeddedPgPort).toBe(54329)
      expect(config.dataDir).toBe(".data")
    }))

  it.effect("lists every missing and invalid variable in one error", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        load({ ...EXTERNAL, PORT: "eighty", DATABASE_MAX_CONNECTIONS: "0", LOG_LEVEL: "loud" })
      )
      expect(error._tag).toBe("ConfigInvalid")
      const problems = error.problems.join("\n")
      for (
        const name of [
          "PORT",
          "DATABASE_MAX_CONNECTIONS",
          "LOG_LEVEL",
          "KOTADB_WEBHOOK_BASE_URL",
          "SECRETS_ENCRYPTION_KEY"
        ]
      ) {
        expect(problems).toContain(name)
      }
      expect(error.problems).toHaveLength(5)
      expect(error.message).toContain("Invalid configuration (5 problems)")
      expect(error.message).not.toContain("secret@") // the URL's password never reaches a message
    }))

  it.effect("retention: 90, 30 and 30 days by default; zero or words are refused with the variable's name", () =>
    Effect.gen(function*() {
      const config = yield* load({})
      expect([config.usageRetentionDays, config.deliveryRetentionDays, config.jobRetentionDays]).toEqual([90, 30, 30])
      const error = yield* Effect.flip(
        load({ USAGE_RETENTION_DAYS: "0", DELIVERY_RETENTION_DAYS: "thirty", JOB_RETENTION_DAYS: "-1" })
      )
      expect(error.problems.map((p) => p.split(":")[0]).sort()).toEqual([
        "DELIVERY_RETENTION_DAYS",
        "JOB_RETENTION_DAYS",
        "USAGE_RETENTION_DAYS"
      ])
    }))

  it.effect("rejects a malformed DATABASE_URL and a short encryption key", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(load({
        DATABASE_URL: "mysql://nope",
        KOTADB_WEBHOOK_BASE_URL: "ftp://hooks.example.com",
        SECRETS_ENCRYPTION_KEY: Buffer.alloc(16).toString("base64")
      }))
      expect(error.problems.map((p) => p.split(":")[0])).toEqual([
        "DATABASE_URL",
        "KOTADB_WEBHOOK_BASE_URL",
        "SECRETS_ENCRYPTION_KEY"
      ])
    }))

  it.effect("DISABLE_SAAS_ENV_VALIDATION is a real boolean: false keeps the errors, true makes them warnings", () =>
    Effect.gen(function*() {
      const strict = yield* Effect.flip(load({ ...EXTERNAL, DISABLE_SAAS_ENV_VALIDATION: "false" }))
      expect(strict.problems).toHaveLength(2)
      const invalid = yield* Effect.flip(load({ ...EXTERNAL, DISABLE_SAAS_ENV_VALIDATION: "sometimes" }))
      expect(invalid.problems.join("\n")).toContain("DISABLE_SAAS_ENV_VALIDATION")

      const lenient = yield* load({ ...EXTERNAL, PORT: "eighty", DISABLE_SAAS_ENV_VALIDATION: "true" })
      expect(lenient.port).toBe(8080)
      expect(Option.isNone(lenient.webhookBaseUrl)).toBe(true)
    }))

  it.effect("accepts a complete production environment", () =>
    Effect.gen(function*() {
      const config = yield* load({
        ...EXTERNAL,
        PORT: "9000",
        KOTADB_WEBHOOK_BASE_URL: "https://api.kotadb.example",
        SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
        HEALTH_CACHE_TTL: "3 seconds"
      })
      expect(config.port).toBe(9000)
      expect(Option.map(config.webhookBaseUrl, (u) => u.host)).toEqual(Option.some("api.kotadb.example"))
    }))

  it.effect("HTTP limits and timeouts have documented defaults and are validated; METRICS_HOST defaults to HOST", () =>
    Effect.gen(function*() {
      const defaults = yield* load({ HOST: "127.0.0.1" })
      expect(defaults.httpBodyLimit).toBe(1024 * 1024)
      expect(Duration.toMillis(defaults.httpHeadersTimeout)).toBe(10_000)
      expect(Duration.toMillis(defaults.httpRequestTimeout)).toBe(60_000)
      expect(Duration.toMillis(defaults.httpKeepAliveTimeout)).toBe(5_000)
      expect(defaults.metricsHost).toBe("127.0.0.1")
      expect((yield* load({ METRICS_HOST: "::1" })).metricsHost).toBe("::1")

      const error = yield* Effect.flip(load({
        HTTP_BODY_LIMIT: "1mb",
        HTTP_KEEP_ALIVE_TIMEOUT: "0 seconds",
        HTTP_HEADERS_TIMEOUT: "2 minutes",
        HTTP_REQUEST_TIMEOUT: "1 minute"
      }))
      expect(error.problems.map((p) => p.split(":")[0])).toEqual([
        "HTTP_HEADERS_TIMEOUT",
        "HTTP_BODY_LIMIT",
        "HTTP_KEEP_ALIVE_TIMEOUT"
      ])
      const tooSmall = yield* Effect.flip(load({ HTTP_BODY_LIMIT: "100" }))
      expect(tooSmall.problems).toHaveLength(1)
      expect(tooSmall.problems[0]).toContain("HTTP_BODY_LIMIT: must be between 1024 and 26214400")
    }))

  it.effect("tenant limits: documented defaults, sizes in bytes or binary units, invalid ones named", () =>
    Effect.gen(function*() {
      const defaults = yield* load({})
      expect(defaults.tenantMaxRepositories).toBe(100)
      expect(defaults.repositoryMaxFiles).toBe(100_000)
      expect(defaults.repositoryMaxBytes).toBe(2 * 1024 ** 3)
      expect(defaults.repositoryMaxFileSize).toBe(10 * 1024 ** 2)
      expect(Duration.toMillis(defaults.gitFetchTimeout)).toBe(10 * 60_000)
      expect(defaults.gitFetchMaxBytes).toBe(4 * 1024 ** 3)
      expect(defaults.workspaceMinFreeBytes).toBe(1024 ** 3)

      const set = yield* load({
        REPOSITORY_MAX_BYTES: "512 MB",
        GIT_FETCH_MAX_BYTES: "1.5GiB",
        REPOSITORY_MAX_FILE_SIZE: "65536",
        WORKSPACE_MIN_FREE_BYTES: "0",
        GIT_FETCH_TIMEOUT: "30 seconds"
      })
      expect(set.repositoryMaxBytes).toBe(512 * 1024 ** 2)
      expect(set.gitFetchMaxBytes).toBe(1.5 * 1024 ** 3)
      expect(set.repositoryMaxFileSize).toBe(65_536)
      expect(set.workspaceMinFreeBytes).toBe(0)
      expect(Duration.toMillis(set.gitFetchTimeout)).toBe(30_000)

      const error = yield* Effect.flip(load({
        TENANT_MAX_REPOSITORIES: "0",
        REPOSITORY_MAX_BYTES: "lots",
        REPOSITORY_MAX_FILE_SIZE: "200 MB",
        GIT_FETCH_TIMEOUT: "0 seconds"
      }))
      expect(error.problems.map((p) => p.split(":")[0]).sort()).toEqual([
        "GIT_FETCH_TIMEOUT",
        "REPOSITORY_MAX_BYTES",
        "REPOSITORY_MAX_FILE_SIZE",
        "TENANT_MAX_REPOSITORIES"
      ])
    }))
})
