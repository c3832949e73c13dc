import * as Effect from "effect/Effect"
import type { ExtractorPool } from "../../symbols/ExtractorPool.js"
import type { FileIntel } from "../stores/CodeIntelStore.js"
import type { IndexedFile } from "../stores/IndexedFileStore.js"
import type { ResolveImport } from "./ImportGraph.js"
import { resolveImports } from "./ImportGraph.js"

const REPORTED_FAILURES = 20

/** Extraction's counts for the job result, and the first failures. */
export interface IntelligenceSummary {
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

/** What extraction found in some files of one index, their imports resolved, and its counts. */
export interface FileIntelligence extends IntelligenceSummary {
  readonly intel: ReadonlyArray<FileIntel>
}

export const noIntelligence: IntelligenceSummary = {
  summary: {
    symbols_extracted: 0,
    relationships_found: 0,
    extraction: { files: 0, with_parse_errors: 0, failed: 0, skipped_too_large: 0 }
  },
  failures: []
}

/** The counts of two parts of one index added up; the failures reported stay capped. */
export const addIntelligence = (a: IntelligenceSummary, b: IntelligenceSummary): IntelligenceSummary => ({
  summary: {
    symbols_extracted: a.summary.symbols_extracted + b.summary.symbols_extracted,
    relationships_found: a.summary.relationships_found + b.summary.relationships_found,
    extraction: {
      files: a.summary.extraction.files + b.summary.extraction.files,
      with_parse_errors: a.summary.extraction.with_parse_errors + b.summary.extraction.with_parse_errors,
      failed: a.summary.extraction.failed + b.summary.extraction.failed,
      skipped_too_large: a.summary.extraction.skipped_too_large + b.summary.extraction.skipped_too_large
    }
  },
  failures: [...a.failures, ...b.failures].slice(0, REPORTED_FAILURES)
})

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
