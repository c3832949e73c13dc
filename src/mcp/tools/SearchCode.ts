import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { z } from "zod"
import { SearchParams } from "../../domain/Search.js"
import { CodeSearch } from "../../services/CodeSearch.js"
import { asToolFailure, decodeWith, defineTool, text } from "../Tool.js"

// The adapter over today's CodeSearch: the query language of SPEC 9 replaces it behind this one file.
const decodeParams = decodeWith(Schema.Struct({ ...SearchParams.fields, limit: Schema.optional(Schema.Int) }))

export const SearchCodeTool = Effect.gen(function*() {
  const search = yield* CodeSearch
  return defineTool({
    name: "search_code",
    title: "Search code",
    description: "Search the text of every indexed file in your repositories (or one, with repository_id) for a " +
      "literal, case-insensitive substring of 3 to 200 characters on one line. Returns matches " +
      "{repository_id, path, line (1-based), snippet (the line, at most 200 characters)}, ordered by " +
      "repository then path, at most 5 per file and `limit` (1-100, default 20) per page. When next_cursor " +
      "is not null, call again with the same query and cursor=next_cursor for the next page.",
    category: "search",
    scope: "read",
    input: {
      query: text().min(3).max(200).describe("The literal text to find (case-insensitive, one line)"),
      repository_id: z.uuid().optional().describe("Only this repository (from list_repositories)"),
      limit: z.number().int().min(1).max(100).optional().describe("Matches per page, default 20"),
      cursor: text().max(2048).optional().describe("next_cursor from the previous page")
    },
    output: {
      matches: z.array(z.object({
        repository_id: z.string(),
        path: z.string(),
        line: z.number(),
        snippet: z.string()
      })),
      next_cursor: z.string().nullable()
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
    run: (args, key) =>
      Effect.gen(function*() {
        const params = yield* decodeParams({
          q: args.query,
          repository_id: args.repository_id,
          limit: args.limit,
          cursor: args.cursor
        })
        return yield* search.search(key.userId, {
          q: params.q,
          repositoryId: params.repository_id,
          limit: params.limit,
          cursor: params.cursor
        })
      }).pipe(Effect.mapError(asToolFailure))
  })
})
