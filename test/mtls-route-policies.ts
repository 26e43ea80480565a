// Client-certificate policies of routes and routers: one route config under
// two apps, router policies merged onto the global allow-list, route
// policies that need the clientCert option, their logger checked at startup,
// the Vary header kept. Server checks: mtls-server-check.ts.
import t from 'tap'
import Fastify from 'fastify'
import express from 'express'
import https from 'node:https'
import { X509Certificate } from 'node:crypto'
import trustProxyFastify from '../src/fastify.js'
import { clientCertPolicy, trustProxy as trustProxyExpress } from '../src/express.js'
import { certs, tlsServerOptions } from './support/certs.js'
import { listen, request } from './support/http.js'
import { urlPem } from './support/forwarded-certs.js'

const c = certs()
const fpValid = new X509Certificate(c.valid.cert).fingerprint256
const fpTricky = new X509Certificate(c.tricky.cert).fingerprint256

t.test("Fastify: one route config object under two apps keeps each app's allow-list", async t => {
  const adminPolicy = { mode: 'required' as const }
  const make = async (allowed: string) => {
    const app = Fastify({ https: tlsServerOptions() })
    await app.register(trustProxyFastify, {
      trust: 'loopback',
      clientCert: { mode: 'optional', allow: { fingerprint256: [allowed] } },
    })
    app.get('/admin', { config: { clientCert: adminPolicy } }, req => ({ cn: req.clientCert?.commonNames ?? null }))
    await app.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => app.close())
    return (app.server.address() as { port: number }).port
  }
  const a = await make(fpValid)
  const b = await make(fpTricky)
  t.equal(
    (await request(a, { secure: true, path: '/admin', client: c.valid })).status,
    200,
    'A admits the certificate it lists',
  )
  t.equal(
    (await request(b, { secure: true, path: '/admin', client: c.valid })).status,
    403,
    'B does not, after A compiled the same route object',
  )
  t.equal(
    (await request(b, { secure: true, path: '/admin', client: c.tricky })).status,
    200,
    'B admits the one it lists',
  )
})

t.test('Express: clientCertPolicy merges onto the global allow-list and status', async t => {
  const app = express()
  app.use(
    trustProxyExpress({
      trust: 'loopback',
      clientCert: { mode: 'optional', status: 401, allow: { fingerprint256: [fpTricky] } },
    }),
  )
  const admin = express.Router()
  admin.use(clientCertPolicy({ mode: 'required' }))
  admin.get('/', (req, res) => {
    res.json({ cn: req.clientCert?.commonNames })
  })
  app.use('/admin', admin)
  const open = express.Router()
  open.use(clientCertPolicy({ mode: 'required', allow: { fingerprint256: [fpValid] } }))
  open.get('/', (req, res) => {
    res.json({ cn: req.clientCert?.commonNames })
  })
  app.use('/own-list', open)
  app.get('/', (req, res) => {
    res.json({ reason: req.clientCertError?.reason ?? null })
  })
  const server = https.createServer(tlsServerOptions(), app)
  const port = await listen(t, server)

  t.same(JSON.parse((await request(port, { secure: true, path: '/', client: c.valid })).body), {
    reason: 'not_allowed',
  })
  t.equal(
    (await request(port, { secure: true, path: '/admin', client: c.valid })).status,
    401,
    'not on the global list, refused with the global status',
  )
  t.equal((await request(port, { secure: true, path: '/admin', client: c.tricky })).status, 200, 'on the global list')
  t.equal(
    (await request(port, { secure: true, path: '/own-list', client: c.valid })).status,
    200,
    "a router's own allow-list replaces the global one",
  )
  t.equal((await request(port, { secure: true, path: '/own-list', client: c.tricky })).status, 401)
})

t.test('Fastify: a route clientCert policy without the clientCert option is a startup error', async t => {
  const app = Fastify()
  await app.register(trustProxyFastify, { trust: 'loopback' })
  t.throws(() => app.get('/admin', { config: { clientCert: { mode: 'required' } } }, () => 'secret'), {
    name: 'ProxyAwareConfigError',
    option: 'config.clientCert',
    message: /route GET \/admin, but proxy-aware has no clientCert option/,
  })
  // `false` (no policy) is fine
  app.get('/open', { config: { clientCert: false } }, () => 'ok')
  t.equal((await app.inject('/open')).body, 'ok')
})

t.test('Express: clientCertPolicy checks its logger at startup', async t => {
  t.throws(() => clientCertPolicy({ mode: 'required', logger: 'oops' as never }), {
    name: 'ProxyAwareConfigError',
    option: 'clientCertPolicy.logger',
    message: /got "oops"/,
  })
  t.throws(() => trustProxyExpress({ trust: 'loopback', logger: { warn() {} } as never }), {
    name: 'ProxyAwareConfigError',
    message: /option "logger" must be a logger/,
  })
})

t.test('Fastify: the RFC 9440 Vary survives a route that sets its own', async t => {
  const app = Fastify()
  await app.register(trustProxyFastify, {
    trust: '127.0.0.1',
    clientCert: { mode: 'optional', forwarded: { source: 'nginx' } },
  })
  app.get('/plain', () => 'plain')
  app.get('/cors', (_req, reply) => {
    reply.header('vary', 'Origin')
    return 'cors'
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const headers = { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' }
  t.equal((await request(port, { path: '/plain', headers })).headers.vary, 'x-ssl-client-cert, x-ssl-client-verify')
  t.equal(
    (await request(port, { path: '/cors', headers })).headers.vary,
    'Origin, x-ssl-client-cert, x-ssl-client-verify',
  )
})
