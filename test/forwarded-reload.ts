// Reloading the CA and CRLs of forwarded client certificates without a
// restart (watchForwardedCa), through Fastify (inject from the trusted
// proxy's address) and Express (real sockets), with CRLs made by openssl.
import express from 'express'
import Fastify from 'fastify'
import http from 'node:http'
import t, { type Test } from 'tap'
import trustProxy from '../src/fastify.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { createTrustProxy } from '../src/index.js'
import { watchForwardedCa } from '../src/tls/index.js'
import { sf, xfccElement } from './support/forwarded-certs.js'
import { listen, recorder, request } from './support/http.js'
import type { Pair } from './support/certs.js'
import { pki } from './fixtures/tls-pki.js'
import { APPLIED, tlsDir, until } from './fixtures/tls-watch-helpers.js'

const a = pki('Forwarded CA A')
const a1 = a.issue('a1', 'client')
const a2 = a.issue('a2', 'client')
const a3 = a.issue('a3', 'client')
const crlA = a.crl()
const b = pki('Forwarded CA B')
const b1 = b.issue('b1', 'client')
const crlB = b.crl()

/** CA A and its (empty) CRL in files, and a watcher of them. */
const watched = async (t: Test) => {
  const d = tlsDir(t)
  d.write('ca.crt', a.ca.cert)
  d.write('ca.crl', crlA)
  const logger = recorder()
  const w = watchForwardedCa({ ca: d.path('ca.crt'), crl: d.path('ca.crl'), logger, debounce: 10 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  const refusals = () => logger.entries.filter(e => e.level === 'warn' && /CA not reloaded/.test(e.msg ?? ''))
  const loaded = () => logger.entries.filter(e => e.msg === 'proxy-aware: forwarded-certificate CA loaded')
  return { d, w, logger, refusals, loaded }
}

type Seen = { cn: string | null; reason: string | null }

/** A Fastify app reading Envoy's XFCC from 10.0.0.1. */
const fastifyApp = async (t: Test, ca: unknown) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(trustProxy, {
    trust: '10.0.0.0/8',
    clientCert: { mode: 'optional', forwarded: { source: 'xfcc', ca: ca as never } },
  })
  app.get('/', async req => ({
    cn: req.clientCert?.commonNames[0] ?? null,
    reason: req.clientCertError?.reason ?? null,
    detail: req.clientCertError?.detail ?? null,
  }))
  return async (p: Pair) =>
    (
      await app.inject({ url: '/', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-client-cert': xfccElement(p) } })
    ).json<Seen & { detail: string | null }>()
}

/** An Express app behind http, reading RFC 9440 headers from 127.0.0.1. */
const expressApp = async (t: Test, ca: unknown) => {
  const app = express()
  app.use(expressTrustProxy({ trust: '127.0.0.1', clientCert: { forwarded: { source: 'rfc9440', ca: ca as never } } }))
  app.get('/', (req, res) => {
    res.json({ cn: req.clientCert?.commonNames[0] ?? null })
  })
  const port = await listen(t, http.createServer(app))
  return async (p: Pair) => {
    const r = await request(port, { from: '127.0.0.1', headers: { 'client-cert': sf(p) } })
    return r.status === 200 ? (r.json as { cn: string }).cn : r.status
  }
}

t.test('Fastify: a certificate revoked while the app runs is refused once the CRL file is replaced', async t => {
  const { d, w, loaded } = await watched(t)
  const send = await fastifyApp(t, w)
  t.match(await send(a1), { cn: 'a1', reason: null })
  a.revoke('a1')
  d.write('ca.crl', a.crl())
  t.match(await w.reload(), APPLIED)
  // the same headers within the minute a result is cached: the new CRL applies at once
  t.match(await send(a1), { cn: null, reason: 'revoked', detail: /a1.*is listed in the CRL of .*Forwarded CA A/ })
  t.match(await send(a2), { cn: 'a2' }, 'the others still pass')
  t.equal(loaded().length, 2)
})

t.test('Express: a CA rotated on disk; the new CA is accepted, the old refused, without restart', async t => {
  const { d, w, refusals, loaded } = await watched(t)
  const send = await expressApp(t, w)
  t.equal(await send(a2), 'a2')
  t.equal(await send(b1), 403)

  // the bundle changes first: A's CRL is not signed by B, so nothing changes yet, and it is said once
  d.write('ca.crt', b.ca.cert)
  const refused = await w.reload()
  t.match(refused, { status: 'refused', reason: /the CRL file: CRL 1 is not issued by a CA of the bundle/ })
  t.match(await w.reload(), { status: 'refused' })
  t.equal(refusals().length, 1, 'the reason is logged once')
  t.equal(await send(a2), 'a2', 'still the old material')

  // then the CRL: picked up by the folder watch
  d.write('ca.crl', crlB)
  await until('the new CA to load', () => loaded().length === 2)
  t.equal(await send(b1), 'b1', 'the new CA is accepted')
  t.equal(await send(a2), 403, 'the old CA is refused')
})

t.test('the folder watch applies a new CRL without reload()', async t => {
  const { d, w, loaded } = await watched(t)
  const send = await fastifyApp(t, w)
  t.match(await send(a3), { cn: 'a3' })
  a.revoke('a3')
  d.write('ca.crl', a.crl())
  await until('the CRL to load', () => loaded().length === 2)
  t.match(await send(a3), { reason: 'revoked' })
})

t.test('half-written or garbage files keep the old material and are reported once', async t => {
  const { d, w, refusals } = await watched(t)
  const send = await fastifyApp(t, w)
  const cases: [file: string, text: string, reason: RegExp][] = [
    ['ca.crt', a.ca.cert.slice(0, 200), /the CA bundle ends inside a PEM block/],
    ['ca.crt', `${a.ca.cert}${b.ca.cert.slice(0, 100)}`, /the CA bundle ends inside a PEM block/],
    ['ca.crt', a1.cert, /the CA bundle holds a certificate that is not a CA/],
    ['ca.crl', crlA.slice(0, 150), /the CRL file ends inside a PEM block/],
    ['ca.crl', 'garbage\n', /the CRL file has text outside PEM blocks/],
    [
      'ca.crl',
      crlA.replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA'),
      /the CRL file: CRL 1 does not parse \(not one DER SEQUENCE\)/,
    ],
  ]
  for (const [file, text, reason] of cases) {
    const good = file === 'ca.crt' ? a.ca.cert : crlA
    d.write(file, text)
    t.match(await w.reload(), { status: 'refused', reason }, `${file}: ${String(reason)}`)
    await w.reload()
    t.match(await send(a2), { cn: 'a2' }, 'the old material verifies')
    d.write(file, good)
    t.match(await w.reload(), { status: 'unchanged' }, 'back to what is in use')
  }
  t.equal(refusals().length, cases.length, 'each reason once, though reloaded twice')
})

t.test('before a first good load, forwarded certificates are refused', async t => {
  const d = tlsDir(t)
  d.write('ca.crt', 'not yet\n')
  const w = watchForwardedCa({ ca: d.path('ca.crt'), debounce: 0 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'refused' })
  const send = await fastifyApp(t, w)
  t.match(await send(a1), { reason: 'untrusted', detail: /has not loaded/ })
  d.write('ca.crt', a.ca.cert)
  t.match(await w.reload(), APPLIED)
  t.match(await send(a1), { cn: 'a1' }, 'without a CRL file, no revocation check')
})

t.test('watchForwardedCa options, and crl given beside a watcher', async t => {
  const cases: [unknown, RegExp][] = [
    [undefined, /options must be an object/],
    [{}, /"ca".*must be a file path/],
    [{ ca: '/x', crl: 3 }, /"crl".*must be a file path/],
    [{ ca: '/x', extra: 1 }, /"extra" is not a known option/],
    [{ ca: '/x', interval: 0 }, /"interval"/],
  ]
  for (const [o, message] of cases)
    t.throws(() => watchForwardedCa(o as never), { name: 'ProxyAwareConfigError', message })
  const d = tlsDir(t)
  d.write('ca.crt', a.ca.cert)
  const w = watchForwardedCa({ ca: d.path('ca.crt') })
  t.teardown(() => w.close())
  t.throws(
    () => createTrustProxy({ trust: '127.0.0.1', clientCert: { forwarded: { source: 'rfc9440', ca: w, crl: crlA } } }),
    { name: 'ProxyAwareConfigError', message: /"clientCert.forwarded.crl".*comes from the watcher given as ca/ },
  )
})
