import * as Effect from "effect/Effect"

export interface WorkerSnapshot {
  readonly enabled: boolean
  readonly loops: number
  readonly inFlight: number
  readonly lastTickAt: Date | null
  readonly draining: boolean
}

/** What the worker runtime reports about itself, for `/health`. */
export class WorkerStatus extends Effect.Service<WorkerStatus>()("services/WorkerStatus", {
  succeed: (() => {
    let snapshot: WorkerSnapshot = { enabled: false, loops: 0, inFlight: 0, lastTickAt: null, draining: false }
    return {
      get: Effect.sync(() => snapshot),
      update: (f: (current: WorkerSnapshot) => WorkerSnapshot) => Effect.sync(() => void (snapshot = f(snapshot)))
    } as const
  })()
}) {}
