import * as Context from "effect/Context"

/**
 * The pool's own counters, read from memory (no query): for the saturation gauges on `/metrics`.
 * `inUse` counts connections checked out, `waiting` the callers queued for one.
 */
export class PoolStats extends Context.Tag("services/stores/PoolStats")<PoolStats, {
  readonly max: number
  readonly read: () => {
    readonly total: number
    readonly idle: number
    readonly inUse: number
    readonly waiting: number
  }
}>() {}
