// npm run smoke:gate -- [--file smoke.json] [--max-database-latency-ms N] [--max-queued N]
//   [--max-oldest-queued-seconds N] [--max-stuck N] [--max-failed-last-hour N]
// Reads what `npm run smoke -- <url> [key] --json` printed (stdin, or --file) and exits 1 when the smoke
// check failed or a figure of /health is over its threshold, so that a deploy stops on a slower
// database or a growing queue even while /health still says ok. Exit 2 for bad arguments or input.

import { readFile } from "node:fs/promises"

interface Smoke {
  readonly ok: boolean
  readonly base_url?: string
  readonly checks?: ReadonlyArray<{ readonly name: string; readonly ok: boolean; readonly detail: string }>
  readonly measurements?: Record<string, number | null>
}

/** Threshold per measurement; null measurements fail unless `absentIsFine` (nothing queued has no age). */
const LIMITS = [
  { flag: "--max-database-latency-ms", key: "database_latency_ms", fallback: 100, absentIsFine: false },
  { flag: "--max-queued", key: "queued", fallback: 1000, absentIsFine: false },
  { flag: "--max-oldest-queued-seconds", key: "oldest_queued_seconds", fallback: 300, absentIsFine: true },
  { flag: "--max-stuck", key: "stuck", fallback: 0, absentIsFine: false },
  { flag: "--max-failed-last-hour", key: "failed_last_hour", fallback: 0, absentIsFine: false }
] as const

const fail = (message: string): never => {
  process.stderr.write(`smoke-gate: ${message}\n`)
  process.exit(2)
}

const readAll = async (stream: NodeJS.ReadableStream) => {
  let text = ""
  for await (const chunk of stream) text += String(chunk)
  return text
}

const main = async () => {
  const args = process.argv.slice(2)
  const options = new Map<string, string>()
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i]!
    const value = args[i + 1]
    if (!flag.startsWith("--") || value === undefined) fail(`expected --flag value pairs, got ${flag}`)
    if (flag !== "--file" && !LIMITS.some((limit) => limit.flag === flag)) fail(`unknown option ${flag}`)
    options.set(flag, value!)
  }
  const file = options.get("--file")
  const text = file === undefined ? await readAll(process.stdin) : await readFile(file, "utf8").catch(() => "")
  // The JSON object is the last line: anything printed before it (npm's banner) is skipped.
  const line = text.trim().split("\n").filter((l) => l.startsWith("{")).at(-1)
  let smoke: Smoke | undefined
  try {
    smoke = line === undefined ? undefined : JSON.parse(line) as Smoke
  } catch {
    smoke = undefined
  }
  if (smoke === undefined || typeof smoke.ok !== "boolean") return fail("no smoke --json output to read")

  const problems: Array<string> = []
  if (!smoke.ok) {
    const failed = (smoke.checks ?? []).filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`)
    problems.push(`the smoke check failed: ${failed.join("; ") || "no detail"}`)
  }
  for (const limit of LIMITS) {
    const raw = options.get(limit.flag)
    const max = raw === undefined || raw === "" ? limit.fallback : Number(raw)
    if (!Number.isFinite(max)) fail(`${limit.flag} must be a number, got ${raw}`)
    const value = smoke.measurements?.[limit.key]
    const shown = `${limit.key} = ${value ?? "absent"} (max ${max})`
    if (value === null || value === undefined) {
      if (!limit.absentIsFine) problems.push(`${limit.key} was not measured`)
      else process.stdout.write(`ok    ${shown}\n`)
    } else if (value > max) {
      problems.push(shown)
    } else {
      process.stdout.write(`ok    ${shown}\n`)
    }
  }
  for (const problem of problems) process.stdout.write(`FAIL  ${problem}\n`)
  process.stdout.write(problems.length === 0 ? "smoke-gate: ok\n" : "smoke-gate: FAILED\n")
  process.exit(problems.length === 0 ? 0 : 1)
}

void main()
