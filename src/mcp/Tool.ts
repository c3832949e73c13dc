import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { z } from "zod"
import type { ApiKeyScope, CurrentApiKey } from "../domain/ApiKey.js"

export type ToolCategory = "search" | "navigation" | "repositories" | "jobs"

/** A tool's failure as a client sees it: the error shape's `_tag` and `message`, and the bridge's HTTP status. */
export class ToolFailure extends Data.TaggedError("ToolFailure")<{
  readonly tag: string
  readonly message: string
  readonly status: number
}> {
  /** `RepositoryNotFound` → `repository_not_found`: the original bridge's error codes. */
  get code() {
    return this.tag.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()
  }
}

const statusOf = (tag: string) =>
  tag.endsWith("NotFound")
    ? 404
    : tag === "Forbidden"
    ? 403
    : tag.endsWith("Conflict") || tag === "RepositoryLimitExceeded"
    ? 409
    : 400

/** Any typed service error (`{ _tag, message }`) as a tool failure. */
export const toToolFailure = (error: { readonly _tag: string; readonly message: string }) =>
  new ToolFailure({ tag: error._tag, message: error.message, status: statusOf(error._tag) })

/** A tool's typed errors, whichever kind, as one `ToolFailure`. */
export const asToolFailure = (error: ToolFailure | { readonly _tag: string; readonly message: string }) =>
  error instanceof ToolFailure ? error : toToolFailure(error)

export const invalidArguments = (message: string) => new ToolFailure({ tag: "InvalidArguments", message, status: 400 })

const MAX_MESSAGE = 200

/** Arguments checked again with the domain schema the HTTP route uses, so both refuse the same values. */
export const decodeWith = <A, I>(schema: Schema.Schema<A, I>) => (input: unknown) =>
  Effect.mapError(
    Schema.decodeUnknown(schema)(input),
    (error) => invalidArguments(ParseResult.TreeFormatter.formatErrorSync(error).slice(0, MAX_MESSAGE))
  )

/** A string argument: no NUL characters and no lone surrogates, whatever else the tool asks of it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

export const text = () =>
  z.string().refine((value) => !value.includes("\u0000") && !LONE_SURROGATE.test(value), {
    message: "must not contain NUL characters or lone surrogates"
  })

export type CallingKey = typeof CurrentApiKey.Service

/**
 * One tool as MCP clients and the REST bridge see it. `run` gets arguments already checked against
 * `input` and answers with an object that matches `output` (the SDK checks it again).
 */
export interface Tool {
  readonly name: string
  readonly title: string
  /** Written for an agent: what it returns, how large, how to page. */
  readonly description: string
  readonly category: ToolCategory
  /** The key scope the tool needs; checked by `McpTools` with the auth middleware's rule. */
  readonly scope: ApiKeyScope
  readonly input: z.ZodRawShape
  readonly output: z.ZodRawShape
  readonly annotations: ToolAnnotations
  readonly run: (args: Record<string, unknown>, key: CallingKey) => Effect.Effect<Record<string, unknown>, ToolFailure>
}

/** Types `run`'s arguments from the input shape. */
export const defineTool = <I extends z.ZodRawShape>(
  tool: Omit<Tool, "input" | "run"> & {
    readonly input: I
    readonly run: (
      args: z.output<z.ZodObject<I>>,
      key: CallingKey
    ) => Effect.Effect<Record<string, unknown>, ToolFailure>
  }
): Tool => ({ ...tool, run: (args, key) => tool.run(args as z.output<z.ZodObject<I>>, key) })
