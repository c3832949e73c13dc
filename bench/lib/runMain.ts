// The end of every bench's run.ts: run `main`, exit with its code, and on a throw print why, with the
// last output of the processes it started, after cleaning up.
import type { makeLifecycle } from "./lifecycle.js"

interface Outputs {
  readonly name: string
  readonly output: () => string
}

export const runMain = (
  bench: string,
  lifecycle: ReturnType<typeof makeLifecycle>,
  main: () => Promise<number>,
  processes: () => ReadonlyArray<Outputs> = () => []
) =>
  main().then(
    (code) => {
      lifecycle.stopWatchdog()
      process.exit(code)
    },
    async (error: unknown) => {
      lifecycle.stopWatchdog()
      lifecycle.warn(
        `bench:${bench} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`
      )
      for (const child of processes()) lifecycle.warn(`--- last output of ${child.name} ---\n${child.output()}`)
      await lifecycle.cleanup()
      process.exit(1)
    }
  )
