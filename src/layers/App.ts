import { Layer } from "effect"
import { AppConfig } from "../services/AppConfig.js"
import { DatabaseUrlLive } from "./EmbeddedPostgres.js"
import { HttpLive } from "./Http.js"
import { LoggingLive } from "./Observability.js"
import { ServicesLive } from "./Services.js"
import { SqlLive } from "./Sql.js"

/**
 * The whole process. Layers are released in reverse order of acquisition, so on SIGTERM the HTTP
 * listener closes first (in-flight requests finish), then the pool, and the embedded Postgres last.
 */
export const AppLive = HttpLive.pipe(
  Layer.provide(ServicesLive),
  Layer.provide(SqlLive),
  Layer.provide(DatabaseUrlLive),
  Layer.provide(LoggingLive),
  Layer.provideMerge(AppConfig.Default)
)
