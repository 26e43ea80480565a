import t, { type Test } from 'tap'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:tls'
import Fastify from 'fastify'
import trustProxy from '../src/fastify.js'
import { tlsOptions, watchTls } from '../src/tls/index.js'
import { pki } from './fixtures/tls-pki.js'
import { APPLIED, connect, tlsDir, tlsServer } from './fixtures/tls-watch-helpers.js'

const p = pki('CRL CA')
const server1 = p.issue('server', 'server')
const c1 = p.issue('c1', 'client')
const c2 = p.issue('c2', 'client')
const c3 = p.issue('c3', 'client')
const c4 = p.issue('c4', 'client')
const ca = p.ca.cert
const emptyCrl = p.crl()

const files = (t: Test) => {
  const d = tlsDir(t)
  d.write('tls.key', server1.key)
  d.write('tls.crt', server1.cert)
  d.write('ca.crt', ca)
  d.write('ca.crl', emptyCrl)
  return { d, paths: { ...d.files, crl: d.path('ca.crl') } }
}

t.test(
  'a certificate revoked while the server runs is refused once the CRL file is replaced; its session does not resume',
  async t => {
    const { d, paths } = files(t)
    const { server, port } = await tlsServer(
      t,
      tlsOptions({ key: server1.key, cert: server1.cert, ca, crl: emptyCrl, clientCert: 'optional' }),
    )
    const w = watchTls(server, { ...paths, debounce: 10 })
    t.teardown(() => w.close())
    t.match(await w.ready, { status: 'reloaded' })
    const before = await connect(port, ca, c1, { maxVersion: 'TLSv1.2' })
    t.equal(before.authorized, true)
    t.equal(
      (await connect(port, ca, c1, { maxVersion: 'TLSv1.2', session: before.session! })).reused,
      true,
      'control: resumes before the revocation',
    )

    p.revoke('c1')
    d.write('ca.crl', p.crl())
    t.match(await w.reload(), APPLIED)
    const resumed = await connect(port, ca, c1, { maxVersion: 'TLSv1.2', session: before.session! })
    t.equal(resumed.reused, false, 'the session from before the revocation is not resumed')
    t.equal(resumed.authorized, false)
    const refused = await new Promise<string>((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, ca, servername: 'localhost', agent: false, cert: c1.cert, key: c1.key },
          res => {
            let body = ''
            res.on('data', c => (body += c))
            res.on('end', () => resolve(body))
          },
        )
        .on('error', reject)
    })
    t.same(JSON.parse(refused), { authorized: false, error: 'CERT_REVOKED' })
    t.equal((await connect(port, ca, c2)).authorized, true, 'another certificate still passes')
  },
)

t.test(
  'clientCert "required" at the TLS layer: the revoked certificate\'s handshake fails after the CRL changes',
  async t => {
    const { d, paths } = files(t)
    const { server, port } = await tlsServer(
      t,
      tlsOptions({ key: server1.key, cert: server1.cert, ca, crl: emptyCrl, clientCert: 'required' }),
    )
    const w = watchTls(server, { ...paths, debounce: 10 })
    t.teardown(() => w.close())
    await w.ready
    t.equal((await connect(port, ca, c3)).authorized, true)
    p.revoke('c3')
    d.write('ca.crl', p.crl())
    t.match(await w.reload(), APPLIED)
    await t.rejects(connect(port, ca, c3))
    t.equal((await connect(port, ca, c2)).authorized, true)
  },
)

t.test('watchTls without a crl path on a server with an inline CRL is refused at startup', async t => {
  const { d } = files(t)
  p.revoke('c4')
  const crl = p.crl()
  const { server, port } = await tlsServer(
    t,
    tlsOptions({ key: server1.key, cert: server1.cert, ca, crl, clientCert: 'optional' }),
  )
  t.equal((await connect(port, ca, c4)).authorized, false, 'control: the inline CRL refuses c4')
  t.throws(() => watchTls(server, { ...d.files, debounce: 10 }), {
    name: 'ProxyAwareConfigError',
    option: 'crl',
    message: /"crl" is required: the server has CRLs/,
  })
  // with the path: loads, and still refuses
  d.write('ca.crl', crl)
  const w = watchTls(server, { ...d.files, crl: d.path('ca.crl'), debounce: 10 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  t.equal((await connect(port, ca, c4)).authorized, false)
})

t.test('a CRL file holding the CRLs of two CAs: every CRL is applied (tlsOptions and watchTls)', async t => {
  const q = pki('CRL CA two')
  const good = q.issue('good', 'client')
  q.issue('bad', 'client')
  q.revoke('bad')
  const bad = q.issue('bad2', 'client')
  q.revoke('bad2')
  const bundle = emptyCrl + q.crl()
  const { d } = files(t)
  d.write('ca.crt', ca + q.ca.cert)
  d.write('ca.crl', bundle)
  const { server, port } = await tlsServer(
    t,
    tlsOptions({ key: server1.key, cert: server1.cert, ca: ca + q.ca.cert, crl: bundle, clientCert: 'optional' }),
  )
  const check = async (when: string) => {
    t.equal((await connect(port, ca, good)).authorized, true, `${when}: the second CA's client (its CRL is found)`)
    t.equal((await connect(port, ca, bad)).authorized, false, `${when}: the second CA's revoked client`)
    t.equal((await connect(port, ca, c2)).authorized, true, `${when}: the first CA's client`)
  }
  await check('tlsOptions')
  const w = watchTls(server, { ...d.files, crl: d.path('ca.crl'), debounce: 10 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  await check('watchTls')
})

t.test('a CRL file holding an old and a new CRL of one CA: the new revocations apply', async t => {
  const q = pki('CRL CA old-new')
  const client = q.issue('client', 'client')
  const old = q.crl({ lastUpdate: -1 })
  q.revoke('client')
  const bundle = old + q.crl()
  const { port } = await tlsServer(
    t,
    tlsOptions({ key: server1.key, cert: server1.cert, ca: q.ca.cert, crl: bundle, clientCert: 'optional' }),
  )
  t.equal((await connect(port, ca, client)).authorized, false, 'revoked by the newer CRL')
})

t.test('Fastify clientCert reports the reason revoked', async t => {
  const { d, paths } = files(t)
  const c4 = p.issue('c4', 'client')
  d.write('ca.crl', p.crl())
  const app = Fastify({
    https: tlsOptions({ key: server1.key, cert: server1.cert, ca, crl: p.crl(), clientCert: 'optional' }),
  })
  await app.register(trustProxy, { trust: 'loopback', clientCert: { mode: 'optional' } })
  app.get('/', req => req.clientCertError?.reason ?? 'accepted')
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const w = watchTls(app.server as unknown as Server, { ...paths, debounce: 10 })
  t.teardown(() => w.close())
  await w.ready
  const port = (app.server.address() as AddressInfo).port
  const body = () =>
    new Promise<string>((resolve, reject) => {
      https
        .get(
          { host: '127.0.0.1', port, ca, servername: 'localhost', agent: false, cert: c4.cert, key: c4.key },
          res => {
            let b = ''
            res.on('data', c => (b += c))
            res.on('end', () => resolve(b))
          },
        )
        .on('error', reject)
    })
  t.equal(await body(), 'accepted')
  p.revoke('c4')
  d.write('ca.crl', p.crl())
  t.match(await w.reload(), APPLIED)
  t.equal(await body(), 'revoked')
})
