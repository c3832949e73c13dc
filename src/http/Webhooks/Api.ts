import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { RepositoryNotFound } from "../../domain/Repository.js"
import { InvalidDelivery, InvalidSignature, PayloadTooLarge, WebhookOutcome } from "../../domain/Webhook.js"

export class WebhooksApi extends HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.post("github")`/webhooks/github/${HttpApiSchema.param("repository_id", Schema.String)}`
      .addSuccess(WebhookOutcome, { status: 202 })
      .addError(InvalidSignature)
      .addError(InvalidDelivery)
      .addError(PayloadTooLarge)
      .addError(RepositoryNotFound)
      .annotate(
        OpenApi.Description,
        "A GitHub delivery, signed with the repository's webhook secret (X-Hub-Signature-256 over the raw " +
          "body). 202 `{status: \"queued\", job_id}` for a push to a tracked branch; 200 for everything else: " +
          "`{status: \"duplicate\", job_id}`, `{status: \"pong\"}`, `{status: \"ignored:<event>\"}`."
      )
  )
  .annotate(OpenApi.Title, "Webhooks")
{}
