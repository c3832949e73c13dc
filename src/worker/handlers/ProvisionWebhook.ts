import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { ClaimedJob } from "../../domain/Job.js"
import { PermanentJobError } from "../../domain/Job.js"
import type { RepositoryId } from "../../domain/Repository.js"
import { GitHubHooks } from "../../services/GitHubHooks.js"
import { Repositories } from "../../services/Repositories.js"
import { SecretBox } from "../../services/SecretBox.js"
import { RepositoryStore } from "../../services/stores/RepositoryStore.js"
import type { JobHandler } from "../JobHandlers.js"

/**
 * `provision_webhook`: creates (or reconciles) the repository's GitHub hook with its current secret
 * and records the hook in the repository's metadata. Transient GitHub failures are retried by the
 * queue's backoff; a missing token or a refused repository fails the job at once.
 */
export const makeProvisionWebhook = Effect.gen(function*() {
  const store = yield* RepositoryStore
  const box = yield* SecretBox
  const hooks = yield* GitHubHooks
  const repositories = yield* Repositories

  const handler: JobHandler = (job: ClaimedJob) =>
    Effect.gen(function*() {
      const id = job.repositoryId as RepositoryId
      const target = yield* store.webhookTarget(id)
      if (Option.isNone(target)) return yield* new PermanentJobError({ message: `repository ${id} no longer exists` })
      const { gitUrl, provider, sealed } = target.value
      if (provider !== "github") return { skipped: `not a GitHub repository (${provider})` }
      if (sealed === null) return yield* new PermanentJobError({ message: "the repository has no webhook secret" })
      const [owner, repo] = new URL(gitUrl).pathname.replace(/^\/+/, "").replace(/\.git$/, "").split("/")
      if (owner === undefined || repo === undefined) {
        return yield* new PermanentJobError({ message: `cannot tell owner and name from ${gitUrl}` })
      }
      const secret = yield* box.open(sealed).pipe(
        Effect.mapError((error) => new PermanentJobError({ message: error.message }))
      )
      const url = repositories.webhookUrl(id)
      const hook = yield* hooks.ensureHook({ owner, repo, url, secret }).pipe(
        Effect.mapError((error) => error.toJobError())
      )
      yield* store.mergeMetadata(id, {
        github_webhook: { hook_id: hook.hookId, url, provisioned_at: new Date().toISOString() }
      })
      return { hook_id: hook.hookId, created: hook.created }
    })

  return handler
})
