import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { parseGitUrl } from "../domain/GitUrl.js"
import type { JobId } from "../domain/Job.js"
import type { RepositoryId, RepositorySettings, RepositoryView } from "../domain/Repository.js"
import {
  InvalidCursor,
  InvalidRepositorySettings,
  RepositoryLimitExceeded,
  RepositoryNotFound
} from "../domain/Repository.js"
import { AppConfig } from "./AppConfig.js"
import { SecretBox, secretHash } from "./SecretBox.js"
import { JobStore } from "./stores/JobStore.js"
import type { RepositoryRow } from "./stores/RepositoryStore.js"
import { RepositoryStore } from "./stores/RepositoryStore.js"

export interface Registration {
  readonly gitUrl: string
  readonly branch?: string | undefined
  readonly name?: string | undefined
  readonly settings?: RepositorySettings | undefined
}

const encodeCursor = (row: RepositoryRow) => Buffer.from(`${row.createdAt}|${row.id}`).toString("base64url")

const decodeCursor = (cursor: string) => {
  const [createdAt, id, ...rest] = Buffer.from(cursor, "base64url").toString("utf8").split("|")
  const valid = rest.length === 0 && createdAt !== undefined && id !== undefined &&
    !Number.isNaN(Date.parse(createdAt)) && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)
  return valid
    ? Effect.succeed({ createdAt: createdAt!, id: id! })
    : Effect.fail(new InvalidCursor({ message: "cursor is not one this API returned" }))
}

/**
 * Tenant repositories: registration (one transaction over repositories, secrets and jobs), listing,
 * deletion, re-indexing and webhook-secret rotation. Every method is scoped to the caller's user.
 */
export class Repositories extends Effect.Service<Repositories>()("services/Repositories", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const store = yield* RepositoryStore
    const jobs = yield* JobStore
    const box = yield* SecretBox
    const config = yield* AppConfig
    const policy = { allowedHosts: config.gitAllowedHosts, allowPrivateHosts: config.gitAllowPrivateHosts }
    const baseUrl = Option.getOrElse(
      Option.map(config.webhookBaseUrl, (url) => url.toString().replace(/\/+$/, "")),
      () => `http://localhost:${config.port}`
    )
    const webhookUrl = (id: string) => `${baseUrl}/webhooks/github/${id}`

    const view = (row: RepositoryRow): RepositoryView => ({
      repository_id: row.id,
      name: row.name,
      git_url: row.gitUrl,
      provider: row.provider,
      branch: row.defaultBranch,
      status: row.status,
      sync_state: row.syncState,
      settings: row.settings as RepositorySettings,
      last_indexed_at: row.lastIndexedAt,
      last_indexed_commit: row.lastIndexedCommit,
      created_at: row.createdAt,
      job_summary: row.jobSummary,
      error: row.error === null ? null : { ...row.error, job_id: row.error.job_id as JobId },
      webhook_url: webhookUrl(row.id)
    })

    const find = (id: RepositoryId, userId: string) =>
      store.findForUser(id, userId).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new RepositoryNotFound({ message: `no repository ${id}` })),
          onSome: Effect.succeed
        }))
      )

    const provisionWebhook = (id: RepositoryId, apiKeyId: string | null) =>
      jobs.enqueueCoalesced({ repositoryId: id, jobType: "provision_webhook", requestedBy: apiKeyId })

    const register = (userId: string, apiKeyId: string | null, input: Registration) =>
      Effect.gen(function*() {
        const parsed = yield* parseGitUrl(input.gitUrl, policy)
        const maxFileSize = input.settings?.max_file_size
        if (maxFileSize !== undefined && maxFileSize > config.repositoryMaxFileSize) {
          return yield* new InvalidRepositorySettings({
            message: `settings.max_file_size: at most ${config.repositoryMaxFileSize} bytes`
          })
        }
        const { created, jobId, repositoryId, secret } = yield* sql.withTransaction(Effect.gen(function*() {
          const count = yield* store.countForRegistration(userId, parsed.url)
          if (!count.registered && count.repositories >= config.tenantMaxRepositories) {
            return yield* new RepositoryLimitExceeded({
              message: `repository limit reached: ${count.repositories} of ${config.tenantMaxRepositories} ` +
                "repositories registered; delete one to register another",
              limit: config.tenantMaxRepositories
            })
          }
          const repo = yield* store.upsert({
            userId,
            apiKeyId,
            name: input.name ?? parsed.name,
            gitUrl: parsed.url,
            provider: parsed.provider,
            branch: input.branch ?? null,
            settings: input.settings ?? null
          })
          const candidate = box.generate()
          const stored = yield* store.insertSecretIfAbsent(repo.id, box.seal(candidate), secretHash(candidate))
          const job = yield* jobs.enqueueCoalesced({
            repositoryId: repo.id,
            jobType: "full_index",
            requestedBy: apiKeyId
          })
          if (parsed.provider === "github" && stored) yield* provisionWebhook(repo.id, apiKeyId)
          return {
            created: repo.created,
            repositoryId: repo.id,
            jobId: job.id,
            secret: stored ? Option.some(candidate) : Option.none()
          }
        })).pipe(Effect.catchTag("SqlError", Effect.die))
        const row = yield* Effect.orDie(find(repositoryId, userId))
        return {
          created,
          body: {
            repository_id: repositoryId,
            job_id: jobId as JobId,
            status: row.status,
            webhook: Option.match(secret, {
              onNone: () => ({ url: webhookUrl(repositoryId) }),
              onSome: (s) => ({ url: webhookUrl(repositoryId), secret: Redacted.value(s) })
            })
          }
        } as const
      }).pipe(Effect.withSpan("Repositories.register"))

    const list = (userId: string, limit: number, cursor: string | undefined) =>
      Effect.gen(function*() {
        const after = cursor === undefined ? Option.none() : Option.some(yield* decodeCursor(cursor))
        const rows = yield* store.listForUser(userId, limit + 1, after)
        const page = rows.slice(0, limit)
        return {
          repositories: page.map(view),
          next_cursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null
        }
      }).pipe(Effect.withSpan("Repositories.list"))

    const remove = (id: RepositoryId, userId: string) =>
      store.deleteForUser(id, userId).pipe(
        Effect.flatMap((deleted) =>
          deleted ? Effect.void : Effect.fail(new RepositoryNotFound({ message: `no repository ${id}` }))
        ),
        Effect.withSpan("Repositories.remove")
      )

    const reindex = (id: RepositoryId, userId: string, apiKeyId: string) =>
      Effect.gen(function*() {
        yield* find(id, userId)
        const job = yield* jobs.enqueueCoalesced({
          repositoryId: id,
          jobType: "full_index",
          requestedBy: apiKeyId,
          payload: { reason: "reindex" }
        })
        const row = yield* Effect.orDie(find(id, userId))
        return { repository_id: id, job_id: job.id as JobId, status: row.status }
      }).pipe(Effect.withSpan("Repositories.reindex"))

    /** A new secret, effective at once; GitHub's hook is updated by a provision_webhook job. */
    const rotateSecret = (id: RepositoryId, userId: string, apiKeyId: string) =>
      Effect.gen(function*() {
        const row = yield* find(id, userId)
        const secret = box.generate()
        yield* sql.withTransaction(Effect.gen(function*() {
          yield* store.replaceSecret(id, box.seal(secret), secretHash(secret))
          if (row.provider === "github") yield* provisionWebhook(id, apiKeyId)
        })).pipe(Effect.orDie)
        return { repository_id: id, webhook: { url: webhookUrl(id), secret: Redacted.value(secret) } }
      }).pipe(Effect.withSpan("Repositories.rotateSecret"))

    return {
      register,
      get: (id: RepositoryId, userId: string) => find(id, userId).pipe(Effect.map(view)),
      list,
      remove,
      reindex,
      rotateSecret,
      webhookUrl
    } as const
  })
}) {}
