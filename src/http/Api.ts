import * as HttpApi from "@effect/platform/HttpApi"
import * as OpenApi from "@effect/platform/OpenApi"
import { AdminApi } from "./Admin/Api.js"
import { HealthApi } from "./Health/Api.js"
import { JobsApi } from "./Jobs/Api.js"
import { McpApi } from "./Mcp/Api.js"
import { NavigationApi } from "./Navigation/Api.js"
import { RepositoriesApi } from "./Repositories/Api.js"
import { SearchApi } from "./Search/Api.js"
import { SymbolsApi } from "./Symbols/Api.js"
import { UsageApi } from "./Usage/Api.js"
import { WebhooksApi } from "./Webhooks/Api.js"

export class Api extends HttpApi.make("kotadb")
  .add(HealthApi)
  .add(UsageApi)
  .add(RepositoriesApi)
  .add(JobsApi)
  .add(SearchApi)
  .add(NavigationApi)
  .add(SymbolsApi)
  .add(WebhooksApi)
  .add(AdminApi)
  .add(McpApi)
  .annotate(OpenApi.Title, "KotaDB control plane")
  .annotate(
    OpenApi.Description,
    "Register git repositories, receive GitHub webhooks, run indexing jobs, search code and navigate it by symbol. " +
      "Every error body is `{ \"_tag\": string, \"message\": string, ... }`."
  )
{}
