import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { HealthReport, LiveReport, ServiceUnavailable } from "../../domain/Health.js"

export class HealthApi extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("readiness", "/health")
      .addSuccess(HealthReport)
      .addError(ServiceUnavailable)
      .annotate(OpenApi.Summary, "Readiness: database, queue and worker state (503 when Postgres is unreachable)")
  )
  .add(
    HttpApiEndpoint.get("liveness", "/health/live")
      .addSuccess(LiveReport)
      .annotate(OpenApi.Summary, "Liveness: the process answers; no I/O")
  )
  .annotate(OpenApi.Title, "Health")
{}
