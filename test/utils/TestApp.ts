import { HttpApiClient, HttpLayerRouter, HttpServer } from "@effect/platform"
import { NodeHttpClient, NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer } from "effect"
import { Api } from "../../src/http/Api.js"
import { createNodeServer, NodeRoutes } from "../../src/http/NodeServer.js"
import { WebhooksNodeRouteLive } from "../../src/http/Webhooks/NodeRoute.js"
import type { DatabaseUrl } from "../../src/layers/EmbeddedPostgres.js"
import { RoutesLive } from "../../src/layers/Http.js"
import { ServicesLive } from "../../src/layers/Services.js"
import { SqlLive } from "../../src/layers/Sql.js"
import { AppConfig } from "../../src/services/AppConfig.js"
import { TestDatabaseLive } from "./TestDatabase.js"

/** The secrets key of every test process, so that no test writes a development key under `.data/`. */
export const TEST_SECRETS_KEY = Buffer.alloc(32, 1).toString("base64")

/** `AppConfig` from a map instead of the environment. */
export const testConfig = (env: Record<string, string> = {}) =>
  AppConfig.Default.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(
    new Map(Object.entries({ SECRETS_ENCRYPTION_KEY: TEST_SECRETS_KEY, ...env }))
  ))))

/** SQL, migrations, services and config over a database of the caller's (`DatabaseUrl`). */
export const testServices = (env: Record<string, string> = {}) =>
  ServicesLive.pipe(Layer.provideMerge(SqlLive), Layer.provideMerge(testConfig(env)))

/** `NodeHttpServer.layerTest`, but over the production node:http server factory and its node routes. */
const testServer = HttpServer.layerTestClient.pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: false })),
  Layer.provideMerge(
    Layer.unwrapEffect(
      Effect.map(NodeRoutes, (routes) => NodeHttpServer.layer(() => createNodeServer(undefined, routes), { port: 0 }))
    ).pipe(Layer.provide(WebhooksNodeRouteLive))
  )
)

/** The real router on a real loopback HTTP server, by default over a fresh database of the test file's own. */
export const testApp = <ROut = never, E = never, R = never>(
  env: Record<string, string> = {},
  database: Layer.Layer<DatabaseUrl | ROut, E, R> = TestDatabaseLive as Layer.Layer<DatabaseUrl | ROut, E, R>
) =>
  HttpLayerRouter.serve(RoutesLive, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(testServer),
    Layer.provideMerge(testServices(env)),
    Layer.provideMerge(database)
  )

export const apiClient = HttpApiClient.make(Api)
