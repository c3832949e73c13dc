import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { CodeNavigation } from "../../services/CodeNavigation.js"
import { Api } from "../Api.js"
import { asUser } from "../Auth/asUser.js"

export const SymbolsHttpLive = HttpApiBuilder.group(Api, "symbols", (handlers) =>
  Effect.gen(function*() {
    const navigation = yield* CodeNavigation
    return handlers
      .handle("listSymbols", ({ urlParams }) =>
        asUser((user) =>
          navigation.searchSymbols(user, {
            q: urlParams.q ?? urlParams.pattern,
            kind: urlParams.kind ?? urlParams.symbol_type,
            lang: urlParams.lang,
            repositoryId: urlParams.repository_id,
            limit: urlParams.limit,
            cursor: urlParams.cursor
          })
        ))
      .handle("symbolCallers", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.callers(user, urlParams.repository_id, {
            name: path.symbol,
            limit: urlParams.limit,
            cursor: urlParams.cursor
          })
        ))
      .handle("symbolImpact", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.symbolImpact(user, urlParams.repository_id, {
            symbol: path.symbol,
            depth: urlParams.max_depth,
            limit: urlParams.limit
          })
        ))
      .handle("fileSymbols", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.fileSymbols(user, urlParams.repository_id, path["*"])
        ))
      .handle("codebaseOverview", ({ urlParams }) =>
        asUser((user) =>
          navigation.overview(user, urlParams.repository_id, { limit: urlParams.limit ?? urlParams.top_symbols_limit })
        ))
  }))
