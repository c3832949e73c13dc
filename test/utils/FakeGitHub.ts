import { Effect } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

export interface FakeHook {
  readonly id: number
  name: string
  active: boolean
  events: Array<string>
  config: { url: string; secret: string | undefined; content_type: string; insecure_ssl: string }
}

export interface FakeGitHubOptions {
  /** The only token accepted as `Authorization: Bearer <token>`; default `t0ken`. */
  readonly token?: string
  /** The largest page GET answers, whatever `per_page` asks; default 30. */
  readonly perPage?: number
  /** `owner/repo` names that exist; without it every repository exists. */
  readonly knownRepos?: ReadonlyArray<string>
}

export interface FakeGitHub {
  /** The API base URL, without a trailing slash. */
  readonly url: string
  readonly hooks: (owner: string, repo: string) => Array<FakeHook>
  /** Adds `count` unrelated hooks, so that ours lands on a later page. */
  readonly seedHooks: (owner: string, repo: string, count: number) => void
  readonly addHook: (owner: string, repo: string, hook: {
    readonly config: { readonly url: string; readonly secret?: string; readonly content_type?: string }
    readonly events?: ReadonlyArray<string>
    readonly active?: boolean
  }) => FakeHook
  /** The next `n` requests answer `status` instead of being served. */
  readonly failNext: (n: number, status?: number) => void
  /** The next `n` requests are never answered (until `close`). */
  readonly stallNext: (n: number) => void
  readonly requests: Array<{ method: string; path: string; authorization: string | undefined }>
  readonly close: () => Promise<void>
}

const HOOKS = /^\/repos\/([^/]+)\/([^/]+)\/hooks(?:\/(\d+))?$/

const readJson = async (request: IncomingMessage): Promise<Record<string, unknown>> => {
  const chunks: Array<Buffer> = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown
    return typeof body === "object" && body !== null ? body as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
  response.end(JSON.stringify(body))
}

// Like GitHub, never echo a stored secret.
const shown = (hook: FakeHook) => ({
  ...hook,
  config: { ...hook.config, secret: hook.config.secret === undefined ? undefined : "********" }
})

export const startFakeGitHub = async (options: FakeGitHubOptions = {}): Promise<FakeGitHub> => {
  const token = options.token ?? "t0ken"
  const maxPerPage = options.perPage ?? 30
  const repos = new Map<string, Array<FakeHook>>()
  const requests: FakeGitHub["requests"] = []
  const failures: Array<number> = []
  let stalls = 0
  let nextId = 1000
  let base = ""

  const hooksOf = (owner: string, repo: string) => {
    const key = `${owner}/${repo}`.toLowerCase()
    const existing = repos.get(key)
    if (existing !== undefined) return existing
    const created: Array<FakeHook> = []
    repos.set(key, created)
    return created
  }

  const addHook: FakeGitHub["addHook"] = (owner, repo, input) => {
    const hook: FakeHook = {
      id: nextId++,
      name: "web",
      active: input.active ?? true,
      events: [...(input.events ?? ["push"])],
      config: {
        url: input.config.url,
        secret: input.config.secret,
        content_type: input.config.content_type ?? "json",
        insecure_ssl: "0"
      }
    }
    hooksOf(owner, repo).push(hook)
    return hook
  }

  const applyConfig = (hook: FakeHook, body: Record<string, unknown>) => {
    const config = (body.config ?? {}) as Partial<FakeHook["config"]>
    hook.config = { ...hook.config, ...config }
    if (Array.isArray(body.events)) hook.events = body.events.map(String)
    if (typeof body.active === "boolean") hook.active = body.active
  }

  const list = (response: ServerResponse, path: string, query: URLSearchParams, hooks: Array<FakeHook>) => {
    const perPage = Math.max(1, Math.min(Number(query.get("per_page") ?? 30) || 30, maxPerPage, 100))
    const page = Math.max(1, Number(query.get("page") ?? 1) || 1)
    const last = Math.max(1, Math.ceil(hooks.length / perPage))
    const link = (n: number, rel: string) => `<${base}${path}?per_page=${perPage}&page=${n}>; rel="${rel}"`
    const links = [
      ...(page > 1 ? [link(page - 1, "prev"), link(1, "first")] : []),
      ...(page < last ? [link(page + 1, "next"), link(last, "last")] : [])
    ]
    send(
      response,
      200,
      hooks.slice((page - 1) * perPage, page * perPage).map(shown),
      links.length === 0 ? {} : { link: links.join(", ") }
    )
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", base)
    const method = request.method ?? "GET"
    requests.push({ method, path: url.pathname + url.search, authorization: request.headers.authorization })

    if (stalls > 0) {
      stalls--
      return
    }
    const failure = failures.shift()
    if (failure !== undefined) return send(response, failure, { message: `fake failure ${failure}` })
    if (request.headers.authorization !== `Bearer ${token}`) {
      return send(response, 401, { message: "Bad credentials" })
    }

    const match = HOOKS.exec(url.pathname)
    const [owner, repo, id] = [match?.[1], match?.[2], match?.[3]]
    const known = owner !== undefined && repo !== undefined &&
      (options.knownRepos === undefined ||
        options.knownRepos.some((name) => name.toLowerCase() === `${owner}/${repo}`.toLowerCase()))
    if (!known) return send(response, 404, { message: "Not Found" })
    const hooks = hooksOf(owner, repo)

    if (id === undefined && method === "GET") return list(response, url.pathname, url.searchParams, hooks)
    if (id === undefined && method === "POST") {
      const body = await readJson(request)
      const config = (body.config ?? {}) as Partial<FakeHook["config"]>
      if (typeof config.url !== "string") {
        return send(response, 422, { message: "Validation Failed", errors: [{ message: "url is missing" }] })
      }
      if (hooks.some((hook) => hook.config.url === config.url)) {
        return send(response, 422, {
          message: "Validation Failed",
          errors: [{ resource: "Hook", code: "custom", message: "Hook already exists on this repository" }]
        })
      }
      const hook = addHook(owner, repo, { config: { url: config.url } })
      applyConfig(hook, body)
      return send(response, 201, shown(hook))
    }
    const hook = hooks.find((candidate) => String(candidate.id) === id)
    if (hook === undefined) return send(response, 404, { message: "Not Found" })
    if (method === "GET") return send(response, 200, shown(hook))
    if (method === "PATCH") {
      applyConfig(hook, await readJson(request))
      return send(response, 200, shown(hook))
    }
    return send(response, 404, { message: "Not Found" })
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => send(response, 500, { message: String(error) }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url: base,
    hooks: (owner, repo) => hooksOf(owner, repo),
    seedHooks: (owner, repo, count) => {
      for (let i = 0; i < count; i++) {
        addHook(owner, repo, { config: { url: `https://unrelated-${nextId}.example.test/hook`, secret: "other" } })
      }
    },
    addHook,
    failNext: (n, status = 502) => {
      for (let i = 0; i < n; i++) failures.push(status)
    },
    stallNext: (n) => {
      stalls += n
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) return resolve()
        server.close((error) => error === undefined ? resolve() : reject(error))
        server.closeAllConnections()
      })
  }
}

/** A fake GitHub API for the enclosing scope: `const fake = yield* fakeGitHub()` inside `it.scoped`. */
export const fakeGitHub = (options: FakeGitHubOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeGitHub(options)),
    (fake) => Effect.promise(() => fake.close())
  )
