import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import {
  Callers,
  CallersParams,
  Definitions,
  DefinitionsParams,
  DependenciesParams,
  DependencyGraph,
  FileContent,
  FileNotFound,
  FileParams,
  FilePath,
  Impact,
  ImpactPayload,
  LineRangeOutsideFile,
  Outline,
  Overview,
  OverviewParams,
  PathParams,
  References,
  ReferencesParams,
  SymbolSearchParams,
  SymbolSearchPayload,
  SymbolSearchResults
} from "../../domain/Navigation.js"
import { InvalidCursor, RepositoryId, RepositoryIdFromPath, RepositoryNotFound } from "../../domain/Repository.js"
import { InvalidQuery, SearchUnavailable, TooManySearches } from "../../domain/Search.js"
import { Authentication } from "../Auth/Api.js"

export const NAME_MATCH = " Found by name, not by type resolution (`resolution: \"name-match\"`): every definition " +
  "with the name counts, whatever its scope."

export const SYMBOL_SEARCH =
  "Definitions whose name contains `q` (case-insensitive) in the caller's repositories, or " +
  "one with `repository_id`: names equal to `q` first, then names starting with it, then the rest, each in " +
  "name order. A `q` without three consecutive letters or digits finds only names equal to it or starting " +
  "with it. `kind` and `lang` narrow it; `next_cursor` resumes after the page." + NAME_MATCH

export class NavigationApi extends HttpApiGroup.make("navigation")
  .add(
    HttpApiEndpoint.get("searchSymbols", "/search/symbols")
      .setUrlParams(SymbolSearchParams)
      .addSuccess(SymbolSearchResults)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(InvalidQuery)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(OpenApi.Description, SYMBOL_SEARCH)
  )
  .add(
    HttpApiEndpoint.post("searchSymbolsPost", "/search/symbols")
      .setPayload(SymbolSearchPayload)
      .addSuccess(SymbolSearchResults)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(InvalidQuery)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(OpenApi.Description, `The same as GET, with the parameters in a JSON body. ${SYMBOL_SEARCH}`)
  )
  .add(
    HttpApiEndpoint.get("getFile", "/repositories/:id/files/*")
      .setPath(Schema.Struct({ id: RepositoryId, "*": FilePath }))
      .setUrlParams(FileParams)
      .addSuccess(FileContent)
      .addError(RepositoryNotFound)
      .addError(FileNotFound)
      .addError(LineRangeOutsideFile)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "A file at the indexed commit (the path after `files/`, URL-encoded as needed), with its language, size " +
          "and line count; `lines=a-b` for a range. At most 1,000,000 characters per answer: `truncated` says " +
          "when to ask for the rest with `lines`."
      )
  )
  .add(
    HttpApiEndpoint.get("getOutline")`/repositories/${RepositoryIdFromPath}/outline`
      .setUrlParams(PathParams)
      .addSuccess(Outline)
      .addError(RepositoryNotFound)
      .addError(FileNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "The definitions in one file as a tree: each under the definition whose range holds it (or, outside " +
          "any, under the class or type its container names)."
      )
  )
  .add(
    HttpApiEndpoint.get("findDefinitions")`/repositories/${RepositoryIdFromPath}/definitions`
      .setUrlParams(DefinitionsParams)
      .addSuccess(Definitions)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "Every definition named `name`; with `path`, those in that file first, then those in the files it " +
          "imports, then the rest." + NAME_MATCH
      )
  )
  .add(
    HttpApiEndpoint.get("findReferences")`/repositories/${RepositoryIdFromPath}/references`
      .setUrlParams(ReferencesParams)
      .addSuccess(References)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "Every use of `name` (calls, type uses, inheritance, imports; `kind` for one), by path and position." +
          NAME_MATCH
      )
  )
  .add(
    HttpApiEndpoint.get("findCallers")`/repositories/${RepositoryIdFromPath}/callers`
      .setUrlParams(CallersParams)
      .addSuccess(Callers)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "Calls of `name`, grouped by the definition they are in (with its location when a definition of that " +
          "name in the same file holds them)." + NAME_MATCH
      )
  )
  .add(
    HttpApiEndpoint.get("getDependencies")`/repositories/${RepositoryIdFromPath}/dependencies`
      .setUrlParams(DependenciesParams)
      .addSuccess(DependencyGraph)
      .addError(RepositoryNotFound)
      .addError(FileNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "The import graph around a file: what it imports (or, with direction=dependents, what imports it), " +
          "`depth` steps out, by depth, with the edges among those files and the import cycles they close. At " +
          "most 500 files (`truncated`)."
      )
  )
  .add(
    HttpApiEndpoint.post("analyzeImpact")`/repositories/${RepositoryIdFromPath}/impact`
      .setPayload(ImpactPayload)
      .addSuccess(Impact)
      .addError(RepositoryNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "The files a change to `paths` may affect, by depth: those importing a changed file, or calling by name " +
          "a function, method or class defined in one, then the same from those files, `depth` steps out. At " +
          "most 1,000 files (`truncated`)." + NAME_MATCH
      )
  )
  .add(
    HttpApiEndpoint.get("getOverview")`/repositories/${RepositoryIdFromPath}/overview`
      .setUrlParams(OverviewParams)
      .addSuccess(Overview)
      .addError(RepositoryNotFound)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "Languages, file, symbol and reference counts, and the defined names with the most references. A " +
          "repository with more than 1,000,000 files, symbols or references is counted that far " +
          "(`counts_exact: false`), so that no answer costs more than that."
      )
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Code navigation")
{}
