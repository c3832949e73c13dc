import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { randomBytes } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { AppConfig } from "../services/AppConfig.js"
import { SecretsKey } from "../services/SecretBox.js"

/**
 * `SECRETS_ENCRYPTION_KEY`, or in embedded (local) mode a key generated once under the data directory,
 * so that `npm start` needs no setup. AppConfig already refuses to boot a deployed server without one.
 */
export const SecretsKeyLive = Layer.effect(
  SecretsKey,
  Effect.gen(function*() {
    const config = yield* AppConfig
    if (Option.isSome(config.secretsEncryptionKey)) {
      return Redacted.make(Buffer.from(Redacted.value(config.secretsEncryptionKey.value), "base64"))
    }
    const file = resolve(join(config.dataDir, "secrets.key"))
    if (!existsSync(file)) {
      mkdirSync(resolve(config.dataDir), { recursive: true })
      writeFileSync(file, randomBytes(32).toString("base64") + "\n", { mode: 0o600 })
      chmodSync(file, 0o600)
    }
    yield* Effect.logWarning("SECRETS_ENCRYPTION_KEY is unset: using the local development key").pipe(
      Effect.annotateLogs({ file })
    )
    return Redacted.make(Buffer.from(readFileSync(file, "utf8").trim(), "base64"))
  })
)
