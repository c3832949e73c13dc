import { Config, ConfigError, Data, Duration, Effect, Either, Layer, LogLevel, Option, Redacted } from "effect"
import { readFileSync } from "node:fs"
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

const encryptionKey = (name: string) =>
  Config.redacted(name).pipe(Config.validate({
    message: `${name}: must be 32 bytes in base64 (openssl rand -base64 32)`,
    validation: (key) => Buffer.from(Redacted.value(key), "base64").length === 32
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

    const config = {
      version: findVersion(),
      port: yield* read(Config.port("PORT").pipe(Config.withDefault(8080)), 8080),
      host: yield* read(Config.string("HOST").pipe(Config.withDefault("0.0.0.0")), "0.0.0.0"),
      logLevel: yield* read(logLevel("LOG_LEVEL").pipe(Config.withDefault(LogLevel.Info)), LogLevel.Info),
      logFormat: yield* read(Config.literal("json", "pretty")("LOG_FORMAT").pipe(Config.withDefault("json")), "json"),
      databaseUrl,
      databaseMaxConnections: yield* read(
        Config.integer("DATABASE_MAX_CONNECTIONS").pipe(
          Config.validate({
            message: "DATABASE_MAX_CONNECTIONS: must be between 1 and 500",
            validation: (n) => n >= 1 && n <= 500
          }),
          Config.withDefault(10)
        ),
        10
      ),
      databaseConnectTimeout: yield* read(
        Config.duration("DATABASE_CONNECT_TIMEOUT").pipe(Config.withDefault(Duration.seconds(5))),
        Duration.seconds(5)
      ),
      dataDir: yield* read(Config.string("KOTADB_DATA_DIR").pipe(Config.withDefault(".data")), ".data"),
      embeddedPgPort: yield* read(Config.port("EMBEDDED_PG_PORT").pipe(Config.withDefault(54329)), 54329),
      healthCacheTtl: yield* read(
        Config.duration("HEALTH_CACHE_TTL").pipe(Config.withDefault(Duration.seconds(5))),
        Duration.seconds(5)
      ),
      workerLeaseTimeout: yield* read(
        Config.duration("WORKER_LEASE_TIMEOUT").pipe(Config.withDefault(Duration.seconds(30))),
        Duration.seconds(30)
      ),
      internalApiKey: yield* read(
        Config.option(
          Config.redacted("INTERNAL_API_KEY").pipe(Config.validate({
            message: "INTERNAL_API_KEY: must be at least 24 characters",
            validation: (key) => Redacted.value(key).length >= 24
          }))
        ),
        Option.none()
      ),
      trustProxy: yield* read(Config.literal("none", "fly")("TRUST_PROXY").pipe(Config.withDefault("none")), "none"),
      apiKeyCacheTtl: yield* read(
        Config.duration("API_KEY_CACHE_TTL").pipe(
          Config.validate({
            message: "API_KEY_CACHE_TTL: at most 30 seconds",
            validation: (ttl) => Duration.lessThanOrEqualTo(ttl, Duration.seconds(30))
          }),
          Config.withDefault(Duration.seconds(10))
        ),
        Duration.seconds(10)
      ),
      usageFlushInterval: yield* read(
        Config.duration("USAGE_FLUSH_INTERVAL").pipe(Config.withDefault(Duration.millis(200))),
        Duration.millis(200)
      ),
      defaultRateLimit: yield* read(Config.integer("DEFAULT_RATE_LIMIT").pipe(Config.withDefault(60)), 60),
      defaultMonthlyQuota: yield* read(
        Config.integer("DEFAULT_MONTHLY_QUOTA").pipe(Config.withDefault(1_000_000)),
        1_000_000
      ),
      workerEnabled: yield* read(Config.boolean("WORKER_ENABLED").pipe(Config.withDefault(true)), true),
      workerConcurrency: yield* read(
        Config.integer("WORKER_CONCURRENCY").pipe(
          Config.validate({
            message: "WORKER_CONCURRENCY: must be between 1 and 256",
            validation: (n) => n >= 1 && n <= 256
          }),
          Config.withDefault(4)
        ),
        4
      ),
      workerBatchSize: yield* read(
        Config.integer("WORKER_BATCH_SIZE").pipe(
          Config.validate({
            message: "WORKER_BATCH_SIZE: must be between 1 and 1000",
            validation: (n) => n >= 1 && n <= 1000
          }),
          Config.withDefault(1)
        ),
        1
      ),
      workerPollInterval: yield* read(
        Config.duration("WORKER_POLL_INTERVAL").pipe(Config.withDefault(Duration.seconds(1))),
        Duration.seconds(1)
      ),
      workerRescueInterval: yield* read(
        Config.duration("WORKER_RESCUE_INTERVAL").pipe(Config.withDefault(Duration.seconds(10))),
        Duration.seconds(10)
      ),
      workerDrainTimeout: yield* read(
        Config.duration("WORKER_DRAIN_TIMEOUT").pipe(Config.withDefault(Duration.seconds(25))),
        Duration.seconds(25)
      ),
      jobRetryBase: yield* read(
        Config.duration("JOB_RETRY_BASE_DELAY").pipe(Config.withDefault(Duration.seconds(2))),
        Duration.seconds(2)
      ),
      jobRetryCap: yield* read(
        Config.duration("JOB_RETRY_MAX_DELAY").pipe(Config.withDefault(Duration.minutes(10))),
        Duration.minutes(10)
      ),
      webhookBaseUrl: yield* requiredWhenExternal("KOTADB_WEBHOOK_BASE_URL", httpUrl("KOTADB_WEBHOOK_BASE_URL")),
      secretsEncryptionKey: yield* requiredWhenExternal(
        "SECRETS_ENCRYPTION_KEY",
        encryptionKey("SECRETS_ENCRYPTION_KEY")
      )
    } as const

    const lenient = yield* read(Config.boolean("DISABLE_SAAS_ENV_VALIDATION").pipe(Config.withDefault(false)), false)
    if (problems.length > 0) {
      const error = new ConfigInvalid({ problems })
      if (!lenient) return yield* error
      yield* Effect.logWarning(error.message)
    }
    return config
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
