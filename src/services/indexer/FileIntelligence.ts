import * as Effect from "effect/Effect"
import type { ExtractorPool } from "../../symbols/ExtractorPool.js"
import type { FileIntel } from "../stores/CodeIntelStore.js"
import type { IndexedFile } from "../stores/IndexedFileStore.js"
import type { ResolveImport } from "./ImportGraph.js"
import { resolveImports } from "./ImportGraph.js"

const REPORTED_FAILURES = 20

/** What extraction found in the files of one index, its imports resolved, and its counts for the job result. */
export interface FileIntelligence {
  readonly intel: ReadonlyArray<FileIntel>
  readonly summary: {
    readonly symbols_extracted: number
    readonly relationships_found: number
    readonly extraction: {
      readonly files: number
      readonly with_parse_errors: number
      readonly failed: number
      readonly skipped_too_large: number
    }
  }
  readonly failures: ReadonlyArray<{ readonly path: string; readonly reason: string }>
}

/** Extracts every file on the pool; a file whose extraction fails is counted and reported, never an error. */
export const fileIntelligence = (
  extractor: ExtractorPool,
  files: ReadonlyArray<IndexedFile>,
  resolve: ResolveImport
): Effect.Effect<FileIntelligence> =>
  Effect.map(
    extractor.extract(files.map((f) => ({ path: f.path, language: f.language, text: f.content }))),
    (outcomes) => {
      const intel: Array<FileIntel> = []
      const failures: Array<{ path: string; reason: string }> = []
      let symbols = 0
      let relationships = 0
      let parseErrors = 0
      let skippedTooLarge = 0
      files.forEach((file, i) => {
        const outcome = outcomes[i]!
        if (outcome._tag === "Failed") failures.push({ path: file.path, reason: outcome.reason })
        if (outcome._tag === "Skipped" && outcome.reason === "too_large") skippedTooLarge++
        if (outcome._tag !== "Extracted" || file.language === null) return
        if (outcome.parseErrors) parseErrors++
        const { imports, references, symbols: defined } = outcome.extraction
        intel.push({
          path: file.path,
          language: file.language,
          symbols: defined,
          references,
          imports: resolveImports(file.path, file.language, imports, resolve)
        })
        symbols += defined.length
        relationships += references.length + imports.length
      })
      return {
        intel,
        summary: {
          symbols_extracted: symbols,
          relationships_found: relationships,
          extraction: {
            files: intel.length,
            with_parse_errors: parseErrors,
            failed: failures.length,
            skipped_too_large: skippedTooLarge
          }
        },
        failures: failures.slice(0, REPORTED_FAILURES)
      }
    }
  )
