import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

export const projectRoot = fileURLToPath(new URL("../..", import.meta.url))

export interface ServerProcess {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** The environment of this process without anything that would point a server at a database. */
const baseEnv = () => {
  const env = { ...process.env }
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "PORT", "KOTADB_DATA_DIR", "EMBEDDED_PG_PORT"]) {
    delete env[name]
  }
  // Parallel test files each spawn servers: none may take the default metrics port.
  env.METRICS_PORT = "0"
  return env
}

/** Spawns the server (`src` through tsx, or the built `dist`) and kills it when the scope closes. */
export const spawnServer = (
  options: {
    readonly entry: "src" | "dist" | "worker-fixture" | "chaos-worker"
    readonly env: Record<string, string>
  }
) =>
  Effect.acquireRelease(
    Effect.sync((): ServerProcess => {
      const args = options.entry === "src"
        ? ["--import", "tsx", "src/main.ts"]
        : options.entry === "dist"
        ? ["dist/src/main.js"]
        : options.entry === "worker-fixture"
        ? ["--import", "tsx", "test/fixtures/workerProcess.ts"]
        : ["--import", "tsx", "test/fixtures/chaosWorker.ts"]
      const child = spawn(process.execPath, args, {
        cwd: projectRoot,
        env: { ...baseEnv(), ...options.env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (chunk) => output += chunk)
      child.stderr!.on("data", (chunk) => output += chunk)
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      return { child, output: () => output, exited }
    }),
    (server) =>
      Effect.promise(async () => {
        if (server.child.exitCode === null && server.child.signalCode === null) {
          server.child.kill("SIGKILL")
          await server.exited
        }
      })
  )

/** Polls `GET /health` until it answers 200, or fails with the server's output after `timeoutMs`. */
export const waitHealthy = (server: ServerProcess, port: number, timeoutMs = 30_000) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (server.child.exitCode !== null) break
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
      if (ok) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`server on ${port} did not become healthy:\n${server.output()}`)
  })

export const productionEnv = (databaseUrl: string, port: number) => ({
  DATABASE_URL: databaseUrl,
  PORT: String(port),
  HOST: "127.0.0.1",
  KOTADB_WEBHOOK_BASE_URL: "https://hooks.kotadb.test",
  SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
  LOG_LEVEL: "Info"
})
