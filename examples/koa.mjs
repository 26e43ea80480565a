/**
 * Koa behind a reverse proxy, through the framework-free core.
 *
 *   npm run build && node examples/koa.mjs
 *   curl -H 'X-Forwarded-For: 203.0.113.7' http://127.0.0.1:3003/
 *
 * TRUST (comma-separated) names the proxies in front; default `loopback`.
 * PORT defaults to 3003. In your own code, import from 'proxy-aware'.
 * Leave Koa's own `app.proxy` off: it believes X-Forwarded-* from anyone.
 */
import Koa from 'koa'
import { once } from 'node:events'
import { pathToFileURL } from 'node:url'
import { createTrustProxy } from '../dist/esm/index.js'

/** proxy-aware as Koa middleware; use it first. */
export const koaTrustProxy = options => {
  const proxy = createTrustProxy(options)
  return async (ctx, next) => {
    // a configured policy answered (redirect, 400, 403) on the raw response
    if (proxy.handle(ctx.req, ctx.res)) {
      ctx.respond = false
      return
    }
    const resolution = proxy.resolve(ctx.req)
    ctx.request.ip = resolution.ip ?? '' // Koa's ctx.ip (undefined: no usable address)
    // Koa's ctx.protocol / ctx.secure / ctx.host read headers only with
    // app.proxy: read the decision here instead
    ctx.state.proxyAware = resolution
    await next()
  }
}

/** Build the app; `options` are proxy-aware's (trust is required). */
export const build = options => {
  const app = new Koa()
  app.use(koaTrustProxy(options))
  app.use(ctx => {
    const { protocol, host } = ctx.state.proxyAware
    ctx.cookies.set('sid', '1') // gets Secure on https requests with secureCookies
    ctx.body = { ip: ctx.ip, protocol, host }
  })
  return app
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = build({ trust: process.env.TRUST ?? 'loopback', secureCookies: true }).listen(
    Number(process.env.PORT ?? 3003),
    '127.0.0.1',
  )
  await once(server, 'listening')
  console.log(`proxy-aware Koa example listening on http://127.0.0.1:${server.address().port}`)
}
