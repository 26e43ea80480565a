/**
 * Hono on Node (@hono/node-server) behind a reverse proxy, through the
 * framework-free core.
 *
 *   npm run build && node examples/hono.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3004/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`.
 * PORT defaults to 3004. In your own code, import from 'proxy-aware'.
 */
import { serve } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Hono } from 'hono'
import { pathToFileURL } from 'node:url'
import { createTrustProxy } from '../dist/esm/index.js'

/** proxy-aware as Hono middleware (Node server only: it needs c.env's Node request). */
export const honoTrustProxy = options => {
  const proxy = createTrustProxy(options)
  return async (c, next) => {
    const { incoming, outgoing } = c.env
    // a configured policy answered (redirect, 400, 403) on the raw response
    if (proxy.handle(incoming, outgoing)) return RESPONSE_ALREADY_SENT
    c.set('proxyAware', proxy.resolve(incoming))
    await next()
  }
}

/** Build the app; `options` are proxy-aware's (trust is required). */
export const build = options => {
  const app = new Hono()
  app.use(honoTrustProxy(options))
  app.get('/', c => {
    const { ip, protocol, host } = c.get('proxyAware')
    c.header('Set-Cookie', 'sid=1; Path=/') // gets Secure on https requests with secureCookies
    return c.json({ ip, protocol, host })
  })
  return app
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 3004)
  serve(
    {
      fetch: build({ trust: process.env.TRUST ?? 'loopback', secureCookies: true }).fetch,
      port,
      hostname: '127.0.0.1',
    },
    info => {
      console.log(`proxy-aware Hono example listening on http://127.0.0.1:${info.port}`)
    },
  )
}
