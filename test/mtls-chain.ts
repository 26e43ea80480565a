// In-app chain verification of forwarded certificates enforces what
// OpenSSL enforces on the app's own TLS sockets: the CAs' extended key
// usage, the leaf's key usage, and no name constraints or unknown critical
// extensions (which it cannot enforce) anywhere in the path.
import { X509Certificate } from 'node:crypto'
import http from 'node:http'
import https from 'node:https'
import t from 'tap'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type ClientCertPolicy } from '../src/index.js'
import { derExtensions } from '../src/features/client-cert/der.js'
import { certs, der, type Pair, tlsServerOptions } from './support/certs.js'
import { sf } from './support/forwarded-certs.js'
import { listen, recorder, request } from './support/http.js'

const c = certs()
const TRUSTED = '127.0.0.1'
const ADMIN = 'spiffe://example.org/admin'

/** the part of a tap test the helpers use */
type T = { teardown(fn: () => unknown): void }

const reply =
  (proxy: ReturnType<typeof createTrustProxy>, log: ReturnType<typeof recorder>) =>
  (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (proxy.handle(req, res, log)) return
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ uri: clientCertOf(req)?.san.uri, error: clientCertErrorOf(req) }))
  }

/** An HTTP server behind the trusted proxy, verifying forwarded RFC 9440 certificates. */
async function forwarded(t: T, ca: string) {
  const log = recorder()
  const clientCert: ClientCertPolicy = {
    mode: 'required',
    allow: { uri: [ADMIN] },
    forwarded: { source: 'rfc9440', ca },
  }
  const srv = http.createServer(reply(createTrustProxy({ trust: TRUSTED, clientCert }), log))
  const port = await listen(t, srv)
  return { port, log }
}

const refusal = (log: ReturnType<typeof recorder>) =>
  log.entries[0]?.obj.clientCert as { reason: string; detail: string } | undefined

/** `ca`: the bundle, its root first (a path ends at a self-signed CA of it) */
type Case = [name: string, leaf: Pair, chain: Pair[], ca: Pair[], reason: string, detail: RegExp]
const refused: Case[] = [
  [
    'issued by an intermediate with EKU serverAuth only',
    c.underServerInt,
    [c.serverInt],
    [c.root],
    'wrong_purpose',
    /^the intermediate .*serverInt CA.* has extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1, without clientAuth$/,
  ],
  [
    'an intermediate in ca, under the root, has EKU serverAuth only',
    c.underServerInt,
    [],
    [c.root, c.serverInt],
    'wrong_purpose',
    /^the CA .*serverInt CA.* has extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1, without clientAuth$/,
  ],
  // OpenSSL's sslclient purpose refuses anyExtendedKeyUsage alone too
  [
    'issued by an intermediate with EKU anyExtendedKeyUsage only',
    c.underAnyInt,
    [c.anyInt],
    [c.root],
    'wrong_purpose',
    /^the intermediate .* has extended key usage 2\.5\.29\.37\.0, without clientAuth$/,
  ],
  [
    'issued by an intermediate with name constraints',
    c.underNcInt,
    [c.ncInt],
    [c.root],
    'untrusted',
    /^the intermediate .*ncInt CA.* has name constraints, which are not enforced in the app$/,
  ],
  [
    'an intermediate in ca, under the root, has name constraints',
    c.underNcInt,
    [],
    [c.root, c.ncInt],
    'untrusted',
    /^the CA .*ncInt CA.* has name constraints/,
  ],
  [
    'a leaf with keyUsage keyEncipherment only, no EKU',
    c.keyEnciphermentOnly,
    [c.intermediate],
    [c.root],
    'wrong_purpose',
    /^key usage has no digitalSignature$/,
  ],
  [
    'a leaf with an unknown critical extension',
    c.unknownCritical,
    [c.intermediate],
    [c.root],
    'untrusted',
    /^the certificate has an unsupported critical extension 1\.3\.6\.1\.4\.1\.55555\.1$/,
  ],
]

t.test('forwarded chains OpenSSL refuses for a TLS client are refused, before the allow-list', async t => {
  for (const [name, leaf, chain, ca, reason, detail] of refused) {
    const { port, log } = await forwarded(t, ca.map(p => p.cert).join(''))
    const headers = {
      'client-cert': sf(leaf),
      ...(chain.length > 0 ? { 'client-cert-chain': chain.map(sf).join(', ') } : {}),
    }
    t.same(new X509Certificate(leaf.cert).subjectAltName, `URI:${ADMIN}`, `${name}: the leaf claims the allowed URI`)
    const res = await request(port, { from: TRUSTED, headers })
    t.equal(res.status, 403, `${name}: status`)
    t.equal(refusal(log)?.reason, reason, `${name}: reason`)
    t.match(refusal(log)?.detail, detail, `${name}: detail`)
  }
})

t.test('valid chains still pass', async t => {
  const accepted: [string, Pair, Pair[], Pair[]][] = [
    [
      'intermediate with EKU serverAuth, clientAuth and critical certificatePolicies',
      c.underClientInt,
      [c.clientInt],
      [c.root],
    ],
    ['the same intermediate in ca, with the root', c.underClientInt, [], [c.root, c.clientInt]],
  ]
  for (const [name, leaf, chain, ca] of accepted) {
    const { port, log } = await forwarded(t, ca.map(p => p.cert).join(''))
    const headers = {
      'client-cert': sf(leaf),
      ...(chain.length > 0 ? { 'client-cert-chain': chain.map(sf).join(', ') } : {}),
    }
    const res = await request(port, { from: TRUSTED, headers })
    t.equal(res.status, 200, `${name}: status`)
    t.same(JSON.parse(res.body).uri, [ADMIN], `${name}: certificate attached`)
    t.same(log.entries, [], `${name}: nothing logged`)
  }
  // the usual client certificate: keyUsage digitalSignature, intermediate and root without EKU
  const log = recorder()
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: { source: 'rfc9440', ca: c.root.cert } } })
  const srv = http.createServer(reply(proxy, log))
  const port = await listen(t, srv)
  const res = await request(port, {
    from: TRUSTED,
    headers: { 'client-cert': sf(c.valid), 'client-cert-chain': sf(c.intermediate) },
  })
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body).uri, ['spiffe://example.org/ns/prod/sa/web'])
})

/** Present `leaf` and `chain` to a TLS server that trusts `root`; the status and our reason. */
async function overTls(t: T, leaf: Pair, chain: Pair[]) {
  const log = recorder()
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert: { mode: 'required', allow: { uri: [ADMIN] } } })
  const srv = https.createServer(tlsServerOptions(), reply(proxy, log))
  const port = await listen(t, srv as unknown as http.Server)
  const status = await new Promise<number>((resolve, reject) => {
    https
      .get(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: c.root.cert,
          agent: false,
          cert: leaf.cert + chain.map(p => p.cert).join(''),
          key: leaf.key,
        },
        res => {
          res.resume()
          res.on('end', () => resolve(res.statusCode!))
        },
      )
      .on('error', reject)
  })
  return { status, reason: refusal(log)?.reason }
}

t.test("the same certificates on the app's own TLS socket: Node refuses them with the same reasons", async t => {
  for (const [name, leaf, chain, ca, reason] of refused) {
    // the TLS server trusts the root alone
    if (ca.length !== 1 || ca[0] !== c.root) continue
    const tls = await overTls(t, leaf, chain)
    t.same(tls, { status: 403, reason }, `${name}: over TLS`)
  }
  t.same(
    await overTls(t, c.underClientInt, [c.clientInt]),
    { status: 200, reason: undefined },
    'a valid chain over TLS',
  )
})

t.test('derExtensions reads key usage, critical extensions and name constraints', async t => {
  t.same(derExtensions(der(c.valid.cert)), { keyUsage: 0x8000, critical: ['2.5.29.15'], nameConstraints: false })
  t.same(
    derExtensions(der(c.root.cert)),
    { keyUsage: 0x0600, critical: ['2.5.29.19', '2.5.29.15'], nameConstraints: false },
    'keyCertSign, cRLSign',
  )
  t.same(derExtensions(der(c.keyEnciphermentOnly.cert)).keyUsage, 0x2000)
  t.same(derExtensions(der(c.ncInt.cert)).critical, ['2.5.29.19', '2.5.29.15', '2.5.29.30'])
  t.equal(derExtensions(der(c.ncInt.cert)).nameConstraints, true)
  t.same(derExtensions(der(c.clientInt.cert)).critical, ['2.5.29.19', '2.5.29.15', '2.5.29.32'])
  t.same(derExtensions(der(c.unknownCritical.cert)).critical, ['2.5.29.15', '1.3.6.1.4.1.55555.1'])
  t.same(
    derExtensions(der(c.server.cert)),
    { keyUsage: undefined, critical: [], nameConstraints: false },
    'no critical extension, no keyUsage',
  )
  t.same(
    derExtensions(Buffer.from([0x30, 0x00])),
    { keyUsage: undefined, critical: [], nameConstraints: false },
    'not a certificate',
  )
})
