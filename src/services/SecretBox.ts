import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto"

/** The 32-byte AES key for secrets at rest (`SECRETS_ENCRYPTION_KEY`), provided by src/layers. */
export class SecretsKey extends Context.Tag("services/SecretsKey")<SecretsKey, Redacted.Redacted<Buffer>>() {}

export interface Sealed {
  readonly ciphertext: Buffer
  readonly nonce: Buffer
  readonly authTag: Buffer
  /** Names the key generation that sealed it, so a rotated key can still find its predecessor. */
  readonly keyId: string
}

export class SecretUnreadable extends Data.TaggedError("SecretUnreadable")<{ readonly message: string }> {}

export const secretHash = (secret: Redacted.Redacted<string>) =>
  createHash("sha256").update(Redacted.value(secret)).digest("hex")

/** AES-256-GCM with a random 96-bit nonce per secret and a 128-bit tag. */
export class SecretBox extends Effect.Service<SecretBox>()("services/SecretBox", {
  effect: Effect.gen(function*() {
    const key = yield* SecretsKey
    const keyId = `k-${createHash("sha256").update(Redacted.value(key)).digest("hex").slice(0, 12)}`

    const seal = (secret: Redacted.Redacted<string>): Sealed => {
      const nonce = randomBytes(12)
      const cipher = createCipheriv("aes-256-gcm", Redacted.value(key), nonce)
      const ciphertext = Buffer.concat([cipher.update(Redacted.value(secret), "utf8"), cipher.final()])
      return { ciphertext, nonce, authTag: cipher.getAuthTag(), keyId }
    }

    const open = (sealed: Sealed) =>
      Effect.try({
        try: () => {
          const decipher = createDecipheriv("aes-256-gcm", Redacted.value(key), sealed.nonce)
          decipher.setAuthTag(sealed.authTag)
          return Redacted.make(Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]).toString("utf8"))
        },
        catch: () =>
          new SecretUnreadable({
            message: sealed.keyId === keyId
              ? "secret failed authentication (corrupted ciphertext)"
              : `secret was sealed with key ${sealed.keyId}, not the configured ${keyId}`
          })
      })

    /** A new webhook secret: 32 random bytes, base64url. */
    const generate = () => Redacted.make(randomBytes(32).toString("base64url"))

    return { seal, open, generate, keyId } as const
  })
}) {}
