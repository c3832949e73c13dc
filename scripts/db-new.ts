// npm run db:new -- <name> — create migrations/NNNN_<name>.sql with the next free number.
import { readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { migrationsDirectory } from "../src/layers/Migrations.js"

const name = process.argv[2]
const directory = process.env.MIGRATIONS_DIR ?? migrationsDirectory
if (name === undefined || !/^[a-z][a-z0-9_]*$/.test(name)) {
  process.stderr.write("usage: npm run db:new -- <snake_case_name>\n")
  process.exit(2)
}
const last = readdirSync(directory)
  .map((file) => /^(\d{4})_.+\.sql$/.exec(file)?.[1])
  .filter((id) => id !== undefined)
  .map(Number)
  .reduce((max, id) => Math.max(max, id), 0)
const file = join(directory, `${String(last + 1).padStart(4, "0")}_${name}.sql`)
writeFileSync(
  file,
  `-- ${String(last + 1).padStart(4, "0")} ${
    name.replaceAll("_", " ")
  }: forward-only; runs in one transaction at boot.\n`,
  { flag: "wx" }
)
process.stdout.write(`created ${file}\n`)
