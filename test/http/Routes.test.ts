import { HttpClient, HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Validator } from "@seriousme/openapi-schema-validator"
import { Effect } from "effect"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { testApp } from "../utils/TestApp.js"

const request = (method: "GET" | "POST" | "DELETE" | "PUT", path: string) =>
  Effect.flatMap(HttpClient.HttpClient, (client) => client.execute(HttpClientRequest.make(method)(path)))

layer(testApp(), { timeout: "60 seconds", excludeTestServices: true })("routing", (it) => {
  it.effect("an unknown route is a 404 in the one error shape", () =>
    Effect.gen(function*() {
      const response = yield* request("GET", "/no/such/route?x=1")
      expect(response.status).toBe(404)
      expect(yield* response.json).toEqual({ _tag: "RouteNotFound", message: "no route for GET /no/such/route" })
    }))

  it.effect("a known path with the wrong method is a 405 with Allow", () =>
    Effect.gen(function*() {
      for (const path of ["/health", "/health/live", "/openapi.json"]) {
        const response = yield* request("POST", path)
        expect(response.status).toBe(405)
        expect(response.headers["allow"]).toBe("GET")
        expect(yield* response.json).toMatchObject({ _tag: "MethodNotAllowed", allowed: ["GET"] })
      }
      const del = yield* request("DELETE", "/health")
      expect(del.status).toBe(405)
    }))

  it.effect("/openapi.json is a valid OpenAPI 3.1 document", () =>
    Effect.gen(function*() {
      const response = yield* request("GET", "/openapi.json")
      expect(response.status).toBe(200)
      const document = yield* response.json
      expect(document).toMatchObject({ openapi: "3.1.0" })
      const validator = new Validator()
      const result = yield* Effect.promise(() => validator.validate(document as Parameters<Validator["validate"]>[0]))
      expect(result.errors ?? []).toEqual([])
      expect(result.valid).toBe(true)
      expect(validator.version).toBe("3.1")
      expect(Object.keys((document as { paths: object }).paths)).toEqual(
        expect.arrayContaining(["/health", "/health/live"])
      )
    }))

  it.effect("/docs serves the interactive reference", () =>
    Effect.gen(function*() {
      const response = yield* request("GET", "/docs")
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toContain("text/html")
      const html = yield* response.text
      expect(html.includes("KotaDB control plane")).toBe(true)
    }))

  it.effect("/docs loads Scalar's bundle, as @effect/platform ships it, from /docs/scalar.js, cached long", () =>
    Effect.gen(function*() {
      const html = yield* (yield* request("GET", "/docs")).text
      const src = /<script src="([^"]+)"><\/script>/.exec(html)?.[1]
      expect(src).toMatch(/^\/docs\/scalar\.js\?v=/)
      // No CDN: every script of the page is inline or from this origin.
      expect(html).not.toMatch(/<script[^>]+src="(?!\/)/)

      const response = yield* request("GET", src!)
      expect(response.status).toBe(200)
      expect(response.headers["content-type"]).toBe("text/javascript; charset=utf-8")
      expect(response.headers["cache-control"]).toBe("public, max-age=31536000, immutable")
      expect(response.headers["x-content-type-options"]).toBe("nosniff")
      const script = yield* response.text
      const shipped = pathToFileURL(
        join(
          dirname(createRequire(import.meta.url).resolve("@effect/platform/package.json")),
          "dist/esm/internal/httpApiScalar.js"
        )
      ).href
      const { javascript } = (yield* Effect.promise(() => import(shipped))) as { javascript: string }
      expect(script.length).toBe(javascript.length)
      expect(script === javascript).toBe(true)
      // A second request is served from the bytes read by the first.
      expect((yield* (yield* request("GET", "/docs/scalar.js")).text).length).toBe(javascript.length)
      const post = yield* request("POST", "/docs/scalar.js")
      expect(post.status).toBe(405)
      expect(post.headers["allow"]).toBe("GET")
    }))
})
