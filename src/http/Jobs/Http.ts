import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as Effect from "effect/Effect"
import { Jobs } from "../../services/Jobs.js"
import { Api } from "../Api.js"
import { asUser } from "../Auth/asUser.js"

export const JobsHttpLive = HttpApiBuilder.group(Api, "jobs", (handlers) =>
  Effect.gen(function*() {
    const jobs = yield* Jobs
    return handlers
      .handle("getJob", ({ path }) => asUser((user) => jobs.get(path.id, user)))
      .handle("listRepositoryJobs", ({ path, urlParams }) =>
        asUser((user) => jobs.listForRepository(path.id, user, urlParams.limit ?? 50)))
      .handle("cancelJob", ({ path }) =>
        asUser((user) => jobs.cancel(path.id, user)))
      .handle("retryJob", ({ path }) => asUser((user) => jobs.retry(path.id, user)))
      .handle("indexStatus", ({ urlParams }) => asUser((user) => jobs.legacyStatus(urlParams.job_id, user)))
  }))
