import * as Effect from "effect/Effect"
import { TooManySearches } from "../domain/Search.js"
import { AppConfig } from "./AppConfig.js"

/**
 * The per-user bound on requests in flight on the search pool (SPEC 9): code search and code navigation
 * share it, so one tenant never holds more than SEARCH_MAX_IN_FLIGHT_PER_USER of the pool's connections;
 * beyond it a request is a 429 at once rather than a wait.
 */
export class SearchAdmission extends Effect.Service<SearchAdmission>()("services/SearchAdmission", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const inFlight = new Map<string, number>()

    const admit = (userId: string) =>
      Effect.suspend(() => {
        const n = inFlight.get(userId) ?? 0
        if (n >= config.searchMaxInFlightPerUser) {
          return Effect.fail(
            new TooManySearches({ message: `at most ${config.searchMaxInFlightPerUser} searches at a time per user` })
          )
        }
        inFlight.set(userId, n + 1)
        return Effect.void
      })
    const leave = (userId: string) =>
      Effect.sync(() => {
        const n = (inFlight.get(userId) ?? 1) - 1
        if (n <= 0) inFlight.delete(userId)
        else inFlight.set(userId, n)
      })

    /** `effect` counted against the user's bound while it runs. */
    const admitted = <A, E, R>(userId: string, effect: Effect.Effect<A, E, R>) =>
      Effect.acquireUseRelease(admit(userId), () => effect, () => leave(userId))

    return { admitted } as const
  })
}) {}
