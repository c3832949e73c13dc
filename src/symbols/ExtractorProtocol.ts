import type { ExtractionOutcome } from "./Extraction.js"

/**
 * Files for one child to extract in order. A request holds several files so that the child goes from one to
 * the next without waiting for the pool between them; it answers each file as soon as it is done.
 */
export interface ExtractorRequest {
  readonly id: number
  readonly files: ReadonlyArray<{ readonly language: string | null; readonly text: string }>
}

/** Load the parsers of these languages ahead of their files; answered with `prepared` once they have. */
export interface PrepareRequest {
  readonly id: number
  readonly prepare: ReadonlyArray<string>
}

/**
 * `loading` before the child loads the parser for file `index` (a grammar, or the TypeScript compiler, once
 * per language and child) and `loaded` after it, so that the pool does not take a child loading on a busy
 * machine for a hung parse; then the file's outcome.
 */
export type ExtractorResponse =
  | { readonly id: number; readonly prepared: true }
  | { readonly id: number; readonly index: number; readonly phase: "loading" | "loaded" }
  | {
    readonly id: number
    readonly index: number
    readonly outcome: ExtractionOutcome
    /** The child's RSS in bytes after a file larger than LARGE_FILE: the pool replaces a child grown too large. */
    readonly rss?: number
  }

/** Characters: after a file this large the child says how large it has grown (reading its RSS costs a syscall). */
export const LARGE_FILE = 256 * 1024
