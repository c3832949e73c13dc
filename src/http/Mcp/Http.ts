import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import { CurrentApiKey } from "../../domain/ApiKey.js"
import { McpTools } from "../../mcp/McpTools.js"
import { Api } from "../Api.js"
import { noteTools } from "../AuditNote.js"
import { readRawBody } from "../RawBody.js"

const MAX_BODY_BYTES = 1024 * 1024
// One POST is one request against the key's rate limit: a batch (2025-03-26 clients) stays small.
const MAX_BATCH = 10

const jsonRpcError = (status: number, code: number, message: string) =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", id: null, error: { code, message } }, { status })

const parseJson = (body: Buffer): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(body.toString("utf8")))
  } catch {
    return Option.none()
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** The tools a batch calls, for the audit row. */
const calledTools = (messages: ReadonlyArray<unknown>) =>
  messages.flatMap((message) =>
    isRecord(message) && message["method"] === "tools/call" && isRecord(message["params"]) &&
      typeof message["params"]["name"] === "string"
      ? [message["params"]["name"]]
      : []
  )

const webRequest = (request: HttpServerRequest.HttpServerRequest) =>
  new Request(new URL(request.url, "http://localhost"), { method: request.method, headers: request.headers })

const bridgeError = (status: number, code: string, message: string) =>
  HttpServerResponse.unsafeJson({ success: false, error: { code, message } }, { status })

export const McpHttpLive = HttpApiBuilder.group(Api, "mcp", (handlers) =>
  Effect.gen(function*() {
    const mcp = yield* McpTools
    const listing = { tools: mcp.list, total_count: mcp.list.length }

    // The body is read here (bounded) and handed over parsed; the SDK's transport checks Accept (406),
    // Content-Type (415), the protocol version and the messages.
    const serve = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const key = yield* CurrentApiKey
        const parsed = parseJson(yield* readRawBody(request, MAX_BODY_BYTES))
        if (Option.isNone(parsed)) return jsonRpcError(400, -32700, "Parse error: Invalid JSON")
        const messages = Array.isArray(parsed.value) ? parsed.value : [parsed.value]
        if (messages.length === 0 || messages.length > MAX_BATCH) {
          return jsonRpcError(400, -32600, `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`)
        }
        noteTools(request, calledTools(messages))
        const runtime = yield* Effect.runtime<never>()
        const answer = yield* mcp.serve(
          webRequest(request),
          parsed.value,
          key,
          (effect) => Runtime.runPromise(runtime, effect)
        )
        return answer.body === ""
          ? HttpServerResponse.empty({ status: answer.status })
          : HttpServerResponse.text(answer.body, {
            status: answer.status,
            contentType: answer.type ?? "application/json"
          })
      })

    const callTool = (name: string, request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const key = yield* CurrentApiKey
        noteTools(request, [name])
        const body = yield* readRawBody(request, MAX_BODY_BYTES)
        const args = body.length === 0 ? Option.some({}) : parseJson(body)
        if (Option.isNone(args)) return bridgeError(400, "invalid_json", "the body is not valid JSON")
        const call = mcp.call(name, args.value, key)
        if (Option.isNone(call)) return bridgeError(404, "tool_not_found", `no tool named ${name.slice(0, 100)}`)
        return yield* Effect.match(call.value, {
          onSuccess: (data) => HttpServerResponse.unsafeJson({ success: true, data }),
          onFailure: (failure) => bridgeError(failure.status, failure.code, failure.message)
        })
      })

    return handlers
      .handleRaw("mcp", ({ request }) => serve(request))
      .handle("listTools", () => Effect.succeed(listing))
      .handle("listToolsLegacy", () => Effect.succeed(listing))
      .handleRaw("callTool", ({ path, request }) => callTool(path.name, request))
  }))
