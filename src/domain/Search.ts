import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { RepositoryId } from "./Repository.js"
import { Text } from "./Text.js"

export const SearchParams = Schema.Struct({
  q: Text.pipe(
    Schema.minLength(1, { message: () => "q must not be empty" }),
    Schema.maxLength(1000),
    Schema.pattern(/^[^\r\n]*$/, { message: () => "q must be a single line" })
  ).annotations({
    description: "The query (README, Code search): one literal by default, \"phrases\", /RE2 regexes/, and the " +
      "filters path:, -path:, lang:, -lang:, repo:, case:yes, type:file, sym: (files defining that name; " +
      "their definition lines are matches)."
  }),
  repository_id: Schema.optional(RepositoryId),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))),
  cursor: Schema.optional(Text.pipe(Schema.maxLength(2048))),
  context: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, 5)).annotations({
      description: "Lines of context before and after each match (0–5)."
    })
  )
})

export const CodeMatch = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  /** The Linguist language of the file, when known. */
  language: Schema.NullOr(Schema.String),
  /** 1-based. */
  line: Schema.Number,
  /** 1-based UTF-16 column of the first match in the line. */
  column: Schema.Number,
  snippet: Schema.String,
  /** 0-based UTF-16 [start, end) offsets into `snippet`. */
  ranges: Schema.Array(Schema.Tuple(Schema.Number, Schema.Number)),
  before: Schema.optional(Schema.Array(Schema.String)),
  after: Schema.optional(Schema.Array(Schema.String))
})

export const FileMatch = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  language: Schema.NullOr(Schema.String),
  /** Matching lines in the file (0 when the query has no pattern). */
  match_count: Schema.Number
})

export const SearchResults = Schema.Struct({
  matches: Schema.Array(CodeMatch),
  /** With `type:file`, or a query without a pattern: one entry per file instead of matches. */
  files: Schema.optional(Schema.Array(FileMatch)),
  /** Pass as `cursor` for more; null when there are no more results. */
  next_cursor: Schema.NullOr(Schema.String)
})

export class InvalidQuery extends Schema.TaggedError<InvalidQuery>()("InvalidQuery", {
  message: Schema.String,
  /** 0-based position in `q`. */
  position: Schema.Number
}, HttpApiSchema.annotations({ status: 400 })) {}

export class TooManySearches extends Schema.TaggedError<TooManySearches>()("TooManySearches", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 429 })) {}

export class SearchUnavailable extends Schema.TaggedError<SearchUnavailable>()("SearchUnavailable", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 503 })) {}
