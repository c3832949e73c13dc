// npm run keys -- create --email a@b.c [--name N --rate-limit N --quota N --allowed-ips CIDR,... --expires ISO
//                                        --scopes read,write]
//                  list --email a@b.c | revoke <key-id> | rotate <key-id>
// Bootstraps API keys straight against DATABASE_URL (or the embedded database), no server needed.
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { parseArgs } from "node:util"
import { ApiKeyId, CreateApiKey } from "../src/domain/ApiKey.js"
import { PgLive } from "../src/layers/Sql.js"
import { ApiKeyAdmin } from "../src/services/ApiKeyAdmin.js"
import { ApiKeyStore } from "../src/services/stores/ApiKeyStore.js"
import { UsageStore } from "../src/services/stores/UsageStore.js"
import { UserStore } from "../src/services/stores/UserStore.js"
import { runScript, ScriptTargetLive, UsageError } from "./DbCli.js"

const USAGE = "usage: npm run keys -- create --email <email> [--name <name>] [--rate-limit <n>] [--quota <n>] " +
  "[--allowed-ips <cidr,...>] [--expires <iso>] [--scopes read,write]\n" +
  "       npm run keys -- list --email <email>\n" +
  "       npm run keys -- revoke <key-id>\n" +
  "       npm run keys -- rotate <key-id>"

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    "email": { type: "string" },
    "name": { type: "string" },
    "rate-limit": { type: "string" },
    "quota": { type: "string" },
    "allowed-ips": { type: "string" },
    "expires": { type: "string" },
    "scopes": { type: "string" }
  }
})
const [command, id] = positionals

const usageError = (message: string) => Effect.fail(new UsageError({ message: `${message}\n${USAGE}` }))
const print = (value: unknown) => Console.log(JSON.stringify(value, null, 2))
const keyId = Schema.decodeUnknown(ApiKeyId)(id).pipe(
  Effect.mapError(() => new UsageError({ message: `not a key id: ${id}\n${USAGE}` }))
)

const program = Effect.gen(function*() {
  const admin = yield* ApiKeyAdmin
  switch (command) {
    case "create": {
      const request = yield* Schema.decodeUnknown(CreateApiKey)({
        user_email: values.email,
        name: values.name,
        rate_limit: values["rate-limit"] === undefined ? undefined : Number(values["rate-limit"]),
        monthly_quota: values.quota === undefined ? undefined : Number(values.quota),
        allowed_ips: values["allowed-ips"]?.split(",").map((s) => s.trim()),
        expires_at: values.expires,
        scopes: values.scopes?.split(",").map((s) => s.trim())
      }, { exact: false }).pipe(Effect.mapError((e) => new UsageError({ message: `${e.message}\n${USAGE}` })))
      const issued = yield* admin.create(request)
      yield* print(issued)
      return yield* Console.error("Store api_key now: it is not shown again.")
    }
    case "list":
      if (values.email === undefined) return yield* usageError("list needs --email")
      return yield* print(yield* admin.list(values.email))
    case "revoke":
      return yield* print(yield* admin.revoke(yield* keyId))
    case "rotate":
      yield* print(yield* admin.rotate(yield* keyId))
      return yield* Console.error("Store api_key now: the old secret no longer works.")
    default:
      return yield* usageError(`unknown command: ${command ?? "(none)"}`)
  }
})

const StoresLive = Layer.mergeAll(ApiKeyStore.Default, UserStore.Default, UsageStore.Default)

runScript(
  program.pipe(
    Effect.provide(ApiKeyAdmin.Default.pipe(Layer.provide(StoresLive), Layer.provide(PgLive))),
    Effect.provide(ScriptTargetLive)
  ),
  process.env.DATABASE_URL
)
