import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/**
 * One statement sent straight to the pool, as `pg` returns it: no statement compiler, no row-name
 * transforms, and a `sql.execute` span only when traces are exported. For the few calls on a hot path
 * whose text is fixed, where `@effect/sql`'s machinery costs more than the call itself: a webhook
 * delivery's `webhook_receive` and the worker's `indexing_jobs_finish_and_claim` (bench/README.md,
 * webhooks and queue). Rows keep Postgres's column names.
 * Never inside `sql.withTransaction`: it takes its own connection from the pool.
 */
export class DirectQuery extends Context.Tag("services/stores/DirectQuery")<DirectQuery, {
  readonly run: <Row>(text: string, values: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
}>() {}
