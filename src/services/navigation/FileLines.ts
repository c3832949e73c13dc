import * as Effect from "effect/Effect"
import { NavigationStore } from "../stores/NavigationStore.js"
import type { NavigationReader } from "../stores/NavigationStore.js"

/** The most text one file answer carries; the rest is a later request with `lines`. */
export const MAX_CONTENT_CHARS = 1_000_000
const CHUNKS_PER_READ = 32

/** The first `max` UTF-16 units of `text`, never half of a surrogate pair. */
const cut = (text: string, max: number) => text.slice(0, /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max)

/**
 * Lines `from` to `to` of an indexed file, exactly as stored (line breaks included), read from its chunks in
 * order; stops at whole lines once MAX_CONTENT_CHARS would be passed (`truncated`), or inside the first line
 * when that line alone is longer.
 */
export const readLines = (reader: NavigationReader, repositoryId: string, path: string, from: number, to: number) =>
  Effect.gen(function*() {
    const parts: Array<string> = []
    let size = 0
    let endLine = from - 1
    let truncated = false
    if (to < from) return { content: "", endLine, truncated }
    let chunkNo = yield* NavigationStore.chunkOfLine(reader, repositoryId, path, from)
    reading: for (;;) {
      const chunks = yield* NavigationStore.chunks(reader, repositoryId, path, chunkNo, CHUNKS_PER_READ)
      for (const chunk of chunks) {
        const text = chunk.content
        let line = chunk.start_line
        let at = 0
        while (at < text.length) {
          if (line > to) break reading
          const nl = text.indexOf("\n", at)
          const end = nl === -1 ? text.length : nl + 1
          if (line >= from) {
            const piece = text.slice(at, end)
            if (size + piece.length > MAX_CONTENT_CHARS) {
              truncated = true
              if (parts.length === 0) {
                parts.push(cut(piece, MAX_CONTENT_CHARS))
                endLine = line
              }
              break reading
            }
            parts.push(piece)
            size += piece.length
            endLine = line
          }
          line++
          at = end
        }
      }
      if (chunks.length < CHUNKS_PER_READ) break
      chunkNo = chunks[chunks.length - 1]!.chunk_no + 1
    }
    return { content: parts.join(""), endLine, truncated }
  })
