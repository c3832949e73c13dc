import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Effect } from "effect"
import type { CreateApiKey } from "../../src/domain/ApiKey.js"
import { ApiKeyAdmin } from "../../src/services/ApiKeyAdmin.js"

/** Issues a key for a new user through the real admin service. */
export const createKey = (options: Omit<Partial<CreateApiKey>, "user_email"> & { readonly user_email?: string } = {}) =>
  Effect.flatMap(
    ApiKeyAdmin,
    (admin) => admin.create({ user_email: `${crypto.randomUUID()}@example.test`, ...options })
  )

/** `GET path` on the test server with the given headers. */
export const get = (path: string, headers: Record<string, string> = {}) =>
  Effect.flatMap(
    HttpClient.HttpClient,
    (client) => client.execute(HttpClientRequest.get(path).pipe(HttpClientRequest.setHeaders(headers)))
  )

export const withKey = (key: string) => ({ "x-api-key": key })
