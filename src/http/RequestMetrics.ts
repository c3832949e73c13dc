import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { Metrics, tagger } from "../services/Metrics.js"
import { Api } from "./Api.js"

const EXTRA_ROUTES: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/openapi.json"],
  ["GET", "/docs"],
  ["GET", "/docs/scalar.js"]
]

/**
 * Counts and times every request by route template (never the raw URL, whose ids would make one
 * series per repository), method and status, and names the route on the request's span.
 */
export const RequestMetricsLive = HttpLayerRouter.middleware(
  Effect.sync(() => {
    const routes = HttpLayerRouter.FindMyWay.make<string>({ ignoreTrailingSlash: false })
    HttpApi.reflect(Api, {
      onGroup: () => {},
      onEndpoint: ({ endpoint }) => routes.on(endpoint.method as "GET", endpoint.path as "/", endpoint.path)
    })
    for (const [method, path] of EXTRA_ROUTES) routes.on(method as "GET", path as "/", path)
    const requests = tagger(Metrics.httpRequests, "route", "method", "status")
    const durations = tagger(Metrics.httpDuration, "route")

    // Every request passes here: plain steps rather than a generator.
    return (app) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const started = performance.now()
        const route = routes.find(request.method as "GET", request.url.split("?")[0]!)?.handler ?? "unmatched"
        const counted = Effect.flatMap(Effect.exit(app), (exit) => {
          const status = Exit.isSuccess(exit) ? exit.value.status : 500
          requests(route, request.method, String(status)).unsafeUpdate(1, [])
          durations(route).unsafeUpdate((performance.now() - started) / 1000, [])
          return exit
        })
        return route === "unmatched"
          ? counted
          : Effect.zipRight(Effect.annotateCurrentSpan("http.route", route), counted)
      })
  }),
  { global: true }
)
