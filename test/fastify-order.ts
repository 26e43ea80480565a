// The HTTPS and client-certificate policies of the Fastify plugin hold for
// every response, whatever the order hooks and plugins were registered in,
// and for responses Fastify writes without running any hook (framework
// errors).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import http2 from 'node:http2'
import t from 'tap'
import trustProxy from '../src/fastify.js'
import { certs } from './support/certs.js'
import { urlPem } from './support/forwarded-certs.js'
import { PROXY, raw, siteRequest as request, tls } from './support/http.js'

const ONE_YEAR = 'max-age=31536000; includeSubDomains'
const HTTPS = { 'x-forwarded-proto': 'https' }
const c = certs()
const CERT = { 'x-ssl-client-cert': urlPem(c.valid), 'x-ssl-client-verify': 'SUCCESS' }

/** A login gate registered before proxy-aware: it replies with a cookie. */
const gate = (app: FastifyInstance) => {
  app.addHook('onRequest', async function loginGate(request, reply) {
    if (request.url.startsWith('/private')) {
      return reply.code(302).header('set-cookie', 'next=/private; Path=/').header('location', '/login').send()
    }
  })
}

const options = {
  trust: 'loopback',
  httpsRedirect: { host: 'good.com' },
  hsts: true,
  secureCookies: true,
}

/** An app whose gate, child plugin and hooks come before proxy-aware. */
const build = async (extra: object = {}, fastifyOptions: object = {}) => {
  const app = Fastify(fastifyOptions as FastifyServerOptions) as unknown as FastifyInstance
  gate(app)
  // an encapsulated plugin registered before proxy-aware, with its own gate
  await app.register(async child => {
    child.addHook('onRequest', async function childGate(_request, reply) {
      return reply.header('set-cookie', 'child=1').send('from the child gate')
    })
    child.get('/child', async () => 'unreachable')
  })
  await app.register(trustProxy, { ...options, ...extra })
  // hooks registered after still run
  app.addHook('preHandler', async (_request, reply) => {
    reply.header('set-cookie', 'late=1')
  })
  app.get('/', async () => 'ok')
  app.get('/private', async () => 'secret')
  if ('clientCert' in extra) {
    app.get('/open', { config: { clientCert: false } }, async () => 'open')
    app.get('/optional', { config: { clientCert: { mode: 'optional' } } }, async () => 'optional')
  }
  return app
}

t.test('fastify.inject: a hook registered before the plugin', async t => {
  const app = await build()
  t.teardown(() => app.close())
  let r = await app.inject({ url: '/private', remoteAddress: '127.0.0.1', headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 302)
  t.equal(r.headers['set-cookie'], 'next=/private; Path=/; Secure')
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  r = await app.inject({ url: '/private', remoteAddress: '127.0.0.1', headers: { host: 'good.com' } })
  t.equal(r.statusCode, 301)
  t.equal(r.headers.location, 'https://good.com/private')
  t.equal(r.headers['set-cookie'], undefined)
  // an encapsulated plugin registered before proxy-aware
  r = await app.inject({ url: '/child', remoteAddress: '127.0.0.1', headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.body, 'from the child gate')
  t.equal(r.headers['set-cookie'], 'child=1; Secure')
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  r = await app.inject({ url: '/child', remoteAddress: '127.0.0.1', headers: { host: 'good.com' } })
  t.equal(r.statusCode, 301)
  // hooks after the plugin still run, and the 404 handler is covered
  r = await app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.body, 'ok')
  t.equal(r.headers['set-cookie'], 'late=1; Secure')
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  r = await app.inject({ url: '/nowhere', remoteAddress: '127.0.0.1', headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 404)
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
})

t.test('fastify.inject: clientCert required is enforced before a hook registered earlier', async t => {
  const app = await build({ trust: ['loopback'], clientCert: { forwarded: { source: 'nginx' } } })
  t.teardown(() => app.close())
  const from = { remoteAddress: '127.0.0.1' }
  let r = await app.inject({ url: '/private', ...from, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 403, 'no certificate: refused before the gate')
  t.equal(r.headers['set-cookie'], undefined)
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  r = await app.inject({ url: '/child', ...from, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 403, 'and before a gate in an earlier child plugin')
  r = await app.inject({ url: '/private', ...from, headers: { host: 'good.com', ...HTTPS, ...CERT } })
  t.equal(r.statusCode, 302, 'with a certificate the gate runs')
  // route policies still apply
  r = await app.inject({ url: '/open', ...from, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 200)
  t.equal(r.body, 'open')
  r = await app.inject({ url: '/optional', ...from, headers: { host: 'good.com', ...HTTPS } })
  t.equal(r.statusCode, 200)
  t.equal(r.headers['set-cookie'], 'late=1; Secure')
})

t.test('real sockets: early hooks, child plugins and framework errors', async t => {
  const app = await build({}, { maxParamLength: 10 })
  app.get('/p/:id', async () => 'param')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  let r = await request(port, { from: PROXY, path: '/private', headers: HTTPS })
  t.equal(r.status, 302)
  t.same(r.cookies, ['next=/private; Path=/; Secure'])
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  r = await request(port, { from: PROXY, path: '/private' })
  t.equal(r.status, 301)
  t.equal(r.headers.location, 'https://good.com/private')
  r = await request(port, { from: PROXY, path: '/child', headers: HTTPS })
  t.same(r.cookies, ['child=1; Secure'])
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  // a bad URL: Fastify answers 400 without running any hook
  r = await raw(port, 'GET /% HTTP/1.1\r\nHost: good.com\r\nX-Forwarded-Proto: https', PROXY)
  t.equal(r.status, 400)
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  // a too-long parameter: 414, no hook either
  r = await request(port, { from: PROXY, path: `/p/${'x'.repeat(20)}`, headers: HTTPS })
  t.equal(r.status, 414)
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
  // over http the bad URL is redirected like any other
  r = await raw(port, 'GET /% HTTP/1.1\r\nHost: good.com', PROXY)
  t.equal(r.status, 301)
  t.equal(r.headers.location, 'https://good.com/%')
})

t.test('real sockets: frameworkErrors replies get Secure and HSTS', async t => {
  const app = await build(
    {},
    {
      frameworkErrors: (_error: unknown, _request: unknown, reply: FastifyReply) => {
        reply.code(400).header('set-cookie', 'err=1').send('bad url')
      },
    },
  )
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const r = await raw(port, 'GET /% HTTP/1.1\r\nHost: good.com\r\nX-Forwarded-Proto: https', PROXY)
  t.equal(r.status, 400)
  t.equal(r.body, 'bad url')
  t.same(r.cookies, ['err=1; Secure'])
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
})

t.test('real sockets, TLS terminated in the app', async t => {
  const app = await build({ hsts: { excludedHosts: [] } }, { https: tls })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const r = await request(port, { secure: true, path: '/private' })
  t.equal(r.status, 302)
  t.same(r.cookies, ['next=/private; Path=/; Secure'])
  t.equal(r.headers['strict-transport-security'], ONE_YEAR)
})

t.test('real sockets: what the early step logs, and where', async t => {
  const lines: { reqId?: string; msg: string }[] = []
  const app = await build(
    {},
    {
      logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) } },
      frameworkErrors: (_error: unknown, _request: unknown, reply: FastifyReply) => {
        reply.code(400).header('set-cookie', '__Host-err=1').send('bad url')
      },
    },
  )
  app.get('/host-cookie', async (_request, reply) => reply.header('set-cookie', '__Host-id=1').send('ok'))
  // an onRequest hook registered after the plugin still runs
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('x-after', '1')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const ours = () => lines.filter(l => l.msg.startsWith('proxy-aware'))
  // refused before routing: the app's logger (no request id yet)
  let r = await raw(port, 'GET / HTTP/1.1\r\nHost: good.com\r\nHost: evil.com', PROXY)
  t.equal(r.status, 400)
  t.match(ours(), [{ msg: 'proxy-aware: httpsRedirect: more than one Host header' }])
  t.equal(ours()[0]!.reqId, undefined)
  // a cookie warning for a routed request: request.log
  r = await request(port, { from: PROXY, path: '/host-cookie', headers: HTTPS })
  t.same(r.cookies, ['late=1; Secure', '__Host-id=1; Secure'])
  t.equal(r.headers['x-after'], '1')
  t.match(ours()[1], { msg: /__Host- cookie must have Path=\//, reqId: String })
  // and for a framework error: the app's logger
  r = await raw(port, 'GET /% HTTP/1.1\r\nHost: good.com\r\nX-Forwarded-Proto: https', PROXY)
  t.same(r.cookies, ['__Host-err=1; Secure'])
  t.match(ours()[2], { msg: /__Host- cookie must have Path=\// })
  t.equal(ours()[2]!.reqId, undefined)
  t.equal(ours().length, 3)
})

/** One h2 request; resolves with the response headers and those of pushed streams. */
const h2get = async (port: number, path: string) => {
  const client = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
  try {
    return await new Promise<{ main: http2.IncomingHttpHeaders; pushed: http2.IncomingHttpHeaders[] }>(
      (resolve, reject) => {
        client.on('error', reject)
        const pushed: http2.IncomingHttpHeaders[] = []
        client.on('stream', stream => {
          stream.on('push', headers => pushed.push(headers))
          stream.resume()
        })
        const stream = client.request({ ':path': path, ':authority': 'good.com' })
        stream.on('response', main => {
          stream.resume()
          stream.on('end', () => setImmediate(() => resolve({ main, pushed })))
        })
        stream.on('error', reject)
        stream.end()
      },
    )
  } finally {
    client.close()
  }
}

t.test('real sockets over HTTP/2: the early hook, framework errors and pushed responses', async t => {
  const app = await build({}, { http2: true, https: tls, maxParamLength: 10 })
  app.get('/push', (_request, reply) => {
    ;(reply.raw as unknown as http2.Http2ServerResponse).createPushResponse({ ':path': '/style.css' }, (err, push) => {
      if (err) throw err
      push.setHeader('set-cookie', 'pushed=1')
      push.end('css')
      reply.send('page')
    })
  })
  app.get('/p/:id', async () => 'param')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  let r = await h2get(port, '/private')
  t.equal(r.main[':status'], 302)
  t.same(r.main['set-cookie'], ['next=/private; Path=/; Secure'])
  t.equal(r.main['strict-transport-security'], ONE_YEAR)
  r = await h2get(port, `/p/${'x'.repeat(20)}`)
  t.equal(r.main[':status'], 414)
  t.equal(r.main['strict-transport-security'], ONE_YEAR)
  r = await h2get(port, '/push')
  t.equal(r.main[':status'], 200)
  t.same(
    r.pushed.map(h => [h['set-cookie'], h['strict-transport-security']]),
    [[['pushed=1; Secure'], ONE_YEAR]],
  )
})

t.test('real sockets: an exempt predicate that throws is a 500 from Fastify, not a crash', async t => {
  const app = Fastify()
  await app.register(trustProxy, {
    trust: 'loopback',
    httpsRedirect: {
      host: 'good.com',
      exempt: path => {
        if (path === '/boom') throw new Error('boom')
        return false
      },
    },
  })
  app.get('/boom', async () => 'unreachable')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const r = await request(port, { from: PROXY, path: '/boom' })
  t.equal(r.status, 500)
  t.equal((await request(port, { from: PROXY, path: '/x' })).status, 301)
})
