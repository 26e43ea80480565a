/**
 * Plain node:http behind a reverse proxy, with the framework-free core.
 *
 *   npm run build && node examples/http.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3002/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`.
 * PORT defaults to 3002. In your own code, import from 'proxy-aware'.
 */
import http from 'node:http'
import { once } from 'node:events'
import { pathToFileURL } from 'node:url'
import { createTrustProxy } from '../dist/esm/index.js'

/** Build the server; `options` are proxy-aware's (trust is required). */
export const build = options => {
  // Validates the options now: a bad trust entry throws at startup.
  const proxy = createTrustProxy(options)
  return http.createServer((req, res) => {
    // Runs the configured policies (HTTPS redirect, HSTS, ...); true when
    // proxy-aware has answered the request itself.
    if (proxy.handle(req, res)) return
    // Resolved once per request; calling resolve again returns the same object.
    const { ip, protocol, host, hops, reason, source, ips } = proxy.resolve(req)
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.end(JSON.stringify({ ip, protocol, host, hops, reason, source, ips }))
  })
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = build({ trust: process.env.TRUST ?? 'loopback' }).listen(Number(process.env.PORT ?? 3002), '127.0.0.1')
  await once(server, 'listening')
  console.log(`proxy-aware plain http example listening on http://127.0.0.1:${server.address().port}`)
}
