import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { createHmac, timingSafeEqual } from "node:crypto"
import type { JobId } from "../domain/Job.js"
import type { RepositoryId } from "../domain/Repository.js"
import { RepositoryNotFound } from "../domain/Repository.js"
import type { WebhookOutcome } from "../domain/Webhook.js"
import { InvalidDelivery, InvalidSignature } from "../domain/Webhook.js"
import { AppConfig } from "./AppConfig.js"
import { Metrics, tagger } from "./Metrics.js"
import { SecretBox } from "./SecretBox.js"
import type { WebhookTarget } from "./stores/RepositoryStore.js"
import { RepositoryStore } from "./stores/RepositoryStore.js"
import type { IncomingDelivery } from "./stores/WebhookStore.js"
import { WebhookStore } from "./stores/WebhookStore.js"
import { spanWhen } from "./TraceContext.js"

const CACHE_TTL_MS = 30_000
const MAX_CACHED = 10_000
/** Deliveries remembered as seen by this process (a few MB at most): see `seen` below. */
const MAX_SEEN = 50_000
const MAX_HINT_PATHS = 1_000
const REDACTED_HEADERS = new Set(["x-hub-signature", "x-hub-signature-256", "authorization", "cookie", "x-api-key"])
const ZERO_SHA = /^0{40}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/**
 * A plausible X-GitHub-Event: GitHub's event names are lower-case words joined by underscores, some with
 * digits (`projects_v2_item`). Names GitHub adds later pass too, and are recorded as ignored.
 */
export const EVENT_NAME = /^[a-z][a-z0-9_]{0,99}$/
/** A `\u0000` or surrogate escape in JSON text: jsonb refuses U+0000 and lone surrogates. */
const UNSAFE_ESCAPE = /\\u(?:0000|[dD][89a-fA-F])/

interface Target {
  readonly repository: WebhookTarget
  readonly secret: Option.Option<Redacted.Redacted<string>>
  readonly expiresAt: number
}

export interface Delivery {
  readonly repositoryId: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Uint8Array
}

export interface Accepted {
  readonly httpStatus: 200 | 202
  readonly body: WebhookOutcome
}

export const verifySignature = (secret: Redacted.Redacted<string>, body: Uint8Array, header: string | undefined) => {
  if (header === undefined || !header.startsWith("sha256=")) return false
  const given = Buffer.from(header.slice(7), "hex")
  const expected = createHmac("sha256", Redacted.value(secret)).update(body).digest()
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** A surrogate that is not half of a pair. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** A string jsonb can hold: U+0000 and lone surrogates become U+FFFD. */
const storable = (text: string) => text.replace(LONE_SURROGATE, "\ufffd").replaceAll("\u0000", "\ufffd")

const storableValue = (value: unknown): unknown => {
  if (typeof value === "string") return storable(value)
  if (Array.isArray(value)) return value.map(storableValue)
  if (typeof value !== "object" || value === null) return value
  const copy: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) copy[storable(key)] = storableValue(inner)
  return copy
}

/**
 * The payload, parsed, and the JSON text for the `payload` jsonb column: as received, unless it holds
 * an escape jsonb refuses (U+0000, a lone surrogate: GitHub sends both in commit messages). Then the
 * text is serialised again with those characters replaced by U+FFFD, or is null when that fails (nested
 * too deep to walk). The exact bytes are stored beside it either way (`payload_raw`).
 */
const parseBody = (body: Uint8Array, contentType: string | undefined) => {
  let json: string | null = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8")
  // A hook configured with content type "form" sends the JSON in a `payload` form field.
  if (contentType?.startsWith("application/x-www-form-urlencoded")) {
    json = new URLSearchParams(json).get("payload") ?? ""
  }
  const value = JSON.parse(json) as unknown
  const unsafe = UNSAFE_ESCAPE.test(json)
  if (unsafe) {
    try {
      json = JSON.stringify(storableValue(value))
    } catch {
      json = null
    }
  }
  return { json, value, unsafe }
}

const pathsOf = (commits: unknown, key: "added" | "modified" | "removed") => {
  const paths = new Set<string>()
  if (!Array.isArray(commits)) return []
  for (const commit of commits) {
    const list = (commit as Record<string, unknown> | null)?.[key]
    if (!Array.isArray(list)) continue
    for (const path of list) if (typeof path === "string" && paths.size < MAX_HINT_PATHS) paths.add(path)
  }
  return [...paths]
}

type Routing =
  | { readonly kind: "pong" }
  | { readonly kind: "ignored" }
  | { readonly kind: "job"; readonly payload: Record<string, unknown> }

/** What a verified event asks for: a `webhook_update` for a push to a tracked branch, else nothing. */
const route = (event: string, payload: unknown, repository: WebhookTarget): Routing => {
  if (event === "ping") return { kind: "pong" }
  if (event !== "push" || typeof payload !== "object" || payload === null) return { kind: "ignored" }
  const push = payload as Record<string, unknown>
  const ref = typeof push.ref === "string" ? push.ref : ""
  if (!ref.startsWith("refs/heads/") || push.deleted === true) return { kind: "ignored" }
  const after = typeof push.after === "string" ? push.after : ""
  if (!/^[0-9a-f]{40}$/.test(after) || ZERO_SHA.test(after)) return { kind: "ignored" }
  const branch = ref.slice("refs/heads/".length)
  const repo = push.repository as Record<string, unknown> | undefined
  const defaultBranch = repository.defaultBranch ??
    (typeof repo?.default_branch === "string" ? repo.default_branch : "main")
  const extra = Array.isArray(repository.settings.branches) ? repository.settings.branches : []
  if (branch !== defaultBranch && !extra.includes(branch)) return { kind: "ignored" }
  const before = typeof push.before === "string" && /^[0-9a-f]{40}$/.test(push.before) && !ZERO_SHA.test(push.before)
    ? push.before
    : null
  return {
    kind: "job",
    payload: {
      ref,
      branch,
      before,
      after,
      forced: push.forced === true,
      // A hint only: the indexer computes the real change set with git.
      changed: {
        added: pathsOf(push.commits, "added"),
        modified: pathsOf(push.commits, "modified"),
        removed: pathsOf(push.commits, "removed")
      }
    }
  }
}

/**
 * GitHub deliveries: the signature is checked against the repository's secret (cached per process,
 * evicted on rotation or deletion by NOTIFY) before anything is written; then one round trip records
 * the delivery, deduplicated by its id, and enqueues its job. A copy of a delivery this process has
 * seen is answered by a cheaper lookup (see `seen`).
 */
export class Webhooks extends Effect.Service<Webhooks>()("services/Webhooks", {
  scoped: Effect.gen(function*() {
    const repositories = yield* RepositoryStore
    const deliveries = yield* WebhookStore
    const box = yield* SecretBox
    const cache = new Map<string, Target>()
    const deliveriesCounter = tagger(Metrics.webhookDeliveries, "outcome")
    const span = spanWhen((yield* AppConfig).tracesExported, "Webhooks.receive")

    yield* repositories.changes.pipe(
      Stream.runForEach((id) => Effect.sync(() => cache.delete(id))),
      Effect.catchAllCause((cause) =>
        Effect.sync(() => cache.clear()).pipe(
          Effect.zipRight(Effect.logWarning("repository change listener stopped; cache cleared", Cause.squash(cause)))
        )
      ),
      Effect.repeat(Schedule.exponential("200 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))),
      Effect.annotateLogs({ service: "Webhooks" }),
      Effect.forkScoped
    )

    const load = (id: RepositoryId) =>
      Effect.gen(function*() {
        const found = yield* repositories.webhookTarget(id)
        if (Option.isNone(found)) {
          cache.delete(id)
          return Option.none<Target>()
        }
        const sealed = found.value.sealed
        const secret = sealed === null ? Option.none() : Option.some(yield* Effect.orDie(box.open(sealed)))
        if (cache.size >= MAX_CACHED) cache.clear()
        const entry: Target = { repository: found.value, secret, expiresAt: Date.now() + CACHE_TTL_MS }
        cache.set(id, entry)
        return Option.some(entry)
      })

    /** `then` with the repository's target: called at once when it is cached, with no Effect step. */
    const withTarget = <A, E>(
      id: string,
      then: (found: Option.Option<Target>) => Effect.Effect<A, E>
    ): Effect.Effect<A, E> => {
      if (!UUID.test(id)) return then(Option.none())
      const cached = cache.get(id)
      return cached !== undefined && cached.expiresAt > Date.now()
        ? then(Option.some(cached))
        : Effect.flatMap(load(id as RepositoryId), then)
    }

    /**
     * Delivery ids this process has recorded or answered. A copy of one is first looked up (a small
     * statement, without the payload, Postgres's JSON parsing or ours) and answered as a duplicate when
     * its delivery is there and has not failed. The database stays the only judge, so this is correct
     * whatever other processes did meanwhile: a delivery that failed since, or that is gone, takes the
     * full path, where `webhook_receive` decides atomically (a failed one runs again, once). Copies a
     * process has not seen take the full path directly, so a new delivery still costs one round trip.
     */
    const seen = new Set<string>()
    const remember = (key: string) => {
      if (seen.has(key)) return
      if (seen.size >= MAX_SEEN) seen.delete(seen.values().next().value!)
      seen.add(key)
    }

    const duplicate = (jobId: JobId | null): Accepted => ({
      httpStatus: 200,
      body: jobId === null ? { status: "duplicate" } : { status: "duplicate", job_id: jobId }
    })

    const record = (
      delivery: Delivery,
      repository: WebhookTarget,
      deliveryId: string,
      event: string,
      key: string
    ): Effect.Effect<Accepted, InvalidDelivery> => {
      let payload: ReturnType<typeof parseBody>
      try {
        payload = parseBody(delivery.body, delivery.headers["content-type"])
      } catch {
        return Effect.fail(new InvalidDelivery({ message: "the body is not a JSON payload" }))
      }
      const routing = route(event, payload.value, repository)
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(delivery.headers)) {
        if (value !== undefined) headers[name] = REDACTED_HEADERS.has(name) ? "[redacted]" : value
      }
      const incoming: IncomingDelivery = {
        repositoryId: repository.id,
        deliveryId,
        eventType: event,
        payloadJson: payload.json,
        payloadRaw: delivery.body,
        headers,
        job: routing.kind === "job"
          ? {
            type: "webhook_update",
            // Its strings end up in jsonb too (a path is a hint only: the indexer asks git for the real ones).
            payload: {
              ...(payload.unsafe ? storableValue(routing.payload) as object : routing.payload),
              delivery_id: deliveryId
            }
          }
          : null,
        statusWithoutJob: routing.kind === "pong" ? "processed" : "ignored"
      }
      return Effect.map(deliveries.receive(incoming), (received): Accepted => {
        remember(key)
        if (received.duplicate) return duplicate(received.jobId)
        const jobId = received.jobId === null ? {} : { job_id: received.jobId as JobId }
        if (routing.kind === "pong") return { httpStatus: 200, body: { status: "pong" } }
        if (routing.kind === "ignored") return { httpStatus: 200, body: { status: `ignored:${event}` } }
        return { httpStatus: 202, body: { status: "queued", ...jobId } }
      })
    }

    /**
     * Everything up to the database call is plain code returning the effect to run: on the busiest
     * route, the dozen Effect steps it replaced were measurably slower (bench/README.md, webhooks).
     */
    const accept = (
      delivery: Delivery,
      { repository, secret }: Target
    ): Effect.Effect<Accepted, InvalidSignature | InvalidDelivery> => {
      const signature = delivery.headers["x-hub-signature-256"]
      if (Option.isNone(secret) || !verifySignature(secret.value, delivery.body, signature)) {
        // Usually a secret rotated here but not on GitHub's side: worth an operator's look.
        return Effect.logWarning("webhook signature refused").pipe(
          Effect.annotateLogs({ repository_id: repository.id, signature_present: signature !== undefined }),
          Effect.zipRight(Effect.fail(
            new InvalidSignature({
              message: signature === undefined ? "missing X-Hub-Signature-256" : "X-Hub-Signature-256 does not match"
            })
          ))
        )
      }

      const deliveryId = delivery.headers["x-github-delivery"]
      const event = delivery.headers["x-github-event"]
      if (deliveryId === undefined || deliveryId === "" || deliveryId.length > 200) {
        return Effect.fail(new InvalidDelivery({ message: "missing or invalid X-GitHub-Delivery" }))
      }
      if (event === undefined || !EVENT_NAME.test(event)) {
        return Effect.fail(new InvalidDelivery({ message: "missing or invalid X-GitHub-Event" }))
      }
      const key = `${repository.id} ${deliveryId}`
      return seen.has(key)
        ? Effect.flatMap(
          deliveries.state(repository.id, deliveryId),
          (state): Effect.Effect<Accepted, InvalidDelivery> =>
            state === undefined || state.status === "failed"
              ? record(delivery, repository, deliveryId, event, key)
              : Effect.succeed(duplicate(state.jobId))
        )
        : record(delivery, repository, deliveryId, event, key)
    }

    const receive = (
      delivery: Delivery
    ): Effect.Effect<Accepted, RepositoryNotFound | InvalidSignature | InvalidDelivery> =>
      withTarget(
        delivery.repositoryId,
        (found): Effect.Effect<Accepted, RepositoryNotFound | InvalidSignature | InvalidDelivery> =>
          Option.isSome(found)
            ? accept(delivery, found.value)
            : Effect.fail(new RepositoryNotFound({ message: `no repository ${delivery.repositoryId}` }))
      ).pipe(
        Effect.tapBoth({
          onFailure: (error) => Effect.sync(() => deliveriesCounter(error._tag).unsafeUpdate(1, [])),
          onSuccess: (accepted) =>
            Effect.sync(() => deliveriesCounter(accepted.body.status.split(":")[0]!).unsafeUpdate(1, []))
        }),
        span
      )

    return { receive } as const
  })
}) {}
