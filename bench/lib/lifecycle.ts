import { tableLines } from "./table.js"

/**
 * Cleanup for a bench run: steps registered with `onCleanup` run once, newest first, on success, on
 * failure, on Ctrl-C/SIGTERM and when the run's time limit is reached.
 */
export const makeLifecycle = (timeLimitMs: number) => {
  let aborting = false
  let cleaning: Promise<void> | undefined
  const steps: Array<() => Promise<void>> = []
  const warn = (line: string) => process.stderr.write(`${line}\n`)

  const cleanup = () => (cleaning ??= (async () => {
    for (const step of steps.reverse()) {
      try {
        await step()
      } catch (error) {
        warn(`cleanup: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
  })())

  const abort = (why: string, code: number) => {
    // Ctrl-C reaches this process twice (from the terminal and relayed by tsx): clean up once, and keep
    // the handlers installed so that a repeated signal cannot kill the process before the drop is done.
    if (aborting) return
    aborting = true
    warn(why)
    void cleanup().finally(() => process.exit(code))
  }
  process.on("SIGINT", () => abort("interrupted: cleaning up", 130))
  process.on("SIGTERM", () => abort("terminated: cleaning up", 143))
  const watchdog = setTimeout(() => abort(`time limit of ${timeLimitMs / 1000} s reached: cleaning up`, 1), timeLimitMs)

  const log = (line: string) => aborting || process.stdout.write(`${line}\n`)
  return {
    warn,
    /** Prints a line unless the run is being aborted. */
    log,
    /** Prints rows as aligned columns (`tableLines`). */
    table: (rows: ReadonlyArray<ReadonlyArray<string>>, textColumns = 1) => {
      for (const line of tableLines(rows, textColumns)) log(line)
    },
    onCleanup: (step: () => Promise<void>) => void steps.push(step),
    cleanup,
    stopWatchdog: () => clearTimeout(watchdog)
  } as const
}

/** A positive integer from the environment (bench knobs), or `fallback` when unset. */
export const intEnv = (name: string, fallback: number) => {
  const raw = process.env[name]
  if (raw === undefined || raw === "") return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, not ${raw}`)
  return value
}
