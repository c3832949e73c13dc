// One benchmark as a child process, `tsx bench/<name>/run.ts` as `npm run bench:<name>` runs it, with its
// output streamed through and the lines that say why it failed kept.
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { join } from "node:path"

export interface BenchRun {
  readonly name: string
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly seconds: number
  /**
   * Why it failed, from its output: its first PROBLEM line (with how many more there were), else its
   * failure line (a thrown error, the time limit, a signal), else an error it printed, else its last line.
   */
  readonly reason: string
}

// Most telling first: the run's own verdicts, then how it ended, then any error printed.
const REASONS = [
  /^PROBLEM: /,
  /^bench:\w+ failed: /,
  /time limit of .* reached|^interrupted|^terminated/,
  /^\w*Error\b.*: /
]
const TAIL_LINES = 20

const lineCollector = (onLine: (line: string) => void) => {
  let partial = ""
  return {
    push: (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n")
      partial = lines.pop()!
      for (const line of lines) onLine(line)
    },
    flush: () => partial !== "" && onLine(partial)
  }
}

/** Runs the bench; `started` hands over the child, so that signals can be relayed to it. */
export const runBench = (
  root: string,
  name: string,
  env: NodeJS.ProcessEnv,
  started: (child: ChildProcess) => void
) =>
  new Promise<BenchRun>((resolve) => {
    const t0 = performance.now()
    const child = spawn(join(root, "node_modules/.bin/tsx"), [`bench/${name}/run.ts`], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"]
    })
    started(child)
    const matches: Array<Array<string>> = REASONS.map(() => [])
    const tail: Array<string> = []
    let problems = 0
    const onLine = (line: string) => {
      const trimmed = line.trim()
      if (trimmed === "") return
      tail.push(trimmed)
      if (tail.length > TAIL_LINES) tail.shift()
      const kind = REASONS.findIndex((pattern) => pattern.test(trimmed))
      if (kind === 0) problems++
      if (kind >= 0) matches[kind]!.push(trimmed)
    }
    const out = lineCollector(onLine)
    const err = lineCollector(onLine)
    let endsLine = true
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk)
      endsLine = chunk.at(-1) === 10
      out.push(chunk)
    })
    child.stderr.on("data", (chunk: Buffer) => {
      process.stderr.write(chunk)
      err.push(chunk)
    })
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      out.flush()
      err.flush()
      if (!endsLine) process.stdout.write("\n")
      const found = matches.find((lines) => lines.length > 0)
      let reason = spawnError?.message ?? found?.at(found === matches[0] ? 0 : -1) ?? tail.at(-1) ?? "no output"
      if (found === matches[0] && problems > 1) reason += ` (and ${problems - 1} more PROBLEM lines)`
      resolve({ name, exitCode, signal, seconds: (performance.now() - t0) / 1000, reason })
    }
    child.once("error", (error) => finish(null, null, error))
    child.once("close", (code, signal) => finish(code, signal))
  })
