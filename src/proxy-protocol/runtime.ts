/**
 * Servers whose connections proxyProtocol() cannot reach on this runtime.
 * Bun's node:http, https and http2 servers parse each connection natively
 * before (or without) emitting `connection` through the server's `emit`, so
 * the PROXY header reaches the HTTP parser (tested on Bun 1.4.5,
 * test/runtimes/proxy-protocol.mjs: 400 Bad Request). Bun's `net` and `tls`
 * servers, and its HTTP server given sockets with `emit('connection')`,
 * work.
 */
import http from 'node:http'
import https from 'node:https'
import { ProxyAwareConfigError } from '../core/errors.js'
import { runtimeName, type Versions } from '../core/runtime.js'

/** An HTTP server of Bun's, whose connections proxy-aware cannot read first. */
const nativeHttp = (server: object): boolean =>
  server instanceof http.Server ||
  server instanceof https.Server ||
  String((server.constructor as { name?: unknown } | undefined)?.name).startsWith('Http2')

/**
 * Throws on Bun for an http, https or http2 server, naming the runtime and
 * the way that works. @internal
 */
export const checkRuntime = (server: object, versions: Versions = process.versions): void => {
  if (versions.bun === undefined || !nativeHttp(server)) return
  throw new ProxyAwareConfigError(
    'server',
    `is an HTTP server on ${runtimeName(versions)}, which parses each connection natively before proxy-aware can read its PROXY protocol header. Wrap a net.Server instead and hand each socket to the HTTP server: proxyProtocol(net.createServer(socket => httpServer.emit('connection', socket)), options) (see docs/proxy-protocol.md), or run on Node or Deno`,
  )
}
