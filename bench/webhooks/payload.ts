// The signed GitHub push deliveries of the webhooks benchmark: one realistic push body per repository
// (20 commits with their paths, the repository object GitHub sends, padded to TARGET_BYTES), signed once,
// since the signature covers the body only and the delivery id travels in a header.
import { createHash, createHmac } from "node:crypto"

/** About 7 KB, like a real push of 20 commits (every body is padded to exactly this size). */
export const TARGET_BYTES = 7_300
const COMMITS = 20

const sha = (seed: string) => createHash("sha1").update(seed).digest("hex")

const AUTHORS = [
  { name: "Ada Lovelace", email: "ada@example.test", username: "ada" },
  { name: "Grace Hopper", email: "grace@example.test", username: "grace" },
  { name: "Linus Pauling", email: "linus@example.test", username: "linus" }
] as const

const DIRS = ["src/http", "src/services", "src/domain", "test/unit", "docs", "migrations"] as const

const repositoryObject = (i: number) => {
  const name = `repo-${i}`
  const full = `bench/${name}`
  const api = `https://api.github.com/repos/${full}`
  return {
    id: 700_000_000 + i,
    node_id: `R_kgDOK${sha(`node-${i}`).slice(0, 8)}`,
    name,
    full_name: full,
    private: false,
    owner: {
      name: "bench",
      email: "bench@example.test",
      login: "bench",
      id: 9_000_001,
      html_url: "https://github.com/bench",
      type: "Organization",
      site_admin: false
    },
    html_url: `https://github.com/${full}`,
    description: "Benchmark repository",
    fork: false,
    url: `https://github.com/${full}`,
    commits_url: `${api}/commits{/sha}`,
    clone_url: `https://github.com/${full}.git`,
    created_at: 1_700_000_000,
    updated_at: "2025-01-01T00:00:00Z",
    pushed_at: 1_735_700_000,
    size: 4_096,
    stargazers_count: 12,
    language: "TypeScript",
    default_branch: "main",
    master_branch: "main",
    organization: "bench",
    visibility: "public"
  }
}

/** The push body for repository `i` (its ref is refs/heads/main, the branch it was registered with). */
export const pushBody = (i: number) => {
  const author = (c: number) => AUTHORS[c % AUTHORS.length]!
  const commits = Array.from({ length: COMMITS }, (_, c) => {
    const id = sha(`repo-${i}-commit-${c}`)
    const dir = DIRS[c % DIRS.length]!
    return {
      id,
      distinct: true,
      message: `Update ${dir} (${c})`,
      timestamp: `2025-01-01T12:${String(c).padStart(2, "0")}:00Z`,
      author: author(c),
      added: c % 4 === 0 ? [`${dir}/new-${c}.ts`] : [],
      removed: c % 7 === 3 ? [`${dir}/old-${c}.ts`] : [],
      modified: c % 2 === 0 ? [`${dir}/file-${c}.ts`, `${dir}/index.ts`] : [`${dir}/file-${c}.ts`]
    }
  })
  const head = commits[commits.length - 1]!
  const payload = {
    ref: "refs/heads/main",
    before: sha(`repo-${i}-before`),
    after: head.id,
    repository: repositoryObject(i),
    pusher: { name: "ada", email: "ada@example.test" },
    sender: { login: "ada", id: 9_000_002, type: "User", site_admin: false },
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://github.com/bench/repo-${i}/compare/${sha(`repo-${i}-before`).slice(0, 12)}...${
      head.id.slice(0, 12)
    }`,
    commits,
    head_commit: head
  }
  let text = JSON.stringify(payload)
  const short = TARGET_BYTES - Buffer.byteLength(text)
  if (short > 0) {
    payload.repository.description += ` ${"x".repeat(Math.max(0, short - 1))}`
    text = JSON.stringify(payload)
  }
  return Buffer.from(text)
}

export interface SignedBody {
  readonly body: Buffer
  /** `sha256=<hex>`: X-Hub-Signature-256. */
  readonly signature256: string
  /** `sha1=<hex>`: X-Hub-Signature, which GitHub still sends. */
  readonly signature1: string
}

export const sign = (body: Buffer, secret: string): SignedBody => ({
  body,
  signature256: `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
  signature1: `sha1=${createHmac("sha1", secret).update(body).digest("hex")}`
})

/** The headers GitHub sends with a push delivery. */
export const deliveryHeaders = (signed: SignedBody, deliveryId: string, hookId: number) => ({
  "accept": "*/*",
  "content-type": "application/json",
  "user-agent": "GitHub-Hookshot/bench",
  "x-github-delivery": deliveryId,
  "x-github-event": "push",
  "x-github-hook-id": String(hookId),
  "x-github-hook-installation-target-id": String(700_000_000 + hookId),
  "x-github-hook-installation-target-type": "repository",
  "x-hub-signature": signed.signature1,
  "x-hub-signature-256": signed.signature256
})
