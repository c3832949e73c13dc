import { Layer } from "effect"
import { Health } from "../services/Health.js"
import { JobStore } from "../services/stores/JobStore.js"

/** Stores and services over a `SqlClient` and `AppConfig` that the caller provides. */
export const ServicesLive = Health.Default.pipe(
  Layer.provideMerge(JobStore.Default)
)
