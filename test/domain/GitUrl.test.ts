import { describe, it } from "@effect/vitest"
import { Either } from "effect"
import { expect } from "vitest"
import { isPublicAddress, parseGitUrl } from "../../src/domain/GitUrl.js"
import type { GitUrlPolicy, ParsedGitUrl } from "../../src/domain/GitUrl.js"

const strict: GitUrlPolicy = {
  allowedHosts: ["github.com", "GitLab.com", "bitbucket.org", "git.example.com"],
  allowPrivateHosts: false
}
const dev: GitUrlPolicy = { allowedHosts: [], allowPrivateHosts: true }

const accepted = (input: string, policy: GitUrlPolicy = strict): ParsedGitUrl => {
  const result = parseGitUrl(input, policy)
  if (Either.isLeft(result)) throw new Error(`${input} was refused: ${result.left.message}`)
  return result.right
}

const refusal = (input: string, policy: GitUrlPolicy = strict): string => {
  const result = parseGitUrl(input, policy)
  if (Either.isRight(result)) throw new Error(`${input} was accepted as ${result.right.url}`)
  expect(result.left._tag).toBe("InvalidGitUrl")
  expect(result.left.message).toMatch(/^git_url: /)
  return result.left.message
}

describe("parseGitUrl", () => {
  it("normalises https, scp and ssh forms to https://host/owner/repo.git", () => {
    const expected = { url: "https://github.com/effect-ts/effect.git", host: "github.com", provider: "github" }
    for (
      const input of [
        "https://github.com/effect-ts/effect",
        "https://github.com/effect-ts/effect.git",
        "https://github.com/effect-ts/effect/",
        "https://github.com/effect-ts/effect.git/",
        "  https://GitHub.COM/effect-ts/effect\n",
        "HTTPS://github.com:443/effect-ts/effect",
        "https://github.com./effect-ts/effect",
        "git@github.com:effect-ts/effect.git",
        "git@GITHUB.com:effect-ts/effect",
        "ssh://git@github.com/effect-ts/effect.git",
        "ssh://git@github.com:22/effect-ts/effect.git",
        "ssh://github.com/effect-ts/effect",
        "git+ssh://git@github.com/effect-ts/effect.git"
      ]
    ) {
      expect(accepted(input)).toEqual({ ...expected, owner: "effect-ts", name: "effect" })
    }
  })

  it("keeps the case of owner and name, and names like .github", () => {
    expect(accepted("https://github.com/Effect-TS/.github")).toEqual({
      url: "https://github.com/Effect-TS/.github.git",
      host: "github.com",
      provider: "github",
      owner: "Effect-TS",
      name: ".github"
    })
    expect(accepted("https://github.com/a_b/c.d~e-f.git").name).toBe("c.d~e-f")
  })

  it("infers the provider from the host", () => {
    expect(accepted("https://github.com/o/r").provider).toBe("github")
    expect(accepted("https://gitlab.com/o/r").provider).toBe("gitlab")
    expect(accepted("git@bitbucket.org:o/r.git").provider).toBe("bitbucket")
    expect(accepted("https://git.example.com/o/r").provider).toBe("generic")
  })

  it("accepts GitLab nested groups as the owner", () => {
    expect(accepted("https://gitlab.com/group/sub/deeper/repo.git")).toEqual({
      url: "https://gitlab.com/group/sub/deeper/repo.git",
      host: "gitlab.com",
      provider: "gitlab",
      owner: "group/sub/deeper",
      name: "repo"
    })
    expect(accepted("git@gitlab.com:group/sub/repo").owner).toBe("group/sub")
    expect(accepted("https://git.example.com/a/b/c").owner).toBe("a/b")
  })

  it("refuses deeper paths on GitHub and Bitbucket, such as a pasted tree URL", () => {
    expect(refusal("https://github.com/o/r/tree/main")).toContain("github.com/owner/repo")
    expect(refusal("https://bitbucket.org/o/r/src")).toContain("bitbucket.org/owner/repo")
  })

  it("refuses every SSRF and abuse case with a clear InvalidGitUrl", () => {
    const cases: ReadonlyArray<readonly [input: string, message: RegExp]> = [
      ["", /empty/],
      ["   ", /empty/],
      [`https://github.com/o/${"r".repeat(2048)}`, /2048/],
      ["https://github.com/o/r\u0000", /control/],
      ["https://github.com/o /r", /whitespace/],
      ["https://github.com/o/r\tx", /whitespace/],
      ["https://github.com/o/\u202er", /non-ASCII/],
      ["file:///etc/passwd", /file:\/\/ URLs are not allowed/],
      ["FILE://localhost/etc/passwd", /file:\/\/ URLs are not allowed/],
      ["file:/etc/passwd", /file:\/\/ URLs are not allowed/],
      ["git://github.com/o/r.git", /git:\/\/ URLs are not allowed/],
      ["http://github.com/o/r", /http:\/\/ URLs are not allowed/],
      ["ftp://github.com/o/r", /ftp:\/\/ URLs are not allowed/],
      ["ext::sh -c touch% /tmp/pwned", /whitespace/],
      ["ext::sh", /expected https/],
      ["github.com:o/r", /expected https/],
      ["/srv/git/repo.git", /local paths/],
      ["./repo", /local paths/],
      ["../repo", /local paths/],
      ["~/repo", /local paths/],
      ["C:\\repos\\x", /local paths/],
      ["\\\\server\\share\\repo", /local paths/],
      ["https://user:pw@github.com/o/r", /credentials in the URL are not allowed/],
      ["https://token@github.com/o/r", /credentials/],
      ["https://github.com@evil.example/o/r", /credentials/],
      ["ssh://git:pw@github.com/o/r", /credentials/],
      ["ssh://root@github.com/o/r", /only the git@ user/],
      ["https://evil.example\\@github.com/o/r", /backslashes/],
      ["https://github.com/o/r?ref=main", /query strings and fragments/],
      ["https://github.com/o/r#readme", /query strings and fragments/],
      ["https://github.com/o/%2e%2e/r", /percent-encoded/],
      ["https://github.com/o%2Fr/x", /percent-encoded/],
      ["https://github.com/o/../../r", /'\.' and '\.\.'/],
      ["https://github.com/./o/r", /'\.' and '\.\.'/],
      ["https://github.com//o/r", /empty path segments/],
      ["https://github.com/o//r", /empty path segments/],
      ["https://github.com/o/r$x", /may only contain/],
      ["https://github.com/o/r:x", /may only contain/],
      ["https://github.com/o/-r", /must not start with '-'/],
      ["https://github.com/o", /owner and repository/],
      ["https://github.com", /owner and repository/],
      ["https://github.com/o/.git", /missing repository name/],
      ["https:///o/r", /missing host/],
      ["https://github.com:8443/o/r", /port 8443 is not allowed/],
      ["ssh://git@github.com:2222/o/r", /ssh port 2222/],
      ["https://example.org/o/r", /host example\.org is not in GIT_ALLOWED_HOSTS/],
      ["https://github.com.evil.example/o/r", /not in GIT_ALLOWED_HOSTS/],
      ["https://10.0.0.1/o/r", /host 10\.0\.0\.1 is a private address/],
      ["https://127.0.0.1/o/r", /private address/],
      ["https://0.0.0.0/o/r", /private address/],
      ["https://169.254.169.254/latest/meta-data", /169\.254\.169\.254 is a private address/],
      ["https://100.64.0.1/o/r", /private address/],
      ["https://172.16.5.4/o/r", /private address/],
      ["https://192.168.1.1/o/r", /private address/],
      ["https://224.0.0.1/o/r", /private address/],
      ["https://255.255.255.255/o/r", /private address/],
      ["https://2130706433/o/r", /host 127\.0\.0\.1 is a private address/],
      ["https://0x7f.0.0.1/o/r", /host 127\.0\.0\.1 is a private address/],
      ["https://017700000001/o/r", /host 127\.0\.0\.1 is a private address/],
      ["https://127.1/o/r", /host 127\.0\.0\.1 is a private address/],
      ["https://[::1]/o/r", /host \[::1\] is a private address/],
      ["https://[::]/o/r", /private address/],
      ["https://[::ffff:127.0.0.1]/o/r", /private address/],
      ["https://[::ffff:a9fe:a9fe]/o/r", /private address/],
      ["https://[fe80::1]/o/r", /private address/],
      ["https://[fc00::1]/o/r", /private address/],
      ["https://[fd12:3456::1]/o/r", /private address/],
      ["https://[ff02::1]/o/r", /private address/],
      ["git@[::1]:o/r.git", /private address/],
      ["git@10.1.2.3:o/r.git", /private address/],
      ["https://8.8.8.8/o/r", /host 8\.8\.8\.8 is not in GIT_ALLOWED_HOSTS/],
      ["https://localhost/o/r", /host localhost is a local name/],
      ["https://LOCALHOST./o/r", /host localhost is a local name/],
      ["https://git.localhost/o/r", /local name/],
      ["https://nas.local/o/r", /local name/],
      ["https://metadata.google.internal/computeMetadata/v1", /local name/],
      ["https://metadata/o/r", /local name/],
      ["https://git!hub.com/o/r", /invalid host/],
      ["https://[::1/o/r", /invalid host/]
    ]
    for (const [input, message] of cases) {
      expect(refusal(input), input).toMatch(message)
    }
  })

  it("admits http, loopback and any port under allowPrivateHosts, but never credentials, file:// or local paths", () => {
    expect(accepted("http://127.0.0.1:9418/owner/repo.git", dev)).toEqual({
      url: "http://127.0.0.1:9418/owner/repo.git",
      host: "127.0.0.1",
      provider: "generic",
      owner: "owner",
      name: "repo"
    })
    expect(accepted("http://localhost:80/owner/repo", dev).url).toBe("http://localhost/owner/repo.git")
    expect(accepted("https://[::1]:8443/owner/repo", dev).url).toBe("https://[::1]:8443/owner/repo.git")
    expect(accepted("https://example.org/owner/repo", dev).url).toBe("https://example.org/owner/repo.git")
    expect(accepted("git@10.0.0.5:owner/repo", dev).url).toBe("https://10.0.0.5/owner/repo.git")

    expect(refusal("http://user:pw@127.0.0.1:9418/owner/repo.git", dev)).toMatch(/credentials/)
    expect(refusal("file:///tmp/repo.git", dev)).toMatch(/file:\/\//)
    expect(refusal("/tmp/repo.git", dev)).toMatch(/local paths/)
    expect(refusal("git://127.0.0.1/owner/repo.git", dev)).toMatch(/git:\/\//)
    expect(refusal("http://127.0.0.1:9418/owner/../repo.git", dev)).toMatch(/'\.\.'/)
  })
})

describe("isPublicAddress", () => {
  it("accepts public IPv4 and IPv6 addresses", () => {
    for (
      const ip of [
        "8.8.8.8",
        "140.82.112.3",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.32.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001:82b::200e",
        "::ffff:8.8.8.8",
        "::ffff:808:808",
        "64:ff9b::808:808"
      ]
    ) {
      expect(isPublicAddress(ip), ip).toBe(true)
    }
  })

  it("refuses private, loopback, link-local, unique-local, unspecified, CGNAT, multicast and broadcast", () => {
    for (
      const ip of [
        "0.0.0.0",
        "0.1.2.3",
        "10.255.0.1",
        "100.64.0.1",
        "100.127.255.255",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.168.0.1",
        "198.18.0.1",
        "203.0.113.9",
        "224.0.0.251",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::7f00:1",
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "fe80::1",
        "fe80::1%eth0",
        "febf::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "100::1",
        "2001:db8::1",
        "2001::1",
        "2002:7f00:1::1"
      ]
    ) {
      expect(isPublicAddress(ip), ip).toBe(false)
    }
  })

  it("refuses anything that is not a plain IP address", () => {
    for (const ip of ["", "localhost", "github.com", "2130706433", "0x7f.0.0.1", "010.0.0.1", "[::1]", "1.2.3.4.5"]) {
      expect(isPublicAddress(ip), ip).toBe(false)
    }
  })
})
