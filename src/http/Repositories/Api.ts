import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { InvalidGitUrl } from "../../domain/GitUrl.js"
import {
  InvalidCursor,
  InvalidRepositorySettings,
  Registered,
  RegisterRepository,
  Reindexed,
  RepositoryIdFromPath,
  RepositoryLimitExceeded,
  RepositoryNotFound,
  RepositoryPage,
  RepositoryView,
  RotatedSecret
} from "../../domain/Repository.js"
import { Text } from "../../domain/Text.js"
import { Authentication, RequiredScope } from "../Auth/Api.js"

export class RepositoriesApi extends HttpApiGroup.make("repositories")
  .add(
    HttpApiEndpoint.post("register", "/repositories")
      .setPayload(RegisterRepository)
      .addSuccess(Registered, { status: 201 })
      .addError(InvalidGitUrl)
      .addError(InvalidRepositorySettings)
      .addError(RepositoryLimitExceeded)
      .annotate(RequiredScope, "write")
      .annotate(
        OpenApi.Description,
        "201 when the repository is new, 200 (same body) when this user already registered the URL. " +
          "The webhook secret is in the body only when it was created by this call. A new repository beyond " +
          "the per-user limit (TENANT_MAX_REPOSITORIES) is a 409 RepositoryLimitExceeded."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/repositories")
      .setUrlParams(Schema.Struct({
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100))),
        cursor: Schema.optional(Text.pipe(Schema.maxLength(512)))
      }))
      .addSuccess(RepositoryPage)
      .addError(InvalidCursor)
  )
  .add(
    HttpApiEndpoint.get("get")`/repositories/${RepositoryIdFromPath}`.addSuccess(RepositoryView).addError(
      RepositoryNotFound
    )
  )
  .add(
    HttpApiEndpoint.del("remove")`/repositories/${RepositoryIdFromPath}`
      .addSuccess(HttpApiSchema.NoContent)
      .addError(RepositoryNotFound)
      .annotate(RequiredScope, "write")
      .annotate(OpenApi.Summary, "Delete the repository with its jobs, deliveries and index")
  )
  .add(
    HttpApiEndpoint.post("reindex")`/repositories/${RepositoryIdFromPath}/reindex`
      .addSuccess(Reindexed, { status: 202 })
      .addError(RepositoryNotFound)
      .annotate(RequiredScope, "write")
      .annotate(OpenApi.Summary, "Queue a full index (or return the one already queued)")
  )
  .add(
    HttpApiEndpoint.post("rotateWebhookSecret")`/repositories/${RepositoryIdFromPath}/webhook-secret/rotate`
      .addSuccess(RotatedSecret)
      .addError(RepositoryNotFound)
      .annotate(RequiredScope, "write")
      .annotate(OpenApi.Summary, "A new webhook secret, effective at once (GitHub's hook is updated by a job)")
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Repositories")
{}
