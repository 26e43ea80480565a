// Koa and Hono's Node server (@hono/node-server) through the core, over
// real sockets: the middleware of examples/koa.mjs and examples/hono.mjs
// (built from src here). The client's ip, the protocol and host, redirects,
// HSTS and Secure cookies, the same scenarios for each framework.
import t from 'tap'
import { createAdaptorServer, type HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Hono, type MiddlewareHandler } from 'hono'
import Koa from 'koa'
import http, { type Server } from 'node:http'
import { createTrustProxy, type Resolution, type TrustProxyOptions } from '../src/index.js'
import { CLIENT, PROXY, listen, siteRequest as request } from './support/http.js'

type Test = Parameters<typeof listen>[0]

/** The app's answer: what the framework reports, and a cookie it sets. */
interface Framework {
  name: string
  start(t: Test, options: TrustProxyOptions): Promise<number>
  /** the Set-Cookie the app writes, as the framework serialises it */
  cookie: string
}

const koa: Framework = {
  name: 'Koa',
  cookie: 'sid=1; path=/; httponly',
  start(t, options) {
    const proxy = createTrustProxy(options)
    const app = new Koa()
    app.use(async (ctx, next) => {
      if (proxy.handle(ctx.req, ctx.res)) {
        ctx.respond = false
        return
      }
      const resolution = proxy.resolve(ctx.req)
      ctx.request.ip = resolution.ip ?? ''
      ctx.state.proxyAware = resolution
      await next()
    })
    app.use(ctx => {
      const { protocol, host } = ctx.state.proxyAware as Resolution
      ctx.cookies.set('sid', '1')
      ctx.body = { ip: ctx.ip, protocol, host }
    })
    return listen(t, http.createServer(app.callback()))
  },
}

type HonoEnv = { Bindings: HttpBindings; Variables: { proxyAware: Resolution } }

const hono: Framework = {
  name: 'Hono',
  cookie: 'sid=1; Path=/',
  start(t, options) {
    const proxy = createTrustProxy(options)
    const trustProxy: MiddlewareHandler<HonoEnv> = async (c, next) => {
      const { incoming, outgoing } = c.env
      if (proxy.handle(incoming, outgoing)) return RESPONSE_ALREADY_SENT
      c.set('proxyAware', proxy.resolve(incoming))
      await next()
    }
    const app = new Hono<HonoEnv>()
    app.use(trustProxy)
    app.get('/*', c => {
      const { ip, protocol, host } = c.get('proxyAware')
      c.header('Set-Cookie', 'sid=1; Path=/')
      return c.json({ ip, protocol, host })
    })
    return listen(t, createAdaptorServer({ fetch: app.fetch }) as Server)
  },
}

for (const fw of [koa, hono]) {
  t.test(`${fw.name}: ip, protocol, host, redirect, HSTS and Secure cookies`, async t => {
    const port = await fw.start(t, {
      trust: [PROXY],
      httpsRedirect: { host: 'good.com' },
      hsts: true,
      secureCookies: true,
    })

    const viaProxy = await request(port, {
      from: PROXY,
      headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
    })
    t.equal(viaProxy.status, 200)
    t.same(JSON.parse(viaProxy.body), { ip: '198.51.100.7', protocol: 'https', host: 'good.com' })
    t.equal(viaProxy.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
    t.same(viaProxy.cookies, [`${fw.cookie}; Secure`])

    const forged = await request(port, {
      from: CLIENT,
      path: '/x?y=1',
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
    })
    t.equal(forged.status, 301, 'a direct client claiming https is redirected')
    t.equal(forged.headers.location, 'https://good.com/x?y=1')
    t.same(forged.cookies, [], 'the app did not run')
  })

  t.test(`${fw.name}: without policies, a direct client cannot choose its ip`, async t => {
    const port = await fw.start(t, { trust: [PROXY] })
    const forged = await request(port, {
      from: CLIENT,
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
    })
    t.same(JSON.parse(forged.body), { ip: CLIENT, protocol: 'http', host: 'good.com' })
    t.same(forged.cookies, [fw.cookie], 'no Secure added without secureCookies')
  })
}
