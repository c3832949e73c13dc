import type { Duration } from "effect"
import { Clock, Effect } from "effect"

/** A clock that says `ms`, and sleeps as `sleep` does (by default for real). */
export const clockAt = (ms: number, sleep?: (duration: Duration.Duration) => Effect.Effect<void>): Clock.Clock => {
  const live = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => ms,
    currentTimeMillis: Effect.succeed(ms),
    unsafeCurrentTimeNanos: () => BigInt(ms) * 1_000_000n,
    currentTimeNanos: Effect.succeed(BigInt(ms) * 1_000_000n),
    sleep: sleep ?? ((duration) => live.sleep(duration))
  }
}

/** A clock that says `ms` (sleeping still uses real time): pins "now" for one effect. */
export const atTime = (ms: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withClock(effect, clockAt(ms))
