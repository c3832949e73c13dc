import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { parseLineRange } from "../../domain/Navigation.js"
import { CodeNavigation } from "../../services/CodeNavigation.js"
import { Api } from "../Api.js"
import { asUser } from "../Auth/asUser.js"

export const NavigationHttpLive = HttpApiBuilder.group(Api, "navigation", (handlers) =>
  Effect.gen(function*() {
    const navigation = yield* CodeNavigation
    const search = (
      userId: string,
      params: {
        readonly q?: string | undefined
        readonly pattern?: string | undefined
        readonly kind?: Parameters<typeof navigation.searchSymbols>[1]["kind"]
        readonly symbol_type?: Parameters<typeof navigation.searchSymbols>[1]["kind"]
        readonly lang?: string | undefined
        readonly repository_id?: Parameters<typeof navigation.searchSymbols>[1]["repositoryId"]
        readonly limit?: number | undefined
        readonly cursor?: string | undefined
      }
    ) =>
      Effect.flatMap(navigation.requireQuery(params.q ?? params.pattern), (q) =>
        navigation.searchSymbols(userId, {
          q,
          kind: params.kind ?? params.symbol_type,
          lang: params.lang,
          repositoryId: params.repository_id,
          limit: params.limit,
          cursor: params.cursor
        }))
    return handlers
      .handle("searchSymbols", ({ urlParams }) => asUser((user) => search(user, urlParams)))
      .handle("searchSymbolsPost", ({ payload }) => asUser((user) => search(user, payload)))
      .handle("getFile", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.file(
            user,
            path.id,
            path["*"],
            urlParams.lines === undefined ? null : parseLineRange(urlParams.lines)
          )
        ))
      .handle(
        "getOutline",
        ({ path, urlParams }) => asUser((user) => navigation.outline(user, path.id, urlParams.path))
      )
      .handle("findDefinitions", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.definitions(user, path.id, {
            name: urlParams.name,
            path: urlParams.path,
            limit: urlParams.limit,
            cursor: urlParams.cursor
          })
        ))
      .handle("findReferences", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.references(user, path.id, {
            name: urlParams.name,
            kind: urlParams.kind,
            limit: urlParams.limit,
            cursor: urlParams.cursor
          })
        ))
      .handle("findCallers", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.callers(user, path.id, { name: urlParams.name, limit: urlParams.limit, cursor: urlParams.cursor })
        ))
      .handle("getDependencies", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.dependencies(user, path.id, {
            path: urlParams.path,
            direction: urlParams.direction,
            depth: urlParams.depth
          })
        ))
      .handle("analyzeImpact", ({ path, payload }) =>
        asUser((user) =>
          navigation.impact(user, path.id, { paths: payload.paths, depth: payload.depth })
        ))
      .handle("getOverview", ({ path, urlParams }) =>
        asUser((user) =>
          navigation.overview(user, path.id, { limit: urlParams.limit ?? urlParams.top_symbols_limit })
        ))
  }))
