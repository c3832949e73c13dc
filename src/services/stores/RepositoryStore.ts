import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { RepositoryId } from "../../domain/Repository.js"
import type { Sealed } from "../SecretBox.js"
import { listen } from "./Listen.js"

/** NOTIFY channel: a repository's webhook secret, branch or settings changed, or it was deleted (payload: its id). */
export const REPOSITORY_CHANGES = "repository_changes"

export interface RepositoryRow {
  readonly id: RepositoryId
  readonly userId: string
  readonly name: string
  readonly gitUrl: string
  readonly provider: "github" | "gitlab" | "bitbucket" | "generic"
  readonly defaultBranch: string | null
  readonly status: "queued" | "syncing" | "ready" | "error"
  readonly syncState: "pending" | "in_progress" | "synced" | "error"
  readonly settings: Record<string, unknown>
  readonly metadata: Record<string, unknown>
  readonly lastIndexedAt: string | null
  readonly lastIndexedCommit: string | null
  readonly createdAt: string
  readonly jobSummary: {
    readonly queued: number
    readonly in_progress: number
    readonly completed: number
    readonly failed: number
    readonly cancelled: number
  }
  /** Why the latest index job failed, when status is `error`. */
  readonly error: { readonly code: string | null; readonly message: string; readonly job_id: string } | null
}

/** What the webhook route needs to verify and route a delivery. */
export interface WebhookTarget {
  readonly id: RepositoryId
  readonly userId: string
  readonly gitUrl: string
  readonly provider: RepositoryRow["provider"]
  readonly defaultBranch: string | null
  readonly settings: Record<string, unknown>
  readonly sealed: Sealed | null
}

export interface IndexTarget {
  readonly id: RepositoryId
  readonly userId: string
  readonly apiKeyId: string | null
  readonly gitUrl: string
  readonly defaultBranch: string | null
  readonly settings: Record<string, unknown>
  readonly lastIndexedCommit: string | null
  /** When the job that wrote the current index was queued: an older job must not overwrite it. */
  readonly indexedJobQueuedAt: string | null
}

export interface NewRepository {
  readonly userId: string
  readonly apiKeyId: string | null
  readonly name: string
  readonly gitUrl: string
  readonly provider: RepositoryRow["provider"]
  readonly branch: string | null
  readonly settings: Record<string, unknown> | null
}

/** The class of the per-user advisory locks (two-key form, apart from the one-key locks elsewhere). */
const REGISTRATION_LOCK_CLASS = 72_839_140

/** Owns `repositories` and `repository_secrets`. */
export class RepositoryStore extends Effect.Service<RepositoryStore>()("services/stores/RepositoryStore", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const pg = yield* PgClient.PgClient

    // Status is derived from the jobs where it is read (migration 0010), so it is never stale.
    const columns = sql.literal(`
      r.id, r.user_id, r.name, r.git_url, r.provider, r.default_branch, st.status,
      repository_sync_state(st.status) AS sync_state, r.settings,
      r.metadata, to_json(r.last_indexed_at)#>>'{}' AS last_indexed_at, r.last_indexed_commit,
      to_json(r.created_at)#>>'{}' AS created_at,
      (SELECT jsonb_build_object(
         'queued', count(*) FILTER (WHERE j.status = 'queued'),
         'in_progress', count(*) FILTER (WHERE j.status = 'in_progress'),
         'completed', count(*) FILTER (WHERE j.status = 'completed'),
         'failed', count(*) FILTER (WHERE j.status = 'failed'),
         'cancelled', count(*) FILTER (WHERE j.status = 'cancelled'))
       FROM indexing_jobs j WHERE j.repository_id = r.id) AS job_summary,
      CASE WHEN st.status = 'error' THEN (
        SELECT jsonb_build_object('code', f.error_code, 'message', coalesce(f.error_message, ''), 'job_id', f.id)
        FROM indexing_jobs f
        WHERE f.repository_id = r.id AND f.status = 'failed' AND f.job_type <> 'provision_webhook'
        ORDER BY f.finished_at DESC, f.id DESC LIMIT 1
      ) END AS error`)
    const withStatus = sql.literal("repositories r CROSS JOIN LATERAL (SELECT repository_status(r.id) AS status) st")

    /**
     * Inserts, or finds the user's repository with the same normalised URL (updating the branch,
     * name and settings when given). Concurrent identical registrations meet on the unique key.
     */
    const upsert = (repo: NewRepository) =>
      sql<{ id: RepositoryId; created: boolean }>`
        WITH upserted AS (
          INSERT INTO repositories AS r (user_id, api_key_id, name, git_url, provider, default_branch, settings)
          VALUES (${repo.userId}, ${repo.apiKeyId}, ${repo.name}, ${repo.gitUrl}, ${repo.provider}, ${repo.branch},
                  ${pg.json(repo.settings ?? {})})
          ON CONFLICT (user_id, git_url) DO UPDATE SET
            default_branch = coalesce(${repo.branch}, r.default_branch),
            settings = CASE WHEN ${repo.settings !== null} THEN EXCLUDED.settings ELSE r.settings END,
            updated_at = now()
          RETURNING r.id, (xmax = 0) AS created
        )
        -- A re-registration may change the branch or settings that route webhook pushes: evict caches.
        SELECT id, created, CASE WHEN NOT created THEN pg_notify(${REPOSITORY_CHANGES}, id::text) END
        FROM upserted`.pipe(Effect.map((rows) => rows[0]!))

    /**
     * Within the caller's transaction: waits for the user's registration lock (held until the
     * transaction ends, so concurrent registrations of one user count one after another), then counts
     * the user's repositories and says whether `gitUrl` is one of them. The count is a statement of its
     * own, after the lock: its snapshot then includes whatever the previous holder committed.
     */
    const countForRegistration = (userId: string, gitUrl: string) =>
      sql`SELECT pg_advisory_xact_lock(${REGISTRATION_LOCK_CLASS}, hashtext(${userId}))`.pipe(
        Effect.zipRight(sql<{ repositories: number; registered: boolean }>`
          SELECT count(*)::int AS repositories, coalesce(bool_or(git_url = ${gitUrl}), false) AS registered
          FROM repositories WHERE user_id = ${userId}`),
        Effect.map((rows) => rows[0]!)
      )

    /** Stores the secret unless the repository already has one; true when this call stored it. */
    const insertSecretIfAbsent = (id: RepositoryId, sealed: Sealed, hash: string) =>
      sql<{ repositoryId: string }>`
        WITH stored AS (
          INSERT INTO repository_secrets (repository_id, ciphertext, nonce, auth_tag, key_id, secret_hash)
          VALUES (${id}, ${sealed.ciphertext}, ${sealed.nonce}, ${sealed.authTag}, ${sealed.keyId}, ${hash})
          ON CONFLICT (repository_id) DO NOTHING
          RETURNING repository_id
        ), hashed AS (
          UPDATE repositories SET webhook_secret_hash = ${hash} WHERE id IN (SELECT repository_id FROM stored)
        )
        SELECT repository_id FROM stored`.pipe(Effect.map((rows) => rows.length > 0))

    const replaceSecret = (id: RepositoryId, sealed: Sealed, hash: string) =>
      sql`
        WITH stored AS (
          INSERT INTO repository_secrets (repository_id, ciphertext, nonce, auth_tag, key_id, secret_hash)
          VALUES (${id}, ${sealed.ciphertext}, ${sealed.nonce}, ${sealed.authTag}, ${sealed.keyId}, ${hash})
          ON CONFLICT (repository_id) DO UPDATE SET
            ciphertext = EXCLUDED.ciphertext, nonce = EXCLUDED.nonce, auth_tag = EXCLUDED.auth_tag,
            key_id = EXCLUDED.key_id, secret_hash = EXCLUDED.secret_hash, updated_at = now()
          RETURNING repository_id
        ), hashed AS (
          UPDATE repositories SET webhook_secret_hash = ${hash}, updated_at = now() WHERE id = ${id}
        )
        SELECT pg_notify(${REPOSITORY_CHANGES}, repository_id::text) FROM stored`.pipe(Effect.asVoid)

    const findForUser = (id: RepositoryId, userId: string) =>
      sql<RepositoryRow>`SELECT ${columns} FROM ${withStatus} WHERE r.id = ${id} AND r.user_id = ${userId}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]))
      )

    /** Newest first; `after` is the (created_at, id) of the previous page's last row. */
    const listForUser = (
      userId: string,
      limit: number,
      after: Option.Option<{ readonly createdAt: string; readonly id: string }>
    ) =>
      sql<RepositoryRow>`
        SELECT ${columns} FROM ${withStatus}
        WHERE r.user_id = ${userId} ${
        Option.match(after, {
          onNone: () => sql``,
          onSome: (c) => sql`AND (r.created_at, r.id) < (${c.createdAt}::timestamptz, ${c.id}::uuid)`
        })
      }
        ORDER BY r.created_at DESC, r.id DESC
        LIMIT ${limit}`

    /** Deletes the repository (jobs, deliveries, files and secret cascade) and interrupts its running jobs. */
    const deleteForUser = (id: RepositoryId, userId: string) =>
      sql<{ id: string }>`
        WITH running AS (
          SELECT j.id FROM indexing_jobs j JOIN repositories r ON r.id = j.repository_id
          WHERE j.repository_id = ${id} AND r.user_id = ${userId} AND j.status = 'in_progress'
        ), gone AS (
          DELETE FROM repositories WHERE id = ${id} AND user_id = ${userId} RETURNING id
        ), cancelled AS (
          SELECT pg_notify('kotadb_job_cancel', running.id::text) FROM running WHERE EXISTS (SELECT 1 FROM gone)
        )
        SELECT gone.id, pg_notify(${REPOSITORY_CHANGES}, gone.id::text), (SELECT count(*) FROM cancelled)
        FROM gone`.pipe(Effect.map((rows) => rows.length > 0))

    const webhookTarget = (id: RepositoryId) =>
      sql<
        Omit<WebhookTarget, "sealed"> & {
          ciphertext: Buffer | null
          nonce: Buffer | null
          authTag: Buffer | null
          keyId: string | null
        }
      >`
        SELECT r.id, r.user_id, r.git_url, r.provider, r.default_branch, r.settings,
               s.ciphertext, s.nonce, s.auth_tag, s.key_id
        FROM repositories r LEFT JOIN repository_secrets s ON s.repository_id = r.id
        WHERE r.id = ${id}`.pipe(
        Effect.map((rows) =>
          Option.map(Option.fromNullable(rows[0]), (row): WebhookTarget => ({
            id: row.id,
            userId: row.userId,
            gitUrl: row.gitUrl,
            provider: row.provider,
            defaultBranch: row.defaultBranch,
            settings: row.settings,
            sealed: row.ciphertext === null || row.nonce === null || row.authTag === null || row.keyId === null
              ? null
              : { ciphertext: row.ciphertext, nonce: row.nonce, authTag: row.authTag, keyId: row.keyId }
          }))
        )
      )

    /** What the indexer needs; `lock` takes the row lock that serialises index writes per repository. */
    const indexTarget = (id: RepositoryId, lock: boolean) =>
      sql<IndexTarget>`
        SELECT id, user_id, api_key_id, git_url, default_branch, settings, last_indexed_commit,
               metadata->>'indexed_job_queued_at' AS indexed_job_queued_at
        FROM repositories WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]))
      )

    const markIndexed = (id: RepositoryId, done: {
      readonly commit: string
      readonly branch: string | null
      readonly jobQueuedAt: string
      readonly stats: Record<string, unknown>
    }) =>
      sql`
        UPDATE repositories SET
          last_indexed_commit = ${done.commit}, last_indexed_at = now(),
          default_branch = coalesce(default_branch, ${done.branch}),
          metadata = metadata || ${
        pg.json({ indexed_job_queued_at: done.jobQueuedAt, last_index: done.stats })
      }, updated_at = now()
        WHERE id = ${id}`.pipe(Effect.asVoid)

    /** Merges `patch` into the repository's metadata (top-level keys). */
    const mergeMetadata = (id: RepositoryId, patch: Record<string, unknown>) =>
      sql`UPDATE repositories SET metadata = metadata || ${pg.json(patch)}, updated_at = now() WHERE id = ${id}`.pipe(
        Effect.asVoid
      )

    const span = <A, E, R>(name: string) => (effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.orDie, Effect.withSpan(`RepositoryStore.${name}`))

    return {
      upsert: (repo: NewRepository) => upsert(repo).pipe(span("upsert")),
      countForRegistration: (userId: string, gitUrl: string) =>
        countForRegistration(userId, gitUrl).pipe(span("countForRegistration")),
      insertSecretIfAbsent: (id: RepositoryId, sealed: Sealed, hash: string) =>
        insertSecretIfAbsent(id, sealed, hash).pipe(span("insertSecretIfAbsent")),
      replaceSecret: (id: RepositoryId, sealed: Sealed, hash: string) =>
        replaceSecret(id, sealed, hash).pipe(span("replaceSecret")),
      findForUser: (id: RepositoryId, userId: string) => findForUser(id, userId).pipe(span("findForUser")),
      listForUser: (
        userId: string,
        limit: number,
        after: Option.Option<{ readonly createdAt: string; readonly id: string }>
      ) => listForUser(userId, limit, after).pipe(span("listForUser")),
      deleteForUser: (id: RepositoryId, userId: string) => deleteForUser(id, userId).pipe(span("deleteForUser")),
      webhookTarget: (id: RepositoryId) => webhookTarget(id).pipe(span("webhookTarget")),
      indexTarget: (id: RepositoryId, options: { readonly lock: boolean }) =>
        indexTarget(id, options.lock).pipe(span("indexTarget")),
      markIndexed: (id: RepositoryId, done: Parameters<typeof markIndexed>[1]) =>
        markIndexed(id, done).pipe(span("markIndexed")),
      mergeMetadata: (id: RepositoryId, patch: Record<string, unknown>) =>
        mergeMetadata(id, patch).pipe(span("mergeMetadata")),
      /** Secret rotations and deletions from any process. */
      changes: listen(pg, REPOSITORY_CHANGES).pipe(Stream.map((id) => id as RepositoryId))
    } as const
  })
}) {}
