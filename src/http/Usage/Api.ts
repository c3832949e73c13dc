import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { ApiKeyNotFound, UsageReport } from "../../domain/ApiKey.js"
import { Authentication } from "../Auth/Api.js"

export class UsageApi extends HttpApiGroup.make("usage")
  .add(
    HttpApiEndpoint.get("getUsage", "/usage")
      .addSuccess(UsageReport)
      .addError(ApiKeyNotFound)
      .annotate(OpenApi.Summary, "The calling key's limits, usage this month and outcomes")
  )
  .middleware(Authentication)
  .prefix("/api/v1")
  .annotate(OpenApi.Title, "Usage")
{}
