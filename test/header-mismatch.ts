// PROXY_AWARE_HEADER_MISMATCH: the app reads one forwarding convention and a
// trusted proxy writes the other (h2o or lighttpd in front of an app reading
// `headers: ['forwarded']`, docs/deployments.md). Warns once, with the fix;
// quiet when the header read is there, when both are read, and for an
// untrusted peer. Real proxies: test/deploy-h2o.ts (warns behind h2o's
// defaults) and every recipe test (quiet, `recipeHeaders`).
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { createTrustProxy, type RequestLike } from '../src/index.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'

type Warning = Error & { code?: string }

/** The PROXY_AWARE_HEADER_MISMATCH process warnings emitted during the test. */
const mismatchWarnings = (t: Test) => {
  const warnings: Warning[] = []
  const on = (w: Warning) => {
    if (w.code === 'PROXY_AWARE_HEADER_MISMATCH') warnings.push(w)
  }
  process.on('warning', on)
  t.teardown(() => process.removeListener('warning', on))
  return async () => {
    await new Promise(resolve => setImmediate(resolve))
    return warnings
  }
}

const req = (peer: string, headers: RequestLike['headers'] = {}): RequestLike => ({
  headers,
  socket: { remoteAddress: peer },
})

t.test('reading Forwarded behind a proxy that writes X-Forwarded-For: warns once, with the fix', async t => {
  const warnings = mismatchWarnings(t)
  const proxy = createTrustProxy({ trust: 'loopback', headers: ['forwarded'] })
  t.match(proxy.resolve(req('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' })), {
    ip: '127.0.0.1',
    reason: 'end-of-chain',
    source: 'socket',
  })
  proxy.resolve(req('127.0.0.1', { 'x-forwarded-for': '203.0.113.10' }))
  const [w, ...more] = await warnings()
  t.equal(more.length, 0, 'once per engine')
  t.match(w?.message, /request from the trusted proxy 127\.0\.0\.1 carried X-Forwarded-For but no Forwarded/)
  t.match(w?.message, /Read the header the proxy writes: headers: \['x-forwarded'\]/, 'the fix')
})

t.test('reading X-Forwarded-For behind a proxy that writes Forwarded: warns', async t => {
  const warnings = mismatchWarnings(t)
  createTrustProxy({ trust: 'loopback' }).resolve(req('::1', { forwarded: 'for=203.0.113.9' }))
  const [w] = await warnings()
  t.match(w?.message, /from the trusted proxy ::1 carried Forwarded but no X-Forwarded-For/)
  t.match(w?.message, /headers: \['forwarded'\]/)
})

t.test('quiet when the setup fits', async t => {
  const warnings = mismatchWarnings(t)
  const forwarded = createTrustProxy({ trust: 'loopback', headers: ['forwarded'] })
  // the proxy writes the header read (a client's other one passes through)
  forwarded.resolve(req('127.0.0.1', { 'forwarded': 'for=203.0.113.9', 'x-forwarded-for': '6.6.6.6' }))
  // no forwarding header at all (a health check)
  forwarded.resolve(req('127.0.0.1'))
  // an untrusted peer: its headers are not a proxy's
  forwarded.resolve(req('203.0.113.9', { 'x-forwarded-for': '6.6.6.6' }))
  // both conventions read
  createTrustProxy({ trust: 'loopback', headers: ['forwarded', 'x-forwarded'] }).resolve(
    req('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }),
  )
  createTrustProxy({ trust: 'loopback' }).resolve(req('127.0.0.1', { 'x-forwarded-for': '203.0.113.9' }))
  t.same(await warnings(), [])
})

t.test("Fastify: the warning goes to the app's logger", async t => {
  const lines: Record<string, unknown>[] = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (l: string) => lines.push(JSON.parse(l)) } } })
  await app.register(fastifyTrustProxy, { trust: 'loopback', headers: ['forwarded'] })
  app.get('/', req => req.ip)
  t.teardown(() => app.close())
  const res = await app.inject({ url: '/', headers: { 'x-forwarded-for': '203.0.113.9' } })
  t.equal(res.body, '127.0.0.1')
  t.match(lines, [{ code: 'PROXY_AWARE_HEADER_MISMATCH', header: 'X-Forwarded-For', add: 'x-forwarded' }])
})
