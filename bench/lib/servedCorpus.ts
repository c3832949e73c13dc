// A corpus committed to a repository on the loopback git server, the way the search and symbols benches
// give our server something to index.
import { join } from "node:path"
import type { GitServer } from "../../test/utils/GitServer.js"

/** A served repository holding `files` (each copy under copy<k>/ when copies > 1), and its work tree. */
export const serveCorpus = async (
  server: GitServer,
  name: string,
  files: Iterable<readonly [string, Buffer]>,
  copies: number
) => {
  const tree: Record<string, Buffer> = {}
  for (const [path, content] of files) {
    for (let k = 0; k < copies; k++) tree[copies === 1 ? path : `copy${k}/${path}`] = content
  }
  const repo = await server.createRepository(name)
  const sha = await repo.commit(tree, { message: "corpus" })
  const committed = await repo.tree(sha)
  if (committed.length !== Object.keys(tree).length) {
    throw new Error(`the commit holds ${committed.length} files, the corpus ${Object.keys(tree).length}`)
  }
  return { url: repo.url, workTree: join(server.directory, "work", name), files: committed.length }
}
