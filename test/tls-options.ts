import t, { type Test } from 'tap'
import { once } from 'node:events'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import Fastify from 'fastify'
import { MOZILLA_INTERMEDIATE, ProxyAwareConfigError, tlsOptions } from '../src/tls/index.js'
import { certs } from './support/certs.js'

const c = certs()
const base = { key: c.server.key, cert: c.server.cert }

/** Handshake result of a client with the given options against a port. */
const handshake = (port: number, o: tls.ConnectionOptions = {}) =>
  new Promise<{ ok: true; socket: tls.TLSSocket } | { ok: false; error: string }>(resolve => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: c.root.cert, servername: 'localhost', ...o }, () =>
      resolve({ ok: true, socket }),
    )
    socket.on('error', err => resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }))
  })

const serve = async (t: Test, options: https.ServerOptions) => {
  const server = https.createServer(options, (req, res) =>
    res.end(`authorized=${(req.socket as tls.TLSSocket).authorized}`),
  )
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise(resolve => server.close(resolve)))
  return (server.address() as AddressInfo).port
}

t.test('defaults: Mozilla intermediate, no client certificates', async t => {
  const o = tlsOptions(base)
  t.equal(o.minVersion, 'TLSv1.2')
  t.equal(o.ciphers, MOZILLA_INTERMEDIATE.ciphers)
  t.equal(o.ecdhCurve, 'X25519:prime256v1:secp384r1')
  t.equal(o.honorCipherOrder, false)
  t.equal(o.requestCert, false)
  t.equal(o.rejectUnauthorized, false)
  t.equal(o.ca, undefined)
  t.match(o.sessionIdContext, /^[0-9a-f]{32}$/)
  // every cipher name is known to this OpenSSL (an unknown one would be dropped silently)
  const known = new Set(tls.getCiphers().map(n => n.toUpperCase()))
  for (const name of MOZILLA_INTERMEDIATE.ciphers.split(':')) t.ok(known.has(name), name)
  // the caller's options win over the defaults
  t.equal(tlsOptions({ ...base, minVersion: 'TLSv1.3' }).minVersion, 'TLSv1.3')
})

t.test('client-certificate modes', async t => {
  t.match(tlsOptions({ ...base, ca: c.root.cert, clientCert: 'optional' }), {
    requestCert: true,
    rejectUnauthorized: false,
    ca: c.root.cert,
  })
  t.match(tlsOptions({ ...base, ca: [c.root.cert], crl: c.crl, clientCert: 'required' }), {
    requestCert: true,
    rejectUnauthorized: true,
    crl: c.crl,
  })
})

t.test('sessionIdContext follows the CA bundle and the CRLs', async t => {
  const ctx = (o: object) => tlsOptions({ ...base, ...o }).sessionIdContext
  t.equal(ctx({ ca: c.root.cert }), ctx({ ca: [Buffer.from(c.root.cert)] }))
  t.not(ctx({ ca: c.root.cert }), ctx({ ca: c.otherRoot.cert }))
  t.not(ctx({ ca: c.root.cert }), ctx({ ca: c.root.cert, crl: c.crl }))
  t.not(ctx({ ca: c.root.cert, crl: c.crl[0] }), ctx({ ca: c.root.cert, crl: c.crl }))
  t.not(ctx({}), ctx({ ca: c.root.cert }))
})

t.test('bad options throw ProxyAwareConfigError naming the option', async t => {
  const cases: [unknown, string, RegExp][] = [
    [null, 'tlsOptions', /must be an object/],
    [{ ...base, clientCert: 'optional' }, 'ca', /is required with clientCert: "optional"/],
    [{ ...base, ca: '', clientCert: 'required' }, 'ca', /every public CA/],
    [{ ...base, ca: [], clientCert: 'required' }, 'ca', /every public CA/],
    [{ ...base, clientCert: 'yes' }, 'clientCert', /none, optional, required, got "yes"/],
    [{ ...base, sessionIdContext: 'x' }, 'sessionIdContext', /derived/],
    [{ ...base, requestCert: true }, 'requestCert', /derived/],
    [{ ...base, rejectUnauthorized: false }, 'rejectUnauthorized', /derived/],
    [{ cert: c.server.cert }, 'key', /PEM string or Buffer, got undefined/],
    [{ key: c.server.key, cert: Buffer.alloc(0) }, 'cert', /an empty Buffer/],
  ]
  for (const [input, option, message] of cases) {
    t.throws(() => tlsOptions(input as never), ProxyAwareConfigError)
    try {
      tlsOptions(input as never)
    } catch (err) {
      t.equal((err as ProxyAwareConfigError).option, option)
      t.match((err as Error).message, message)
    }
  }
})

t.test('a real https server: CBC suites are refused, AEAD suites work', async t => {
  const port = await serve(t, tlsOptions(base))
  // control: Node's defaults accept the CBC suite this client insists on
  const control = await serve(t, base)
  const cbc = { maxVersion: 'TLSv1.2' as const, ciphers: 'ECDHE-ECDSA-AES128-SHA256' }
  const accepted = await handshake(control, cbc)
  t.ok(accepted.ok, 'Node default accepts ECDHE-ECDSA-AES128-SHA256')
  if (accepted.ok) accepted.socket.destroy()
  const refused = await handshake(port, cbc)
  t.notOk(refused.ok, 'tlsOptions refuses it')
  for (const cipher of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']) {
    const r = await handshake(port, { maxVersion: 'TLSv1.2', ciphers: cipher })
    t.ok(r.ok, cipher)
    if (r.ok) {
      t.equal(r.socket.getCipher().name, cipher)
      t.equal(r.socket.getProtocol(), 'TLSv1.2')
      r.socket.destroy()
    }
  }
  const v13 = await handshake(port)
  t.ok(v13.ok)
  if (v13.ok) {
    t.equal(v13.socket.getProtocol(), 'TLSv1.3')
    v13.socket.destroy()
  }
})

t.test(
  'modes on a real server: required refuses a client without certificate, optional lets it in unauthorized',
  async t => {
    const required = await serve(t, tlsOptions({ ...base, ca: c.root.cert, clientCert: 'required' }))
    const optional = await serve(t, tlsOptions({ ...base, ca: c.root.cert, clientCert: 'optional' }))
    const get = (port: number, o: https.RequestOptions = {}) =>
      new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, ca: c.root.cert, servername: 'localhost', agent: false, ...o }, res => {
            let body = ''
            res.on('data', d => (body += d))
            res.on('end', () => resolve(body))
          })
          .on('error', reject)
      })
    await t.rejects(get(required))
    t.equal(await get(required, { cert: c.chainOf(c.valid), key: c.valid.key }), 'authorized=true')
    t.equal(await get(optional), 'authorized=false')
  },
)

t.test('http2 and Fastify take the options as they are', async t => {
  const h2 = http2.createSecureServer(tlsOptions(base), (_req, res) => res.end('h2'))
  h2.listen(0, '127.0.0.1')
  await once(h2, 'listening')
  const session = http2.connect(`https://127.0.0.1:${(h2.address() as AddressInfo).port}`, {
    ca: c.root.cert,
    servername: 'localhost',
  })
  const body = await new Promise<string>((resolve, reject) => {
    const req = session.request({ ':path': '/' })
    let b = ''
    req.on('data', d => (b += d))
    req.on('end', () => resolve(b))
    req.on('error', reject)
    req.end()
  })
  t.equal(body, 'h2')
  session.close()
  await new Promise(resolve => h2.close(resolve))

  const app = Fastify({ https: tlsOptions(base) })
  app.get('/', async () => 'fastify')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const r = await handshake((app.server.address() as AddressInfo).port, {
    maxVersion: 'TLSv1.2',
    ciphers: 'ECDHE-ECDSA-AES128-SHA256',
  })
  t.notOk(r.ok, 'Fastify https server refuses CBC too')
})
