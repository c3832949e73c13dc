import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Schema } from "effect"
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
