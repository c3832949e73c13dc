import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { Health } from "../../services/Health.js"
import { Api } from "../Api.js"

export const HealthHttpLive = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function*() {
    const health = yield* Health
    return handlers
      .handle("readiness", () => health.check)
      .handle("liveness", () => health.live)
  }))
