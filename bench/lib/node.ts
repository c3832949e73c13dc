// How a bench starts node for the servers it measures: as production does, optionally profiled.
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"

/**
 * The node flags production runs ours with, read from scripts/start.sh (test/deploy/DeployConfig.test.ts
 * holds the Dockerfile's CMD to the same), so a bench measures what is deployed. Baselines get them too.
 */
export const productionNodeFlags = (root: string) => {
  const start = readFileSync(join(root, "scripts/start.sh"), "utf8")
  const args = /^exec node (.+)$/m.exec(start)?.[1]?.split(" ")
  if (args === undefined) throw new Error("scripts/start.sh has no `exec node …` line")
  return args.filter((arg) => arg.startsWith("--"))
}

/**
 * With BENCH_CPU_PROF=<dir>, node flags that make a process write a CPU profile when it exits: to
 * <dir>/<name>.cpuprofile, or with `perThread` to <dir>/<name>/ (one file per thread).
 */
export const profileArgs = (name: string, perThread = false) => {
  const dir = process.env.BENCH_CPU_PROF
  if (dir === undefined || dir === "") return []
  return perThread
    ? ["--cpu-prof", `--cpu-prof-dir=${resolve(dir, name)}`]
    : ["--cpu-prof", `--cpu-prof-dir=${resolve(dir)}`, `--cpu-prof-name=${name}.cpuprofile`]
}
