import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { CurrentApiKey } from "../../domain/ApiKey.js"
import { CodeSearch } from "../../services/CodeSearch.js"
import { Api } from "../Api.js"

export const SearchHttpLive = HttpApiBuilder.group(Api, "search", (handlers) =>
  Effect.gen(function*() {
    const search = yield* CodeSearch
    return handlers.handle("searchCode", ({ urlParams }) =>
      Effect.flatMap(CurrentApiKey, (key) =>
        search.search(key.userId, {
          q: urlParams.q,
          repositoryId: urlParams.repository_id,
          limit: urlParams.limit,
          cursor: urlParams.cursor,
          context: urlParams.context
        })))
  }))
