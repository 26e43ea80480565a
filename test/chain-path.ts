// Issue 18, items 1-3: the path of a client certificate goes up to a
// self-signed CA of `ca` (an intermediate in `ca` does not end it), and
// validity, constraints, purpose and revocation apply at every level, the
// root included; CRLs belong to a CA by its key; CRL serials are minimal
// DER. Each case is checked against `openssl verify` on the same files.
import { spawnSync } from 'node:child_process'
import { sign, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type ClientCertPolicy } from '../src/index.js'
import { tlv } from '../src/features/client-cert/der.js'
import { pki, type PkiOptions } from './fixtures/tls-pki.js'
import type { Pair } from './support/certs.js'
import { sf } from './support/forwarded-certs.js'
import { listen, request } from './support/http.js'
import { opensslVerify } from './support/openssl-verify.js'

const TRUSTED = '127.0.0.1'
const CLIENT_URI = 'spiffe://example.org/client'

/** root ── intermediate ── leaf, the root made with `root` options */
const hierarchy = (label: string, root: PkiOptions = {}, intermediate: PkiOptions = {}) => {
  const r = pki(`${label} Root`, root)
  const i = pki(`${label} Intermediate`, { ...intermediate, parent: r })
  return { r, i, leaf: i.issue('leaf', 'client') }
}

type T = { teardown(fn: () => unknown): void }

/** An HTTP app behind the trusted proxy 127.0.0.1 verifying forwarded RFC 9440 certificates. */
async function forwardedApp(t: T, forwarded: Omit<NonNullable<ClientCertPolicy['forwarded']>, 'source'>) {
  const proxy = createTrustProxy({
    trust: TRUSTED,
    clientCert: { mode: 'optional', forwarded: { source: 'rfc9440', ...forwarded } },
  })
  const srv = http.createServer((req, res) => {
    if (proxy.handle(req, res)) return
    res.end(JSON.stringify({ cn: clientCertOf(req)?.commonNames[0], error: clientCertErrorOf(req) }))
  })
  const port = await listen(t, srv)
  return async (leaf: Pair, chain: Pair[] = []) => {
    const headers: Record<string, string> = { 'client-cert': sf(leaf) }
    if (chain.length > 0) headers['client-cert-chain'] = chain.map(sf).join(', ')
    const r = await request(port, { from: TRUSTED, headers })
    return r.json as { cn?: string; error?: { reason: string; detail: string } }
  }
}

/**
 * The socket path: a TLS connection whose handshake passed (as under an
 * SNI context that trusts the intermediate) on a server whose `ca` is
 * `ca`; the verdict of clientCert and of trustCertificate.
 */
const overSocket = (leaf: Pair, ca: string[]) => {
  const x509 = new X509Certificate(leaf.cert)
  const socket = {
    remoteAddress: TRUSTED,
    encrypted: true,
    authorized: true,
    server: { requestCert: true, ca },
    getPeerX509Certificate: () => x509,
    getPeerCertificate: () => ({ raw: x509.raw }),
  }
  const res = { writeHead() {}, end() {}, setHeader() {}, hasHeader: () => false }
  const req = { method: 'GET', headers: { 'x-forwarded-for': '203.0.113.9' }, socket }
  createTrustProxy({ trust: 'loopback', clientCert: {} }).handle(req as never, res as never)
  const identity = createTrustProxy({ trust: [], trustCertificate: { uri: [CLIENT_URI] } }).resolve({
    headers: { 'x-forwarded-for': '203.0.113.9' },
    socket: { ...socket, remoteAddress: '127.0.0.9' },
  } as never)
  return { clientCert: clientCertErrorOf(req as never), peerIdentity: identity.peerIdentity }
}

t.test('control: a good hierarchy with both CRLs is accepted, by OpenSSL and here', async t => {
  const { r, i, leaf } = hierarchy('Good')
  const crls = [r.crl(), i.crl()]
  t.same(opensslVerify({ leaf: leaf.cert, ca: [r.ca.cert, i.ca.cert], crls }), { ok: true, error: '' })
  const send = await forwardedApp(t, { ca: [r.ca.cert, i.ca.cert], crl: crls })
  t.match(await send(leaf), { cn: 'leaf', error: undefined })
  t.match(await send(leaf, [i.ca]), { cn: 'leaf' }, 'the intermediate sent along too')
  t.same(overSocket(leaf, [r.ca.cert, i.ca.cert]), {
    clientCert: undefined,
    peerIdentity: `uri:${CLIENT_URI}`,
  })
})

t.test("the root's CRL revokes the intermediate that is in ca", async t => {
  const { r, i, leaf } = hierarchy('Revoked Int')
  r.revokeCert(i.ca.cert)
  const crls = [r.crl(), i.crl()]
  const ca = [r.ca.cert, i.ca.cert]
  t.match(opensslVerify({ leaf: leaf.cert, ca, crls }), { ok: false, error: /certificate revoked/ })
  const send = await forwardedApp(t, { ca, crl: crls })
  t.match(await send(leaf), {
    cn: undefined,
    error: { reason: 'revoked', detail: /Revoked Int Intermediate.* is listed in the CRL of .*Revoked Int Root/ },
  })
  // without the root's CRL the intermediate's revocation cannot be checked: OpenSSL and here refuse
  t.match(opensslVerify({ leaf: leaf.cert, ca, crls: [crls[1]!] }), {
    ok: false,
    error: /unable to get certificate CRL/,
  })
  const noRootCrl = await forwardedApp(t, { ca, crl: crls[1]! })
  t.match(await noRootCrl(leaf), { error: { reason: 'untrusted', detail: /^no CRL of .*Revoked Int Root/ } })
})

t.test('the root lists itself in its CRL: refused, as OpenSSL checks the anchor too', async t => {
  const { r, i, leaf } = hierarchy('Self Revoked')
  r.revokeCert(r.ca.cert)
  const crls = [r.crl(), i.crl()]
  const ca = [r.ca.cert, i.ca.cert]
  t.match(opensslVerify({ leaf: leaf.cert, ca, crls }), { ok: false, error: /at 2 depth.*certificate revoked/ })
  const send = await forwardedApp(t, { ca, crl: crls })
  t.match(await send(leaf), { error: { reason: 'revoked', detail: /^O=proxy-aware tests, CN=Self Revoked Root/ } })
})

t.test('an expired root above an intermediate of ca', async t => {
  const { r, i, leaf } = hierarchy('Expired', { from: -30, to: -1 })
  const ca = [r.ca.cert, i.ca.cert]
  t.match(opensslVerify({ leaf: leaf.cert, ca }), { ok: false, error: /at 2 depth.*certificate has expired/ })
  const send = await forwardedApp(t, { ca })
  t.match(await send(leaf), { error: { reason: 'untrusted', detail: /^the CA .*Expired Root.* expired at / } })
  t.match(overSocket(leaf, ca), {
    clientCert: { reason: 'untrusted', detail: /Expired Root.* expired at / },
    peerIdentity: undefined,
  })
})

t.test('a root with pathlen:0 above an intermediate CA of ca', async t => {
  const { r, i, leaf } = hierarchy('Pathlen', { basicConstraints: 'critical, CA:TRUE, pathlen:0' })
  const ca = [r.ca.cert, i.ca.cert]
  t.match(opensslVerify({ leaf: leaf.cert, ca }), { ok: false, error: /path length constraint exceeded/ })
  const send = await forwardedApp(t, { ca })
  t.match(await send(leaf), { error: { reason: 'untrusted', detail: 'path length constraint exceeded' } })
  t.match(overSocket(leaf, ca), { clientCert: { detail: 'path length constraint exceeded' }, peerIdentity: undefined })
})

t.test('a root whose extended key usage is serverAuth only', async t => {
  const { r, i, leaf } = hierarchy('Server EKU', { eku: 'serverAuth' })
  const ca = [r.ca.cert, i.ca.cert]
  t.match(opensslVerify({ leaf: leaf.cert, ca }), { ok: false, error: /unsuitable certificate purpose/ })
  const send = await forwardedApp(t, { ca })
  t.match(await send(leaf), {
    error: {
      reason: 'wrong_purpose',
      detail: /^the CA .*Server EKU Root.* has extended key usage 1\.3\.6\.1\.5\.5\.7\.3\.1/,
    },
  })
  t.match(overSocket(leaf, ca), { clientCert: { reason: 'wrong_purpose' }, peerIdentity: undefined })
})

t.test('only an intermediate in ca: no self-signed CA ends the path (OpenSSL: unable to get issuer)', async t => {
  const { i, leaf } = hierarchy('Partial')
  t.match(opensslVerify({ leaf: leaf.cert, ca: [i.ca.cert] }), { ok: false, error: /unable to get issuer/ })
  const send = await forwardedApp(t, { ca: i.ca.cert })
  t.match(await send(leaf), {
    error: { reason: 'untrusted', detail: 'the chain does not reach a self-signed CA of ca' },
  })
  t.match(overSocket(leaf, [i.ca.cert]), { clientCert: { reason: 'untrusted' }, peerIdentity: undefined })
})

t.test('a self-signed CA sent with the leaf is not trusted (only ca holds anchors)', async t => {
  const rogue = pki('Rogue Root')
  const leaf = rogue.issue('rogue-leaf', 'client')
  const good = pki('Good Anchor')
  const ca = [good.ca.cert]
  t.match(opensslVerify({ leaf: leaf.cert, untrusted: [rogue.ca.cert], ca }), {
    ok: false,
    error: /self-signed certificate in certificate chain/,
  })
  const send = await forwardedApp(t, { ca })
  t.match(await send(leaf, [rogue.ca]), {
    error: { reason: 'untrusted', detail: 'the chain does not reach a self-signed CA of ca' },
  })
  t.match(await send(leaf), { error: { reason: 'untrusted', detail: 'not issued by a configured CA' } })
})

t.test('an intermediate that expires while a connection stays open: its next request is refused', async t => {
  const r = pki('Open Conn Root')
  const i = pki('Open Conn Intermediate', { parent: r, to: 2 })
  const leaf = i.issue('leaf', 'client')
  const x509 = new X509Certificate(leaf.cert)
  const socket = {
    remoteAddress: '127.0.0.9',
    encrypted: true,
    authorized: true,
    server: { requestCert: true, ca: [r.ca.cert, i.ca.cert] },
    getPeerX509Certificate: () => x509,
    getPeerCertificate: () => ({ raw: x509.raw }),
  }
  // two apps on the same connection: one verifying its client, one trusting it as a proxy
  const app = createTrustProxy({ trust: [], clientCert: {} })
  const identity = createTrustProxy({ trust: [], trustCertificate: { uri: [CLIENT_URI] } })
  const ask = () => {
    const req = { method: 'GET', headers: { 'x-forwarded-for': '203.0.113.9' }, socket }
    app.handle(req as never, { writeHead() {}, end() {}, setHeader() {}, hasHeader: () => false } as never)
    return { error: clientCertErrorOf(req as never), peerIdentity: identity.resolve(req as never).peerIdentity }
  }
  t.same(ask(), { error: undefined, peerIdentity: `uri:${CLIENT_URI}` }, 'verified on the first request')
  const expiry = Date.parse(new X509Certificate(i.ca.cert).validTo)
  t.capture(Date, 'now', () => expiry + 120_000)
  t.match(ask(), {
    error: { reason: 'untrusted', detail: /^a CA of its path expired at / },
    peerIdentity: undefined,
  })
})

/** Two CAs with one subject name and different keys (a re-key), each with a leaf. */
const rekeyed = () => {
  const first = pki('Rekeyed CA', { exactName: true })
  const second = pki('Rekeyed CA', { exactName: true })
  return { first, second, a: first.issue('a', 'client'), b: second.issue('b', 'client') }
}

t.test('a CRL is matched to its CA by key: another CA with the same name has no CRL', async t => {
  const { first, second, b } = rekeyed()
  t.equal(new X509Certificate(first.ca.cert).subject, new X509Certificate(second.ca.cert).subject, 'one name')
  second.revokeCert(b.cert)
  const ca = [first.ca.cert, second.ca.cert]
  const firstCrl = first.crl()
  t.match(opensslVerify({ leaf: b.cert, ca, crls: [firstCrl] }), { ok: false })
  const send = await forwardedApp(t, { ca, crl: firstCrl })
  t.match(await send(b), { cn: undefined, error: { reason: 'untrusted', detail: /^no CRL of .*Rekeyed CA/ } })
  // with the second CA's CRL too, its revocation is seen
  const both = await forwardedApp(t, { ca, crl: [firstCrl, second.crl()] })
  t.match(await both(b), { error: { reason: 'revoked' } })
})

t.test('a serial revoked by one CA does not revoke the same serial of a same-named CA', async t => {
  const { first, second, a } = rekeyed()
  const aSerial = new X509Certificate(a.cert).serialNumber
  // the second CA revokes a certificate with a's serial (its own copy of a, same request, same serial)
  const twin = second.issueWithSerial('twin', aSerial)
  second.revokeCert(twin.cert)
  const ca = [first.ca.cert, second.ca.cert]
  const crls = [first.crl(), second.crl()]
  t.same(opensslVerify({ leaf: a.cert, ca, crls }), { ok: true, error: '' })
  const send = await forwardedApp(t, { ca, crl: crls })
  t.match(await send(a), { cn: 'a', error: undefined })
  t.match(await send(twin), { error: { reason: 'revoked' } })
})

/** A DER element, its content bytes or its children. */
interface Node {
  tag: number
  content: Buffer | Node[]
}
const parseDer = (b: Buffer, start = 0, end = b.length): Node[] => {
  const out: Node[] = []
  for (let i = start; i < end;) {
    const e = tlv(b, i, end)!
    // constructed (bit 6 of the tag): SEQUENCE, SET, [n] EXPLICIT
    out.push({ tag: e.tag, content: e.tag & 0x20 ? parseDer(b, e.start, e.end) : b.subarray(e.start, e.end) })
    i = e.end
  }
  return out
}
const encodeDer = (n: Node): Buffer => {
  const body = Buffer.isBuffer(n.content) ? n.content : Buffer.concat(n.content.map(encodeDer))
  const len = body.length
  const head = len < 0x80 ? [len] : len < 0x100 ? [0x81, len] : [0x82, len >> 8, len & 0xff]
  return Buffer.concat([Buffer.from([n.tag, ...head]), body])
}
const kids = (n: Node | undefined) => n!.content as Node[]
const pemOf = (b: Buffer) => `-----BEGIN X509 CRL-----\n${b.toString('base64')}\n-----END X509 CRL-----\n`

/** `crl` (PEM, one revoked entry) with its serial's bytes changed by `edit`, signed again with `key`. */
const withSerial = (crl: string, key: string, edit: (serial: Buffer) => Buffer): string => {
  const [list] = parseDer(Buffer.from(crl.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64'))
  const [tbs, alg] = kids(list)
  const revoked = kids(tbs).find((f, i) => i > 2 && f.tag === 0x30)
  const serial = kids(kids(revoked)[0])[0]!
  serial.content = edit(serial.content as Buffer)
  const signed = encodeDer(tbs!)
  const signature = sign('sha256', signed, key)
  return pemOf(
    encodeDer({
      tag: 0x30,
      content: [tbs!, alg!, { tag: 0x03, content: Buffer.concat([Buffer.from([0]), signature]) }],
    }),
  )
}

t.test('a CRL whose revoked serial is not a minimal DER INTEGER is refused, as OpenSSL does', async t => {
  const p = pki('Serial CA')
  const leaf = p.issue('padded', 'client')
  p.revokeCert(leaf.cert)
  const crl = p.crl()
  const forwarded = (crl: string) => () =>
    createTrustProxy({ trust: TRUSTED, clientCert: { forwarded: { source: 'rfc9440', ca: p.ca.cert, crl } } })
  // control: the same CRL taken apart, put together and signed again loads and revokes
  const resigned = withSerial(crl, p.ca.key, s => s)
  t.doesNotThrow(forwarded(resigned))
  const send = await forwardedApp(t, { ca: p.ca.cert, crl: resigned })
  t.match(await send(leaf), { error: { reason: 'revoked' } })
  const padded = withSerial(crl, p.ca.key, s => Buffer.concat([Buffer.from([0]), s]))
  const cases: [string, string, RegExp][] = [
    ['a leading 00 byte', padded, /not in minimal DER \(a leading 00 byte\)/],
    ['negative', withSerial(crl, p.ca.key, s => Buffer.concat([Buffer.from([0xff]), s])), /is negative/],
    ['empty', withSerial(crl, p.ca.key, () => Buffer.alloc(0)), /is empty/],
  ]
  for (const [name, bad, message] of cases) {
    t.throws(forwarded(bad), { option: 'clientCert.forwarded.crl', message }, name)
  }
  // OpenSSL cannot read the padded CRL (its DER decoder refuses the padded INTEGER)
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-serial-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'padded.pem'), padded)
  writeFileSync(join(dir, 'resigned.pem'), resigned)
  const read = (f: string) => spawnSync('openssl', ['crl', '-in', join(dir, f), '-noout'], { encoding: 'utf8' })
  t.equal(read('resigned.pem').status, 0, 'OpenSSL reads the control')
  t.match(read('padded.pem'), { status: 1, stderr: /Unable to load CRL/ })
})
