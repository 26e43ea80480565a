import t, { type Test } from 'tap'
import http from 'node:http'
import https from 'node:https'
import express from 'express'
import Fastify from 'fastify'
import { createTrustProxy, type TrustProxyOptions } from '../src/index.js'
import trustProxyFastify from '../src/fastify.js'
import { trustProxy as trustProxyExpress } from '../src/express.js'
import { CLIENT, PROXY, listen, raw, siteRequest as request, tls } from './support/http.js'
import { engineOf } from './support/engine.js'

type Options = Omit<TrustProxyOptions, 'trust'>
type App = (req: http.IncomingMessage, res: http.ServerResponse) => void

const ONE_YEAR = 'max-age=31536000; includeSubDomains'
const HTTPS = { 'x-forwarded-proto': 'https' }

/** A plain http (or https) server behind the core. */
const serve = async (tt: Test, options: Options, app: App = (_req, res) => res.end('ok'), secure = false) => {
  const proxy = createTrustProxy({ trust: PROXY, ...options })
  const handler: App = (req, res) => {
    if (!proxy.handle(req, res)) app(req, res)
  }
  return listen(tt, secure ? https.createServer(tls, handler) : http.createServer(handler))
}

t.test('configuration errors', async t => {
  const cases: [unknown, string, RegExp][] = [
    ['yes', 'hsts', /must be an options object, got "yes"/],
    [
      { maxage: 10 },
      'hsts.maxage',
      /is not a known option \(known: maxAge, includeSubDomains, preload, excludedHosts\)/,
    ],
    [{ includeSubdomains: true }, 'hsts.includeSubdomains', /is not a known option/],
    [{ maxAge: -1 }, 'hsts.maxAge', /got -1/],
    [{ maxAge: 1.5 }, 'hsts.maxAge', /got 1.5/],
    [{ maxAge: '1' }, 'hsts.maxAge', /got "1"/],
    [{ maxAge: Infinity }, 'hsts.maxAge', /got Infinity/],
    // 1e21 would be written as max-age=1e+21, which browsers ignore
    [{ maxAge: 1e21 }, 'hsts.maxAge', /got 1e\+21/],
    [{ maxAge: Number.MAX_SAFE_INTEGER + 1 }, 'hsts.maxAge', /got 9007199254740992/],
    [{ includeSubDomains: 'yes' }, 'hsts.includeSubDomains', /must be a boolean, got "yes"/],
    [{ preload: 1 }, 'hsts.preload', /must be a boolean, got 1/],
    [
      { preload: true, maxAge: 86400 },
      'hsts.preload',
      /needs maxAge >= 31536000 and includeSubDomains: true .*got maxAge 86400 and includeSubDomains true/,
    ],
    [{ preload: true, includeSubDomains: false }, 'hsts.preload', /got maxAge 31536000 and includeSubDomains false/],
    [{ excludedHosts: 'localhost' }, 'hsts.excludedHosts', /must be an array of host names, got "localhost"/],
    [{ excludedHosts: ['localhost:3000'] }, 'hsts.excludedHosts', /got "localhost:3000"/],
  ]
  for (const [hsts, option, message] of cases) {
    t.throws(
      () => createTrustProxy({ trust: PROXY, hsts } as TrustProxyOptions),
      { name: 'ProxyAwareConfigError', option, message },
      JSON.stringify(hsts),
    )
  }
  t.throws(() => trustProxyExpress({ trust: PROXY, hsts: { maxAge: -5 } }), {
    option: 'hsts.maxAge',
    message: /got -5/,
  })
  t.equal(engineOf({ trust: PROXY, hsts: false }).hasFeatures, false)
})

t.test('only on responses to https requests', async t => {
  const port = await serve(t, { hsts: true })
  const cases: [string, Record<string, string>, string | undefined][] = [
    [PROXY, HTTPS, ONE_YEAR],
    [PROXY, { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }, ONE_YEAR],
    [PROXY, { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'http' }, undefined],
    [PROXY, {}, undefined],
    [CLIENT, {}, undefined],
    [CLIENT, HTTPS, undefined], // forged by an untrusted peer
    [CLIENT, { forwarded: 'for=1.1.1.1;proto=https' }, undefined],
  ]
  for (const [from, headers, expected] of cases) {
    const r = await request(port, { from, headers })
    t.equal(r.status, 200)
    t.equal(r.headers['strict-transport-security'], expected, `${from} ${JSON.stringify(headers)}`)
  }
  // a TLS socket is https
  const tlsPort = await serve(t, { hsts: true }, undefined, true)
  t.equal((await request(tlsPort, { secure: true })).headers['strict-transport-security'], ONE_YEAR)
  t.equal(
    (await request(tlsPort, { secure: true, headers: { 'x-forwarded-proto': 'http' } })).headers[
      'strict-transport-security'
    ],
    ONE_YEAR,
  )
})

t.test('options shape the header', async t => {
  const cases: [TrustProxyOptions['hsts'], string][] = [
    [{}, ONE_YEAR],
    [{ maxAge: 0 }, 'max-age=0; includeSubDomains'],
    [{ maxAge: 300, includeSubDomains: false }, 'max-age=300'],
    [{ preload: true }, `${ONE_YEAR}; preload`],
    [{ maxAge: 63072000, includeSubDomains: true, preload: true }, 'max-age=63072000; includeSubDomains; preload'],
  ]
  for (const [hsts, expected] of cases) {
    const port = await serve(t, { hsts })
    t.equal(
      (await request(port, { from: PROXY, headers: HTTPS })).headers['strict-transport-security'],
      expected,
      JSON.stringify(hsts),
    )
  }
})

t.test('local hosts are excluded by default; excludedHosts replaces the list', async t => {
  const dflt = await serve(t, { hsts: true })
  const cases: [string, boolean][] = [
    ['localhost', false],
    ['LOCALHOST:3000', false],
    ['localhost.', false],
    ['app.localhost', false],
    ['127.0.0.1:8080', false],
    ['[::1]', false],
    ['[0::1]:80', false],
    ['good.com', true],
    ['localhost.good.com', true],
    ['127.0.0.2', true],
  ]
  for (const [host, sent] of cases) {
    const r = await request(dflt, { from: PROXY, headers: { ...HTTPS, host } })
    t.equal(r.headers['strict-transport-security'], sent ? ONE_YEAR : undefined, host)
  }
  // HTTP/1.0 without a host: still sent
  t.equal(
    (await raw(dflt, 'GET / HTTP/1.0\r\nX-Forwarded-Proto: https', PROXY)).headers['strict-transport-security'],
    ONE_YEAR,
  )
  const custom = await serve(t, { hsts: { excludedHosts: ['*.internal.example'] } })
  t.equal(
    (await request(custom, { from: PROXY, headers: { ...HTTPS, host: 'localhost' } })).headers[
      'strict-transport-security'
    ],
    ONE_YEAR,
  )
  t.equal(
    (await request(custom, { from: PROXY, headers: { ...HTTPS, host: 'a.internal.example' } })).headers[
      'strict-transport-security'
    ],
    undefined,
  )
  const none = await serve(t, { hsts: { excludedHosts: [] } })
  t.equal(
    (await request(none, { from: PROXY, headers: { ...HTTPS, host: 'localhost' } })).headers[
      'strict-transport-security'
    ],
    ONE_YEAR,
  )
})

t.test("never overrides the app's own header, however it was written", async t => {
  const own = 'max-age=60'
  const apps: [string, App][] = [
    [
      'setHeader',
      (_q, res) => {
        res.setHeader('Strict-Transport-Security', own)
        res.end()
      },
    ],
    ['writeHead object', (_q, res) => res.writeHead(200, { 'strict-transport-security': own }).end()],
    [
      'writeHead object after setHeader',
      (_q, res) => {
        res.setHeader('x-a', '1')
        res.writeHead(200, { 'Strict-Transport-Security': own }).end()
      },
    ],
    ['writeHead flat array', (_q, res) => res.writeHead(200, ['STRICT-TRANSPORT-SECURITY', own]).end()],
    [
      'writeHead nested array',
      (_q, res) =>
        res
          .writeHead(200, [
            ['x-a', '1'],
            ['Strict-Transport-Security', own],
          ] as unknown as string[])
          .end(),
    ],
    [
      'writeHead reason and object',
      (_q, res) => res.writeHead(200, 'Fine', { 'strict-transport-security': own }).end(),
    ],
  ]
  for (const [name, app] of apps) {
    const port = await serve(t, { hsts: true }, app)
    const r = await request(port, { from: PROXY, headers: HTTPS })
    t.same(
      r.lines.filter(([k]) => k.toLowerCase() === 'strict-transport-security').map(l => l[1]),
      [own],
      name,
    )
  }
})

t.test('added however the app writes its headers', async t => {
  const apps: [string, App][] = [
    ['end', (_q, res) => res.end('x')],
    ['writeHead no headers', (_q, res) => res.writeHead(204).end()],
    ['writeHead object', (_q, res) => res.writeHead(200, { 'x-a': '1' }).end()],
    ['writeHead flat array', (_q, res) => res.writeHead(200, ['x-a', '1']).end()],
    ['writeHead empty array', (_q, res) => res.writeHead(200, []).end()],
    ['writeHead nested array', (_q, res) => res.writeHead(200, [['x-a', '1']] as unknown as string[]).end()],
    [
      'setHeader then write',
      (_q, res) => {
        res.setHeader('x-a', '1')
        res.write('a')
        res.end('b')
      },
    ],
    [
      'flushHeaders',
      (_q, res) => {
        res.flushHeaders()
        res.end()
      },
    ],
  ]
  for (const [name, app] of apps) {
    const port = await serve(t, { hsts: true }, app)
    const r = await request(port, { from: PROXY, headers: HTTPS })
    t.same(
      r.lines.filter(([k]) => k.toLowerCase() === 'strict-transport-security').map(l => l[1]),
      [ONE_YEAR],
      name,
    )
    if (name !== 'end' && name !== 'flushHeaders' && !name.includes('no headers') && !name.includes('empty')) {
      t.equal(r.headers['x-a'], '1', name)
    }
  }
})

t.test('Fastify (inject and sockets) and Express', async t => {
  const app = Fastify()
  await app.register(trustProxyFastify, { trust: PROXY, hsts: { maxAge: 600 } })
  app.get('/', async () => 'ok')
  app.get('/own', async (_req, reply) => reply.header('strict-transport-security', 'max-age=1').send('own'))
  let r = await app.inject({ url: '/', remoteAddress: PROXY, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.headers['strict-transport-security'], 'max-age=600; includeSubDomains')
  r = await app.inject({ url: '/', remoteAddress: CLIENT, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.headers['strict-transport-security'], undefined)
  r = await app.inject({ url: '/own', remoteAddress: PROXY, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.headers['strict-transport-security'], 'max-age=1')
  r = await app.inject({ url: '/missing', remoteAddress: PROXY, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 404)
  t.equal(r.headers['strict-transport-security'], 'max-age=600; includeSubDomains')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const fport = (app.server.address() as { port: number }).port
  t.equal(
    (await request(fport, { from: PROXY, headers: HTTPS })).headers['strict-transport-security'],
    'max-age=600; includeSubDomains',
  )
  t.equal((await request(fport, { from: CLIENT, headers: HTTPS })).headers['strict-transport-security'], undefined)

  const ex = express()
  ex.use(trustProxyExpress({ trust: PROXY, hsts: true }))
  ex.get('/', (_req, res) => {
    res.send('ok')
  })
  const eport = await listen(t, http.createServer(ex))
  t.equal((await request(eport, { from: PROXY, headers: HTTPS })).headers['strict-transport-security'], ONE_YEAR)
  t.equal((await request(eport, { from: CLIENT, headers: HTTPS })).headers['strict-transport-security'], undefined)
})

t.test('with httpsRedirect: the redirect (over http) carries no HSTS, the https page does', async t => {
  const port = await serve(t, { hsts: true, httpsRedirect: { host: 'good.com' } })
  const redirect = await request(port, { from: CLIENT, headers: HTTPS })
  t.equal(redirect.status, 301)
  t.equal(redirect.headers['strict-transport-security'], undefined)
  const page = await request(port, { from: PROXY, headers: HTTPS })
  t.equal(page.status, 200)
  t.equal(page.headers['strict-transport-security'], ONE_YEAR)
})
