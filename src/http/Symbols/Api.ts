import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import {
  Callers,
  CodebaseOverviewParams,
  FileNotFound,
  FilePath,
  FileSymbols,
  Overview,
  SymbolImpact,
  SymbolImpactParams,
  SymbolName,
  SymbolSearchParams,
  SymbolSearchResults
} from "../../domain/Navigation.js"
import { InvalidCursor, RepositoryId, RepositoryNotFound } from "../../domain/Repository.js"
import { SearchUnavailable, TooManySearches } from "../../domain/Search.js"
import { Text } from "../../domain/Text.js"
import { Authentication } from "../Auth/Api.js"
import { NAME_MATCH } from "../Navigation/Api.js"

const SymbolFromPath = HttpApiSchema.param("symbol", SymbolName)

const ORIGINAL = "Kept from the original API, over the caller's repositories (or one, with `repository_id`)."

/** The original KotaDB's symbol routes, as aliases over code navigation (SPEC 10). */
export class SymbolsApi extends HttpApiGroup.make("symbols")
  .add(
    HttpApiEndpoint.get("listSymbols", "/symbols")
      .setUrlParams(SymbolSearchParams)
      .addSuccess(SymbolSearchResults)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        `${ORIGINAL} Symbol search (as \`GET /api/v1/search/symbols\`); without \`q\` (or with \`pattern=*\`) ` +
          "every definition, by name."
      )
  )
  .add(
    HttpApiEndpoint.get("symbolCallers")`/symbols/${SymbolFromPath}/callers`
      .setUrlParams(Schema.Struct({
        repository_id: Schema.optional(RepositoryId),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 200))),
        cursor: Schema.optional(Text.pipe(Schema.maxLength(8192)))
      }))
      .addSuccess(Callers)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(OpenApi.Description, `${ORIGINAL} Calls of the symbol grouped by enclosing definition.${NAME_MATCH}`)
  )
  .add(
    HttpApiEndpoint.get("symbolImpact")`/symbols/${SymbolFromPath}/impact`
      .setUrlParams(SymbolImpactParams)
      .addSuccess(SymbolImpact)
      .addError(RepositoryNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        `${ORIGINAL} The files defining the symbol (depth 0), those referring to it (1), then the files ` +
          `impacted by those, as \`POST /api/v1/repositories/:id/impact\` does, up to \`max_depth\`.${NAME_MATCH}`
      )
  )
  .add(
    HttpApiEndpoint.get("fileSymbols", "/files/symbols/*")
      .setPath(Schema.Struct({ "*": FilePath }))
      .setUrlParams(Schema.Struct({ repository_id: Schema.optional(RepositoryId) }))
      .addSuccess(FileSymbols)
      .addError(RepositoryNotFound)
      .addError(FileNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        `${ORIGINAL} The definitions in the file at that path, in each repository that has it, in source order.`
      )
  )
  .add(
    HttpApiEndpoint.get("codebaseOverview", "/codebase-overview")
      .setUrlParams(CodebaseOverviewParams)
      .addSuccess(Overview)
      .addError(RepositoryNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        `${ORIGINAL} As \`GET /api/v1/repositories/:id/overview\`; without \`repository_id\`, all of the ` +
          "caller's repositories together."
      )
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Symbols (original routes)")
{}
