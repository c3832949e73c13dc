import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { InvalidRequestBody } from "../../domain/HttpErrors.js"
import { PayloadTooLarge } from "../../domain/Webhook.js"
import { Authentication, OriginRestricted } from "../Auth/Api.js"

const JsonRpc = Schema.Unknown.annotations({
  jsonSchema: { description: "a JSON-RPC 2.0 response (or batch)", anyOf: [{ type: "object" }, { type: "array" }] }
})

export const ToolList = Schema.Struct({
  tools: Schema.Array(Schema.Struct({ name: Schema.String, description: Schema.String, category: Schema.String })),
  total_count: Schema.Int
})

export const ToolCallResponse = Schema.Struct({
  success: Schema.Boolean,
  data: Schema.optional(Schema.Unknown.annotations({ jsonSchema: { type: "object" } })),
  error: Schema.optional(Schema.Struct({ code: Schema.String, message: Schema.String }))
})

const ToolName = HttpApiSchema.param("name", Schema.String.pipe(Schema.maxLength(100)))

const listTools = <Name extends string>(endpoint: HttpApiEndpoint.HttpApiEndpoint<Name, "GET" | "POST">) =>
  endpoint.addSuccess(ToolList).annotate(OpenApi.Summary, "The tools, as the original MCP bridge listed them")

export class McpApi extends HttpApiGroup.make("mcp")
  .add(
    HttpApiEndpoint.post("mcp", "/mcp")
      .addSuccess(JsonRpc)
      .addError(PayloadTooLarge)
      .addError(InvalidRequestBody)
      .annotate(OpenApi.Summary, "Model Context Protocol (Streamable HTTP, stateless, JSON responses)")
      .annotate(
        OpenApi.Description,
        "Protocol 2025-11-25 (2025-06-18 and 2025-03-26 clients are served too). Send " +
          "`Accept: application/json, text/event-stream` and `Content-Type: application/json`. Bad JSON-RPC " +
          "is a JSON-RPC error; a failing tool is a result with `isError: true`. `GET /mcp` answers 405."
      )
  )
  .add(listTools(HttpApiEndpoint.get("listTools", "/mcp/tools")))
  .add(listTools(HttpApiEndpoint.post("listToolsLegacy", "/mcp/tools")))
  .add(
    HttpApiEndpoint.post("callTool")`/mcp/tools/${ToolName}`
      .addSuccess(ToolCallResponse)
      .addError(PayloadTooLarge)
      .addError(InvalidRequestBody)
      .annotate(OpenApi.Summary, "Call one tool with its arguments as the JSON body (the original bridge)")
      .annotate(
        OpenApi.Description,
        "200 `{success: true, data}`; a failing tool answers `{success: false, error: {code, message}}` with " +
          "400, 403 or 404 (`tool_not_found` for an unknown tool)."
      )
  )
  .middleware(Authentication)
  .annotate(OriginRestricted, true)
  .annotate(OpenApi.Title, "MCP")
{}
