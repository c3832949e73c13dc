import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Health } from "../../services/Health.js"
import { Api } from "../Api.js"

export const HealthHttpLive = HttpApiBuilder.group(Api, "health", (handlers) =>
  Effect.gen(function*() {
    const health = yield* Health
    return handlers
      .handle("readiness", () => health.check)
      .handle("liveness", () => health.live)
  }))
