// Key material never reaches a message or a log: contents given where a
// path is expected (watchTls, watchForwardedCa) and a path given where
// contents are expected (tlsOptions) are startup errors naming the option,
// without the value's bytes.
import t, { type Test } from 'tap'
import { createTrustProxy } from '../src/index.js'
import { ProxyAwareConfigError, tlsOptions, watchForwardedCa, watchTls } from '../src/tls/index.js'
import { pki } from './fixtures/tls-pki.js'
import { tlsDir, tlsServer } from './fixtures/tls-watch-helpers.js'
import { der } from './support/certs.js'
import { recorder } from './support/http.js'

const a = pki('Secrets CA')
const s1 = a.issue('s1', 'server')
const keyDer = der(s1.key)

/** Pieces of the key: any of them in a text is a leak (PEM lines, base64 of the DER, the DER as latin1, its bytes as numbers). */
const pieces = [
  ...s1.key.split('\n').filter(l => l.length >= 16 && !l.startsWith('-----')),
  keyDer.toString('base64').slice(20, 52),
  keyDer.subarray(20, 36).toString('latin1'),
  [...keyDer.subarray(20, 28)].join(','),
]
const leaks = (text: string) => pieces.filter(p => text.includes(p))

/** The error `fn` throws: a ProxyAwareConfigError naming `option`, and leaking nothing. */
const refused = (t: Test, what: string, fn: () => unknown, option: string, message: RegExp) => {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  t.type(err, ProxyAwareConfigError, `${what}: a ProxyAwareConfigError`)
  t.equal((err as ProxyAwareConfigError).option, option, `${what}: names ${option}`)
  t.match((err as Error).message, message, what)
  t.same(leaks(`${(err as Error).message} ${JSON.stringify(err)}`), [], `${what}: no key bytes in the message`)
}

t.test('watchTls and watchForwardedCa given contents where they take paths', async t => {
  const server = { setSecureContext: () => undefined, addContext: () => undefined }
  const files = { key: '/tls/tls.key', cert: '/tls/tls.crt' }
  const path = /must be a file path, got .*\(not shown\): give the file's path, not its contents/
  refused(t, 'watchTls key as PEM', () => watchTls(server, { ...files, key: s1.key }), 'key', path)
  refused(
    t,
    'watchTls key as a Buffer',
    () => watchTls(server, { ...files, key: Buffer.from(s1.key) as never }),
    'key',
    path,
  )
  refused(t, 'watchTls key as DER', () => watchTls(server, { ...files, key: keyDer as never }), 'key', path)
  refused(
    t,
    'watchTls key as DER text',
    () => watchTls(server, { ...files, key: keyDer.toString('latin1') }),
    'key',
    path,
  )
  refused(t, 'watchTls cert as PEM', () => watchTls(server, { ...files, cert: s1.cert }), 'cert', path)
  refused(t, 'watchTls ca as PEM', () => watchTls(server, { ...files, ca: a.ca.cert }), 'ca', path)
  refused(t, 'watchTls crl as PEM', () => watchTls(server, { ...files, crl: a.crl() }), 'crl', path)
  refused(
    t,
    'watchTls sni key as PEM',
    () => watchTls(server, { ...files, sni: { 'b.example': { key: s1.key, cert: '/c' } } }),
    'sni.b.example.key',
    path,
  )
  refused(
    t,
    'watchTls sni as an array of contents',
    () => watchTls(server, { ...files, sni: { 'b.example': [s1.key] as never } }),
    'sni.b.example',
    /got an array of 1/,
  )
  refused(t, 'watchTls options as PEM', () => watchTls(server, s1.key as never), 'watchTls', /not shown/)
  refused(t, 'watchForwardedCa ca as PEM', () => watchForwardedCa({ ca: s1.key }), 'ca', path)
  refused(
    t,
    'watchForwardedCa crl as a Buffer',
    () => watchForwardedCa({ ca: '/ca', crl: keyDer as never }),
    'crl',
    path,
  )
  refused(
    t,
    'watchForwardedCa options as PEM',
    () => watchForwardedCa(s1.key as never),
    'watchForwardedCa',
    /not shown/,
  )
  // a plain bad value is still shown
  refused(t, 'watchTls key as a number', () => watchTls(server, { ...files, key: 42 as never }), 'key', /got 42$/)
})

t.test('tlsOptions given paths (or DER) where it takes PEM contents', async t => {
  const m = { key: s1.key, cert: s1.cert }
  const pem = /must be PEM \(the file's contents, e\.g\. readFileSync\(path\), not its path\)/
  refused(
    t,
    'key as a path',
    () => tlsOptions({ ...m, key: '/tls/tls.key' }),
    'key',
    /not its path\), got "\/tls\/tls.key"/,
  )
  refused(t, 'cert as a path', () => tlsOptions({ ...m, cert: '/tls/tls.crt' }), 'cert', pem)
  refused(t, 'ca as a path', () => tlsOptions({ ...m, ca: '/tls/ca.crt' }), 'ca', pem)
  refused(t, 'crl as a path', () => tlsOptions({ ...m, crl: ['/tls/ca.crl'] }), 'crl', pem)
  refused(t, 'key as DER', () => tlsOptions({ ...m, key: keyDer }), 'key', /got a Buffer of \d+ bytes \(not shown\)/)
  refused(t, 'key as a list', () => tlsOptions({ ...m, key: [s1.key] as never }), 'key', /got an array of 1$/)
  refused(t, 'ca as an object', () => tlsOptions({ ...m, ca: [{ pem: s1.key }] as never }), 'ca', /got an object$/)
  refused(t, 'options as PEM', () => tlsOptions(s1.key as never), 'tlsOptions', /not shown/)
  t.ok(tlsOptions({ ...m, ca: Buffer.from(a.ca.cert) }), 'PEM in a Buffer is fine')
})

t.test('clientCert.forwarded.ca given a private key: no key bytes in the message', async t => {
  refused(
    t,
    'forwarded ca as a key',
    () => createTrustProxy({ trust: 'loopback', clientCert: { forwarded: { source: 'rfc9440', ca: s1.key } } }),
    'clientCert.forwarded.ca',
    /holds no PEM certificate: a text of 40 characters .*\(not shown\)/,
  )
  refused(
    t,
    'forwarded ca as an object',
    () =>
      createTrustProxy({
        trust: 'loopback',
        clientCert: { forwarded: { source: 'rfc9440', ca: [{ key: s1.key }] as never } },
      }),
    'clientCert.forwarded.ca',
    /got an object$/,
  )
})

t.test('no log line of a watcher holds key bytes', async t => {
  const d = tlsDir(t)
  d.write('tls.key', s1.key)
  d.write('tls.crt', a.ca.cert) // a certificate that does not match the key: refused
  const logger = recorder()
  const { server } = await tlsServer(t, tlsOptions({ key: s1.key, cert: s1.cert }))
  const w = watchTls(server, { key: d.files.key, cert: d.files.cert, logger, debounce: 5 })
  t.teardown(() => w.close())
  t.match(await w.ready, { status: 'refused', reason: /does not match/ })
  d.write('tls.key', 'garbage')
  t.match(await w.reload(), { status: 'refused', reason: /does not parse/ })
  t.ok(logger.entries.length >= 2, 'the refusals were logged')
  t.same(leaks(JSON.stringify(logger.entries)), [], 'no key bytes in any log entry')
})
