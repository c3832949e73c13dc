import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Schema from "effect/Schema"
import { JobId } from "./Job.js"
import { Text } from "./Text.js"

export const RepositoryId = Schema.UUID.pipe(Schema.brand("RepositoryId"))
export type RepositoryId = typeof RepositoryId.Type
export const RepositoryIdFromPath = HttpApiSchema.param("id", RepositoryId)

export class RepositoryNotFound extends Schema.TaggedError<RepositoryNotFound>()("RepositoryNotFound", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 404 })) {}

/**
 * A 409, not a 429: waiting does not lift the limit (a 429 invites clients to retry after a while);
 * only deleting a repository does, a change of the state the request conflicts with.
 */
export class RepositoryLimitExceeded extends Schema.TaggedError<RepositoryLimitExceeded>()("RepositoryLimitExceeded", {
  message: Schema.String,
  limit: Schema.Int
}, HttpApiSchema.annotations({ status: 409 })) {}

export class InvalidRepositorySettings extends Schema.TaggedError<InvalidRepositorySettings>()(
  "InvalidRepositorySettings",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

export class InvalidCursor extends Schema.TaggedError<InvalidCursor>()("InvalidCursor", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

// A git branch name, as `git check-ref-format --branch` would accept it (conservatively).
const BranchName = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(255),
  Schema.pattern(/^(?!\/|.*\/\/|.*\.\.|.*\/\.|\.|-)[A-Za-z0-9._/-]+(?<![/.]|\.lock)$/, {
    message: () => "must be a valid git branch name"
  })
)

export const RepositorySettings = Schema.Struct({
  /** Pushes to these branches are indexed too (the default branch always is). */
  branches: Schema.optional(Schema.Array(BranchName).pipe(Schema.maxItems(50))),
  /** Files larger than this are skipped by the indexer (default 1 MB; at most REPOSITORY_MAX_FILE_SIZE). */
  max_file_size: Schema.optional(Schema.Int.pipe(Schema.between(1, 100 * 1024 * 1024)))
})
export type RepositorySettings = typeof RepositorySettings.Type

export const RegisterRepository = Schema.Struct({
  git_url: Text.pipe(Schema.minLength(1), Schema.maxLength(2048)),
  branch: Schema.optional(BranchName),
  name: Schema.optional(Text.pipe(Schema.minLength(1), Schema.maxLength(200))),
  settings: Schema.optional(RepositorySettings)
})

export const RepositoryStatus = Schema.Literal("queued", "syncing", "ready", "error")
export const SyncState = Schema.Literal("pending", "in_progress", "synced", "error")
export const Provider = Schema.Literal("github", "gitlab", "bitbucket", "generic")

export const Webhook = Schema.Struct({
  url: Schema.String,
  /** Shown only when the secret is created or rotated: store it now. */
  secret: Schema.optional(Schema.String)
})

export const Registered = Schema.Struct({
  repository_id: RepositoryId,
  job_id: JobId,
  status: RepositoryStatus,
  webhook: Webhook
})

export const JobSummary = Schema.Struct({
  queued: Schema.Number,
  in_progress: Schema.Number,
  completed: Schema.Number,
  failed: Schema.Number,
  cancelled: Schema.Number
})

export const RepositoryView = Schema.Struct({
  repository_id: RepositoryId,
  name: Schema.String,
  git_url: Schema.String,
  provider: Provider,
  branch: Schema.NullOr(Schema.String),
  status: RepositoryStatus,
  sync_state: SyncState,
  settings: RepositorySettings,
  last_indexed_at: Schema.NullOr(Schema.String),
  last_indexed_commit: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  job_summary: JobSummary,
  /** When status is `error`: why the latest index job failed (`code` such as `repository_too_large`). */
  error: Schema.NullOr(Schema.Struct({
    code: Schema.NullOr(Schema.String),
    message: Schema.String,
    job_id: JobId
  })),
  webhook_url: Schema.String
})
export type RepositoryView = typeof RepositoryView.Type

export const RepositoryPage = Schema.Struct({
  repositories: Schema.Array(RepositoryView),
  /** Pass as `cursor` for the next page; null on the last page. */
  next_cursor: Schema.NullOr(Schema.String)
})

export const Reindexed = Schema.Struct({ repository_id: RepositoryId, job_id: JobId, status: RepositoryStatus })
export const RotatedSecret = Schema.Struct({ repository_id: RepositoryId, webhook: Webhook })
