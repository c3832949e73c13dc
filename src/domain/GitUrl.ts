import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { BlockList, isIP } from "node:net"

export class InvalidGitUrl extends Schema.TaggedError<InvalidGitUrl>()("InvalidGitUrl", {
  message: Schema.String
}, HttpApiSchema.annotations({ status: 400 })) {}

export interface GitUrlPolicy {
  readonly allowedHosts: ReadonlyArray<string>
  /** Development and tests only: admits http://, any port, private and local hosts, and skips the allow-list. */
  readonly allowPrivateHosts: boolean
}

export interface ParsedGitUrl {
  /** `https://host/owner/repo.git` (`http://` and a port are kept only under `allowPrivateHosts`). */
  readonly url: string
  /** Lower-case host name without port; IPv6 literals keep their brackets. */
  readonly host: string
  readonly provider: "github" | "gitlab" | "bitbucket" | "generic"
  /** Everything before the repository name; GitLab subgroups give `group/sub`. */
  readonly owner: string
  /** The repository name without `.git`. */
  readonly name: string
}

const MAX_LENGTH = 2048
const SEGMENT = /^[A-Za-z0-9._~-]+$/
const DNS_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/
const PROVIDERS: Readonly<Record<string, ParsedGitUrl["provider"]>> = {
  "github.com": "github",
  "gitlab.com": "gitlab",
  "bitbucket.org": "bitbucket"
}

const blockedV4 = new BlockList()
for (
  const [network, prefix] of [
    ["0.0.0.0", 8],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.0.2.0", 24],
    ["192.88.99.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["198.51.100.0", 24],
    ["203.0.113.0", 24],
    ["224.0.0.0", 4],
    ["240.0.0.0", 4]
  ] as const
) blockedV4.addSubnet(network, prefix, "ipv4")

// A separate list because Node matches IPv4 addresses against IPv6 rules as IPv4-mapped, so `::/3` would block all IPv4.
// Only global unicast 2000::/3 is public, minus its special-purpose, documentation, 6to4 and Teredo blocks.
const blockedV6 = new BlockList()
for (
  const [network, prefix] of [
    ["::", 3],
    ["4000::", 2],
    ["8000::", 1],
    ["2001::", 23],
    ["2001:db8::", 32],
    ["2002::", 16],
    ["3fff::", 20]
  ] as const
) blockedV6.addSubnet(network, prefix, "ipv6")

const ipv6Words = (address: string): ReadonlyArray<number> => {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1)
  const [head = "", tail] = canonical.split("::")
  const front = head === "" ? [] : head.split(":")
  const back = tail === undefined || tail === "" ? [] : tail.split(":")
  return [...front, ...Array<string>(8 - front.length - back.length).fill("0"), ...back].map((word) =>
    parseInt(word, 16)
  )
}

/** The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) address. */
const embeddedIPv4 = (address: string): string | undefined => {
  const [w0, w1, w2, w3, w4, w5, w6 = 0, w7 = 0] = ipv6Words(address)
  const mapped = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0xffff
  const nat64 = w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0
  return mapped || nat64 ? `${w6 >> 8}.${w6 & 0xff}.${w7 >> 8}.${w7 & 0xff}` : undefined
}

/**
 * Whether an IP address is publicly routable: false for loopback, private, link-local, unique-local, unspecified,
 * CGNAT, multicast, broadcast, reserved and documentation ranges (IPv4, IPv6 and IPv4-mapped), and for anything that
 * is not an IP address. The worker re-checks DNS answers with this at connect time.
 */
export const isPublicAddress = (ip: string): boolean => {
  if (ip.includes("%")) return false
  switch (isIP(ip)) {
    case 4:
      return !blockedV4.check(ip, "ipv4")
    case 6: {
      const v4 = embeddedIPv4(ip)
      return v4 === undefined ? !blockedV6.check(ip, "ipv6") : !blockedV4.check(v4, "ipv4")
    }
    default:
      return false
  }
}

const isLocalName = (host: string) =>
  !host.includes(".") || [".localhost", ".local", ".internal", ".home.arpa"].some((suffix) => host.endsWith(suffix))

const refuse = (reason: string) => Either.left(new InvalidGitUrl({ message: `git_url: ${reason}` }))

interface RawParts {
  readonly scheme: "https" | "http" | "ssh"
  readonly authority: string
  readonly path: string
}

const checkCharacters = (text: string): Either.Either<void, InvalidGitUrl> => {
  if (text === "") return refuse("must not be empty")
  if (text.length > MAX_LENGTH) return refuse(`must be at most ${MAX_LENGTH} characters`)
  if (/[^\x21-\x7e]/.test(text)) return refuse("must not contain whitespace, control or non-ASCII characters")
  if (/^(?:[/.~\\]|[A-Za-z]:)/.test(text)) return refuse("local paths are not allowed; use an https:// URL")
  // WHATWG URL reads `\` as `/`, which hides the real host behind what looks like credentials.
  if (text.includes("\\")) return refuse("backslashes are not allowed")
  if (/[?#]/.test(text)) return refuse("query strings and fragments are not allowed")
  if (text.includes("%")) return refuse("percent-encoded characters are not allowed")
  return Either.void
}

const splitUrl = (text: string): Either.Either<RawParts, InvalidGitUrl> => {
  const scp = /^git@(\[[^\]]*\]|[^/:@[\]]+):(.*)$/.exec(text)
  if (scp) return Either.right({ scheme: "ssh", authority: scp[1]!, path: `/${scp[2]!}` })
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/.exec(text)
  if (!match) {
    return /^file:/i.test(text)
      ? refuse("file:// URLs are not allowed")
      : refuse("expected https://host/owner/repo or git@host:owner/repo")
  }
  const scheme = match[1]!.toLowerCase()
  const authority = match[2]!
  const path = match[3]!
  switch (scheme) {
    case "https":
    case "http":
      return authority.includes("@")
        ? refuse("credentials in the URL are not allowed")
        : Either.right({ scheme, authority, path })
    case "ssh":
    case "git+ssh":
    case "ssh+git": {
      const at = authority.lastIndexOf("@")
      const user = at < 0 ? "git" : authority.slice(0, at)
      if (user.includes(":")) return refuse("credentials in the URL are not allowed")
      if (user !== "git") return refuse("only the git@ user is allowed in ssh:// URLs")
      return Either.right({ scheme: "ssh", authority: authority.slice(at + 1), path })
    }
    case "file":
      return refuse("file:// URLs are not allowed")
    case "git":
      return refuse("git:// URLs are not allowed; use https://")
    default:
      return refuse(`${scheme}:// URLs are not allowed; use https://`)
  }
}

const parsePath = (path: string): Either.Either<{ owner: string; name: string; depth: number }, InvalidGitUrl> => {
  const segments = (path.endsWith("/") ? path.slice(0, -1) : path).slice(1).split("/")
  if (segments.length < 2 || segments.every((segment) => segment === "")) {
    return refuse("must include the owner and repository, as in /owner/repo")
  }
  for (const segment of segments) {
    if (segment === "") return refuse("empty path segments are not allowed")
    if (segment === "." || segment === "..") return refuse("'.' and '..' path segments are not allowed")
    if (!SEGMENT.test(segment)) return refuse(`path segment "${segment}" may only contain A-Z a-z 0-9 . _ ~ -`)
    // A leading dash could be read as an option if a segment ever reaches a command line.
    if (segment.startsWith("-")) return refuse(`path segment "${segment}" must not start with '-'`)
  }
  const last = segments[segments.length - 1]!
  const name = last.endsWith(".git") ? last.slice(0, -4) : last
  if (name === "" || name === "." || name === "..") return refuse("missing repository name")
  return Either.right({ owner: segments.slice(0, -1).join("/"), name, depth: segments.length })
}

/**
 * Validates and normalises a repository URL given by a user, refusing anything that could make the worker fetch from
 * the local filesystem or an internal network. Pure: it does no DNS, so the worker must still check resolved
 * addresses with {@link isPublicAddress}.
 */
export const parseGitUrl = (input: string, policy: GitUrlPolicy): Either.Either<ParsedGitUrl, InvalidGitUrl> =>
  Either.gen(function*() {
    const text = input.trim()
    yield* checkCharacters(text)
    const { authority, path, scheme } = yield* splitUrl(text)
    if (authority === "") return yield* refuse("missing host")

    let parsed: URL
    try {
      parsed = new URL(`${scheme === "http" ? "http" : "https"}://${authority}/`)
    } catch {
      return yield* refuse(`invalid host ${authority}`)
    }
    const host = parsed.hostname.endsWith(".") ? parsed.hostname.slice(0, -1) : parsed.hostname
    const port = scheme === "ssh" && parsed.port === "22" ? "" : parsed.port
    if (scheme === "ssh" && port !== "") return yield* refuse(`ssh port ${port} is not supported; use the https:// URL`)

    const literal = host.startsWith("[") ? host.slice(1, -1) : isIP(host) === 4 ? host : undefined
    if (literal === undefined && !DNS_NAME.test(host)) return yield* refuse(`invalid host ${host}`)
    if (!policy.allowPrivateHosts) {
      if (literal !== undefined && !isPublicAddress(literal)) return yield* refuse(`host ${host} is a private address`)
      if (literal === undefined && isLocalName(host)) return yield* refuse(`host ${host} is a local name`)
      if (scheme === "http") return yield* refuse("http:// URLs are not allowed; use https://")
      if (port !== "") return yield* refuse(`port ${port} is not allowed`)
      if (!policy.allowedHosts.some((allowed) => allowed.toLowerCase() === host)) {
        return yield* refuse(`host ${host} is not in GIT_ALLOWED_HOSTS`)
      }
    }

    const provider = PROVIDERS[host] ?? "generic"
    const { depth, name, owner } = yield* parsePath(path)
    if ((provider === "github" || provider === "bitbucket") && depth !== 2) {
      return yield* refuse(`${host} URLs must have the form https://${host}/owner/repo`)
    }
    const origin = `${scheme === "http" ? "http" : "https"}://${host}${port === "" ? "" : `:${port}`}`
    return { url: `${origin}/${owner}/${name}.git`, host, provider, owner, name }
  })
