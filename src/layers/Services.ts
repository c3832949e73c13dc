import { Layer } from "effect"
import { ApiKey } from "../services/ApiKey.js"
import { ApiKeyAdmin } from "../services/ApiKeyAdmin.js"
import { Health } from "../services/Health.js"
import { Jobs } from "../services/Jobs.js"
import { ApiKeyStore } from "../services/stores/ApiKeyStore.js"
import { JobStore } from "../services/stores/JobStore.js"
import { UsageStore } from "../services/stores/UsageStore.js"
import { UserStore } from "../services/stores/UserStore.js"
import { UsageRecorder } from "../services/UsageRecorder.js"
import { WorkerStatus } from "../services/WorkerStatus.js"

const StoresLive = Layer.mergeAll(JobStore.Default, ApiKeyStore.Default, UsageStore.Default, UserStore.Default)

/** Stores and services over a `SqlClient`/`PgClient` and `AppConfig` that the caller provides. */
export const ServicesLive = Layer.mergeAll(
  Health.Default,
  ApiKey.Default,
  ApiKeyAdmin.Default,
  UsageRecorder.Default,
  Jobs.Default
)
  .pipe(
    Layer.provideMerge(StoresLive),
    Layer.provideMerge(WorkerStatus.Default)
  )
