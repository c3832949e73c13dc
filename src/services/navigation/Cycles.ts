/** Byte order of paths (the order SQL gives them with COLLATE "C"), the same on every machine. */
export const compare = (a: string, b: string) => a < b ? -1 : a > b ? 1 : 0

/** How many shortest-path searches one answer may run (one per import edge inside a loop). */
const MAX_SEARCHES = 2000

/** Strongly connected components of the graph (Tarjan, without recursion): a file → its component's number. */
const components = (nodes: ReadonlyArray<string>, out: ReadonlyMap<string, ReadonlyArray<string>>) => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: Array<string> = []
  const component = new Map<string, number>()
  let counter = 0
  for (const start of nodes) {
    if (index.has(start)) continue
    const frames: Array<{ readonly node: string; next: number }> = [{ node: start, next: 0 }]
    index.set(start, counter)
    low.set(start, counter++)
    stack.push(start)
    onStack.add(start)
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!
      const targets = out.get(frame.node) ?? []
      if (frame.next < targets.length) {
        const target = targets[frame.next++]!
        if (!index.has(target)) {
          index.set(target, counter)
          low.set(target, counter++)
          stack.push(target)
          onStack.add(target)
          frames.push({ node: target, next: 0 })
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(target)!))
        }
        continue
      }
      frames.pop()
      const parent = frames[frames.length - 1]
      if (parent !== undefined) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!))
      if (low.get(frame.node) === index.get(frame.node)) {
        for (;;) {
          const member = stack.pop()!
          onStack.delete(member)
          component.set(member, index.get(frame.node)!)
          if (member === frame.node) break
        }
      }
    }
  }
  return component
}

/** The shortest path from `from` to `to` inside one component, both ends included (breadth first). */
const shortestPath = (
  from: string,
  to: string,
  out: ReadonlyMap<string, ReadonlyArray<string>>,
  inside: (node: string) => boolean
) => {
  const previous = new Map<string, string | null>([[from, null]])
  const queue = [from]
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!
    if (node === to) break
    for (const target of out.get(node) ?? []) {
      if (!previous.has(target) && inside(target)) {
        previous.set(target, node)
        queue.push(target)
      }
    }
  }
  if (!previous.has(to)) return undefined
  const path: Array<string> = []
  for (let node: string | null = to; node !== null; node = previous.get(node)!) path.push(node)
  return path.reverse()
}

/**
 * Import cycles in a graph of files (`from` imports `to`), each as a path list that starts and ends with the
 * same file, at most `max`: for every import edge that is part of a loop, the shortest cycle through it, each
 * cycle once (rotated to start at its least path). Not every elementary cycle of a tangle is listed (there
 * can be exponentially many), but every edge of one is on a listed cycle.
 */
export const findCycles = (
  edges: ReadonlyArray<{ readonly from: string; readonly to: string }>,
  max: number
): ReadonlyArray<ReadonlyArray<string>> => {
  const out = new Map<string, Array<string>>()
  for (const edge of edges) {
    const list = out.get(edge.from)
    if (list === undefined) out.set(edge.from, [edge.to])
    else list.push(edge.to)
  }
  for (const list of out.values()) list.sort()
  const nodes = [...new Set(edges.flatMap((edge) => [edge.from, edge.to]))].sort()
  const component = components(nodes, out)
  const cycles = new Map<string, Array<string>>()
  let searches = 0
  const sorted = [...edges].sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to))
  for (const edge of sorted) {
    if (cycles.size >= max || searches >= MAX_SEARCHES) break
    const home = component.get(edge.from)
    if (home !== component.get(edge.to)) continue
    let loop: Array<string>
    if (edge.from === edge.to) loop = [edge.from]
    else {
      searches++
      const back = shortestPath(edge.to, edge.from, out, (node) => component.get(node) === home)
      if (back === undefined) continue
      loop = [edge.from, ...back.slice(0, -1)]
    }
    const least = loop.indexOf([...loop].sort()[0]!)
    const rotated = [...loop.slice(least), ...loop.slice(0, least)]
    const key = rotated.join("\u0000")
    if (!cycles.has(key)) cycles.set(key, [...rotated, rotated[0]!])
  }
  return [...cycles.values()]
}
