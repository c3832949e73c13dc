import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { retryDelay } from "../../src/worker/RetryPolicy.js"

describe("retryDelay", () => {
  const base = Duration.seconds(2)
  const cap = Duration.minutes(10)

  it("doubles per attempt around the base, with jitter in [0.8, 1.2)", () => {
    for (const [attempt, expected] of [[1, 2_000], [2, 4_000], [3, 8_000], [6, 64_000]] as const) {
      expect(Duration.toMillis(retryDelay(attempt, base, cap, 0))).toBe(expected * 0.8)
      expect(Duration.toMillis(retryDelay(attempt, base, cap, 0.5))).toBe(expected)
      expect(Duration.toMillis(retryDelay(attempt, base, cap, 0.999))).toBeLessThan(expected * 1.2)
    }
  })

  it("stays below 1.2x in whole milliseconds, whatever the jitter", () => {
    const small = Duration.millis(100)
    expect(Duration.toMillis(retryDelay(1, small, cap, 0.9999))).toBeLessThan(120)
    expect(Duration.toMillis(retryDelay(2, small, cap, 0.9999))).toBeLessThan(240)
  })

  it("never exceeds the cap", () => {
    expect(Duration.toMillis(retryDelay(20, base, cap, 0.999))).toBe(600_000)
    expect(Duration.toMillis(retryDelay(9, base, cap, 0))).toBe(409_600)
  })
})
