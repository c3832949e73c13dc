import { Schema } from "effect"
import { RepositoryId } from "./Repository.js"
import { Text } from "./Text.js"

export const SearchParams = Schema.Struct({
  q: Text.pipe(
    Schema.minLength(3, { message: () => "q must be at least 3 characters (searches use a trigram index)" }),
    Schema.maxLength(200),
    Schema.pattern(/^[^\r\n]*$/, { message: () => "q must be a single line" })
  ),
  repository_id: Schema.optional(RepositoryId),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))),
  cursor: Schema.optional(Text.pipe(Schema.maxLength(2048)))
})

export const CodeMatch = Schema.Struct({
  repository_id: RepositoryId,
  path: Schema.String,
  /** 1-based. */
  line: Schema.Number,
  snippet: Schema.String
})

export const SearchResults = Schema.Struct({
  matches: Schema.Array(CodeMatch),
  /** Pass as `cursor` for more; null when there are no more files. */
  next_cursor: Schema.NullOr(Schema.String)
})
