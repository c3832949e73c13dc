import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash, randomBytes } from "node:crypto"
import { crc32 } from "node:zlib"

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const PREFIX = "kdb_live_"
const RANDOM_LENGTH = 22 // 62^22 > 2^130: at least 128 bits of randomness
const CHECKSUM_LENGTH = 6 // 62^6 > 2^32: holds a CRC32
const SHAPE = new RegExp(`^${PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`)

const base62 = (value: bigint, length: number) => {
  let out = ""
  for (let v = value; out.length < length; v /= 62n) out = ALPHABET[Number(v % 62n)] + out
  return out
}

const checksum = (random: string) => base62(BigInt(crc32(random)), CHECKSUM_LENGTH)

/** A new key: `kdb_live_` + 22 base62 characters of randomness + a 6-character CRC32 checksum. */
export const generateApiKey = (): Redacted.Redacted<string> => {
  const random = base62(BigInt(`0x${randomBytes(17).toString("hex")}`), RANDOM_LENGTH)
  return Redacted.make(`${PREFIX}${random}${checksum(random)}`)
}

/** The SHA-256 hex digest stored for a key; the plaintext is never stored. */
export const hashApiKey = (key: string) => createHash("sha256").update(key).digest("hex")

/** What is shown of a key in listings: the prefix and the first characters of its random part. */
export const displayPrefix = (key: string) => key.slice(0, PREFIX.length + 6)

/**
 * The hash of a well-formed key, or none for anything malformed or with a bad checksum: those are
 * refused without asking the database.
 */
export const parseApiKey = (candidate: string): Option.Option<string> => {
  if (!SHAPE.test(candidate)) return Option.none()
  const random = candidate.slice(PREFIX.length, PREFIX.length + RANDOM_LENGTH)
  if (checksum(random) !== candidate.slice(PREFIX.length + RANDOM_LENGTH)) return Option.none()
  return Option.some(hashApiKey(candidate))
}
