import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { CurrentApiKey } from "../../domain/ApiKey.js"
import { ApiKeyAdmin } from "../../services/ApiKeyAdmin.js"
import { Api } from "../Api.js"

export const UsageHttpLive = HttpApiBuilder.group(Api, "usage", (handlers) =>
  Effect.gen(function*() {
    const admin = yield* ApiKeyAdmin
    return handlers
      .handle("getUsage", () => Effect.flatMap(CurrentApiKey, (key) => admin.report(key.id)))
      .handle("whoami", () =>
        Effect.map(CurrentApiKey, (key) => ({ key_id: key.id, user_id: key.userId, scopes: key.scopes })))
  }))
