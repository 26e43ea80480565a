import t, { type Test } from 'tap'
import { once } from 'node:events'
import { mkdirSync, writeFileSync } from 'node:fs'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { ProxyAwareConfigError, tlsOptions, watchTls } from '../src/tls/index.js'
import { recorder } from './support/http.js'
import { pki } from './fixtures/tls-pki.js'
import { APPLIED, connect, serialOf, tlsDir, tlsServer, until } from './fixtures/tls-watch-helpers.js'

const a = pki('Rotation CA A')
const s1 = a.issue('s1', 'server')
const s2 = a.issue('s2', 'server')
const s3 = a.issue('s3', 'server')
const soon = a.issue('soon', 'server', 10)
const expired = a.issue('expired', 'server', -1, -10)
const future = a.issue('future', 'server', 30, 2)
const ca = a.ca.cert

/** Files holding s1, a server made from them, and a watcher. */
const setup = async (t: Test, extra: object = {}) => {
  const d = tlsDir(t)
  d.write('tls.key', s1.key)
  d.write('tls.crt', s1.cert)
  d.write('ca.crt', ca)
  const { server, port } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert, ca, clientCert: 'optional' }))
  const logger = recorder()
  const w = watchTls(server, { ...d.files, logger, debounce: 20, ...extra })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  return { d, server, port, logger, w }
}

const get = (port: number, agent: https.Agent | false) =>
  new Promise<{ status: number; socket: TLSSocket }>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, ca, servername: 'localhost', agent }, res => {
        // the agent takes the socket back at the end
        const socket = res.socket as TLSSocket
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode!, socket }))
      })
      .on('error', reject)
  })

t.test('a new certificate is served to new connections; an open keep-alive connection stays', async t => {
  const { d, port, w, logger } = await setup(t)
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  const first = await get(port, agent)
  t.equal(first.socket.getPeerCertificate().serialNumber, serialOf(s1.cert))
  t.equal((await connect(port, ca)).serial, serialOf(s1.cert))

  d.write('tls.key', s2.key)
  d.write('tls.crt', s2.cert)
  t.match(await w.reload(), { status: 'reloaded', notAfter: Date })
  t.equal((await connect(port, ca)).serial, serialOf(s2.cert), 'new handshakes get the new certificate')
  const again = await get(port, agent)
  t.equal(again.status, 200)
  t.equal(again.socket, first.socket, 'the keep-alive connection was not dropped')
  t.equal(again.socket.getPeerCertificate().serialNumber, serialOf(s1.cert))
  t.match(await w.reload(), { status: 'unchanged' })
  t.equal(logger.entries.filter(e => e.msg === 'proxy-aware: TLS material loaded').length, 2)
})

t.test('the folder is watched: a certificate renamed into place is picked up without reload()', async t => {
  const { d, port, logger } = await setup(t)
  d.write('tls.key', s3.key)
  d.write('tls.crt', s3.cert)
  await until(
    'the watcher to load s3',
    () => logger.entries.filter(e => e.msg === 'proxy-aware: TLS material loaded').length === 2,
  )
  t.equal((await connect(port, ca)).serial, serialOf(s3.cert))
})

t.test('a folder that does not exist yet: polling picks the files up once they appear', async t => {
  const d = tlsDir(t)
  const sub = join(d.dir, 'later')
  const files = { key: join(sub, 'tls.key'), cert: join(sub, 'tls.crt') }
  const { server, port } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert }))
  const logger = recorder()
  const w = watchTls(server, { ...files, logger, debounce: 10, interval: 50 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'refused', reason: /cannot read the files/ })
  mkdirSync(sub)
  writeFileSync(files.key, s2.key)
  writeFileSync(files.cert, s2.cert)
  await until('polling to load s2', () => logger.entries.some(e => e.msg === 'proxy-aware: TLS material loaded'))
  t.equal((await connect(port, ca)).serial, serialOf(s2.cert))
})

t.test('bad material is refused, the old one kept, the reason logged once', async t => {
  const { d, port, w, logger } = await setup(t)
  const half = (s: string) => s.slice(0, Math.floor(s.length / 2))
  const cases: [string, Record<string, string>, RegExp][] = [
    ['key of another certificate', { 'tls.key': s2.key, 'tls.crt': s3.cert }, /the key does not match the certificate/],
    ['half-written certificate', { 'tls.key': s2.key, 'tls.crt': half(s2.cert) }, /ends inside a PEM block/],
    ['half-written key', { 'tls.key': half(s2.key), 'tls.crt': s2.cert }, /the key does not parse/],
    [
      'a corrupted certificate',
      { 'tls.key': s2.key, 'tls.crt': s2.cert.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA') },
      /certificate 1 does not parse/,
    ],
    ['expired certificate', { 'tls.key': expired.key, 'tls.crt': expired.cert }, /the certificate expired at/],
    [
      'not yet valid certificate',
      { 'tls.key': future.key, 'tls.crt': future.cert },
      /the certificate is not valid before/,
    ],
    ['a key in the certificate file', { 'tls.key': s2.key, 'tls.crt': s2.key }, /a PEM block that is not CERTIFICATE/],
    ['text after the certificate', { 'tls.key': s2.key, 'tls.crt': `${s2.cert}garbage\n` }, /text outside PEM blocks/],
    ['an empty certificate file', { 'tls.key': s2.key, 'tls.crt': '' }, /has no CERTIFICATE/],
    [
      'a half-written CA bundle',
      { 'tls.key': s2.key, 'tls.crt': s2.cert, 'ca.crt': ca + half(s1.cert) },
      /the CA bundle ends inside a PEM block/,
    ],
  ]
  for (const [name, files, reason] of cases) {
    for (const [file, text] of Object.entries(files)) d.write(file, text)
    const before = logger.entries.length
    t.match(await w.reload(), { status: 'refused', reason }, name)
    t.match(await w.reload(), { status: 'refused', reason }, `${name}, again`)
    t.equal(logger.entries.length, before + 1, `${name}: logged once`)
    t.match(logger.entries.at(-1), { level: 'warn', obj: { tls: { reason } }, msg: /still serving the previous one/ })
    t.equal((await connect(port, ca)).serial, serialOf(s1.cert), `${name}: s1 still served`)
    d.write('ca.crt', ca)
  }
  d.write('tls.key', s2.key)
  d.write('tls.crt', s2.cert)
  t.match(await w.reload(), APPLIED)
  t.equal((await connect(port, ca)).serial, serialOf(s2.cert))
  // after a success the same failure is reported again
  d.write('tls.key', s3.key)
  const before = logger.entries.length
  t.match(await w.reload(), { status: 'refused', reason: /does not match/ })
  t.equal(logger.entries.length, before + 1)
})

t.test('bad CRL files are refused', async t => {
  const d = tlsDir(t)
  const crlPath = d.path('ca.crl')
  d.write('tls.key', s1.key)
  d.write('tls.crt', s1.cert)
  d.write('ca.crt', ca)
  d.write('ca.crl', a.crl())
  const { server } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert, ca, clientCert: 'optional' }))
  const w = watchTls(server, { ...d.files, crl: crlPath, debounce: 10 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  d.write('ca.crl', a.crl().slice(0, 120))
  t.match(await w.reload(), { status: 'refused', reason: /the CRL file ends inside a PEM block/ })
  d.write('ca.crl', '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n')
  t.match(await w.reload(), { status: 'refused', reason: /OpenSSL refuses the material/ })
})

t.test('a file that changes between the two reads is not loaded, then loaded once it settles', async t => {
  const { d, port, w, logger } = await setup(t, { debounce: 1000 })
  d.write('tls.key', s2.key)
  d.write('tls.crt', s2.cert)
  const pending = w.reload()
  // the writer is still at work after the first read
  await new Promise(resolve => setTimeout(resolve, 250))
  d.write('tls.key', s3.key)
  d.write('tls.crt', s3.cert)
  t.match(await pending, { status: 'changing' })
  t.equal((await connect(port, ca)).serial, serialOf(s1.cert), 'nothing loaded from a moving target')
  await until(
    'the retry to load s3',
    () => logger.entries.filter(e => e.msg === 'proxy-aware: TLS material loaded').length === 2,
  )
  t.equal((await connect(port, ca)).serial, serialOf(s3.cert))
})

t.test('close() also stops the retry of a file that was changing', async t => {
  // the second read comes a debounce after the first: 1 s leaves a loaded
  // machine 250 ms for the first read, as in the test above
  const { d, port, w, logger } = await setup(t, { debounce: 1000 })
  d.write('tls.key', s2.key)
  d.write('tls.crt', s2.cert)
  const pending = w.reload()
  await new Promise(resolve => setTimeout(resolve, 250))
  d.write('tls.key', s3.key)
  d.write('tls.crt', s3.cert)
  w.close()
  t.match(await pending, { status: 'changing' })
  // longer than the retry's debounce: a retry not stopped would have loaded s3 by now
  await new Promise(resolve => setTimeout(resolve, 2500))
  t.equal(
    logger.entries.filter(e => e.msg === 'proxy-aware: TLS material loaded').length,
    1,
    'nothing loaded after close',
  )
  t.equal((await connect(port, ca)).serial, serialOf(s1.cert))
})

t.test('under load: requests across rotations all succeed', async t => {
  const { d, port, w } = await setup(t)
  const agent = new https.Agent({ keepAlive: true, maxSockets: 4 })
  t.teardown(() => agent.destroy())
  const statuses: number[] = []
  const errors: unknown[] = []
  const pairs = [s2, s3, s1, s2]
  let rotations = 0
  const worker = async (n: number) => {
    for (let i = 0; i < 30; i++) {
      try {
        statuses.push((await get(port, i % 3 === 0 ? false : agent)).status)
      } catch (err) {
        errors.push(err)
      }
      if (n === 0 && i % 6 === 5 && rotations < pairs.length) {
        const p = pairs[rotations++]!
        d.write('tls.key', p.key)
        d.write('tls.crt', p.cert)
        await w.reload()
      }
    }
  }
  await Promise.all([0, 1, 2, 3, 4, 5].map(worker))
  t.equal(rotations, 4)
  t.same(errors, [])
  t.equal(statuses.length, 180)
  t.ok(statuses.every(s => s === 200))
  t.equal((await connect(port, ca)).serial, serialOf(s2.cert))
})

t.test('http2: an open session keeps working across a rotation, a new one gets the new certificate', async t => {
  const d = tlsDir(t)
  d.write('tls.key', s1.key)
  d.write('tls.crt', s1.cert)
  const server = http2.createSecureServer(tlsOptions({ key: s1.key, cert: s1.cert }), (_req, res) => res.end('ok'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  // 127.0.0.1, not localhost: no resolver, no fallback between addresses
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  const w = watchTls(server, { key: d.files.key, cert: d.files.cert, debounce: 10 })
  t.match(await w.ready, { status: 'reloaded' })
  const request = (session: http2.ClientHttp2Session) =>
    new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/' })
      let b = ''
      req.setEncoding('utf8')
      req.on('data', c => (b += c))
      req.on('end', () => resolve(b))
      req.on('error', reject)
      req.end()
    })
  const old = http2.connect(url, { ca, servername: 'localhost' })
  t.equal(await request(old), 'ok')
  d.write('tls.key', s2.key)
  d.write('tls.crt', s2.cert)
  t.match(await w.reload(), APPLIED)
  const results = await Promise.all(Array.from({ length: 20 }, () => request(old)))
  t.ok(
    results.every(r => r === 'ok'),
    'the open session serves every stream',
  )
  t.equal((old.socket as TLSSocket).getPeerX509Certificate()!.serialNumber, serialOf(s1.cert))
  const fresh = http2.connect(url, { ca, servername: 'localhost' })
  t.equal(await request(fresh), 'ok')
  t.equal((fresh.socket as TLSSocket).getPeerX509Certificate()!.serialNumber, serialOf(s2.cert))
  old.close()
  fresh.close()
  w.close()
  await new Promise(resolve => server.close(resolve))
})

t.test('a certificate that expires soon is reported at start', async t => {
  for (const [days, warned] of [
    [21, true],
    [5, false],
  ] as const) {
    const d = tlsDir(t)
    d.write('tls.key', soon.key)
    d.write('tls.crt', soon.cert)
    const { server } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert }))
    const logger = recorder()
    const w = watchTls(server, { key: d.files.key, cert: d.files.cert, logger, debounce: 10, expiryWarningDays: days })
    await w.ready
    w.close()
    const warning = logger.entries.find(e => /expires in/.test(e.msg ?? ''))
    if (warned) {
      t.match(warning, {
        level: 'warn',
        msg: 'proxy-aware: the server certificate expires in 9 days',
        obj: { tls: { daysLeft: 9, notAfter: Date, cert: d.files.cert } },
      })
    } else {
      t.equal(warning, undefined)
    }
  }
})

t.test('the expiry check reads what the server serves (a certificate list, or none it can parse)', async t => {
  const logger = recorder()
  const d = tlsDir(t)
  d.write('tls.key', soon.key)
  d.write('tls.crt', soon.cert)
  const contexts: object[] = []
  // a server whose setSecureContext records, holding a list of certificates
  const listed = { cert: [soon.cert], setSecureContext: (o: object) => void contexts.push(o) }
  const w1 = watchTls(listed, { key: d.files.key, cert: d.files.cert, logger, debounce: 0 })
  await w1.ready
  w1.close()
  t.equal(contexts.length, 1)
  t.ok(logger.entries.some(e => /expires in 9 days/.test(e.msg ?? '')))
  const bare = { setSecureContext: () => undefined }
  const w2 = watchTls(bare, { key: d.files.key, cert: d.files.cert, debounce: 0 })
  t.match(await w2.ready, { status: 'reloaded' })
  w2.close()
})

t.test('bad options throw ProxyAwareConfigError naming the option', async t => {
  const server = { setSecureContext: () => undefined }
  const files = { key: '/k', cert: '/c' }
  const cases: [unknown, unknown, string, RegExp][] = [
    [{}, files, 'server', /must be a TLS server/],
    [null, files, 'server', /must be a TLS server/],
    [server, null, 'watchTls', /must be an object/],
    [server, { ...files, kye: '/k' }, 'kye', /not a known option/],
    [server, { cert: '/c' }, 'key', /must be a file path, got undefined/],
    [server, { ...files, ca: '' }, 'ca', /must be a file path/],
    [{ ...server, requestCert: true }, files, 'ca', /is required/],
    [server, { ...files, interval: 0 }, 'interval', />= 1/],
    [server, { ...files, expiryWarningDays: -1 }, 'expiryWarningDays', />= 0/],
    [server, { ...files, debounce: Number.NaN }, 'debounce', /finite/],
    [server, { ...files, logger: {} }, 'logger', /warn\(\) and info\(\)/],
  ]
  for (const [s, o, option, message] of cases) {
    try {
      watchTls(s as never, o as never)
      t.fail(`${option} should throw`)
    } catch (err) {
      t.type(err, ProxyAwareConfigError)
      t.equal((err as ProxyAwareConfigError).option, option)
      t.match((err as Error).message, message)
    }
  }
})
