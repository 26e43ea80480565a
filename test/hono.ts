// Hono's Node server (@hono/node-server) through the core, over real
// sockets: the middleware of examples/hono.mjs (built from src here).
import t from 'tap'
import { createAdaptorServer, type HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Hono, type MiddlewareHandler } from 'hono'
import type { Server } from 'node:http'
import { createTrustProxy, type Resolution, type TrustProxyOptions } from '../src/index.js'
import { CLIENT, PROXY, listen, siteRequest as request } from './support/http.js'

type Env = { Bindings: HttpBindings; Variables: { proxyAware: Resolution } }

const honoTrustProxy = (options: TrustProxyOptions): MiddlewareHandler<Env> => {
  const proxy = createTrustProxy(options)
  return async (c, next) => {
    const { incoming, outgoing } = c.env
    if (proxy.handle(incoming, outgoing)) return RESPONSE_ALREADY_SENT
    c.set('proxyAware', proxy.resolve(incoming))
    await next()
  }
}

const start = (t: Parameters<typeof listen>[0], options: TrustProxyOptions) => {
  const app = new Hono<Env>()
  app.use(honoTrustProxy(options))
  app.get('/*', c => {
    const { ip, protocol, host } = c.get('proxyAware')
    c.header('Set-Cookie', 'sid=1; Path=/')
    return c.json({ ip, protocol, host })
  })
  return listen(t, createAdaptorServer({ fetch: app.fetch }) as Server)
}

t.test('Hono: ip, protocol, host, redirect, HSTS and Secure cookies', async t => {
  const port = await start(t, { trust: [PROXY], httpsRedirect: { host: 'good.com' }, hsts: true, secureCookies: true })

  const viaProxy = await request(port, {
    from: PROXY,
    headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
  })
  t.equal(viaProxy.status, 200)
  t.same(JSON.parse(viaProxy.body), { ip: '198.51.100.7', protocol: 'https', host: 'good.com' })
  t.equal(viaProxy.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  t.same(viaProxy.cookies, ['sid=1; Path=/; Secure'])

  const forged = await request(port, {
    from: CLIENT,
    path: '/x?y=1',
    headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
  })
  t.equal(forged.status, 301, 'a direct client claiming https is redirected')
  t.equal(forged.headers.location, 'https://good.com/x?y=1')
  t.same(forged.cookies, [], 'the app did not run')
})

t.test('Hono: without policies, a direct client cannot choose its ip', async t => {
  const port = await start(t, { trust: [PROXY] })
  const forged = await request(port, {
    from: CLIENT,
    headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https' },
  })
  t.same(JSON.parse(forged.body), { ip: CLIENT, protocol: 'http', host: 'good.com' })
  t.same(forged.cookies, ['sid=1; Path=/'])
})
