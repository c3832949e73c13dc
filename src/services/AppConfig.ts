import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

export class ConfigInvalid extends Data.TaggedError("ConfigInvalid")<{ readonly problems: ReadonlyArray<string> }> {
  override get message() {
    return `Invalid configuration (${this.problems.length} problem${this.problems.length === 1 ? "" : "s"}):\n` +
      this.problems.map((p) => `  - ${p}`).join("\n") +
      "\nSet DISABLE_SAAS_ENV_VALIDATION=true to boot anyway with these as warnings."
  }
}

// A `Config.validate` failure has an empty path, so those messages name their variable themselves.
const at = (path: Array<string>, message: string) => path.length === 0 ? message : `${path.join(".")}: ${message}`

const describe = (error: ConfigError.ConfigError): Array<string> =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left, right) => [...left, ...right],
    orCase: (_, left, right) => [...left, ...right],
    invalidDataCase: (_, path, message) => [at(path, message)],
    missingDataCase: (_, path) => [`${path.join(".")} is missing`],
    sourceUnavailableCase: (_, path, message) => [at(path, message)],
    unsupportedCase: (_, path, message) => [at(path, message)]
  })

const postgresUrl = (name: string) =>
  Config.redacted(name).pipe(Config.validate({
    message: `${name}: must be a postgres:// or postgresql:// URL`,
    validation: (url) => /^postgres(ql)?:\/\/[^\s]+$/.test(Redacted.value(url))
  }))

const httpUrl = (name: string) =>
  Config.url(name).pipe(Config.validate({
    message: `${name}: must be an http(s) URL`,
    validation: (url) => url.protocol === "https:" || url.protocol === "http:"
  }))

/** A comma-separated list of browser origins (`scheme://host[:port]`), compared as `Origin` headers are sent. */
const origins = (name: string) =>
  Config.string(name).pipe(Config.mapOrFail((list) => {
    const items = list.split(",").map((item) => item.trim()).filter((item) => item !== "")
    const invalid = items.filter((item) =>
      !URL.canParse(item) || new URL(item).origin !== item.replace(/\/+$/, "").toLowerCase()
    )
    return invalid.length > 0
      ? Either.left(ConfigError.InvalidData([], `${name}: not an origin (scheme://host[:port]): ${invalid.join(", ")}`))
      : Either.right(items.map((item) => new URL(item).origin.toLowerCase()))
  }))

const encryptionKey = (name: string) =>
  Config.redacted(name).pipe(Config.validate({
    message: `${name}: must be 32 bytes in base64 (openssl rand -base64 32)`,
    validation: (key) => Buffer.from(Redacted.value(key), "base64").length === 32
  }))

const BYTE_UNITS: Record<string, number> = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** A size in bytes: `4294967296`, or with a binary unit, `4 GB` = `4GiB` = `4g` (1 GB = 1024³ bytes). */
const byteSize = (name: string) =>
  Config.string(name).pipe(Config.mapOrFail((value) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value)
    const unit = match === null ? undefined : BYTE_UNITS[match[2]!.toLowerCase()]
    return match === null || unit === undefined
      ? Either.left(ConfigError.InvalidData([], `${name}: expected bytes, e.g. 1048576, 512 MB or 4 GB`))
      : Either.right(Math.floor(Number(match[1]) * unit))
  }))

const LOG_LEVELS: Record<string, LogLevel.LogLevel> = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warn: LogLevel.Warning,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None,
  off: LogLevel.None
}

const logLevel = (name: string) =>
  Config.string(name).pipe(Config.mapOrFail((value) => {
    const level = LOG_LEVELS[value.trim().toLowerCase()]
    return level === undefined
      ? Either.left(ConfigError.InvalidData([name], `expected one of ${Object.keys(LOG_LEVELS).join(", ")}`))
      : Either.right(level)
  }))

const findVersion = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version as string
    } catch {
      const parent = dirname(dir)
      if (parent === dir) return "0.0.0"
      dir = parent
    }
  }
}

const load = (options: { readonly server: boolean }) =>
  Effect.gen(function*() {
    const problems: Array<string> = []
    const read = <A>(config: Config.Config<A>, fallback: A): Effect.Effect<A> =>
      Effect.catchAll(config, (error) => {
        problems.push(...describe(error))
        return Effect.succeed(fallback)
      })

    const databaseUrl = yield* read(Config.option(postgresUrl("DATABASE_URL")), Option.none())
    const external = options.server && Option.isSome(databaseUrl)
    // Outside embedded mode these have no safe default: a deployed server must be told them.
    const requiredWhenExternal = <A>(name: string, config: Config.Config<A>) =>
      read(Config.option(config), Option.none()).pipe(Effect.tap((value) => {
        if (external && Option.isNone(value)) problems.push(`${name} is required when DATABASE_URL is set`)
      }))

    const optional = <A>(config: Config.Config<A>, fallback: A) =>
      read(config.pipe(Config.withDefault(fallback)), fallback)
    const integer = (name: string, fallback: number, min: number, max: number) =>
      optional(
        Config.integer(name).pipe(Config.validate({
          message: `${name}: must be between ${min} and ${max}`,
          validation: (n) => n >= min && n <= max
        })),
        fallback
      )
    const duration = (name: string, fallback: Duration.Duration, max?: Duration.Duration) =>
      optional(
        Config.duration(name).pipe(Config.validate({
          message: `${name}: at most ${max === undefined ? "" : Duration.format(max)}`,
          validation: (d) => max === undefined || Duration.lessThanOrEqualTo(d, max)
        })),
        fallback
      )

    const bytes = (name: string, fallback: number, min: number, max: number) =>
      optional(
        byteSize(name).pipe(Config.validate({
          message: `${name}: must be between ${min} and ${max} bytes`,
          validation: (n) => n >= min && n <= max
        })),
        fallback
      )

    const otlpEndpoint = yield* read(Config.option(httpUrl("OTEL_EXPORTER_OTLP_ENDPOINT")), Option.none())
    const host = yield* optional(Config.string("HOST"), "0.0.0.0")
    const positive = (name: string, fallback: Duration.Duration) =>
      optional(
        Config.duration(name).pipe(Config.validate({
          message: `${name}: must be longer than zero`,
          validation: (d) => Duration.greaterThan(d, Duration.zero)
        })),
        fallback
      )
    const httpHeadersTimeout = yield* positive("HTTP_HEADERS_TIMEOUT", Duration.seconds(10))
    const httpRequestTimeout = yield* positive("HTTP_REQUEST_TIMEOUT", Duration.seconds(60))
    // Node refuses a headers timeout longer than the request timeout that contains it.
    if (Duration.greaterThan(httpHeadersTimeout, httpRequestTimeout)) {
      problems.push("HTTP_HEADERS_TIMEOUT: must not be longer than HTTP_REQUEST_TIMEOUT")
    }
    const config = {
      version: findVersion(),
      port: yield* optional(Config.port("PORT"), 8080),
      host,
      httpBodyLimit: yield* integer("HTTP_BODY_LIMIT", 1024 * 1024, 1024, 25 * 1024 * 1024),
      httpHeadersTimeout,
      httpRequestTimeout,
      httpKeepAliveTimeout: yield* positive("HTTP_KEEP_ALIVE_TIMEOUT", Duration.seconds(5)),
      logLevel: yield* optional(logLevel("LOG_LEVEL"), LogLevel.Info),
      logFormat: yield* optional(Config.literal("json", "pretty")("LOG_FORMAT"), "json"),
      databaseUrl,
      databaseMaxConnections: yield* integer("DATABASE_MAX_CONNECTIONS", 10, 1, 500),
      databaseConnectTimeout: yield* duration("DATABASE_CONNECT_TIMEOUT", Duration.seconds(5)),
      // Off behind a transaction-mode pooler that cannot carry named prepared statements.
      databasePreparedStatements: yield* optional(Config.boolean("DATABASE_PREPARED_STATEMENTS"), true),
      // Searches run on a pool of their own, so they can never take the main pool's connections.
      searchMaxConnections: yield* integer("SEARCH_MAX_CONNECTIONS", 3, 1, 100),
      searchStatementTimeout: yield* duration("SEARCH_STATEMENT_TIMEOUT", Duration.seconds(10)),
      searchMaxInFlightPerUser: yield* integer("SEARCH_MAX_IN_FLIGHT_PER_USER", 2, 1, 100),
      dataDir: yield* optional(Config.string("KOTADB_DATA_DIR"), ".data"),
      embeddedPgPort: yield* optional(Config.port("EMBEDDED_PG_PORT"), 54329),
      healthCacheTtl: yield* duration("HEALTH_CACHE_TTL", Duration.seconds(5)),
      internalApiKey: yield* read(
        Config.option(
          Config.redacted("INTERNAL_API_KEY").pipe(Config.validate({
            message: "INTERNAL_API_KEY: must be at least 24 characters",
            validation: (key) => Redacted.value(key).length >= 24
          }))
        ),
        Option.none()
      ),
      trustProxy: yield* optional(Config.literal("none", "fly")("TRUST_PROXY"), "none"),
      apiKeyCacheTtl: yield* duration("API_KEY_CACHE_TTL", Duration.seconds(10), Duration.seconds(30)),
      usageFlushInterval: yield* duration("USAGE_FLUSH_INTERVAL", Duration.millis(200)),
      defaultRateLimit: yield* integer("DEFAULT_RATE_LIMIT", 60, 1, 100_000),
      defaultMonthlyQuota: yield* integer("DEFAULT_MONTHLY_QUOTA", 1_000_000, 0, Number.MAX_SAFE_INTEGER),
      workerEnabled: yield* optional(Config.boolean("WORKER_ENABLED"), true),
      workerConcurrency: yield* integer("WORKER_CONCURRENCY", 4, 1, 256),
      workerBatchSize: yield* integer("WORKER_BATCH_SIZE", 1, 1, 1000),
      workerLeaseTimeout: yield* duration("WORKER_LEASE_TIMEOUT", Duration.seconds(30)),
      workerPollInterval: yield* duration("WORKER_POLL_INTERVAL", Duration.seconds(1)),
      workerRescueInterval: yield* duration("WORKER_RESCUE_INTERVAL", Duration.seconds(10)),
      workerDrainTimeout: yield* duration("WORKER_DRAIN_TIMEOUT", Duration.seconds(25)),
      jobRetryBase: yield* duration("JOB_RETRY_BASE_DELAY", Duration.seconds(2)),
      jobRetryCap: yield* duration("JOB_RETRY_MAX_DELAY", Duration.minutes(10)),
      usageRetentionDays: yield* integer("USAGE_RETENTION_DAYS", 90, 1, 36_500),
      deliveryRetentionDays: yield* integer("DELIVERY_RETENTION_DAYS", 30, 1, 36_500),
      jobRetentionDays: yield* integer("JOB_RETENTION_DAYS", 30, 1, 36_500),
      retentionInterval: yield* duration("RETENTION_INTERVAL", Duration.hours(1)),
      retentionBatchSize: yield* integer("RETENTION_BATCH_SIZE", 2_000, 1, 100_000),
      retentionDutyPercent: yield* integer("RETENTION_DUTY_PERCENT", 10, 1, 100),
      // 0 turns code intelligence off (text search only).
      symbolsWorkers: yield* integer("SYMBOLS_WORKERS", 1, 0, 64),
      symbolsMaxFileSize: yield* integer("SYMBOLS_MAX_FILE_SIZE", 1024 * 1024, 1024, 64 * 1024 * 1024),
      symbolsTimeout: yield* positive("SYMBOLS_TIMEOUT", Duration.seconds(10)),
      // An extractor's wasm memory never shrinks, so each process is replaced after this many files.
      symbolsRecycleAfter: yield* integer("SYMBOLS_RECYCLE_AFTER", 1_000, 1, 1_000_000),
      gitAllowedHosts: yield* optional(
        Config.string("GIT_ALLOWED_HOSTS").pipe(
          Config.map((list) => list.split(",").map((host) => host.trim().toLowerCase()).filter((host) => host !== ""))
        ),
        ["github.com", "gitlab.com", "bitbucket.org"]
      ),
      gitAllowPrivateHosts: yield* optional(Config.boolean("GIT_ALLOW_PRIVATE_HOSTS"), false),
      // Tenant limits: what one tenant's repositories may cost the workers, the disk and the database.
      tenantMaxRepositories: yield* integer("TENANT_MAX_REPOSITORIES", 100, 1, 1_000_000),
      repositoryMaxFiles: yield* integer("REPOSITORY_MAX_FILES", 100_000, 1, 100_000_000),
      repositoryMaxBytes: yield* bytes("REPOSITORY_MAX_BYTES", 2 * 1024 ** 3, 1, 1024 ** 4),
      repositoryMaxFileSize: yield* bytes("REPOSITORY_MAX_FILE_SIZE", 10 * 1024 ** 2, 1, 100 * 1024 ** 2),
      gitFetchTimeout: yield* positive("GIT_FETCH_TIMEOUT", Duration.minutes(10)),
      gitFetchMaxBytes: yield* bytes("GIT_FETCH_MAX_BYTES", 4 * 1024 ** 3, 1, 1024 ** 4),
      workspaceMinFreeBytes: yield* bytes("WORKSPACE_MIN_FREE_BYTES", 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
      workspaceDir: yield* optional(Config.string("WORKSPACE_DIR"), tmpdir()),
      mcpAllowedOrigins: yield* optional(origins("MCP_ALLOWED_ORIGINS"), []),
      githubApiUrl: yield* optional(
        httpUrl("GITHUB_API_URL").pipe(Config.map((url) => url.toString().replace(/\/+$/, ""))),
        "https://api.github.com"
      ),
      githubWebhookToken: yield* read(Config.option(Config.redacted("GITHUB_WEBHOOK_TOKEN")), Option.none()),
      metricsPort: yield* optional(
        Config.integer("METRICS_PORT").pipe(Config.validate({
          message: "METRICS_PORT: must be 0 (off) or a port",
          validation: (n) => n >= 0 && n <= 65535
        })),
        9091
      ),
      metricsHost: yield* optional(Config.string("METRICS_HOST"), host),
      // The signal-specific variable wins; the general one gets the standard /v1/traces path.
      otelEndpoint: Option.orElse(
        Option.map(
          yield* read(Config.option(httpUrl("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")), Option.none()),
          (url) => url.toString()
        ),
        () =>
          Option.map(
            otlpEndpoint,
            (url) => `${url.toString().replace(/\/+$/, "")}/v1/traces`
          )
      ),
      otelDisabled: yield* optional(Config.boolean("OTEL_SDK_DISABLED"), false),
      otelServiceName: yield* optional(Config.string("OTEL_SERVICE_NAME"), "kotadb-control-plane"),
      otelHeaders: yield* optional(Config.redacted("OTEL_EXPORTER_OTLP_HEADERS"), Redacted.make("")),
      otelResourceAttributes: yield* optional(Config.string("OTEL_RESOURCE_ATTRIBUTES"), ""),
      webhookBaseUrl: yield* requiredWhenExternal("KOTADB_WEBHOOK_BASE_URL", httpUrl("KOTADB_WEBHOOK_BASE_URL")),
      secretsEncryptionKey: yield* requiredWhenExternal(
        "SECRETS_ENCRYPTION_KEY",
        encryptionKey("SECRETS_ENCRYPTION_KEY")
      )
    } as const

    const lenient = yield* optional(Config.boolean("DISABLE_SAAS_ENV_VALIDATION"), false)
    if (problems.length > 0) {
      const error = new ConfigInvalid({ problems })
      if (!lenient) return yield* error
      yield* Effect.logWarning(error.message)
    }
    // Spans nobody collects are skipped where they cost most (one per job): see Worker.
    return { ...config, tracesExported: !config.otelDisabled && Option.isSome(config.otelEndpoint) } as const
  })

/**
 * Every environment variable the process reads, validated once at layer build. All problems are
 * collected so that one boot error lists every missing or invalid variable.
 */
export class AppConfig extends Effect.Service<AppConfig>()("services/AppConfig", {
  effect: load({ server: true })
}) {
  /** For tools that only reach the database (migrations, key CLI): no webhook or secrets settings needed. */
  static readonly Tool = Layer.effect(AppConfig, Effect.map(load({ server: false }), AppConfig.make))
}
