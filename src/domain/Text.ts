import * as Schema from "effect/Schema"

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Whether a string can be stored as Postgres text as it is: no NUL, and no unpaired UTF-16 surrogate. */
export const isStorable = (text: string): boolean => !text.includes("\u0000") && !LONE_SURROGATE.test(text)

/**
 * A string from a client that Postgres can store unchanged: Postgres refuses NUL in text, and a lone
 * surrogate would be written as U+FFFD. Every string a tenant or an admin sends goes through this.
 */
export const Text = Schema.String.pipe(
  Schema.filter(isStorable, { message: () => "must not contain NUL characters or unpaired surrogates" })
)
