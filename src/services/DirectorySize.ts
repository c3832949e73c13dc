import { lstat, readdir } from "node:fs/promises"
import { join } from "node:path"

const vanished = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT"

/**
 * Bytes of the regular files under `dir`, symlinks not followed. Files that vanish while it walks (a
 * temporary pack renamed, a workspace removed) count as nothing.
 */
export const directorySize = async (dir: string): Promise<number> => {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    if (vanished(error)) return 0
    throw error
  }
  let total = 0
  for (const entry of entries) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      total += await directorySize(path)
    } else if (entry.isFile()) {
      try {
        total += (await lstat(path)).size
      } catch (error) {
        if (!vanished(error)) throw error
      }
    }
  }
  return total
}
