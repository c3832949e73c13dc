import * as Duration from "effect/Duration"

/**
 * Delay before attempt `attempt + 1` after attempt `attempt` failed: `base * 2^(attempt-1)`, times a
 * jitter in [0.8, 1.2) so that jobs failing together do not retry together, never above `cap`.
 */
export const retryDelay = (
  attempt: number,
  base: Duration.Duration,
  cap: Duration.Duration,
  random: number = Math.random()
): Duration.Duration => {
  const exponential = Duration.toMillis(base) * 2 ** Math.max(0, attempt - 1)
  // floor, not round: rounding could reach the excluded bound (200 ms * 1.19995 = 239.99 -> 240).
  return Duration.millis(Math.floor(Math.min(Duration.toMillis(cap), exponential * (0.8 + 0.4 * random))))
}
