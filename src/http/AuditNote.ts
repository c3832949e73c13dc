import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"

const MAX_NOTE_LENGTH = 200
// Keyed by the underlying Node request, which stays the same object however the router rewrites the
// Effect request around it; an entry goes away with its request.
const tools = new WeakMap<object, string>()

const keyOf = (request: HttpServerRequest.HttpServerRequest) => request.source as object

/** Names the MCP tool(s) a request called, for its audit row. */
export const noteTools = (request: HttpServerRequest.HttpServerRequest, names: ReadonlyArray<string>) => {
  if (names.length > 0) tools.set(keyOf(request), names.join(",").slice(0, MAX_NOTE_LENGTH))
}

export const notedTools = (request: HttpServerRequest.HttpServerRequest) => tools.get(keyOf(request)) ?? null
