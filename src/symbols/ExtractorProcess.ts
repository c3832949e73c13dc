import type { ChildProcess } from "node:child_process"
import { fork } from "node:child_process"
import type { EventEmitter } from "node:events"
import { createRequire } from "node:module"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { ExtractorRequest, PrepareRequest } from "./ExtractorProtocol.js"

/** What the pool needs of one extractor: a child process, or a test's stand-in that hangs or crashes. */
export interface ExtractorProcess {
  /** "message" (a response, or "ready" once), "exit" (code, signal) and "error" (Error). */
  readonly events: EventEmitter
  readonly send: (request: ExtractorRequest | PrepareRequest) => void
  /** Kills it; resolves once it has exited. */
  readonly stop: () => Promise<void>
}

export const fromChild = (child: ChildProcess): ExtractorProcess => {
  // A failed kill or send between files would otherwise be an unhandled "error" event in the server; during
  // a file the pool listens for it itself.
  child.on("error", () => {})
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once("exit", () => resolve())
  })
  return {
    events: child,
    send: (request) => void child.send(request),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
      return exited
    }
  }
}

// A child's JavaScript heap (the TypeScript parser's trees are garbage after each file) is kept small, so
// that collection runs early instead of growing toward node's default; a file that still does not fit
// fails as a crash and the child is replaced.
const HEAP = ["--max-old-space-size=128", "--max-semi-space-size=8"]

/**
 * Forks an ExtractorWorker. Its own process, not a thread: its parsers' memory (wasm memory never shrinks)
 * goes back to the system when it exits instead of staying in the server's allocator. From the sources
 * (tsx, vitest) the child loads TypeScript through tsx; from dist/ it is plain JS.
 */
export const forkExtractor = (): ExtractorProcess => {
  const here = import.meta.url
  const compiled = !here.endsWith(".ts")
  const entry = fileURLToPath(new URL(compiled ? "./ExtractorWorker.js" : "./ExtractorWorker.ts", here))
  const loader = compiled ? [] : ["--import", pathToFileURL(createRequire(here).resolve("tsx")).href]
  // execArgv is given in full: the server's own heap flags and loaders are not the child's.
  return fromChild(fork(entry, [], { execArgv: [...HEAP, ...loader], serialization: "advanced" }))
}
