import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as HttpLayerRouter from "@effect/platform/HttpLayerRouter"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AdminHttpLive } from "../http/Admin/Http.js"
import { Api } from "../http/Api.js"
import { AuthenticationLive, InternalAuthenticationLive } from "../http/Auth/Http.js"
import { BodyLimitLive } from "../http/BodyLimit.js"
import { DocsHttpLive } from "../http/Docs.js"
import { ErrorShapeLive } from "../http/ErrorShape.js"
import { HealthHttpLive } from "../http/Health/Http.js"
import { JobsHttpLive } from "../http/Jobs/Http.js"
import { McpHttpLive } from "../http/Mcp/Http.js"
import { NavigationHttpLive } from "../http/Navigation/Http.js"
import { createNodeServer, NodeRoutes } from "../http/NodeServer.js"
import { RepositoriesHttpLive } from "../http/Repositories/Http.js"
import { RequestMetricsLive } from "../http/RequestMetrics.js"
import { SearchHttpLive } from "../http/Search/Http.js"
import { SymbolsHttpLive } from "../http/Symbols/Http.js"
import { UsageHttpLive } from "../http/Usage/Http.js"
import { WebhooksHttpLive } from "../http/Webhooks/Http.js"
import { WebhooksNodeRouteLive } from "../http/Webhooks/NodeRoute.js"
import { McpTools } from "../mcp/McpTools.js"
import { AppConfig } from "../services/AppConfig.js"

/** Every route: the HttpApi groups, `/openapi.json`, `/docs`, and the error-shape middleware. */
export const RoutesLive = Layer.mergeAll(
  HttpLayerRouter.addHttpApi(Api, { openapiPath: "/openapi.json" }).pipe(
    Layer.provide([
      HealthHttpLive,
      UsageHttpLive,
      RepositoriesHttpLive,
      JobsHttpLive,
      SearchHttpLive,
      NavigationHttpLive,
      SymbolsHttpLive,
      WebhooksHttpLive,
      AdminHttpLive,
      McpHttpLive.pipe(Layer.provide(McpTools.Default))
    ]),
    Layer.provide([AuthenticationLive, InternalAuthenticationLive])
  ),
  DocsHttpLive,
  // Listed first, so that it wraps ErrorShape and counts the responses ErrorShape makes (404, 405, 503)
  // with their own status.
  RequestMetricsLive,
  ErrorShapeLive,
  BodyLimitLive
)

/**
 * The node:http server on `PORT` and `HOST`, with the `HTTP_*_TIMEOUT`s and the GitHub webhook served
 * as a node route (src/http/Webhooks/NodeRoute.ts). The route's layer is acquired before the server and
 * released after it has closed, so the deliveries still in flight finish.
 */
export const NodeServerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const config = yield* AppConfig
  const routes = yield* NodeRoutes
  const timeouts = {
    headersTimeout: Math.ceil(Duration.toMillis(config.httpHeadersTimeout)),
    requestTimeout: Math.ceil(Duration.toMillis(config.httpRequestTimeout)),
    keepAliveTimeout: Math.ceil(Duration.toMillis(config.httpKeepAliveTimeout))
  }
  return NodeHttpServer.layer(() => createNodeServer(timeouts, routes), { port: config.port, host: config.host })
})).pipe(Layer.provide(WebhooksNodeRouteLive))

export const HttpLive = HttpLayerRouter.serve(RoutesLive, { disableLogger: true }).pipe(Layer.provide(NodeServerLive))
