import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import type { GitHubHookError } from "../../src/services/GitHubHooks.js"
import { GitHubHooks } from "../../src/services/GitHubHooks.js"
import type { FakeGitHub } from "../utils/FakeGitHub.js"
import { fakeGitHub } from "../utils/FakeGitHub.js"
import { testConfig } from "../utils/TestApp.js"

const SECRET = "whsec-do-not-leak-4f9a2c"
const DELIVERY = "https://control.example.test/webhooks/github"
const input = { owner: "acme", repo: "widgets", url: DELIVERY, secret: Redacted.make(SECRET) }

const ensureHook = (fake: FakeGitHub, env: Record<string, string> = { GITHUB_WEBHOOK_TOKEN: "t0ken" }) =>
  Effect.flatMap(GitHubHooks, (hooks) => hooks.ensureHook(input)).pipe(
    Effect.provide(GitHubHooks.Default.pipe(
      Layer.provide(testConfig({ GITHUB_API_URL: fake.url, ...env })),
      Layer.provide(FetchHttpClient.layer),
      Layer.orDie
    ))
  )

const failure = (fake: FakeGitHub, env?: Record<string, string>) =>
  Effect.flip(ensureHook(fake, env)).pipe(Effect.tap(expectNoSecret))

const expectNoSecret = (error: GitHubHookError) => {
  expect(error.message).not.toContain(SECRET)
  expect(JSON.stringify(error)).not.toContain(SECRET)
  expect(String(error)).not.toContain(SECRET)
}

describe("GitHubHooks.ensureHook", () => {
  it.scoped("creates the hook with our events and secret", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      const result = yield* ensureHook(fake)
      const [hook] = fake.hooks("acme", "widgets")
      expect(result).toEqual({ hookId: hook?.id, created: true })
      expect(hook).toMatchObject({
        active: true,
        events: ["push", "pull_request"],
        config: { url: DELIVERY, secret: SECRET, content_type: "json", insecure_ssl: "0" }
      })
      expect(fake.requests).toEqual([
        { method: "POST", path: "/repos/acme/widgets/hooks", authorization: "Bearer t0ken" }
      ])
    }))

  it.scoped("reconciles a 422 with the existing hook on page 2 and updates its secret", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub({ perPage: 30 })
      fake.seedHooks("acme", "widgets", 35)
      const ours = fake.addHook("acme", "widgets", {
        config: { url: DELIVERY, secret: "old-secret" },
        events: ["push"]
      })

      expect(yield* ensureHook(fake)).toEqual({ hookId: ours.id, created: false })
      expect(fake.hooks("acme", "widgets")).toHaveLength(36)
      expect(ours.events).toEqual(["push", "pull_request"])
      expect(ours.config.secret).toBe(SECRET)
      expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
        "POST /repos/acme/widgets/hooks",
        "GET /repos/acme/widgets/hooks?per_page=100",
        "GET /repos/acme/widgets/hooks?per_page=30&page=2",
        `PATCH /repos/acme/widgets/hooks/${ours.id}`
      ])
    }))

  it.scoped("fails permanently when a 422 leaves no hook with our url on any page", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub({ perPage: 30 })
      fake.seedHooks("acme", "widgets", 35)
      fake.failNext(1, 422)
      const error = yield* failure(fake)
      expect(error.retryable).toBe(false)
      expect(error.message).toContain(DELIVERY)
      expect(fake.requests.filter((r) => r.method === "GET")).toHaveLength(2)
    }))

  it.scoped("a 502 is retryable", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      fake.failNext(1, 502)
      const error = yield* failure(fake)
      expect(error).toMatchObject({ retryable: true, status: 502 })
      expect(error.message).toContain("fake failure 502")
    }))

  it.scoped("429 and 5xx are retryable; other 4xx are not", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub({ knownRepos: ["someone/else"] })
      for (const [status, retryable] of [[429, true], [500, true], [503, true], [400, false], [403, false]] as const) {
        fake.failNext(1, status)
        expect(yield* failure(fake)).toMatchObject({ retryable, status })
      }
      expect(yield* failure(fake)).toMatchObject({ retryable: false, status: 404 })
    }))

  it.scoped("a wrong token is a permanent 401 that names GITHUB_WEBHOOK_TOKEN", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub({ token: "t0ken" })
      const error = yield* failure(fake, { GITHUB_WEBHOOK_TOKEN: "wrong" })
      expect(error).toMatchObject({ retryable: false, status: 401 })
      expect(error.message).toContain("401")
      expect(error.message).toContain("Bad credentials")
      expect(error.message).toContain("GITHUB_WEBHOOK_TOKEN")
      expect(error.message).not.toContain("wrong")
    }))

  it.scoped("without a token it fails permanently before any request", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      const error = yield* failure(fake, {})
      expect(error.retryable).toBe(false)
      expect(error.message).toContain("GITHUB_WEBHOOK_TOKEN")
      expect(fake.requests).toEqual([])
    }))

  it.scoped("a request unanswered for 10 seconds is retryable", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      fake.stallNext(1)
      const fiber = yield* Effect.fork(failure(fake))
      while (fake.requests.length === 0) {
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
      }
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error.retryable).toBe(true)
      expect(error.message).toContain("did not answer")
    }))

  it.scoped("a refused connection is retryable", () =>
    Effect.gen(function*() {
      const fake = yield* fakeGitHub()
      yield* Effect.promise(() => fake.close())
      expect(yield* failure(fake)).toMatchObject({ retryable: true })
    }))
})
