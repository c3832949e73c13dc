import * as Effect from "effect/Effect"
import { CurrentApiKey } from "../../domain/ApiKey.js"

/** A handler's work on behalf of the user whose key the auth middleware admitted. */
export const asUser = <A, E, R>(f: (userId: string) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(CurrentApiKey, (key) => f(key.userId))
