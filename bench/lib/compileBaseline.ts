// A baseline server written in TypeScript, compiled to one plain JavaScript file so that its process
// runs `node` alone, with no TypeScript loader in its way.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import ts from "typescript"

/** Compiles `source` (relative to `root`, e.g. bench/auth/baseline.ts) and returns the output's path. */
export const compileBaseline = (root: string, source: string) => {
  const output = ts.transpileModule(readFileSync(join(root, source), "utf8"), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: basename(source)
  })
  // Under node_modules so that `pg` resolves from the project's own node_modules.
  const dir = join(root, "node_modules/.cache/kotadb-bench")
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${basename(dirname(source))}-${basename(source, ".ts")}.mjs`)
  writeFileSync(file, output.outputText)
  return file
}
