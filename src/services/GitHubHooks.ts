import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { JobError } from "../domain/Job.js"
import { PermanentJobError, RetryableJobError } from "../domain/Job.js"
import { AppConfig } from "./AppConfig.js"

const REQUEST_TIMEOUT = Duration.seconds(10)
// GitHub allows 20 hooks per repository; the bound only stops a server whose `Link: rel="next"` never ends.
const MAX_PAGES = 50
const HEADERS = {
  accept: "application/vnd.github+json",
  "x-github-api-version": "2022-11-28",
  "user-agent": "kotadb-control-plane"
}

export class GitHubHookError extends Data.TaggedError("GitHubHookError")<{
  readonly message: string
  readonly retryable: boolean
  readonly status?: number
}> {
  toJobError(): JobError {
    return this.retryable
      ? new RetryableJobError({ message: this.message })
      : new PermanentJobError({ message: this.message })
  }
}

export interface EnsureHookInput {
  readonly owner: string
  readonly repo: string
  /** Our delivery URL; an existing hook with this `config.url` is the one reconciled. */
  readonly url: string
  readonly secret: Redacted.Redacted<string>
}

export interface EnsuredHook {
  readonly hookId: number
  readonly created: boolean
}

const Created = Schema.Struct({ id: Schema.Number })
const Hooks = Schema.Array(Schema.Struct({
  id: Schema.Number,
  config: Schema.Struct({ url: Schema.optional(Schema.String) })
}))
const ErrorBody = Schema.Struct({
  message: Schema.String,
  errors: Schema.optional(Schema.Array(Schema.Struct({ message: Schema.optional(Schema.String) })))
})

/** `: <message>: <errors[].message>` from GitHub's error body, or nothing when there is none. */
const githubDetail = (response: HttpClientResponse.HttpClientResponse) =>
  HttpClientResponse.schemaBodyJson(ErrorBody)(response).pipe(
    Effect.map((body) =>
      [body.message, ...(body.errors ?? []).flatMap((e) => e.message === undefined ? [] : [e.message])]
        .map((part) => `: ${part}`).join("")
    ),
    Effect.orElseSucceed(() => "")
  )

const nextLink = (header: string | undefined): string | undefined => {
  for (const part of header?.split(",") ?? []) {
    const match = /<([^>]*)>\s*;\s*rel="([^"]*)"/.exec(part)
    if (match?.[2]?.split(/\s+/).includes("next")) return match[1]
  }
  return undefined
}

export class GitHubHooks extends Effect.Service<GitHubHooks>()("services/GitHubHooks", {
  effect: Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const config = yield* AppConfig
    const apiOrigin = new URL(config.githubApiUrl).origin

    const ensureHook = (input: EnsureHookInput): Effect.Effect<EnsuredHook, GitHubHookError> => {
      const repository = `${input.owner}/${input.repo}`
      const hooksUrl = `${config.githubApiUrl}/repos/${encodeURIComponent(input.owner)}/${
        encodeURIComponent(input.repo)
      }/hooks`
      const permanent = (message: string) => new GitHubHookError({ message, retryable: false })

      const failed = (what: string, response: HttpClientResponse.HttpClientResponse) =>
        Effect.flatMap(githubDetail(response), (detail) => {
          const status = response.status
          // GitHub signals rate limits with 403 as well as 429; those clear with time.
          const rateLimited = status === 429 ||
            (status === 403 && (response.headers["x-ratelimit-remaining"] === "0" ||
              response.headers["retry-after"] !== undefined))
          const access = !rateLimited && (status === 401 || status === 403 || status === 404)
            ? `; check that GITHUB_WEBHOOK_TOKEN is valid, may administer webhooks and can access ${repository}`
            : ""
          return new GitHubHookError({
            message: `${what} for ${repository}: GitHub answered ${status}${detail}${access}`,
            retryable: rateLimited || status >= 500,
            status
          })
        })

      const exchange = <A>(
        what: string,
        request: HttpClientRequest.HttpClientRequest,
        onResponse: (
          response: HttpClientResponse.HttpClientResponse
        ) => Effect.Effect<A, GitHubHookError | HttpClientError.ResponseError | ParseResult.ParseError>
      ) =>
        client.execute(request).pipe(
          Effect.flatMap(onResponse),
          Effect.catchTags({
            RequestError: (error) =>
              new GitHubHookError({ message: `${what} for ${repository}: ${error.message}`, retryable: true }),
            ResponseError: (error) =>
              new GitHubHookError({
                message: `${what} for ${repository}: ${error.message}`,
                retryable: true,
                status: error.response.status
              }),
            // A ParseError quotes the body it rejected; keep response content out of messages.
            ParseError: () => permanent(`${what} for ${repository}: GitHub answered with an unexpected body`)
          }),
          Effect.timeoutFail({
            duration: REQUEST_TIMEOUT,
            onTimeout: () =>
              new GitHubHookError({
                message: `${what} for ${repository}: GitHub did not answer within ${Duration.format(REQUEST_TIMEOUT)}`,
                retryable: true
              })
          })
        )

      const withHookBody = (token: Redacted.Redacted<string>) => (request: HttpClientRequest.HttpClientRequest) =>
        request.pipe(
          HttpClientRequest.bearerToken(token),
          HttpClientRequest.setHeaders(HEADERS),
          HttpClientRequest.bodyUnsafeJson({
            name: "web",
            active: true,
            events: ["push", "pull_request"],
            config: { url: input.url, content_type: "json", secret: Redacted.value(input.secret), insecure_ssl: "0" }
          })
        )

      const listPage = (token: Redacted.Redacted<string>, url: URL) =>
        exchange(
          "listing hooks",
          HttpClientRequest.get(url).pipe(HttpClientRequest.bearerToken(token), HttpClientRequest.setHeaders(HEADERS)),
          (response) =>
            response.status === 200
              ? Effect.map(HttpClientResponse.schemaBodyJson(Hooks)(response), (hooks) => ({
                hooks,
                next: nextLink(response.headers.link)
              }))
              : failed("listing hooks", response)
        )

      const findHook = (token: Redacted.Redacted<string>, refusal: string) =>
        Effect.gen(function*() {
          let next: string | undefined = `${hooksUrl}?per_page=100`
          for (let page = 0; next !== undefined; page++) {
            if (page === MAX_PAGES) return yield* permanent(`listing hooks for ${repository}: over ${MAX_PAGES} pages`)
            const url: URL = new URL(next, apiOrigin)
            // The token goes wherever `Link` points, so only ever to the configured API's origin.
            if (url.origin !== apiOrigin) {
              return yield* permanent(`listing hooks for ${repository}: GitHub linked to a foreign origin`)
            }
            const listed = yield* listPage(token, url)
            const found = listed.hooks.find((hook) => hook.config.url === input.url)
            if (found !== undefined) return found.id
            next = listed.next
          }
          return yield* permanent(
            `creating the webhook for ${repository} was refused (422${refusal}) but no hook has url ${input.url}`
          )
        })

      return Effect.gen(function*() {
        const token = yield* Option.match(config.githubWebhookToken, {
          onNone: () => permanent(`GITHUB_WEBHOOK_TOKEN is not set: cannot create the webhook for ${repository}`),
          onSome: Effect.succeed
        })
        const body = withHookBody(token)

        const created = yield* exchange<Either.Either<number, string>>(
          "creating the webhook",
          body(HttpClientRequest.post(hooksUrl)),
          (response) =>
            response.status === 201
              ? Effect.map(HttpClientResponse.schemaBodyJson(Created)(response), (hook) => Either.right(hook.id))
              : response.status === 422
              ? Effect.map(githubDetail(response), Either.left)
              : failed("creating the webhook", response)
        )
        if (Either.isRight(created)) return { hookId: created.right, created: true }

        const hookId = yield* findHook(token, created.left)
        yield* exchange(
          "updating the webhook",
          body(HttpClientRequest.patch(`${hooksUrl}/${hookId}`)),
          (response) => response.status === 200 ? Effect.void : failed("updating the webhook", response)
        )
        yield* Effect.logInfo("reconciled the existing GitHub webhook").pipe(Effect.annotateLogs({ hookId }))
        return { hookId, created: false }
      }).pipe(
        Effect.withSpan("GitHubHooks.ensureHook", { attributes: { owner: input.owner, repo: input.repo } })
      )
    }

    return { ensureHook } as const
  }),
  dependencies: []
}) {}
