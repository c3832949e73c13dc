import * as Effect from "effect/Effect"
import { formatBytes } from "../domain/Bytes.js"
import type { JobError } from "../domain/Job.js"
import { PermanentJobError, RetryableJobError } from "../domain/Job.js"
import type { RepositoryId } from "../domain/Repository.js"
import { AppConfig } from "./AppConfig.js"
import type { GitLimitExceeded } from "./Git.js"
import { IndexedFileStore } from "./stores/IndexedFileStore.js"

/** `settings.max_file_size` when a repository sets none. */
export const DEFAULT_MAX_FILE_SIZE = 1024 * 1024

/** What an index would hold once a job's plan is written. */
export interface IndexSize {
  readonly files: number
  readonly bytes: number
}

/**
 * The size of the index a plan leads to: the files it reads or keeps whose sizes the tree gave (those
 * within `max_file_size`), plus what the current index keeps without reading it again.
 */
export const plannedSize = (sized: ReadonlyArray<{ readonly size: number }>, kept: IndexSize): IndexSize => ({
  files: kept.files + sized.length,
  bytes: sized.reduce((sum, entry) => sum + entry.size, kept.bytes)
})

/** Why an index of this size is refused, or null when it is within the limits. */
export const overLimit = (size: IndexSize, limits: { readonly maxFiles: number; readonly maxBytes: number }) =>
  size.files > limits.maxFiles
    ? `the repository has ${size.files.toLocaleString("en-US")} files to index, over the limit of ` +
      `${limits.maxFiles.toLocaleString("en-US")} per repository`
    : size.bytes > limits.maxBytes
    ? `the repository has ${formatBytes(size.bytes)} of files to index, over the limit of ` +
      `${formatBytes(limits.maxBytes)} per repository`
    : null

/** A fetch stopped by a limit, as the job's failure: short of disk is retried, the others are final. */
export const fetchLimitFailure = (error: GitLimitExceeded): JobError =>
  error.code === "insufficient_disk"
    ? new RetryableJobError({ message: error.message, code: error.code })
    : new PermanentJobError({ message: error.message, code: error.code })

/**
 * The per-repository limits the indexer applies: `REPOSITORY_MAX_FILE_SIZE` over `settings.max_file_size`
 * (repositories registered before the cap included), and `REPOSITORY_MAX_FILES` / `REPOSITORY_MAX_BYTES`
 * over the index a job's plan leads to, checked before any blob is read. A binary file within
 * `max_file_size` counts until it is read and skipped: the check errs towards the work a job would do.
 * The transfer limits are `Git.fetch`'s.
 */
export class RepositoryLimits extends Effect.Service<RepositoryLimits>()("services/RepositoryLimits", {
  effect: Effect.gen(function*() {
    const config = yield* AppConfig
    const files = yield* IndexedFileStore
    const limits = { maxFiles: config.repositoryMaxFiles, maxBytes: config.repositoryMaxBytes }

    const maxFileSize = (settings: Record<string, unknown>) =>
      Math.min(
        typeof settings.max_file_size === "number" ? settings.max_file_size : DEFAULT_MAX_FILE_SIZE,
        config.repositoryMaxFileSize
      )

    /**
     * `sized`: the files the plan reads or keeps with sizes from the tree, within `max_file_size`.
     * `keptExcept`: null when the plan covers the whole tree (a full index); else the paths the plan
     * rewrites or deletes, every other indexed file being kept as it is (an update).
     */
    const checkPlan = (
      repositoryId: RepositoryId,
      plan: {
        readonly sized: ReadonlyArray<{ readonly size: number }>
        readonly keptExcept: ReadonlyArray<string> | null
      }
    ) =>
      Effect.gen(function*() {
        const kept = plan.keptExcept === null
          ? { files: 0, bytes: 0 }
          : yield* files.totalsExcept(repositoryId, plan.keptExcept)
        const size = plannedSize(plan.sized, kept)
        const refused = overLimit(size, limits)
        if (refused !== null) {
          return yield* new PermanentJobError({ message: refused, code: "repository_too_large" })
        }
        return size
      }).pipe(Effect.withSpan("RepositoryLimits.checkPlan"))

    return { maxFileSize, checkPlan } as const
  })
}) {}
