import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Layer from "effect/Layer"
import { ApiKey } from "../services/ApiKey.js"
import { ApiKeyAdmin } from "../services/ApiKeyAdmin.js"
import { CodeNavigation } from "../services/CodeNavigation.js"
import { CodeSearch } from "../services/CodeSearch.js"
import { Git } from "../services/Git.js"
import { GitHubHooks } from "../services/GitHubHooks.js"
import { Health } from "../services/Health.js"
import { Jobs } from "../services/Jobs.js"
import { Repositories } from "../services/Repositories.js"
import { Retention } from "../services/Retention.js"
import { SearchAdmission } from "../services/SearchAdmission.js"
import { SecretBox } from "../services/SecretBox.js"
import { ApiKeyStore } from "../services/stores/ApiKeyStore.js"
import { IndexedFileStore } from "../services/stores/IndexedFileStore.js"
import { JobStore } from "../services/stores/JobStore.js"
import { RepositoryStore } from "../services/stores/RepositoryStore.js"
import { UsageStore } from "../services/stores/UsageStore.js"
import { UserStore } from "../services/stores/UserStore.js"
import { WebhookStore } from "../services/stores/WebhookStore.js"
import { UsageRecorder } from "../services/UsageRecorder.js"
import { Webhooks } from "../services/Webhooks.js"
import { WorkerStatus } from "../services/WorkerStatus.js"
import { IndexingLive } from "./Indexing.js"
import { SecretsKeyLive } from "./Secrets.js"

const StoresLive = Layer.mergeAll(
  JobStore.Default,
  ApiKeyStore.Default,
  UsageStore.Default,
  UserStore.Default,
  RepositoryStore.Default,
  WebhookStore.Default,
  IndexedFileStore.Default
)

/** Stores and services over a `SqlClient`/`PgClient` and `AppConfig` that the caller provides. */
export const ServicesLive = Layer.mergeAll(
  Health.Default,
  ApiKey.Default,
  ApiKeyAdmin.Default,
  UsageRecorder.Default,
  Jobs.Default,
  Repositories.Default,
  Webhooks.Default,
  GitHubHooks.Default.pipe(Layer.provide(FetchHttpClient.layer)),
  IndexingLive,
  CodeSearch.Default,
  CodeNavigation.Default,
  Retention.Default
)
  .pipe(
    Layer.provideMerge(StoresLive),
    Layer.provideMerge(SearchAdmission.Default),
    Layer.provideMerge(SecretBox.Default.pipe(Layer.provide(SecretsKeyLive))),
    Layer.provideMerge(Git.Default),
    Layer.provideMerge(WorkerStatus.Default)
  )
