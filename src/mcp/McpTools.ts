import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { z } from "zod"
import { scopeRefusal } from "../domain/ApiKey.js"
import { AppConfig } from "../services/AppConfig.js"
import type { CallingKey, Tool, ToolFailure } from "./Tool.js"
import { invalidArguments, toToolFailure } from "./Tool.js"
import { JobTools } from "./tools/Jobs.js"
import { NavigationTools } from "./tools/Navigation.js"
import { RepositoryTools } from "./tools/Repositories.js"
import { SearchCodeTool } from "./tools/SearchCode.js"

const INSTRUCTIONS = "KotaDB indexes the git repositories of your account and searches their code. " +
  "Start with list_repositories (or register_repository, then get_job until the index is done), then " +
  "search_code, or search_symbols and the navigation tools (find_definitions, find_references, find_callers, " +
  "get_outline, get_file, dependencies, analyze_impact), which match names, not types. Paged tools return " +
  "next_cursor: pass it back as cursor for the next page."

const MAX_IDLE_SERVERS = 64

export type RunTool = (effect: Effect.Effect<CallToolResult>) => Promise<CallToolResult>

// The SDK (with its JSON-schema validator) is loaded by the first `POST /mcp`, not by every process at boot.
const loadSdk = Effect.promise(() =>
  Promise.all([
    import("@modelcontextprotocol/sdk/server/mcp.js"),
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")
  ]).then(([server, transport]) => ({
    McpServer: server.McpServer,
    Transport: transport.WebStandardStreamableHTTPServerTransport
  }))
)
type Sdk = Effect.Effect.Success<typeof loadSdk>

const failureResult = (failure: { readonly tag: string; readonly message: string }): CallToolResult => ({
  isError: true,
  content: [{ type: "text", text: JSON.stringify({ _tag: failure.tag, message: failure.message }) }]
})

/**
 * The tools AI agents call, over MCP (`POST /mcp`) and the original REST bridge (`/mcp/tools`): thin
 * adapters over the services the HTTP routes use (see `tools/`). A tool's scope is checked here with
 * the same rule the auth middleware applies to routes. Serves `POST /mcp` on pooled SDK servers.
 */
export class McpTools extends Effect.Service<McpTools>()("mcp/McpTools", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const tools: ReadonlyArray<Tool> = [
      yield* SearchCodeTool,
      ...(yield* NavigationTools),
      ...(yield* RepositoryTools),
      ...(yield* JobTools)
    ]
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

    // Registering the tools costs several times what serving a request does, so servers are pooled: each
    // serves one request at a time (a transport per request, closed after it), for the key in `current`.
    interface Pooled {
      readonly mcp: McpServer
      current: { readonly key: CallingKey; readonly run: RunTool } | undefined
    }
    const idle: Array<Pooled> = []
    const sdk = yield* Effect.cached(loadSdk)
    const makeServer = ({ McpServer }: Sdk): Pooled => {
      const pooled: Pooled = {
        mcp: new McpServer({ name: "kotadb", title: "KotaDB", version: config.version }, {
          capabilities: { tools: {} },
          instructions: INSTRUCTIONS
        }),
        current: undefined
      }
      for (const tool of tools) {
        pooled.mcp.registerTool(tool.name, {
          title: tool.title,
          description: tool.description,
          inputSchema: tool.input,
          outputSchema: tool.output,
          annotations: tool.annotations
        }, (args: Record<string, unknown>) => {
          const current = pooled.current
          return current === undefined
            ? Promise.resolve(failureResult({ tag: "InternalServerError", message: "internal server error" }))
            : current.run(result(tool, args, current.key))
        })
      }
      return pooled
    }

    /**
     * One stateless Streamable HTTP request (JSON responses) with its body already parsed; tool calls run
     * through `run` (on the request's runtime, so their spans and logs are the request's). Uninterruptible:
     * a server goes back to the pool only once its request is done.
     */
    const serve = (request: Request, parsedBody: unknown, key: CallingKey, run: RunTool) =>
      Effect.acquireUseRelease(
        Effect.map(sdk, (loaded) => {
          const pooled = idle.pop() ?? makeServer(loaded)
          pooled.current = { key, run }
          return { loaded, pooled }
        }),
        ({ loaded, pooled }) =>
          Effect.promise(async () => {
            // No sessionIdGenerator: stateless.
            const transport = new loaded.Transport({ enableJsonResponse: true })
            await pooled.mcp.connect(transport)
            const response = await transport.handleRequest(request, { parsedBody })
            return { status: response.status, type: response.headers.get("content-type"), body: await response.text() }
          }),
        ({ pooled }, exit) =>
          Effect.promise(() => pooled.mcp.close()).pipe(
            Effect.tap(() => {
              pooled.current = undefined
              if (Exit.isSuccess(exit) && idle.length < MAX_IDLE_SERVERS) idle.push(pooled)
            })
          )
      ).pipe(Effect.uninterruptible, Effect.withSpan("McpTools.serve"))

    return {
      tools,
      call,
      serve,
      /** The original bridge's listing. */
      list: tools.map((tool) => ({ name: tool.name, description: tool.description, category: tool.category }))
    } as const
  })
}) {}
