import pg from "pg"

/** Distinct statement texts given a name, per process; past this, statements go unnamed. */
const MAX_NAMED = 1_000

/**
 * A `pg` client that sends every parameterised statement as a named prepared statement, so Postgres
 * parses and plans it once per connection instead of on every execution (`@effect/sql-pg` sends them
 * all unnamed). The text is the key: the same text always gets the same name, on every connection.
 * Statements without parameters keep the simple protocol, which migrations' multi-statement files need.
 *
 * A prepared statement's result type is fixed: after a migration changes it (another machine of a
 * rolling deploy), Postgres refuses the statement with "cached plan must not change result type"
 * before running anything. That text then goes unnamed for the life of the process and is run again.
 */
export const makePreparingClient = () => {
  const names = new Map<string, string>()
  const unnamed = new Set<string>()
  const nameOf = (text: string) => {
    if (unnamed.has(text)) return undefined
    let name = names.get(text)
    if (name === undefined && names.size < MAX_NAMED) {
      name = `kotadb_${names.size + 1}`
      names.set(text, name)
    }
    return name
  }

  type Callback = (error: (Error & { code?: unknown }) | null, result: unknown) => void
  const query = pg.Client.prototype.query as (this: pg.Client, ...args: ReadonlyArray<unknown>) => unknown

  class PreparingClient extends pg.Client {}
  // Only the form `@effect/sql-pg` uses is named, (text, values, callback); pg's other forms pass through.
  PreparingClient.prototype.query = function(this: pg.Client, config: unknown, values?: unknown, callback?: unknown) {
    const name = typeof config === "string" && Array.isArray(values) && values.length > 0 &&
        typeof callback === "function"
      ? nameOf(config)
      : undefined
    if (name === undefined) return query.call(this, config, values, callback)
    const done = callback as Callback
    return query.call(this, { name, text: config, values }, (error: Parameters<Callback>[0], result: unknown) => {
      if (error?.code !== "0A000" || !/cached plan must not change result type/.test(error.message)) {
        return done(error, result)
      }
      unnamed.add(config as string)
      query.call(this, `DEALLOCATE ${name}`, () => query.call(this, config, values, callback))
    })
  } as typeof pg.Client.prototype.query
  return PreparingClient
}

export type PreparedPoolOptions = pg.PoolConfig & { readonly preparedStatements: boolean }

export const makePool = ({ preparedStatements, ...options }: PreparedPoolOptions) =>
  new pg.Pool(preparedStatements ? { ...options, Client: makePreparingClient() } : options)
