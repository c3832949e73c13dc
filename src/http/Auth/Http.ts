import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import { isIP } from "node:net"
import type { ApiKeyRecord, ApiKeyScope } from "../../domain/ApiKey.js"
import { CurrentApiKey, Forbidden, scopeRefusal, Unauthorized } from "../../domain/ApiKey.js"
import { RouteNotFound } from "../../domain/HttpErrors.js"
import type { Admission, Refusal } from "../../services/ApiKey.js"
import { ApiKey, normalizeIp, outcomeOf } from "../../services/ApiKey.js"
import { AppConfig } from "../../services/AppConfig.js"
import { Metrics, tagger } from "../../services/Metrics.js"
import { UsageRecorder } from "../../services/UsageRecorder.js"
import { Api } from "../Api.js"
import { notedTools } from "../AuditNote.js"
import { Authentication, InternalAuthentication, OriginRestricted, RequiredScope } from "./Api.js"

const MAX_ROUTE_LENGTH = 2048
const MAX_USER_AGENT_LENGTH = 512

/** `X-API-Key`, else `Authorization: Bearer <key>`; anything else in Authorization is no key at all. */
export const presentedKey = (headers: Readonly<Record<string, string | undefined>>) => {
  const header = headers["x-api-key"]
  if (header !== undefined && header !== "") return header.trim()
  const authorization = headers["authorization"]
  if (authorization !== undefined && /^Bearer /i.test(authorization)) return authorization.slice(7).trim()
  return undefined
}

const rateLimitHeaders = (result: Either.Either<Admission, Refusal>): Record<string, string> =>
  Either.match(result, {
    onRight: (a) => ({
      "ratelimit-policy": `"default";q=${a.limit};w=60`,
      "ratelimit": `"default";r=${a.remaining};t=${a.resetSeconds}`,
      "x-ratelimit-limit": String(a.limit),
      "x-ratelimit-remaining-quota": String(a.monthlyRemaining)
    }),
    onLeft: (refusal) =>
      refusal._tag === "RateLimited" || refusal._tag === "QuotaExceeded"
        ? {
          "retry-after": String(refusal.retry_after_seconds),
          "ratelimit": `"default";r=0;t=${refusal.retry_after_seconds}`
        }
        : {}
  })

interface RoutePolicy {
  readonly scope: ApiKeyScope
  readonly originRestricted: boolean
}

const DEFAULT_POLICY: RoutePolicy = { scope: "read", originRestricted: false }

const originRefusal = {
  key: Option.none<ApiKeyRecord>(),
  result: Either.left<Refusal>(new Forbidden({ message: "this Origin is not allowed (MCP_ALLOWED_ORIGINS)" }))
}

/** Each endpoint's `RequiredScope` and `OriginRestricted` annotations, by `METHOD path` as the router matched it. */
const routePolicies = () => {
  const policies = new Map<string, RoutePolicy>()
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, mergedAnnotations }) =>
      policies.set(`${endpoint.method} ${endpoint.path}`, {
        scope: Option.getOrElse(Context.getOption(mergedAnnotations, RequiredScope), () => "read" as const),
        originRestricted: Option.isSome(Context.getOption(mergedAnnotations, OriginRestricted))
      })
  })
  return policies
}

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const apiKeys = yield* ApiKey
    const recorder = yield* UsageRecorder
    const config = yield* AppConfig
    const refusals = tagger(Metrics.authRefusals, "reason")
    const policies = routePolicies()
    const allowedOrigins = new Set(config.mcpAllowedOrigins)
    const badOrigin = (request: HttpServerRequest.HttpServerRequest) => {
      const origin = request.headers["origin"]
      return origin !== undefined && !allowedOrigins.has(origin.toLowerCase())
    }

    const clientIp = (request: HttpServerRequest.HttpServerRequest) => {
      const forwarded = config.trustProxy === "fly" ? request.headers["fly-client-ip"] : undefined
      const ip = forwarded ?? Option.getOrUndefined(request.remoteAddress)
      return ip === undefined || isIP(normalizeIp(ip)) === 0 ? undefined : normalizeIp(ip)
    }

    return Authentication.of({
      // Every authenticated request passes here: plain steps rather than a generator.
      apiKey: () =>
        Effect.flatMap(
          Effect.context<HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext>(),
          (context) => {
            const request = Context.get(context, HttpServerRequest.HttpServerRequest)
            const { route } = Context.get(context, HttpRouter.RouteContext)
            const started = performance.now()
            const ip = clientIp(request)
            const policy = policies.get(`${route.method} ${route.path}`) ?? DEFAULT_POLICY
            const attempted = policy.originRestricted && badOrigin(request)
              ? Effect.succeed(originRefusal)
              : apiKeys.attempt(presentedKey(request.headers), ip)
            return Effect.flatMap(attempted, (attempt) => {
              const key = attempt.key
              const scopeRefused = Either.isRight(attempt.result)
                ? scopeRefusal(attempt.result.right.key.scopes, policy.scope)
                : undefined
              const result: Either.Either<Admission, Refusal> = scopeRefused === undefined
                ? attempt.result
                : Either.left(scopeRefused)
              if (Either.isLeft(result)) refusals(outcomeOf(result.left)).unsafeUpdate(1, [])
              // Runs for whatever response this request ends with, the refusal included: the audit row
              // gets the final status, and the rate-limit headers are added.
              const recorded = HttpApp.appendPreResponseHandler((_, response) =>
                recorder.record({
                  keyId: Option.getOrNull(Option.map(key, (k) => k.id)),
                  userId: Option.getOrNull(Option.map(key, (k) => k.userId)),
                  route: request.url.split("?")[0]!.slice(0, MAX_ROUTE_LENGTH),
                  method: request.method,
                  status: response.status,
                  latencyMs: performance.now() - started,
                  ip: ip ?? null,
                  userAgent: request.headers["user-agent"]?.slice(0, MAX_USER_AGENT_LENGTH) ?? null,
                  outcome: Either.match(result, { onLeft: outcomeOf, onRight: () => "ok" as const }),
                  tool: notedTools(request),
                  createdAt: new Date()
                }).pipe(Effect.as(HttpServerResponse.setHeaders(response, rateLimitHeaders(result))))
              )
              return Effect.zipRight(
                recorded,
                Either.isLeft(result)
                  ? Effect.fail(result.left)
                  : Effect.succeed(CurrentApiKey.of({
                    id: result.right.key.id,
                    userId: result.right.key.userId,
                    scopes: result.right.key.scopes
                  }))
              )
            })
          }
        )
    })
  })
)

const digest = (value: string) => createHash("sha256").update(value).digest()

export const InternalAuthenticationLive = Layer.effect(
  InternalAuthentication,
  Effect.gen(function*() {
    const config = yield* AppConfig
    // Digests are compared, so the constant-time comparison does not leak the key's length either.
    const expected = Option.map(config.internalApiKey, (key) => digest(Redacted.value(key)))
    return InternalAuthentication.of({
      internalKey: (presented) =>
        Effect.gen(function*() {
          if (Option.isNone(expected)) {
            const request = yield* HttpServerRequest.HttpServerRequest
            return yield* new RouteNotFound({ message: `no route for ${request.method} ${request.url.split("?")[0]}` })
          }
          if (!timingSafeEqual(digest(Redacted.value(presented)), expected.value)) {
            return yield* new Unauthorized({ message: "missing or wrong X-Internal-Key" })
          }
        })
    })
  })
)
