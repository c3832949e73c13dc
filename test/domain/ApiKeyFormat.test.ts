import { describe, expect, it } from "@effect/vitest"
import { FastCheck, Option, Redacted } from "effect"
import { generateApiKey, hashApiKey, parseApiKey } from "../../src/domain/ApiKeyFormat.js"

describe("API key format", () => {
  it("generates kdb_live_ keys that parse to their SHA-256 hash", () => {
    const keys = Array.from({ length: 200 }, () => Redacted.value(generateApiKey()))
    expect(new Set(keys).size).toBe(keys.length)
    for (const key of keys) {
      expect(key).toMatch(/^kdb_live_[0-9A-Za-z]{28}$/)
      expect(parseApiKey(key)).toEqual(Option.some(hashApiKey(key)))
    }
    expect(hashApiKey(keys[0]!)).toMatch(/^[0-9a-f]{64}$/)
  })

  it("refuses any single-character change (the CRC32 checksum catches it)", () => {
    const key = Redacted.value(generateApiKey())
    FastCheck.assert(
      FastCheck.property(
        FastCheck.integer({ min: "kdb_live_".length, max: key.length - 1 }),
        FastCheck.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"),
        (position, char) => {
          FastCheck.pre(key[position] !== char)
          const changed = key.slice(0, position) + char + key.slice(position + 1)
          return Option.isNone(parseApiKey(changed))
        }
      )
    )
  })

  it("refuses the wrong shape", () => {
    for (
      const bad of [
        "",
        "kdb_live_",
        "kdb_test_" + "a".repeat(28),
        "kdb_live_" + "a".repeat(27),
        " kdb_live_x",
        "Bearer x"
      ]
    ) {
      expect(parseApiKey(bad)).toEqual(Option.none())
    }
  })
})
