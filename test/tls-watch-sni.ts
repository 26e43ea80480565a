// watchTls with SNI contexts: two hostnames over real TLS, each with its
// own certificate files, rotated without restart.
import t from 'tap'
import { tlsOptions, watchTls } from '../src/tls/index.js'
import { recorder } from './support/http.js'
import { pki } from './fixtures/tls-pki.js'
import { APPLIED, connect, serialOf, tlsDir, tlsServer } from './fixtures/tls-watch-helpers.js'

const p = pki('SNI CA')
const s1 = p.issue('s1', 'server')
const s2 = p.issue('s2', 'server')
const s3 = p.issue('s3', 'server')
const s4 = p.issue('s4', 'server')
const ca = p.ca.cert
const client = p.issue('client', 'client')

// the fixture's server certificates all name localhost: only the serial tells them apart
const as = (servername: string) => ({ servername, checkServerIdentity: () => undefined })

t.test('each hostname gets its own certificate, rotated on its own', async t => {
  const d = tlsDir(t)
  d.write('tls.key', s1.key)
  d.write('tls.crt', s1.cert)
  d.write('ca.crt', ca)
  d.write('b.key', s2.key)
  d.write('b.crt', s2.cert)
  const { server, port } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert, ca, clientCert: 'optional' }))
  const logger = recorder()
  const w = watchTls(server, {
    ...d.files,
    sni: { 'b.example': { key: d.path('b.key'), cert: d.path('b.crt') } },
    logger,
    debounce: 10,
  })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'reloaded' })
  t.equal((await connect(port, ca, undefined, as('localhost'))).serial, serialOf(s1.cert))
  t.equal((await connect(port, ca, undefined, as('b.example'))).serial, serialOf(s2.cert))

  d.write('b.key', s3.key)
  d.write('b.crt', s3.cert)
  t.match(await w.reload(), APPLIED)
  t.equal((await connect(port, ca, undefined, as('b.example'))).serial, serialOf(s3.cert), 'the new SNI certificate')
  t.equal((await connect(port, ca, undefined, as('localhost'))).serial, serialOf(s1.cert), 'the default one stays')
  const viaSni = await connect(port, ca, client, as('b.example'))
  t.equal(viaSni.authorized, true, "the SNI context trusts the server's ca")

  // a key that does not match: nothing is applied, not even a good default certificate written at the same time
  d.write('tls.key', s4.key)
  d.write('tls.crt', s4.cert)
  d.write('b.key', s1.key)
  const refused = await w.reload()
  t.match(refused, { status: 'refused', reason: 'SNI b.example: the key does not match the certificate' })
  t.match(logger.entries.at(-1), { level: 'warn', obj: { tls: { reason: /^SNI b.example/ } } })
  t.equal((await connect(port, ca, undefined, as('localhost'))).serial, serialOf(s1.cert))
  t.equal((await connect(port, ca, undefined, as('b.example'))).serial, serialOf(s3.cert))
  d.write('b.key', s3.key)
  t.match(await w.reload(), APPLIED)
  t.equal((await connect(port, ca, undefined, as('localhost'))).serial, serialOf(s4.cert))
  t.equal((await connect(port, ca, undefined, as('b.example'))).serial, serialOf(s3.cert))
})

t.test('sni option errors', async t => {
  const d = tlsDir(t)
  const { server } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert }))
  const files = { key: d.path('k'), cert: d.path('c') }
  const cases: [object, unknown, RegExp][] = [
    [server, [], /"sni".*must be an object of hostnames/],
    [server, { 'b.example': { key: '/k' } }, /"sni.b.example.cert".*must be a file path, got undefined/],
    [server, { '': { key: '/k', cert: '/c' } }, /"sni.".*must be/],
    [server, { 'b.example': null }, /"sni.b.example"/],
    [{ setSecureContext() {} }, {}, /"sni".*needs a server with addContext/],
  ]
  for (const [s, sni, message] of cases)
    t.throws(() => watchTls(s as never, { ...files, sni } as never), { name: 'ProxyAwareConfigError', message })
})
