import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import type { Scope } from "effect"
import { Deferred, Effect, Redacted, Schedule } from "effect"
import { spawn } from "node:child_process"
import { Agent, get } from "node:http"
import { connect } from "node:net"
import { freePort } from "../utils/freePort.js"
import type { ServerProcess } from "../utils/ServerProcess.js"
import { productionEnv, projectRoot, spawnServer, waitHealthy } from "../utils/ServerProcess.js"
import { freshDatabase } from "../utils/TestDatabase.js"

describe("SIGTERM", () => {
  // Not execFileSync: it blocks this worker for the whole build, and on a loaded machine vitest's RPC
  // to the worker times out ("Timeout calling onTaskUpdate") and fails the run.
  beforeAll(
    () =>
      new Promise<void>((resolve, reject) => {
        spawn("npm", ["run", "--silent", "build"], { cwd: projectRoot, stdio: "inherit" }).once("exit", (code) =>
          code === 0 ? resolve() : reject(new Error(`npm run build exited with ${code}`)))
      }),
    300_000
  )

  it.live(
    "the built server stops listening, finishes the request in flight and exits 0",
    () => onBuiltServer(inFlightRequestCompletes),
    150_000
  )

  // A proxy (Fly's) keeps its connections to the app open and may send the next request on one after SIGTERM.
  it.live(
    "a request on a kept-alive connection after SIGTERM gets a 503 and the server exits 0",
    () => onBuiltServer(keptAliveConnectionIsAnswered),
    150_000
  )
})

/** Runs `f` against the built server, healthy on a fresh database, with a SQL client on that database. */
const onBuiltServer = <E>(
  f: (server: ServerProcess, port: number) => Effect.Effect<void, E, SqlClient.SqlClient | Scope.Scope>
) =>
  Effect.gen(function*() {
    const { url } = yield* freshDatabase("sigterm")
    const port = yield* Effect.promise(freePort)
    const server = yield* spawnServer({
      entry: "dist",
      env: { ...productionEnv(Redacted.value(url), port), HEALTH_CACHE_TTL: "0 millis" }
    })
    yield* waitHealthy(server, port, 60_000)
    yield* f(server, port).pipe(Effect.scoped, Effect.provide(PgClient.layer({ url })))
  }).pipe(Effect.scoped)

/**
 * Holds an exclusive lock on indexing_jobs until the returned effect runs: /health counts that table,
 * so a /health request stays in flight meanwhile.
 */
const lockIndexingJobs = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const locked = yield* Deferred.make<void>()
  const release = yield* Deferred.make<void>()
  yield* sql.withTransaction(
    sql`LOCK TABLE indexing_jobs IN ACCESS EXCLUSIVE MODE`.pipe(
      Effect.zipRight(Deferred.succeed(locked, undefined)),
      Effect.zipRight(Deferred.await(release))
    )
  ).pipe(Effect.forkScoped)
  yield* Deferred.await(locked)
  return Deferred.succeed(release, undefined)
})

/** Waits until a request waits on a lock in this database. */
const requestWaitsOnLock = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // pg_locks is the whole server's: on a shared Postgres, other suites' lock waits must not count.
  yield* sql<{ n: number }>`
    SELECT count(*)::int AS n FROM pg_locks
    WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.pipe(
    Effect.map((rows) => rows[0]!.n),
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n > 0 })
  )
})

const inFlightRequestCompletes = (server: ServerProcess, port: number) =>
  Effect.gen(function*() {
    const release = yield* lockIndexingJobs
    const inFlight = fetch(`http://127.0.0.1:${port}/health`).then(async (r) => ({
      status: r.status,
      body: await r.json()
    }))
    yield* requestWaitsOnLock

    server.child.kill("SIGTERM")
    const refused = yield* Effect.promise(async () => {
      for (let i = 0; i < 50; i++) {
        const answered = await fetch(`http://127.0.0.1:${port}/health/live`).then(() => true, () => false)
        if (!answered) return true
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return false
    })
    expect(refused).toBe(true)
    expect(server.child.exitCode).toBeNull()

    yield* release
    const response = yield* Effect.promise(() => inFlight)
    expect(response.status).toBe(200)
    expect(response.body).toMatchObject({ status: "ok" })
    expect(yield* Effect.promise(() => server.exited)).toBe(0)
  })

/** Waits until a new TCP connection to `port` is refused: the server has closed its listener. */
const listenerClosed = (port: number) =>
  Effect.promise(async () => {
    for (;;) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(port, "127.0.0.1")
        socket.once("connect", () => {
          socket.destroy()
          resolve(false)
        })
        socket.once("error", () => resolve(true))
      })
      if (refused) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })

const httpGet = (agent: Agent, port: number, path: string) =>
  new Promise<{ status: number; body: string; reusedSocket: boolean }>((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path, agent }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => body += chunk)
      response.on("end", () => resolve({ status: response.statusCode!, body, reusedSocket: request.reusedSocket }))
    })
    request.once("error", reject)
  })

const keptAliveConnectionIsAnswered = (server: ServerProcess, port: number) =>
  Effect.gen(function*() {
    const release = yield* lockIndexingJobs
    // One socket, kept alive: the second request can only go over the connection of the first.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
    // Sent the moment the first response ends, long before the server's keep-alive timeout.
    const answers = httpGet(agent, port, "/health").then(async (first) => ({
      first,
      second: await httpGet(agent, port, "/health/live")
    }))
    yield* requestWaitsOnLock

    server.child.kill("SIGTERM")
    yield* listenerClosed(port)
    yield* release
    const { first, second } = yield* Effect.promise(() => answers).pipe(
      Effect.timeoutFail({
        duration: "30 seconds",
        onTimeout: () => new Error(`no answer on the kept-alive connection after SIGTERM:\n${server.output()}`)
      })
    )
    expect(first.status).toBe(200)
    expect(second.reusedSocket).toBe(true)
    expect(second.status).toBe(503)
    expect(JSON.parse(second.body)).toMatchObject({ _tag: "ShuttingDown" })
    expect(yield* Effect.promise(() => server.exited)).toBe(0)
  })
