/**
 * Fastify behind a reverse proxy, with proxy-aware.
 *
 *   npm run build && node examples/fastify.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3000/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`,
 * i.e. an nginx on the same machine (recipes: docs/deployments.md). PORT defaults to 3000.
 * In your own code, import from 'proxy-aware/fastify'.
 */
import Fastify from 'fastify'
import { pathToFileURL } from 'node:url'
import trustProxy from '../dist/esm/fastify.js'

/** Build the app; `options` are proxy-aware's (trust is required). */
export const build = async options => {
  const app = Fastify()
  await app.register(trustProxy, options)
  // request.ip, .ips, .protocol, .host, .hostname and .port are now the
  // resolved values, for every plugin and route (rate limiters included).
  app.get('/', request => ({
    ip: request.ip,
    protocol: request.protocol,
    host: request.host,
    // the full decision: the chain walked, why it stopped, where ip came from
    hops: request.proxyAware.hops,
    reason: request.proxyAware.reason,
    source: request.proxyAware.source,
    ips: request.ips,
  }))
  return app
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await build({ trust: process.env.TRUST ?? 'loopback' })
  const url = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3000) })
  console.log(`proxy-aware Fastify example listening on ${url}`)
}
