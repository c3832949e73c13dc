import * as Effect from "effect/Effect"
import { InvalidCursor } from "../../domain/Repository.js"
import { isStorable } from "../../domain/Text.js"

type Field = "int" | "string" | "uuid"
type Value<F extends Field> = F extends "int" ? number : string
type Values<Fields extends ReadonlyArray<Field>> = { readonly [K in keyof Fields]: Value<Fields[K]> }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_STRING = 4096

const valid = (field: Field, value: unknown) =>
  field === "int"
    ? typeof value === "number" && Number.isInteger(value) && value >= -1 && value <= 2 ** 31 - 1
    : typeof value === "string" && value.length <= MAX_STRING && isStorable(value) &&
      (field === "string" || UUID.test(value))

/**
 * An opaque page cursor: where a page ended, tagged with what it pages so that one route's cursor is
 * refused by another. Every value is checked on the way back in: it reaches SQL.
 */
export const makeCursor = <const Fields extends ReadonlyArray<Field>>(tag: string, fields: Fields) => ({
  encode: (values: Values<Fields>) => Buffer.from(JSON.stringify([tag, ...values])).toString("base64url"),
  decode: (cursor: string) =>
    Effect.try({
      try: () => {
        const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
        if (
          !Array.isArray(parsed) || parsed.length !== fields.length + 1 || parsed[0] !== tag ||
          !fields.every((field, i) => valid(field, parsed[i + 1]))
        ) throw new Error("bad cursor")
        return parsed.slice(1) as unknown as Values<Fields>
      },
      catch: () => new InvalidCursor({ message: "cursor is not one this route returned" })
    })
})

/** The cursor of an optional `cursor` parameter: null for the first page. */
export const decodeOptional = <A>(
  cursor: { readonly decode: (value: string) => Effect.Effect<A, InvalidCursor> },
  value: string | undefined
): Effect.Effect<A | null, InvalidCursor> => value === undefined ? Effect.succeed(null) : cursor.decode(value)
