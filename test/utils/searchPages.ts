import { expect } from "@effect/vitest"
import { Effect } from "effect"
import { get, withKey } from "./keys.js"

export interface SearchResults {
  readonly matches: ReadonlyArray<{ path: string; line: number }>
  readonly files?: ReadonlyArray<{ path: string; match_count: number }>
  readonly next_cursor: string | null
}

/** One page of `GET /api/v1/search/code`, which must be a 200. */
export const search = (key: string, params: Record<string, string>) =>
  Effect.flatMap(get(`/api/v1/search/code?${new URLSearchParams(params)}`, withKey(key)), (r) => {
    expect(r.status).toBe(200)
    return Effect.map(r.json, (body) => body as SearchResults)
  })

/**
 * Every page of `q` through its cursors: the files of type:file pages (as `fileLabel` writes them, by
 * default the path), or the matches' paths and lines.
 */
export const allPages = (
  key: string,
  q: string,
  limit: number,
  fileLabel: (file: { path: string; match_count: number }) => string = (file) => file.path
) =>
  Effect.gen(function*() {
    const out: Array<string> = []
    let cursor: string | null = null
    do {
      const params: Record<string, string> = { q, limit: String(limit) }
      if (cursor !== null) params.cursor = cursor
      const page: SearchResults = yield* search(key, params)
      for (const f of page.files ?? []) out.push(fileLabel(f))
      for (const m of page.matches) out.push(`${m.path}:${m.line}`)
      cursor = page.next_cursor
    } while (cursor !== null)
    return out
  })
