import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { ApiKeyAdmin } from "../../services/ApiKeyAdmin.js"
import { Api } from "../Api.js"

export const AdminHttpLive = HttpApiBuilder.group(Api, "admin", (handlers) =>
  Effect.gen(function*() {
    const admin = yield* ApiKeyAdmin
    return handlers
      .handle("createApiKey", ({ payload }) => admin.create(payload))
      .handle("createApiKeyLegacy", ({ payload }) => admin.create(payload))
      .handle("listApiKeys", ({ urlParams }) => admin.list(urlParams.user_email))
      .handle("revokeApiKey", ({ path }) => admin.revoke(path.id))
      .handle("rotateApiKey", ({ path }) => admin.rotate(path.id))
  }))
