// A throw-away database per benchmark run, on the Postgres server at BENCH_DATABASE_URL.
import { randomBytes } from "node:crypto"
import pg from "pg"

export const DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"])

export interface ScratchDatabase {
  readonly name: string
  readonly url: string
  /** Drops the database (terminating its sessions); safe to call more than once. */
  readonly drop: () => Promise<void>
}

const withClient = async <A>(adminUrl: string, f: (client: pg.Client) => Promise<A>): Promise<A> => {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    return await f(client)
  } finally {
    await client.end()
  }
}

/** The admin URL from BENCH_DATABASE_URL; refuses anything but a loopback server. */
export const adminUrl = () => {
  const url = process.env.BENCH_DATABASE_URL ?? DEFAULT_ADMIN_URL
  const host = new URL(url).hostname
  if (!LOOPBACK.has(host)) throw new Error(`BENCH_DATABASE_URL must point at a loopback Postgres, not ${host}`)
  return url
}

export const createScratchDatabase = async (admin: string, prefix: string): Promise<ScratchDatabase> => {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`
  await withClient(admin, (client) => client.query(`CREATE DATABASE "${name}"`))
  const url = new URL(admin)
  url.pathname = `/${name}`
  let dropped: Promise<void> | undefined
  return {
    name,
    url: url.toString(),
    drop:
      () => (dropped ??= withClient(admin, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))
        .then(() => undefined))
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/**
 * Drops the databases `<prefix>_<pid>_<hex>` whose run is gone (a run killed with SIGKILL cannot
 * clean up after itself). Returns their names.
 */
export const dropOrphans = async (admin: string, prefix: string): Promise<Array<string>> => {
  const pattern = new RegExp(`^${prefix}_(\\d+)_[0-9a-f]{8}$`)
  return withClient(admin, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
      [`${prefix}_`]
    )
    const orphans = rows.map((row) => row.datname).filter((name) => {
      const match = pattern.exec(name)
      return match !== null && !alive(Number(match[1]))
    })
    for (const name of orphans) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
    return orphans
  })
}

/** Runs one query on a short-lived connection (sanity checks after a run). */
export const queryOnce = <R extends pg.QueryResultRow>(url: string, text: string, values: Array<unknown> = []) =>
  withClient(url, (client) => client.query<R>(text, values)).then((result) => result.rows)
