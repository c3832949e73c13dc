import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Layer, Option } from "effect"
import { RetryableJobError } from "../../src/domain/Job.js"
import { FileStream, LOOKAHEAD } from "../../src/services/indexer/FileStream.js"
import type { TreeEntry } from "../../src/services/indexer/GitObjects.js"
import type { Workspace } from "../../src/services/indexer/GitRemote.js"
import { GitRemote } from "../../src/services/indexer/GitRemote.js"
import { CodeIntelStore } from "../../src/services/stores/CodeIntelStore.js"
import type { FileIntel } from "../../src/services/stores/CodeIntelStore.js"
import type { IndexedFile } from "../../src/services/stores/IndexedFileStore.js"
import { IndexedFileStore } from "../../src/services/stores/IndexedFileStore.js"
import type { ExtractionInput } from "../../src/symbols/Extraction.js"
import { ExtractorPool } from "../../src/symbols/ExtractorPool.js"

const CHUNKS = 6
const chunkOf = (
  n: number
): Array<TreeEntry> => [{ path: `src/c${n}.ts`, blobSha: String(n).padStart(40, "0"), size: 20 }]

/**
 * FileStream over stand-ins that record the pipeline: git hands out one file per chunk; the first chunk's
 * parse waits until the reader has read the second chunk (or gives up after a while, which the test reports
 * instead of hanging); every chunk counts as held from its read until its symbols are written. With `failAt`,
 * reading that chunk fails once the first chunk's write has started, and that write hangs.
 */
const pipeline = (stored: boolean, failAt?: number) =>
  Effect.gen(function*() {
    const secondRead = yield* Deferred.make<void>()
    const writing = yield* Deferred.make<void>()
    const log = {
      read: 0,
      held: 0,
      maxHeld: 0,
      extracting: 0,
      maxExtracting: 0,
      firstParseSawSecondRead: false,
      interruptedWrites: 0,
      upserts: [] as Array<{ paths: Array<string>; stored: boolean }>,
      replaced: [] as Array<{ paths: ReadonlyArray<string>; symbols: number }>
    }
    const remote = {
      readBlobs: <E, R>(
        _ws: Workspace,
        _entries: ReadonlyArray<TreeEntry>,
        _bounds: unknown,
        use: (chunk: ReadonlyArray<TreeEntry>, contents: ReadonlyArray<Buffer>) => Effect.Effect<void, E, R>
      ) =>
        Effect.forEach(Array.from({ length: CHUNKS }, (_, n) => n), (n) =>
          Effect.gen(function*() {
            if (n === failAt) yield* Deferred.await(writing)
            if (n === failAt) return yield* new RetryableJobError({ message: "git died" })
            log.read++
            log.held++
            log.maxHeld = Math.max(log.maxHeld, log.held)
            if (n === 1) yield* Deferred.succeed(secondRead, undefined)
            const entries = chunkOf(n)
            yield* use(entries, entries.map((e) => Buffer.from(`export function f${e.path.length}() {}\n`)))
          }), { discard: true })
    } as unknown as GitRemote
    const extractor = {
      enabled: true,
      supports: () => true,
      extract: (inputs: ReadonlyArray<ExtractionInput>) =>
        Effect.gen(function*() {
          log.extracting++
          log.maxExtracting = Math.max(log.maxExtracting, log.extracting)
          if (inputs[0]!.path === "src/c0.ts") {
            const saw = yield* Deferred.await(secondRead).pipe(Effect.timeout("5 seconds"), Effect.option)
            log.firstParseSawSecondRead = Option.isSome(saw)
          }
          log.extracting--
          return inputs.map(() => ({
            _tag: "Extracted" as const,
            parseErrors: false,
            extraction: {
              symbols: [{
                name: "f",
                kind: "function",
                line: 1,
                column: 0,
                endLine: 1,
                endColumn: 10,
                container: null,
                signature: "export function f() {}"
              }],
              references: [],
              imports: []
            }
          }))
        })
    } as unknown as ExtractorPool
    const files = {
      holdsAny: () => Effect.succeed(stored),
      upsert: (_id: string, written: ReadonlyArray<IndexedFile>, mayExist: boolean) =>
        failAt === undefined
          ? Effect.sync(() => log.upserts.push({ paths: written.map((f) => f.path), stored: mayExist }))
          : Deferred.succeed(writing, undefined).pipe(
            Effect.zipRight(Effect.never),
            Effect.onInterrupt(() => Effect.sync(() => log.interruptedWrites++))
          )
    } as unknown as IndexedFileStore
    const intel = {
      replace: (_id: string, paths: ReadonlyArray<string>, found: ReadonlyArray<FileIntel>) =>
        Effect.sync(() => {
          log.held--
          log.replaced.push({ paths, symbols: found.reduce((sum, f) => sum + f.symbols.length, 0) })
        })
    } as unknown as CodeIntelStore
    const stream = yield* FileStream.pipe(
      Effect.provide(FileStream.Default.pipe(Layer.provide(Layer.mergeAll(
        Layer.succeed(GitRemote, remote),
        Layer.succeed(ExtractorPool, extractor),
        Layer.succeed(IndexedFileStore, files),
        Layer.succeed(CodeIntelStore, intel)
      ))))
    )
    const streamed = yield* stream.write({
      repositoryId: "r",
      ws: {} as Workspace,
      entries: Array.from({ length: CHUNKS }, (_, n) => chunkOf(n)).flat(),
      extractorVersion: 1,
      resolve: () => []
    }).pipe(Effect.either)
    return { log, streamed }
  })

describe("FileStream", () => {
  it.live("the next chunk is read while this one is parsed; one parse at a time, at most LOOKAHEAD + 1 chunks held", () =>
    Effect.gen(function*() {
      const { log, streamed } = yield* pipeline(true)
      expect(log.firstParseSawSecondRead).toBe(true)
      expect(log.read).toBe(CHUNKS)
      expect(log.maxExtracting).toBe(1)
      expect(log.maxHeld).toBeLessThanOrEqual(LOOKAHEAD + 1)
      expect(log.maxHeld).toBeGreaterThan(1)
      // Written in order, each chunk's stored rows replaced.
      expect(log.replaced).toEqual(Array.from({ length: CHUNKS }, (_, n) => ({ paths: [`src/c${n}.ts`], symbols: 1 })))
      expect(log.upserts.every((u) => u.stored)).toBe(true)
      expect(Either.getOrThrow(streamed)).toMatchObject({ files: CHUNKS, summary: { symbols_extracted: CHUNKS } })
    }))

  it.live("a repository's first index deletes nothing: no stored file, so no stored path", () =>
    Effect.gen(function*() {
      const { log } = yield* pipeline(false)
      expect(log.upserts.map((u) => u.stored)).toEqual(Array.from({ length: CHUNKS }, () => false))
      expect(log.replaced.map((r) => r.paths)).toEqual(Array.from({ length: CHUNKS }, () => []))
      expect(log.replaced.map((r) => r.symbols)).toEqual(Array.from({ length: CHUNKS }, () => 1))
    }))

  it.live("a failed read ends the writes still running before it returns: none outlives the transaction", () =>
    Effect.gen(function*() {
      const { log, streamed } = yield* pipeline(true, 1)
      expect(Either.getLeft(streamed).pipe(Option.map((e) => e._tag))).toEqual(Option.some("RetryableJobError"))
      expect(log.interruptedWrites).toBe(1)
    }))
})
