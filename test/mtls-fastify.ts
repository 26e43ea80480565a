// Client certificates through the Fastify plugin.
import Fastify from 'fastify'
import t from 'tap'
import trustProxy, { ProxyAwareConfigError } from '../src/fastify.js'
import { certs, rogueContextOptions, tlsServerOptions } from './support/certs.js'
import { b64, urlPem } from './support/forwarded-certs.js'
import { request } from './support/http.js'

const c = certs()
const PROXY = '10.0.0.1'
const nginxHeaders = { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' }

async function app(t: { teardown(fn: () => unknown): void }, clientCert: object) {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, { trust: '10.0.0.0/8', clientCert })
  const view = (request: {
    clientCert: { commonNames: readonly string[] } | undefined
    clientCertError: unknown
    headers: object
  }) => ({
    cn: request.clientCert?.commonNames[0] ?? null,
    error: request.clientCertError ?? null,
    headers: request.headers,
  })
  app.get('/', async request => view(request))
  app.get('/open', { config: { clientCert: false } }, async request => view(request))
  app.get('/optional', { config: { clientCert: { mode: 'optional' } } }, async request => view(request))
  app.get('/only-other', { config: { clientCert: { allow: { commonName: ['someone-else'] } } } }, async request =>
    view(request),
  )
  app.get(
    '/only-one',
    { config: { clientCert: { allow: { commonName: ['client-one'] }, status: 401 } } },
    async request => view(request),
  )
  return app
}

t.test('request.clientCert from the trusted proxy', async t => {
  const a = await app(t, { forwarded: { source: 'nginx' } })
  const res = await a.inject({ url: '/', remoteAddress: PROXY, headers: nginxHeaders })
  t.equal(res.statusCode, 200)
  t.equal(res.json().cn, 'client-one')
  t.equal(res.json().error, null)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.vary, 'x-ssl-client-cert, x-ssl-client-verify')
})

t.test('forged headers from an untrusted peer: refused, and deleted on open routes', async t => {
  const a = await app(t, { forwarded: { source: 'nginx' } })
  const res = await a.inject({ url: '/', remoteAddress: '203.0.113.9', headers: nginxHeaders })
  t.equal(res.statusCode, 403)
  t.equal(res.body, 'Forbidden\n')
  const open = await a.inject({ url: '/open', remoteAddress: '203.0.113.9', headers: nginxHeaders })
  t.equal(open.statusCode, 200)
  t.equal(open.json().headers['x-ssl-client-cert'], undefined)
  t.equal(open.json().headers['x-ssl-client-verify'], undefined)
  t.equal(open.json().cn, null)
  t.equal(open.headers.vary, undefined, 'a route without the check does not vary on the certificate')
})

t.test('route overrides', async t => {
  const a = await app(t, { forwarded: { source: 'haproxy' } })
  const valid = { 'x-ssl-client-cert': b64(c.valid), 'x-ssl-client-verify': '0' }
  t.equal((await a.inject({ url: '/', remoteAddress: PROXY })).statusCode, 403, 'required by default')
  t.equal((await a.inject({ url: '/open', remoteAddress: PROXY })).statusCode, 200, 'clientCert: false skips the check')
  const optional = await a.inject({ url: '/optional', remoteAddress: PROXY })
  t.equal(optional.statusCode, 200, 'optional on this route')
  t.equal(optional.json().error.reason, 'missing')
  t.equal((await a.inject({ url: '/optional', remoteAddress: PROXY, headers: valid })).json().cn, 'client-one')
  t.equal(
    (await a.inject({ url: '/only-other', remoteAddress: PROXY, headers: valid })).statusCode,
    403,
    'route allow-list',
  )
  t.equal((await a.inject({ url: '/only-one', remoteAddress: PROXY, headers: valid })).statusCode, 200)
  const missing = await a.inject({ url: '/only-one', remoteAddress: PROXY })
  t.equal(missing.statusCode, 401, 'route status; mode inherited from the plugin')
  t.equal(missing.body, 'Unauthorized\n')
})

t.test('a malformed forwarded certificate answers 400 even on optional routes', async t => {
  const a = await app(t, { mode: 'optional', forwarded: { source: 'haproxy' } })
  const res = await a.inject({
    url: '/',
    remoteAddress: PROXY,
    headers: { 'x-ssl-client-cert': 'not base64!', 'x-ssl-client-verify': '0' },
  })
  t.equal(res.statusCode, 400)
  t.equal(res.body, 'Bad Request\n')
})

t.test('bad route configuration fails at startup, naming the option', async t => {
  for (const [config, message] of [
    [{ clientCert: 'yes' }, /option "config.clientCert" must be false or an object/],
    [
      { clientCert: { mode: 'sometimes' } },
      /option "config.clientCert.mode" must be 'required' or 'optional', got "sometimes"/,
    ],
    [{ clientCert: { forwarded: { source: 'nginx' } } }, /option "config.clientCert.forwarded" is not a known option/],
    [{ clientCert: { allow: { cn: ['x'] } } }, /option "config.clientCert.allow.cn" is not a known option/],
    [{ clientCert: { status: 500 } }, /option "config.clientCert.status" must be a 4xx status code, got 500/],
  ] as const) {
    const a = Fastify()
    t.teardown(() => a.close())
    await a.register(trustProxy, { trust: '10.0.0.0/8', clientCert: { forwarded: { source: 'nginx' } } })
    let error: unknown
    try {
      a.get('/', { config: config as never }, async () => 'x')
      await a.ready()
    } catch (err) {
      error = err
    }
    t.type(error, ProxyAwareConfigError)
    t.match((error as Error).message, message)
  }
})

t.test('mTLS terminated by Fastify itself', async t => {
  const a = Fastify({ https: tlsServerOptions() })
  t.teardown(() => a.close())
  await a.register(trustProxy, {
    trust: 'loopback',
    clientCert: { allow: { uri: ['spiffe://example.org/ns/prod/sa/web'] } },
  })
  a.get('/', async request => ({ cn: request.clientCert?.commonNames[0], san: request.clientCert?.san.uri }))
  await a.listen({ port: 0, host: '127.0.0.1' })
  const port = (a.server.address() as { port: number }).port
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    const ok = await request(port, { secure: true, client: c.valid, tls: version })
    t.equal(ok.status, 200, version)
    t.same(JSON.parse(ok.body), { cn: 'client-one', san: ['spiffe://example.org/ns/prod/sa/web'] })
    t.equal((await request(port, { secure: true, tls: version })).status, 403, `${version}: no certificate`)
    t.equal(
      (await request(port, { secure: true, client: c.wrongCa, tls: version })).status,
      403,
      `${version}: wrong CA`,
    )
    t.equal((await request(port, { secure: true, client: c.expired, tls: version })).status, 403, `${version}: expired`)
    t.equal(
      (await request(port, { secure: true, client: c.serverOnly, tls: version })).status,
      403,
      `${version}: server-only EKU`,
    )
  }
})

t.test('a server that cannot verify client certificates is a startup error', async t => {
  const noCa = tlsServerOptions()
  delete noCa.ca
  const setups: [string, ReturnType<typeof Fastify>, RegExp][] = [
    ['plain http', Fastify(), /needs a TLS server with requestCert: true/],
    [
      'https without requestCert',
      Fastify({ https: tlsServerOptions({ requestCert: false }) }),
      /needs a TLS server with requestCert: true/,
    ],
    ['requestCert without ca', Fastify({ https: noCa }), /needs an explicit ca on the TLS server/],
  ]
  for (const [name, a, message] of setups) {
    t.teardown(() => a.close())
    a.register(trustProxy, { trust: 'loopback', clientCert: {} })
    await t.rejects(a.ready(), { name: 'ProxyAwareConfigError', message }, name)
  }
  const forwarded = Fastify()
  t.teardown(() => forwarded.close())
  await forwarded.register(trustProxy, { trust: 'loopback', clientCert: { forwarded: { source: 'nginx' } } })
  t.pass('a plain http server is fine when a proxy forwards the certificate')
})

t.test('Fastify: an SNI context trusting another CA does not widen the server ca', async t => {
  const a = Fastify({ https: tlsServerOptions() })
  t.teardown(() => a.close())
  await a.register(trustProxy, { trust: 'loopback', clientCert: {} })
  a.get('/', async request => ({ cn: request.clientCert?.commonNames[0] }))
  await a.listen({ port: 0, host: '127.0.0.1' })
  ;(a.server as unknown as { addContext(name: string, o: object): void }).addContext(
    'rogue.test',
    rogueContextOptions(),
  )
  const port = (a.server.address() as { port: number }).port
  t.equal((await request(port, { secure: true, client: c.wrongCa })).status, 403, 'refused on the default name')
  t.equal(
    (await request(port, { secure: true, client: c.wrongCa, servername: 'rogue.test' })).status,
    403,
    'refused through the SNI context',
  )
  const ok = await request(port, { secure: true, client: c.valid, servername: 'rogue.test' })
  t.same([ok.status, JSON.parse(ok.body)], [200, { cn: 'client-one' }])
})
