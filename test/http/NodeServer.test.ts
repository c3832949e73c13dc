import { describe, expect, it } from "@effect/vitest"
import type { Server } from "node:http"
import { request } from "node:http"
import type { AddressInfo } from "node:net"
import type { NodeRoute } from "../../src/http/NodeServer.js"
import { createNodeServer } from "../../src/http/NodeServer.js"
import { SECURITY_HEADERS } from "../../src/http/SecurityHeaders.js"

const get = (server: Server, path: string) =>
  new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const { port } = server.address() as AddressInfo
    const sent = request({ host: "127.0.0.1", port, path, method: "GET", agent: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => void (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }))
    })
    sent.on("error", reject)
    sent.end()
  })

const listening = (server: Server) => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))

describe("createNodeServer's node routes", () => {
  it("a route that takes a request is its only handler; one that declines leaves it to the app", async () => {
    const taken: NodeRoute = (req, res) => {
      if (req.url !== "/fast") return false
      res.writeHead(200, { "content-type": "text/plain" }).end("node route")
      return true
    }
    const server = createNodeServer(undefined, [taken])
    const appSaw: Array<string> = []
    // Stands in for the platform's listener, added after the server's own.
    server.on("request", (req, res) => {
      appSaw.push(req.url!)
      if (!res.headersSent) res.writeHead(200).end("app")
    })
    await listening(server)
    try {
      const fast = await get(server, "/fast")
      expect(fast.body).toBe("node route")
      // The security headers are on a node route's answer too.
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(fast.headers[name]).toBe(value)
      const other = await get(server, "/other")
      expect(other.body).toBe("app")
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(other.headers[name]).toBe(value)
      expect(appSaw).toEqual(["/other"])
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it("once the app's listener is gone (shutdown), a node route no longer answers: 503", async () => {
    let calls = 0
    const server = createNodeServer(undefined, [(_req, res) => {
      calls++
      res.writeHead(200).end()
      return true
    }])
    await listening(server)
    try {
      const refused = await get(server, "/fast")
      expect(refused.status).toBe(503)
      expect(JSON.parse(refused.body)).toMatchObject({ _tag: "ShuttingDown" })
      expect(calls).toBe(0)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
