import * as Effect from "effect/Effect"
import { z } from "zod"
import type { RepositoryView } from "../../domain/Repository.js"
import { RegisterRepository, RepositoryId } from "../../domain/Repository.js"
import { Repositories } from "../../services/Repositories.js"
import { asToolFailure, decodeWith, defineTool, text } from "../Tool.js"

const status = z.enum(["queued", "syncing", "ready", "error"])

const repositoryView = {
  repository_id: z.string(),
  name: z.string(),
  git_url: z.string(),
  provider: z.enum(["github", "gitlab", "bitbucket", "generic"]),
  branch: z.string().nullable(),
  status,
  sync_state: z.enum(["pending", "in_progress", "synced", "error"]),
  settings: z.object({ branches: z.array(z.string()).optional(), max_file_size: z.number().optional() }),
  last_indexed_at: z.string().nullable(),
  last_indexed_commit: z.string().nullable(),
  created_at: z.string(),
  job_summary: z.object({
    queued: z.number(),
    in_progress: z.number(),
    completed: z.number(),
    failed: z.number(),
    cancelled: z.number()
  }),
  error: z.object({ code: z.string().nullable(), message: z.string(), job_id: z.string() }).nullable(),
  webhook_url: z.string()
}

const STATUS_WORDS = "status is queued (an index job waits), syncing (indexing now), ready (searchable) or error"

const decodeId = decodeWith(RepositoryId)
const decodeRegistration = decodeWith(RegisterRepository)
const repositoryId = z.uuid().describe("A repository_id from list_repositories")
const plain = (view: RepositoryView): Record<string, unknown> => ({ ...view })

export const RepositoryTools = Effect.gen(function*() {
  const repositories = yield* Repositories
  return [
    defineTool({
      name: "list_repositories",
      title: "List repositories",
      description: "List the git repositories registered with your account, oldest first, with their index " +
        `status (${STATUS_WORDS}), branch, last indexed commit and job counts. Each entry is about 600 ` +
        "bytes; `limit` (1-100, default 50) per page. When next_cursor is not null, call again with " +
        "cursor=next_cursor for the next page.",
      category: "repositories",
      scope: "read",
      input: {
        limit: z.number().int().min(1).max(100).optional().describe("Repositories per page, default 50"),
        cursor: text().max(512).optional().describe("next_cursor from the previous page")
      },
      output: { repositories: z.array(z.object(repositoryView)), next_cursor: z.string().nullable() },
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: (args, key) =>
        repositories.list(key.userId, args.limit ?? 50, args.cursor).pipe(
          Effect.map((page) => ({ repositories: page.repositories.map(plain), next_cursor: page.next_cursor })),
          Effect.mapError(asToolFailure)
        )
    }),
    defineTool({
      name: "get_repository",
      title: "Get a repository",
      description: `One of your repositories by repository_id: its index ${STATUS_WORDS}, branch, last ` +
        "indexed commit and time, and job counts (about 600 bytes).",
      category: "repositories",
      scope: "read",
      input: { repository_id: repositoryId },
      output: repositoryView,
      annotations: { readOnlyHint: true, openWorldHint: false },
      run: (args, key) =>
        Effect.flatMap(decodeId(args.repository_id), (id) => repositories.get(id, key.userId)).pipe(
          Effect.map(plain),
          Effect.mapError(asToolFailure)
        )
    }),
    defineTool({
      name: "register_repository",
      title: "Register a repository",
      description: "Register a git repository (an https URL on an allowed host, such as " +
        "https://github.com/owner/repo) and queue its first index. Registering a URL you already " +
        "registered returns the same repository_id. Returns {repository_id, job_id, status, webhook_url}; " +
        "follow the indexing with get_job(job_id) or get_repository until status is ready, then search it. " +
        "The webhook secret is not returned here: rotate it over the HTTP API when you need it.",
      category: "repositories",
      scope: "write",
      input: {
        git_url: text().min(1).max(2048).describe("https URL (or git@host:owner/repo) of the repository"),
        branch: text().max(255).optional().describe("Branch to index; default the repository's default branch"),
        name: text().min(1).max(200).optional().describe("Display name; default owner/repo")
      },
      output: { repository_id: z.string(), job_id: z.string(), status, webhook_url: z.string() },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      run: (args, key) =>
        Effect.gen(function*() {
          const input = yield* decodeRegistration({ git_url: args.git_url, branch: args.branch, name: args.name })
          const { body } = yield* repositories.register(key.userId, key.id, {
            gitUrl: input.git_url,
            branch: input.branch,
            name: input.name
          })
          return {
            repository_id: body.repository_id,
            job_id: body.job_id,
            status: body.status,
            webhook_url: body.webhook.url
          }
        }).pipe(Effect.mapError(asToolFailure))
    }),
    defineTool({
      name: "reindex_repository",
      title: "Re-index a repository",
      description: "Queue a full re-index of one of your repositories (or return the index job already " +
        "queued). Returns {repository_id, job_id, status}; follow it with get_job(job_id).",
      category: "repositories",
      scope: "write",
      input: { repository_id: repositoryId },
      output: { repository_id: z.string(), job_id: z.string(), status },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
      run: (args, key) =>
        Effect.flatMap(decodeId(args.repository_id), (id) => repositories.reindex(id, key.userId, key.id)).pipe(
          Effect.map((reindexed) => ({ ...reindexed })),
          Effect.mapError(asToolFailure)
        )
    })
  ]
})
