import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { CurrentApiKey } from "../../domain/ApiKey.js"
import { Repositories } from "../../services/Repositories.js"
import { Api } from "../Api.js"

export const RepositoriesHttpLive = HttpApiBuilder.group(Api, "repositories", (handlers) =>
  Effect.gen(function*() {
    const repositories = yield* Repositories
    return handlers
      .handle("register", ({ payload }) =>
        Effect.gen(function*() {
          const key = yield* CurrentApiKey
          const { body, created } = yield* repositories.register(key.userId, key.id, {
            gitUrl: payload.git_url,
            branch: payload.branch,
            name: payload.name,
            settings: payload.settings
          })
          return created ? body : HttpServerResponse.unsafeJson(body, { status: 200 })
        }))
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(CurrentApiKey, (key) =>
          repositories.list(key.userId, urlParams.limit ?? 50, urlParams.cursor)))
      .handle("get", ({ path }) =>
        Effect.flatMap(CurrentApiKey, (key) => repositories.get(path.id, key.userId)))
      .handle("remove", ({ path }) => Effect.flatMap(CurrentApiKey, (key) => repositories.remove(path.id, key.userId)))
      .handle("reindex", ({ path }) =>
        Effect.flatMap(CurrentApiKey, (key) =>
          repositories.reindex(path.id, key.userId, key.id)))
      .handle("rotateWebhookSecret", ({ path }) =>
        Effect.flatMap(CurrentApiKey, (key) =>
          repositories.rotateSecret(path.id, key.userId, key.id)))
  }))
