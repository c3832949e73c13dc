import * as Schema from "effect/Schema"
import { isIP } from "node:net"

/** The address's bits, most significant first (IPv6 through the WHATWG canonical form, which expands IPv4 tails). */
const addressBits = (address: string, version: number): string => {
  if (version === 4) return address.split(".").map((octet) => Number(octet).toString(2).padStart(8, "0")).join("")
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1)
  const [head = "", tail] = canonical.split("::")
  const front = head === "" ? [] : head.split(":")
  const back = tail === undefined || tail === "" ? [] : tail.split(":")
  return [...front, ...Array<string>(8 - front.length - back.length).fill("0"), ...back]
    .map((word) => parseInt(word, 16).toString(2).padStart(16, "0"))
    .join("")
}

/**
 * Why `text` is not a network Postgres' `cidr` accepts (an IPv4 or IPv6 address with an optional prefix
 * length and no bits set past it), or undefined when it is one.
 */
export const cidrProblem = (text: string): string | undefined => {
  const slash = text.indexOf("/")
  const address = slash < 0 ? text : text.slice(0, slash)
  const version = isIP(address)
  if (version === 0 || address.includes("%")) return "must be an IPv4 or IPv6 address, optionally with /prefix"
  const max = version === 4 ? 32 : 128
  if (slash < 0) return undefined
  const prefix = text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return `the prefix length must be 0 to ${max}`
  return addressBits(address, version).slice(Number(prefix)).includes("1")
    ? "has bits set to the right of the prefix (use the network address)"
    : undefined
}

/** A network for `allowed_ips`, in any form Postgres' `cidr` reads the same way. */
export const Cidr = Schema.String.pipe(
  Schema.maxLength(64),
  Schema.filter(cidrProblem)
)
