import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** One statement on the connection a search holds; rows keep Postgres's column names. */
export type SearchStatement = <Row>(text: string, values?: ReadonlyArray<unknown>) => Effect.Effect<
  ReadonlyArray<Row>,
  SqlError
>

/**
 * The search pool: a few connections of their own with a statement timeout, so searches never take the
 * connections that auth, webhooks, workers and /health use. `withConnection` holds one connection for a
 * whole search (its statements share one read-only snapshot); interrupting it cancels the running statement
 * in Postgres and closes the connection.
 */
export class SearchDatabase extends Context.Tag("services/stores/SearchDatabase")<SearchDatabase, {
  readonly withConnection: <A, E, R>(
    use: (statement: SearchStatement) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | SqlError, R>
}>() {}
