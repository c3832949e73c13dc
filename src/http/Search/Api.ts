import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { InvalidCursor, RepositoryNotFound } from "../../domain/Repository.js"
import { SearchParams, SearchResults } from "../../domain/Search.js"
import { Authentication } from "../Auth/Api.js"

export class SearchApi extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.get("searchCode", "/search/code")
      .setUrlParams(SearchParams)
      .addSuccess(SearchResults)
      .addError(RepositoryNotFound)
      .addError(InvalidCursor)
      .annotate(
        OpenApi.Description,
        "Case-insensitive substring search (every character of `q` is literal) over the caller's " +
          "repositories, or one of them with `repository_id`. At most 5 matches per file; `limit` matches per page."
      )
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Search")
{}
