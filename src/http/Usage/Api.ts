import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Schema from "effect/Schema"
import { ApiKeyId, ApiKeyNotFound, ApiKeyScope, UsageReport, UserId } from "../../domain/ApiKey.js"
import { Authentication } from "../Auth/Api.js"

export class UsageApi extends HttpApiGroup.make("usage")
  .add(
    HttpApiEndpoint.get("getUsage", "/usage")
      .addSuccess(UsageReport)
      .addError(ApiKeyNotFound)
      .annotate(OpenApi.Summary, "The calling key's limits, usage this month and outcomes")
  )
  .add(
    HttpApiEndpoint.get("whoami", "/me")
      .addSuccess(Schema.Struct({ key_id: ApiKeyId, user_id: UserId, scopes: Schema.Array(ApiKeyScope) }))
      .annotate(OpenApi.Summary, "The calling key and its user (no database work beyond authentication)")
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Usage")
{}
