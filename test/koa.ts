// Koa through the core, over real sockets: the middleware of examples/koa.mjs
// (built from src here). ctx.ip, the protocol and host, redirects, HSTS and
// Secure cookies set with ctx.cookies.
import t from 'tap'
import Koa from 'koa'
import http from 'node:http'
import { createTrustProxy, type Resolution, type TrustProxyOptions } from '../src/index.js'
import { CLIENT, PROXY, listen, siteRequest as request } from './support/http.js'

const koaTrustProxy = (options: TrustProxyOptions): Koa.Middleware => {
  const proxy = createTrustProxy(options)
  return async (ctx, next) => {
    if (proxy.handle(ctx.req, ctx.res)) {
      ctx.respond = false
      return
    }
    const resolution = proxy.resolve(ctx.req)
    ctx.request.ip = resolution.ip ?? ''
    ctx.state.proxyAware = resolution
    await next()
  }
}

const start = (t: Parameters<typeof listen>[0], options: TrustProxyOptions) => {
  const app = new Koa()
  app.use(koaTrustProxy(options))
  app.use(ctx => {
    const { protocol, host } = ctx.state.proxyAware as Resolution
    ctx.cookies.set('sid', '1')
    ctx.body = { ip: ctx.ip, protocol, host }
  })
  return listen(t, http.createServer(app.callback()))
}

t.test('Koa: ip, protocol, host, redirect, HSTS and Secure cookies', async t => {
  const port = await start(t, { trust: [PROXY], httpsRedirect: { host: 'good.com' }, hsts: true, secureCookies: true })

  const viaProxy = await request(port, {
    from: PROXY,
    headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
  })
  t.equal(viaProxy.status, 200)
  t.same(JSON.parse(viaProxy.body), { ip: '198.51.100.7', protocol: 'https', host: 'good.com' })
  t.equal(viaProxy.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.same(viaProxy.cookies, ['sid=1; path=/; httponly; Secure'])

  const forged = await request(port, {
    from: CLIENT,
    path: '/x?y=1',
    headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
  })
  t.equal(forged.status, 301, 'a direct client claiming https is redirected')
  t.equal(forged.headers.location, 'https://good.com/x?y=1')
  t.same(forged.cookies, [], 'the app did not run')
})

t.test('Koa: without policies, a direct client cannot choose its ip', async t => {
  const port = await start(t, { trust: [PROXY] })
  const forged = await request(port, {
    from: CLIENT,
    headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
  })
  t.same(JSON.parse(forged.body), { ip: CLIENT, protocol: 'http', host: 'good.com' })
  t.same(forged.cookies, ['sid=1; path=/; httponly'], 'no Secure added without secureCookies')
})
