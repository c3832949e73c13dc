import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { InvalidCursor, RepositoryNotFound } from "../../domain/Repository.js"
import { InvalidQuery, SearchParams, SearchResults, SearchUnavailable, TooManySearches } from "../../domain/Search.js"
import { Authentication } from "../Auth/Api.js"

export class SearchApi extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.get("searchCode", "/search/code")
      .setUrlParams(SearchParams)
      .addSuccess(SearchResults)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .addError(InvalidQuery)
      .addError(TooManySearches)
      .addError(SearchUnavailable)
      .annotate(
        OpenApi.Description,
        "Code search over the caller's repositories, or one of them with `repository_id`. `q` is one " +
          "case-insensitive literal (every character literal) unless it holds \"phrases\", /RE2 regexes/ or the " +
          "filters path:, -path:, lang:, -lang:, repo:, case:yes, type:file (README, Code search). sym:name " +
          "finds the files defining that name (the symbol index, case-insensitive unless case:yes) and reports " +
          "its definition lines, beside the lines matching any pattern, which such a file must also hold. At most 5 " +
          "matches per file; `limit` matches (or files, with type:file) per page; `next_cursor` resumes exactly " +
          "where the page ended; `context` adds lines around each match."
      )
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Search")
{}
