import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Option } from "effect"
import { z } from "zod"
import { scopeRefusal } from "../domain/ApiKey.js"
import { AppConfig } from "../services/AppConfig.js"
import type { CallingKey, Tool, ToolFailure } from "./Tool.js"
import { invalidArguments, toToolFailure } from "./Tool.js"
import { JobTools } from "./tools/Jobs.js"
import { RepositoryTools } from "./tools/Repositories.js"
import { SearchCodeTool } from "./tools/SearchCode.js"

const INSTRUCTIONS = "KotaDB indexes the git repositories of your account and searches their code. " +
  "Start with list_repositories (or register_repository, then get_job until the index is done), then " +
  "search_code. Paged tools return next_cursor: pass it back as cursor for the next page."

const failureResult = (failure: { readonly tag: string; readonly message: string }): CallToolResult => ({
  isError: true,
  content: [{ type: "text", text: JSON.stringify({ _tag: failure.tag, message: failure.message }) }]
})

/**
 * The tools AI agents call, over MCP (`POST /mcp`) and the original REST bridge (`/mcp/tools`): thin
 * adapters over the services the HTTP routes use (see `tools/`). A tool's scope is checked here with
 * the same rule the auth middleware applies to routes.
 */
export class McpTools extends Effect.Service<McpTools>()("mcp/McpTools", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const tools: ReadonlyArray<Tool> = [yield* SearchCodeTool, ...(yield* RepositoryTools), ...(yield* JobTools)]
    const byName = new Map(tools.map((tool) => [tool.name, { tool, input: z.object(tool.input) }] as const))

    /** Runs a tool on checked arguments. */
    const execute = (tool: Tool, args: Record<string, unknown>, key: CallingKey) => {
      const refusal = scopeRefusal(key.scopes, tool.scope)
      return (refusal === undefined ? tool.run(args, key) : Effect.fail(toToolFailure(refusal))).pipe(
        Effect.withSpan("McpTools.call", { attributes: { "mcp.tool": tool.name } })
      )
    }

    /** The REST bridge: the tool by name (none when unknown), its arguments checked against its input schema. */
    const call = (name: string, args: unknown, key: CallingKey) =>
      Option.map(
        Option.fromNullable(byName.get(name)),
        ({ input, tool }) =>
          Effect.suspend((): Effect.Effect<Record<string, unknown>, ToolFailure> => {
            const parsed = input.safeParse(args)
            return parsed.success
              ? execute(tool, parsed.data, key)
              : Effect.fail(invalidArguments(z.prettifyError(parsed.error).slice(0, 300)))
          })
      )

    /** The MCP result of a call: structuredContent, or `isError` for a failure or a defect (logged). */
    const result = (tool: Tool, args: Record<string, unknown>, key: CallingKey) =>
      execute(tool, args, key).pipe(
        Effect.map((data): CallToolResult => ({
          structuredContent: data,
          content: [{ type: "text", text: JSON.stringify(data) }]
        })),
        Effect.catchAllCause((cause) =>
          Option.match(Cause.failureOption(cause), {
            onSome: (failure) => Effect.succeed(failureResult(failure)),
            onNone: () =>
              Effect.logError("MCP tool failed", cause).pipe(
                Effect.as(failureResult({ tag: "InternalServerError", message: "internal server error" }))
              )
          })
        )
      )

    /** A server for one stateless request; each tool call is run by `run` (on the request's runtime). */
    const server = (key: CallingKey, run: (effect: Effect.Effect<CallToolResult>) => Promise<CallToolResult>) => {
      const mcp = new McpServer({ name: "kotadb", title: "KotaDB", version: config.version }, {
        capabilities: { tools: {} },
        instructions: INSTRUCTIONS
      })
      for (const tool of tools) {
        mcp.registerTool(tool.name, {
          title: tool.title,
          description: tool.description,
          inputSchema: tool.input,
          outputSchema: tool.output,
          annotations: tool.annotations
        }, (args: Record<string, unknown>) => run(result(tool, args, key)))
      }
      return mcp
    }

    return {
      tools,
      call,
      server,
      /** The original bridge's listing. */
      list: tools.map((tool) => ({ name: tool.name, description: tool.description, category: tool.category }))
    } as const
  })
}) {}
