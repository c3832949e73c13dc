// Child server processes for benchmarks: free loopback ports, readiness, /proc figures, and teardown.
import type { ChildProcess } from "node:child_process"
import { spawn, spawnSync } from "node:child_process"
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"

export const HOST = "127.0.0.1"

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on("error", reject)
    probe.listen(0, HOST, () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export interface Server {
  readonly name: string
  readonly port: number
  readonly pid: number
  readonly child: ChildProcess
  /** The last 64 KiB of the server's stdout and stderr, for error reports. */
  readonly output: () => string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  readonly stop: (graceMs?: number) => Promise<void>
}

const OUTPUT_LIMIT = 64 * 1024

export const startServer = (
  name: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly port: number }
): Server => {
  const child = spawn(process.execPath, args, { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_LIMIT)
  }
  child.stdout!.on("data", keep)
  child.stderr!.on("data", keep)
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once("exit", () => resolve())
  })
  let stopping: Promise<void> | undefined
  return {
    name,
    port: options.port,
    pid: child.pid!,
    child,
    output: () => output,
    stop: (graceMs = 10_000) => (stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      await exited
      clearTimeout(timer)
    })())
  }
}

/** Polls `http://HOST:port{path}` until it answers 200; fails early if the process exits. */
export const waitReady = async (server: Server, path: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      throw new Error(`${server.name} exited during boot (${server.child.exitCode ?? server.child.signalCode})`)
    }
    try {
      const response = await fetch(`http://${HOST}:${server.port}${path}`, { signal: AbortSignal.timeout(1_000) })
      await response.arrayBuffer()
      if (response.status === 200) return
    } catch {
      // not listening yet
    }
    await sleep(100)
  }
  throw new Error(`${server.name} not ready after ${timeoutMs} ms`)
}

const statusField = (pid: number, field: string) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith(`${field}:`))
  if (line === undefined) throw new Error(`no ${field} in /proc/${pid}/status`)
  return Number(line.split(/\s+/)[1]) // kB
}

/** Peak resident set size (VmHWM) in MiB. */
export const peakRssMiB = (pid: number) => statusField(pid, "VmHWM") / 1024

/** `peakRssMiB`, or undefined when the process is gone (or /proc cannot be read). */
export const tryPeakRssMiB = (pid: number) => {
  try {
    return peakRssMiB(pid)
  } catch {
    return undefined
  }
}

/**
 * Resets this process's VmHWM to its current RSS (Linux ≥ 4.0: `5` to /proc/self/clear_refs), so that a
 * later `peakRssMiB(process.pid)` covers only what ran in between. False where that is not allowed.
 */
export const resetPeakRss = () => {
  try {
    writeFileSync("/proc/self/clear_refs", "5")
    return true
  } catch {
    return false
  }
}

const CLOCK_TICKS = (() => {
  const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" })
  const ticks = Number(out.stdout)
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
})()

/** User + system CPU time of a process so far, in seconds. */
export const cpuSeconds = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

const newestMtime = (path: string): number => {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat === undefined) return 0
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

/**
 * `npm run build` when dist/ is missing or older than its sources, with the same stamp and the same
 * inputs as scripts/start.sh (`npm start`). Build output goes to stderr.
 */
export const ensureBuilt = (root: string) => {
  const stamp = join(root, "dist/.build-stamp")
  const stampTime = statSync(stamp, { throwIfNoEntry: false })?.mtimeMs
  const inputs = ["src", "migrations", "package.json", "tsconfig.json", "tsconfig.build.json"]
  const newest = Math.max(...inputs.map((input) => newestMtime(join(root, input))))
  if (
    stampTime !== undefined && newest <= stampTime &&
    statSync(join(root, "dist/src/main.js"), { throwIfNoEntry: false })
  ) {
    return false
  }
  process.stderr.write("building dist/ (npm run build) ...\n")
  const build = spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", 2, 2] })
  if (build.status !== 0) throw new Error(`npm run build failed (exit ${build.status ?? build.signal})`)
  writeFileSync(stamp, "")
  return true
}

/** Busy and total CPU time of the whole machine so far, in clock ticks (from /proc/stat). */
export const machineCpu = () => {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0)
  const idle = fields[3]! + fields[4]! // idle + iowait
  return { busy: total - idle, total }
}

/** The 1-minute load average. */
export const loadAverage = () => Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0])
