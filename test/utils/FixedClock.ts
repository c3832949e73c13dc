import { Clock, Effect } from "effect"

/** A clock that says `ms` (sleeping still uses real time): pins "now" for one effect. */
export const atTime = (ms: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const live = Clock.make()
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => ms,
    currentTimeMillis: Effect.succeed(ms),
    unsafeCurrentTimeNanos: () => BigInt(ms) * 1_000_000n,
    currentTimeNanos: Effect.succeed(BigInt(ms) * 1_000_000n),
    sleep: (duration) => live.sleep(duration)
  }
  return Effect.withClock(effect, clock)
}
