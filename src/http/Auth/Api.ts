import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"
import type { ApiKeyScope } from "../../domain/ApiKey.js"
import { CurrentApiKey, Forbidden, QuotaExceeded, RateLimited, Unauthorized } from "../../domain/ApiKey.js"
import { RouteNotFound } from "../../domain/HttpErrors.js"

/**
 * API-key authentication for tenant routes. One security scheme is declared (`X-API-Key`); the
 * implementation also accepts `Authorization: Bearer <key>`, checking the `Bearer ` prefix itself.
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("http/Authentication", {
  failure: Schema.Union(Unauthorized, Forbidden, RateLimited, QuotaExceeded),
  provides: CurrentApiKey,
  security: {
    apiKey: HttpApiSecurity.apiKey({ key: "X-API-Key", in: "header" }).pipe(
      HttpApiSecurity.annotate(
        OpenApi.Description,
        "An API key (kdb_live_…), or send it as `Authorization: Bearer <key>`"
      )
    )
  }
}) {}

/** `X-Internal-Key` for the admin routes; they answer 404 when `INTERNAL_API_KEY` is unset. */
export class InternalAuthentication
  extends HttpApiMiddleware.Tag<InternalAuthentication>()("http/InternalAuthentication", {
    failure: Schema.Union(Unauthorized, RouteNotFound),
    security: {
      internalKey: HttpApiSecurity.apiKey({ key: "X-Internal-Key", in: "header" })
    }
  })
{}

/** Endpoint annotation: the key scope a route needs (`read` when absent), enforced by `Authentication`. */
export class RequiredScope extends Context.Tag("http/RequiredScope")<RequiredScope, ApiKeyScope>() {}

/**
 * Endpoint annotation: a request whose `Origin` is not in `MCP_ALLOWED_ORIGINS` is refused (403) before
 * its key is looked at, against DNS rebinding from a browser. A request without `Origin` passes.
 */
export class OriginRestricted extends Context.Tag("http/OriginRestricted")<OriginRestricted, true>() {}
