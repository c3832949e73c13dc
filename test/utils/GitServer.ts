import { Effect } from "effect"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises"
import type { IncomingMessage, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { dirname, isAbsolute, join, normalize, sep } from "node:path"
import { promisify } from "node:util"

const execFileAsync = promisify(execFile)

export interface TestRepositoryOptions {
  /** The branch the served repository's HEAD names; default `main`. */
  readonly defaultBranch?: string
}

export interface CommitOptions {
  readonly message?: string
  /** Default: the repository's default branch. A new branch forks from the default branch's head. */
  readonly branch?: string
  /** `old path -> new path`, done with `git mv` before the files are written. */
  readonly renames?: Record<string, string>
}

export interface TreeEntry {
  readonly path: string
  readonly blobSha: string
  readonly size: number
}

export interface TestRepository {
  readonly name: string
  /** `${server.url}/${name}.git` */
  readonly url: string
  /** Writes the files (`null` deletes the path), commits and pushes; the new commit's sha. */
  readonly commit: (files: Record<string, string | Buffer | null>, options?: CommitOptions) => Promise<string>
  /**
   * Replaces the branch with a new root commit holding exactly these files and force-pushes it: the old
   * head is no longer reachable from the branch (its objects stay in the served repository, so a fetch by
   * sha still finds them).
   */
  readonly forcePush: (
    files: Record<string, string | Buffer>,
    options?: { readonly branch?: string }
  ) => Promise<string>
  /** A lightweight tag, pushed (moved if it exists); default: the default branch's head. */
  readonly tag: (name: string, sha?: string) => Promise<void>
  /** The served branch's head; default: the default branch. */
  readonly head: (branch?: string) => Promise<string>
  /** Every blob of the commit's tree (`git ls-tree -r -l`); default: the default branch's head. */
  readonly tree: (sha?: string) => Promise<Array<TreeEntry>>
}

/**
 * How the server sends the bodies of `git-upload-pack` POSTs (the packs): at most `bytesPerSecond`,
 * and/or only the first `stallAfterBytes` bytes, then nothing more with the connection left open.
 */
export interface PackShaping {
  readonly bytesPerSecond?: number
  readonly stallAfterBytes?: number
}

export interface GitServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string
  /** The temporary directory holding everything; removed by `close`. */
  readonly directory: string
  readonly createRepository: (name: string, options?: TestRepositoryOptions) => Promise<TestRepository>
  /** HTTP requests served so far. */
  readonly requests: number
  /** Bytes of response bodies (packs, ref lists) served so far. */
  readonly bytesServed: number
  /** Responses the client closed before they were complete. */
  readonly responsesCut: number
  /** Shapes the pack responses of requests from now on; `null`: full speed. */
  readonly shapePacks: (shaping: PackShaping | null) => void
  readonly close: () => Promise<void>
}

/**
 * An environment for git that no user or system configuration can reach: no `GIT_*` variable of ours
 * leaks in (a test run from a git hook has `GIT_DIR` set), and the global config lives under `home`.
 */
export const isolatedGitEnv = (home: string): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("GIT_")) env[key] = value
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    LC_ALL: "C"
  }
}

// No background `gc --auto` / maintenance: a detached gc could still be writing when the directory goes.
const QUIET = ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.autocrlf=false"]
const IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.test", "-c", "commit.gpgsign=false"]

/** Runs `git args` (never through a shell) with `isolatedGitEnv(home)`; its stdout. */
export const runGit = async (
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly home: string; readonly env?: Record<string, string> }
): Promise<string> => {
  try {
    const { stdout } = await execFileAsync("git", [...QUIET, ...IDENTITY, ...args], {
      cwd: options.cwd,
      env: { ...isolatedGitEnv(options.home), ...options.env },
      maxBuffer: 256 * 1024 * 1024,
      encoding: "utf8"
    })
    return stdout
  } catch (error) {
    const failure = error as { stderr?: string; message?: string }
    throw new Error(`git ${args.join(" ")} (in ${options.cwd}) failed: ${failure.stderr || failure.message}`)
  }
}

/** A relative path inside the work tree, or a thrown error. */
const safePath = (path: string) => {
  const normalized = normalize(path)
  if (path === "" || isAbsolute(path) || normalized === ".." || normalized.startsWith(`..${sep}`)) {
    throw new Error(`not a relative path inside the repository: ${JSON.stringify(path)}`)
  }
  if (normalized === ".git" || normalized.startsWith(`.git${sep}`)) {
    throw new Error(`a path inside .git: ${JSON.stringify(path)}`)
  }
  return normalized
}

const safeName = (name: string) => {
  if (!/^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*$/.test(name) || name.split("/").some((part) => /^\.+$/.test(part))) {
    throw new Error(`not a repository name: ${JSON.stringify(name)}`)
  }
  return name
}

const HEADER_END = [Buffer.from("\r\n\r\n"), Buffer.from("\n\n")]

/** Where the CGI headers end: the header block's length and the body's offset, if they are complete. */
const headerEnd = (buffer: Buffer) => {
  let best: { headers: number; body: number } | undefined
  for (const marker of HEADER_END) {
    const at = buffer.indexOf(marker)
    if (at >= 0 && (best === undefined || at < best.headers)) best = { headers: at, body: at + marker.length }
  }
  return best
}

const parseCgiHeaders = (text: string) => {
  let status = 200
  let statusMessage: string | undefined
  const headers: Record<string, string | Array<string>> = {}
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (name.toLowerCase() === "status") {
      const match = /^(\d{3})\s*(.*)$/.exec(value)
      if (match !== null) {
        status = Number(match[1])
        statusMessage = match[2] === "" ? undefined : match[2]
      }
      continue
    }
    const existing = headers[name]
    headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value]
  }
  return { status, statusMessage, headers }
}

/** A promise chain per repository: git takes `index.lock`, so two operations at once would fail. */
const serialized = () => {
  let tail: Promise<unknown> = Promise.resolve()
  return <A>(task: () => Promise<A>): Promise<A> => {
    const run = tail.then(task, task)
    tail = run.catch(() => undefined)
    return run
  }
}

export const startGitServer = async (): Promise<GitServer> => {
  const directory = await mkdtemp(join(tmpdir(), "git-server-"))
  const root = join(directory, "repos")
  const work = join(directory, "work")
  const home = join(directory, "home")
  const children = new Set<ChildProcess>()
  const names = new Set<string>()
  let requests = 0
  let bytesServed = 0
  let responsesCut = 0
  let shaping: PackShaping | null = null
  let base = ""
  let lastTime = 0
  let closing: Promise<void> | undefined

  const git = (cwd: string, args: ReadonlyArray<string>, env?: Record<string, string>) =>
    runGit(args, { cwd, home, ...(env === undefined ? {} : { env }) })

  // Strictly increasing commit times: equal trees, parents and messages still give distinct commits.
  const dates = () => {
    lastTime = Math.max(Math.floor(Date.now() / 1000), lastTime + 1)
    const date = `${lastTime} +0000`
    return { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }
  }

  const fail = (response: ServerResponse, status: number, message: string) => {
    if (response.headersSent) return response.destroy()
    response.writeHead(status, { "content-type": "text/plain; charset=utf-8" })
    response.end(message)
  }

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    requests++
    const url = new URL(request.url ?? "/", base)
    let pathInfo: string
    try {
      pathInfo = decodeURIComponent(url.pathname)
    } catch {
      return fail(response, 400, "bad path")
    }
    const header = (name: string) => {
      const value = request.headers[name]
      return Array.isArray(value) ? value.join(", ") : value
    }
    const env: NodeJS.ProcessEnv = {
      ...isolatedGitEnv(home),
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
      PATH_INFO: pathInfo,
      REQUEST_METHOD: request.method ?? "GET",
      QUERY_STRING: url.search.replace(/^\?/, ""),
      REMOTE_ADDR: request.socket.remoteAddress ?? "127.0.0.1"
    }
    const optional: Record<string, string | undefined> = {
      CONTENT_TYPE: header("content-type"),
      CONTENT_LENGTH: header("content-length"),
      GIT_PROTOCOL: header("git-protocol"),
      // http-backend inflates a gzip request body itself when told so.
      HTTP_CONTENT_ENCODING: header("content-encoding")
    }
    for (const [key, value] of Object.entries(optional)) if (value !== undefined) env[key] = value

    const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] })
    children.add(child)
    const stderr: Array<Buffer> = []
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk))
    child.stdin.on("error", () => undefined) // http-backend may answer (an error) without reading the body
    child.on("error", (error) => fail(response, 500, `git http-backend: ${error.message}`))
    child.on("close", (code, signal) => {
      children.delete(child)
      if (!response.headersSent) {
        fail(response, 502, `git http-backend exited (${code ?? signal}) without headers: ${Buffer.concat(stderr)}`)
      }
    })
    request.on("error", () => child.kill("SIGKILL"))
    const shaped = request.method === "POST" && pathInfo.endsWith("/git-upload-pack") ? shaping : null
    let cut = false
    response.on("close", () => {
      if (!response.writableFinished) {
        cut = true
        responsesCut++
        if (child.exitCode === null) child.kill("SIGKILL")
      }
    })
    request.pipe(child.stdin)

    let head = Buffer.alloc(0)
    child.stdout.on("data", (chunk: Buffer) => {
      bytesServed += chunk.length
    })
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = headerEnd(head)
      if (end === undefined) return
      child.stdout.off("data", onData)
      const { headers, status, statusMessage } = parseCgiHeaders(head.subarray(0, end.headers).toString("latin1"))
      if (statusMessage === undefined) response.writeHead(status, headers)
      else response.writeHead(status, statusMessage, headers)
      if (shaped === null) {
        response.write(head.subarray(end.body))
        child.stdout.pipe(response)
      } else {
        child.stdout.pause() // nothing may flow past the shaper before it reads
        void sendShaped(head.subarray(end.body), shaped)
      }
    }
    // The body at most `bytesPerSecond`, in 16 kB writes; past `stallAfterBytes` the rest is held back.
    const sendShaped = async (first: Buffer, { bytesPerSecond, stallAfterBytes }: PackShaping) => {
      const started = Date.now()
      let sent = 0
      const send = async (chunk: Buffer) => {
        for (let at = 0; at < chunk.length && !cut; at += 16 * 1024) {
          if (stallAfterBytes !== undefined && sent >= stallAfterBytes) return
          const piece = chunk.subarray(at, at + 16 * 1024)
          response.write(piece)
          sent += piece.length
          if (bytesPerSecond !== undefined) {
            const due = started + (1000 * sent) / bytesPerSecond - Date.now()
            if (due > 0) await new Promise((resolve) => setTimeout(resolve, due))
          }
        }
      }
      await send(first)
      for await (const chunk of child.stdout) {
        await send(chunk as Buffer)
        if (cut) return
      }
      if (stallAfterBytes === undefined || sent < stallAfterBytes) response.end()
    }
    child.stdout.on("data", onData)
    child.stdout.on("end", () => {
      if (!response.headersSent && head.length > 0) {
        fail(response, 502, `git http-backend answered no header block: ${head.toString("latin1").slice(0, 200)}`)
      }
    })
  }

  const server = createServer(handle)

  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve()
        server.close(() => resolve())
        server.closeAllConnections()
      })
      await Promise.all([...children].map((child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once("close", () => resolve())
          child.kill("SIGKILL")
        })
      ))
      await rm(directory, { recursive: true, force: true, maxRetries: 3 })
    })()
    return closing
  }

  try {
    await Promise.all([mkdir(root), mkdir(work), mkdir(home)])
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => resolve())
    })
  } catch (error) {
    await close()
    throw error
  }
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const createRepository = async (name: string, options: TestRepositoryOptions = {}): Promise<TestRepository> => {
    safeName(name)
    if (names.has(name)) throw new Error(`repository ${name} exists`)
    names.add(name)
    const defaultBranch = options.defaultBranch ?? "main"
    const bare = join(root, `${name}.git`)
    const clone = join(work, name)
    await mkdir(dirname(bare), { recursive: true })
    await mkdir(clone, { recursive: true })
    await git(root, ["init", "-q", "--bare", `--initial-branch=${defaultBranch}`, bare])
    for (
      const [key, value] of [
        ["uploadpack.allowAnySHA1InWant", "true"],
        ["uploadpack.allowReachableSHA1InWant", "true"],
        ["uploadpack.allowFilter", "true"],
        ["receive.autogc", "false"],
        ["gc.auto", "0"]
      ]
    ) await git(bare, ["config", key!, value!])
    await git(clone, ["init", "-q", `--initial-branch=${defaultBranch}`])
    await git(clone, ["remote", "add", "origin", bare])
    const exclusive = serialized()

    const hasRef = async (ref: string) => {
      try {
        await git(clone, ["rev-parse", "-q", "--verify", `${ref}^{commit}`])
        return true
      } catch {
        return false
      }
    }

    /** The work tree on `branch`: an existing one, else forked from the default branch, else unborn. */
    const switchTo = async (branch: string) => {
      const current = (await git(clone, ["symbolic-ref", "--short", "HEAD"])).trim()
      if (current === branch) return
      if (await hasRef(`refs/heads/${branch}`)) return void await git(clone, ["switch", "-q", branch])
      if (await hasRef(`refs/heads/${defaultBranch}`)) {
        return void await git(clone, ["switch", "-q", "-c", branch, defaultBranch])
      }
      await git(clone, ["switch", "-q", "--orphan", branch])
    }

    const write = async (files: Record<string, string | Buffer | null>) => {
      for (const [path, content] of Object.entries(files)) {
        const target = join(clone, safePath(path))
        if (content === null) {
          await rm(target, { recursive: true, force: true })
        } else {
          await mkdir(dirname(target), { recursive: true })
          await writeFile(target, content)
        }
      }
    }

    const commitAll = async (message: string) => {
      await git(clone, ["add", "-A"])
      await git(clone, ["commit", "-q", "--allow-empty", "--no-verify", "-m", message], dates())
      return (await git(clone, ["rev-parse", "HEAD"])).trim()
    }

    const push = (branch: string, force: boolean) =>
      git(clone, ["push", "-q", ...(force ? ["--force"] : []), "origin", `refs/heads/${branch}`])

    let commits = 0

    return {
      name,
      url: `${base}/${name}.git`,
      commit: (files, commitOptions = {}) =>
        exclusive(async () => {
          const branch = commitOptions.branch ?? defaultBranch
          await switchTo(branch)
          for (const [from, to] of Object.entries(commitOptions.renames ?? {})) {
            await mkdir(dirname(join(clone, safePath(to))), { recursive: true })
            await git(clone, ["mv", "--", safePath(from), safePath(to)])
          }
          await write(files)
          const sha = await commitAll(commitOptions.message ?? `commit ${++commits}`)
          await push(branch, false)
          return sha
        }),
      forcePush: (files, pushOptions = {}) =>
        exclusive(async () => {
          const branch = pushOptions.branch ?? defaultBranch
          const orphan = "git-server-orphan"
          // `switch --orphan` empties the index and the tracked files; nothing is ever left untracked.
          await git(clone, ["switch", "-q", "--orphan", orphan])
          await write(files)
          const sha = await commitAll(`force push ${++commits}`)
          await git(clone, ["branch", "-q", "-M", orphan, branch])
          await push(branch, true)
          return sha
        }),
      tag: (tagName, sha) =>
        exclusive(async () => {
          await git(clone, ["tag", "-f", tagName, sha ?? `refs/heads/${defaultBranch}`])
          await git(clone, ["push", "-q", "--force", "origin", `refs/tags/${tagName}`])
        }),
      head: async (branch) =>
        (await git(bare, ["rev-parse", "--verify", `refs/heads/${branch ?? defaultBranch}^{commit}`])).trim(),
      tree: async (sha) => {
        const output = await git(bare, ["ls-tree", "-r", "-l", "-z", sha ?? `refs/heads/${defaultBranch}`])
        const entries: Array<TreeEntry> = []
        for (const record of output.split("\0")) {
          const match = /^\d+ (\w+) ([0-9a-f]+) +(\d+|-)\t([\s\S]*)$/.exec(record)
          if (match === null || match[1] !== "blob") continue
          entries.push({ path: match[4]!, blobSha: match[2]!, size: Number(match[3]) })
        }
        return entries
      }
    }
  }

  return {
    url: base,
    directory,
    createRepository,
    get requests() {
      return requests
    },
    get bytesServed() {
      return bytesServed
    },
    get responsesCut() {
      return responsesCut
    },
    shapePacks: (next) => {
      shaping = next
    },
    close
  }
}

/** A git smart-HTTP server for the enclosing scope: `const server = yield* gitServer()` inside `it.scoped`. */
export const gitServer = () =>
  Effect.acquireRelease(
    Effect.promise(() => startGitServer()),
    (server) => Effect.promise(() => server.close())
  )
