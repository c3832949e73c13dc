import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parse } from "yaml"
import { projectRoot } from "../utils/ServerProcess.js"

// GitHub Actions cannot run here: .ci/run checks the workflows against the Actions schema, and these
// checks hold what they do to the project (the scripts they call, the order of a release).

interface Step {
  readonly name?: string
  readonly uses?: string
  readonly run?: string
  readonly env?: Record<string, string>
}
interface Job {
  readonly needs?: string | ReadonlyArray<string>
  readonly uses?: string
  readonly environment?: { readonly name: string }
  readonly services?: Record<string, { readonly image: string; readonly ports?: ReadonlyArray<string> }>
  readonly steps?: ReadonlyArray<Step>
}
interface Workflow {
  readonly on: Record<string, unknown>
  readonly jobs: Record<string, Job>
}

const read = (path: string) => readFileSync(join(projectRoot, path), "utf8")
const workflow = (name: string) => parse(read(`.github/workflows/${name}`)) as Workflow
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts

/** Index of the first step whose `run` matches. */
const stepIndex = (steps: ReadonlyArray<Step>, pattern: RegExp) => steps.findIndex((s) => pattern.test(s.run ?? ""))

describe("GitHub workflows", () => {
  it("ci.yml runs .ci/run against a Postgres 15 service on the port .ci/run expects", () => {
    const ci = workflow("ci.yml")
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(["push", "pull_request", "workflow_call"]))
    const job = ci.jobs.ci!
    expect(job.services?.postgres?.image).toBe("postgres:15")
    expect(job.services?.postgres?.ports).toContain("5432:5432")
    expect(read(".ci/run")).toContain("127.0.0.1:5432")
    expect(job.steps!.some((s) => s.run?.trim() === ".ci/run")).toBe(true)
    // The runner has what .ci/run calls that npm does not bring.
    expect(job.steps!.some((s) => /apt-get install .*prometheus.*postgresql-client/.test(s.run ?? ""))).toBe(true)
  })

  it("deploy.yml on a tag: CI, then staging, then production, each migrated, deployed, smoked and gated in order", () => {
    const deploy = workflow("deploy.yml")
    expect(deploy.on).toEqual({ push: { tags: ["v*"] } })
    expect(deploy.jobs.ci!.uses).toBe("./.github/workflows/ci.yml")
    expect(deploy.jobs.staging!.needs).toBe("ci")
    expect(deploy.jobs.production!.needs).toBe("staging")
    for (const environment of ["staging", "production"] as const) {
      const job = deploy.jobs[environment]!
      expect(job.environment?.name).toBe(environment)
      const steps = job.steps!
      const secret = `${environment.toUpperCase()}_DATABASE_URL`
      const migrate = stepIndex(steps, new RegExp(`^npm run db:apply -- "\\$${secret}"$`))
      expect(migrate, `${environment}: db:apply`).toBeGreaterThanOrEqual(0)
      expect(steps[migrate]!.env?.[secret]).toBe(`\${{ secrets.${secret} }}`)
      const flyDeploy = stepIndex(steps, /^flyctl deploy /)
      const smoke = stepIndex(steps, /npm run --silent smoke -- .* --json \| tee smoke\.json/)
      const mcp = stepIndex(steps, /npm run --silent smoke -- .* --json --mcp/)
      const gate = stepIndex(steps, /npm run --silent smoke:gate -- --file smoke\.json/)
      expect([migrate, flyDeploy, smoke, mcp, gate].every((i) => i >= 0), environment).toBe(true)
      expect(migrate < flyDeploy && flyDeploy < smoke && smoke < gate && flyDeploy < mcp).toBe(true)
      // A failing smoke must fail its step, not be swallowed by tee.
      for (const i of [smoke, mcp]) expect(steps[i]!.run).toContain("set -o pipefail")
      // Every option the gate is given is one it knows.
      const gateSource = read("scripts/smoke-gate.ts")
      for (const [flag] of steps[gate]!.run!.matchAll(/--max-[a-z-]+/g)) expect(gateSource).toContain(`"${flag}"`)
    }
    for (const script of ["db:apply", "smoke", "smoke:gate"]) expect(scripts[script], script).toBeDefined()
  })
})
