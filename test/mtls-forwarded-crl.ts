// Revocation of forwarded certificates (clientCert.forwarded.crl), with
// CRLs made by openssl, over real sockets: the trusted proxy is 127.0.0.1.
import http from 'node:http'
import t from 'tap'
import fc from 'fast-check'
import { X509Certificate } from 'node:crypto'
import { clientCertErrorOf, clientCertOf, createTrustProxy, type ClientCertPolicy } from '../src/index.js'
import { compileCrls, parseCrl } from '../src/features/client-cert/crl.js'
import { derNames } from '../src/features/client-cert/der.js'
import { certs, der, type Pair } from './support/certs.js'
import { sf } from './support/forwarded-certs.js'
import { listen, recorder, request } from './support/http.js'
import { pki } from './fixtures/tls-pki.js'

const c = certs()
const [rootCrl, intermediateCrl] = c.crl as [string, string]
const TRUSTED = '127.0.0.1'

async function server(t: { teardown(fn: () => unknown): void }, clientCert: ClientCertPolicy) {
  const log = recorder()
  const proxy = createTrustProxy({ trust: TRUSTED, clientCert })
  const srv = http.createServer((req, res) => {
    if (proxy.handle(req, res, log)) return
    res.end(JSON.stringify({ cn: clientCertOf(req)?.commonNames[0], error: clientCertErrorOf(req) }))
  })
  const port = await listen(t, srv)
  const send = async (leaf: Pair, chain?: Pair) => {
    const headers: Record<string, string> = { 'client-cert': sf(leaf) }
    if (chain !== undefined) headers['client-cert-chain'] = sf(chain)
    const r = await request(port, { from: TRUSTED, headers })
    return { status: r.status, ...(r.json as { cn?: string; error?: { reason: string; detail: string } }) }
  }
  return { send, log }
}

/** a certificate's serial number as the hex of its DER INTEGER contents */
const derSerial = (pem: string) => {
  const b = der(pem)
  // Certificate > TBSCertificate > [0] version, then the serial INTEGER (short lengths after the outer two)
  let i = 0
  const skip = () => {
    const l = b[i + 1]!
    return l & 0x80 ? 2 + (l & 0x7f) : 2
  }
  i += skip() // Certificate
  i += skip() // TBSCertificate
  i += 2 + b[i + 1]! // [0] version
  return b.toString('hex', i + 2, i + 2 + b[i + 1]!)
}

const pemToDer = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64')

t.test('a certificate listed in the CRL of its issuer is refused with the reason revoked', async t => {
  const { send, log } = await server(t, {
    mode: 'optional',
    forwarded: { source: 'rfc9440', ca: [c.root.cert, c.intermediate.cert], crl: [rootCrl, intermediateCrl] },
  })
  t.match(await send(c.valid), { status: 200, cn: 'client-one' })
  const revoked = await send(c.revoked)
  t.match(revoked, {
    status: 200,
    error: {
      reason: 'revoked',
      detail: /client-revoked.* \(serial [0-9A-F]+\) is listed in the CRL of .*Test Intermediate CA/,
    },
  })
  t.equal(revoked.cn, undefined)
  t.match(log.entries.at(-1), { level: 'info', obj: { clientCert: { reason: 'revoked' } } })
  // the certificates the proxy verified itself get the same check: the CRL is the app's
})

t.test('required mode: 403, logged with the reason', async t => {
  const { send, log } = await server(t, {
    forwarded: { source: 'rfc9440', ca: [c.root.cert, c.intermediate.cert], crl: intermediateCrl },
  })
  t.match(await send(c.revoked), { status: 403 })
  t.match(log.entries.at(-1), { level: 'warn', msg: /refused \(revoked\)/ })
})

t.test('every issuer of the path needs its CRL (fail closed, as OpenSSL)', async t => {
  // the leaf's issuer is a forwarded intermediate: its CRL cannot be loaded (not signed by a CA of ca)
  const { send } = await server(t, {
    mode: 'optional',
    forwarded: { source: 'rfc9440', ca: c.root.cert, crl: rootCrl },
  })
  t.match(await send(c.valid, c.intermediate), {
    error: { reason: 'untrusted', detail: /^no CRL of .*Test Intermediate CA.*, the issuer of .*client-one/ },
  })
  // without crl the same chain is accepted: the refusal above is the CRL rule
  const plain = await server(t, { mode: 'optional', forwarded: { source: 'rfc9440', ca: c.root.cert } })
  t.match(await plain.send(c.valid, c.intermediate), { cn: 'client-one' })
})

t.test("a CRL that passes its nextUpdate while the app runs refuses its CA's certificates", async t => {
  const p = pki('Stale CRL CA')
  const leaf = p.issue('leaf', 'client')
  const crl = p.crl({ nextUpdate: 1 })
  const { send } = await server(t, { mode: 'optional', forwarded: { source: 'rfc9440', ca: p.ca.cert, crl } })
  t.match(await send(leaf), { cn: 'leaf' })
  const realNow = Date.now
  t.teardown(() => {
    Date.now = realNow
  })
  const nextUpdate = parseCrl(pemToDer(crl)).nextUpdate!
  Date.now = () => nextUpdate + 30_000
  t.match(await send(leaf), { cn: 'leaf' }, 'within the clock skew')
  // past the skew, and past the minute a cached result stands
  Date.now = () => nextUpdate + 120_000
  t.match(await send(leaf), { error: { reason: 'untrusted', detail: /^the CRL of .*Stale CRL CA.* expired at / } })
})

t.test('bad CRLs are startup errors naming clientCert.forwarded.crl', async t => {
  const p = pki('Bad CRL CA')
  const noSign = pki('No cRLSign CA', { crlSign: false })
  const ca = p.ca.cert
  const crl = p.crl()
  const swapped = pemToDer(crl)
  // ecdsa-with-SHA256 (1.2.840.10045.4.3.2) inside and outside the signed part becomes an unknown 1.2.840.10045.4.3.5
  const oid = Buffer.from('2a8648ce3d040302', 'hex')
  for (let i = swapped.indexOf(oid); i !== -1; i = swapped.indexOf(oid, i + 1)) swapped[i + 7] = 5
  const pem = (b: Buffer) => `-----BEGIN X509 CRL-----\n${b.toString('base64')}\n-----END X509 CRL-----\n`
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['crl without ca', { source: 'rfc9440', proxyVerifies: true, crl }, /"clientCert.forwarded.crl".*needs ca/],
    ['not PEM', { source: 'rfc9440', ca, crl: 'hello' }, /"clientCert.forwarded.crl".*holds no PEM CRL/],
    ['a number', { source: 'rfc9440', ca, crl: 42 }, /"clientCert.forwarded.crl".*must be PEM/],
    ['garbage in the armour', { source: 'rfc9440', ca, crl: pem(Buffer.from('nonsense')) }, /CRL 1 does not parse/],
    ['another CA', { source: 'rfc9440', ca: c.root.cert, crl }, /CRL 1 is not issued by a CA of the bundle/],
    [
      'expired',
      { source: 'rfc9440', ca, crl: p.crl({ lastUpdate: -40, nextUpdate: -10 }) },
      /CRL 1 .*Bad CRL CA.* expired at/,
    ],
    ['not yet valid', { source: 'rfc9440', ca, crl: p.crl({ lastUpdate: 1 }) }, /CRL 1 .*is not valid before/],
    [
      'critical extension',
      { source: 'rfc9440', ca, crl: p.crl({ idp: true }) },
      /2\.5\.29\.28 is critical and not supported/,
    ],
    [
      'unknown algorithm',
      { source: 'rfc9440', ca, crl: pem(swapped) },
      /not signed by its CA .*unsupported algorithm 1\.2\.840\.10045\.4\.3\.5/,
    ],
    ['a CA without cRLSign', { source: 'rfc9440', ca: noSign.ca.cert, crl: noSign.crl() }, /may not sign CRLs/],
    ['second CRL bad', { source: 'rfc9440', ca, crl: [crl, 'x'] }, /holds no PEM CRL/],
  ]
  for (const [name, forwarded, message] of cases) {
    t.throws(
      () => createTrustProxy({ trust: TRUSTED, clientCert: { forwarded } as unknown as ClientCertPolicy }),
      { message },
      name,
    )
  }
})

t.test('several CRLs of one issuer: the union of their serials', async t => {
  const p = pki('Two CRLs CA')
  const a = p.issue('a', 'client')
  const b = p.issue('b', 'client')
  const before = p.crl()
  p.revoke('a')
  const after = p.crl()
  const noNext = compileCrls([pemToDer(before), pemToDer(after)], [new X509Certificate(p.ca.cert)], Date.now(), 0)
  const entry = noNext.get([...(noNext as Map<string, unknown>).keys()][0]!)!
  t.equal(entry.revoked.size, 1)
  t.equal(entry.nextUpdate, parseCrl(pemToDer(after)).nextUpdate, 'fresh until the latest nextUpdate')
  const { send } = await server(t, {
    mode: 'optional',
    forwarded: { source: 'rfc9440', ca: p.ca.cert, crl: [after, before] },
  })
  t.match(await send(a), { error: { reason: 'revoked' } })
  t.match(await send(b), { cn: 'b' })
})

/** DER: a tag and its content (lengths below 64 KiB, enough here). */
const tlvOf = (tag: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts)
  const n = body.length
  const len = n < 128 ? [n] : n < 256 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...len]), body])
}
/** a positive INTEGER, minimal: a leading 00 only before a high bit */
const integer = (b: Uint8Array) => {
  let i = 0
  while (i < b.length - 1 && b[i] === 0 && b[i + 1]! < 0x80) i++
  const v = Buffer.from(b.subarray(i))
  return tlvOf(0x02, v[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v)
}
const utcTime = (ms: number) =>
  tlvOf(0x17, Buffer.from(new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z', 'latin1'))
/** a signature BIT STRING (never verified by the reader) */
const SIG = tlvOf(0x03, Buffer.from([0, 1, 2]))
const genTime = (ms: number) =>
  tlvOf(0x18, Buffer.from(new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z', 'latin1'))

t.test('the CRL reader', async t => {
  const p = pki('Parser CA')
  const pairs = [0, 1, 2].map(i => p.issue(`r${i}`, 'client'))
  for (let i = 0; i < 3; i++) p.revoke(`r${i}`, i === 0 ? 'keyCompromise' : undefined)
  const crl = pemToDer(p.crl())
  const ca = new X509Certificate(p.ca.cert)
  const parsed = parseCrl(crl)
  t.same(
    [...parsed.revoked].sort(),
    pairs.map(x => derSerial(x.cert)).sort(),
    'the serials openssl revoked, as DER INTEGER contents',
  )
  t.doesNotThrow(() => compileCrls([crl], [ca], Date.now(), 0))

  // any change of one byte of a signed CRL is refused: it no longer parses, or its signature fails
  fc.assert(
    fc.property(fc.nat(crl.length - 1), fc.integer({ min: 1, max: 255 }), (at, mask) => {
      const copy = Buffer.from(crl)
      copy[at]! ^= mask
      try {
        compileCrls([copy], [ca], Date.now(), 0)
      } catch {
        return true
      }
      return false
    }),
    { numRuns: 300 },
  )

  // structures built independently: the serials and dates read back
  const alg = tlvOf(0x30, tlvOf(0x06, Buffer.from('2a8648ce3d040302', 'hex')))
  const name = tlvOf(
    0x30,
    tlvOf(0x31, tlvOf(0x30, tlvOf(0x06, Buffer.from('550403', 'hex')), tlvOf(0x0c, Buffer.from('X')))),
  )
  const date = fc.integer({ min: Date.UTC(1950, 0, 1) / 1000, max: Date.UTC(2200, 0, 1) / 1000 }).map(s => s * 1000)
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 20 }), {
        maxLength: 20,
        selector: b => integer(b).toString('hex'),
      }),
      date,
      fc.option(date, { nil: undefined }),
      fc.boolean(),
      (serials, thisUpdate, nextUpdate, v2) => {
        const time = (ms: number) => (ms < Date.UTC(2050, 0, 1) ? utcTime(ms) : genTime(ms))
        const entries = serials.map(s => tlvOf(0x30, integer(s), time(thisUpdate)))
        const tbs = tlvOf(
          0x30,
          ...(v2 ? [tlvOf(0x02, Buffer.from([1]))] : []),
          alg,
          name,
          time(thisUpdate),
          ...(nextUpdate === undefined ? [] : [time(nextUpdate)]),
          ...(entries.length === 0 ? [] : [tlvOf(0x30, ...entries)]),
        )
        const got = parseCrl(tlvOf(0x30, tbs, alg, SIG))
        const want = new Set(serials.map(s => integer(s).subarray(2).toString('hex')))
        return (
          got.thisUpdate === thisUpdate &&
          got.nextUpdate === (nextUpdate ?? Infinity) &&
          got.revoked.size === want.size &&
          [...want].every(s => got.revoked.has(s))
        )
      },
    ),
  )

  // what the reader refuses, built by hand
  const now = Date.UTC(2026, 0, 1)
  const crlOf = (...tbs: Buffer[]) => tlvOf(0x30, tlvOf(0x30, ...tbs), alg, SIG)
  const ext = (critical: boolean) =>
    tlvOf(
      0x30,
      tlvOf(0x06, Buffer.from('551d14', 'hex')),
      ...(critical ? [tlvOf(0x01, Buffer.from([0xff]))] : []),
      tlvOf(0x04, Buffer.from([2, 1, 1])),
    )
  const entry = (...more: Buffer[]) => tlvOf(0x30, tlvOf(0x30, integer(Buffer.from([5])), utcTime(now), ...more))
  const refused: [string, Buffer, RegExp][] = [
    ['trailing bytes', Buffer.concat([crlOf(alg, name, utcTime(now)), Buffer.from([0])]), /not one DER SEQUENCE/],
    ['four parts', tlvOf(0x30, tlvOf(0x30, alg, name, utcTime(now)), alg, SIG, SIG), /more than three parts/],
    ['version v3', crlOf(tlvOf(0x02, Buffer.from([2])), alg, name, utcTime(now)), /not v2/],
    [
      'another inner algorithm',
      crlOf(tlvOf(0x30, tlvOf(0x06, Buffer.from('2a8648ce3d040303', 'hex'))), name, utcTime(now)),
      /differs inside and outside/,
    ],
    ['no thisUpdate', crlOf(alg, name), /thisUpdate is missing/],
    ['a local time', crlOf(alg, name, tlvOf(0x17, Buffer.from('260101000000', 'latin1'))), /not in RFC 5280 form/],
    ['month 13', crlOf(alg, name, tlvOf(0x17, Buffer.from('261301000000Z', 'latin1'))), /not a date/],
    ['the year 49', crlOf(alg, name, tlvOf(0x18, Buffer.from('00490101000000Z', 'latin1'))), /not a date/],
    [
      'an entry without date',
      crlOf(alg, name, utcTime(now), tlvOf(0x30, tlvOf(0x30, integer(Buffer.from([5]))))),
      /no revocation date/,
    ],
    ['an entry with extra fields', crlOf(alg, name, utcTime(now), entry(tlvOf(0x30), tlvOf(0x30))), /extra fields/],
    [
      'a critical entry extension',
      crlOf(alg, name, utcTime(now), entry(tlvOf(0x30, ext(true)))),
      /entry extension 2\.5\.29\.20 is critical/,
    ],
    [
      'two crlExtensions',
      crlOf(alg, name, utcTime(now), tlvOf(0xa0, tlvOf(0x30, ext(false)), tlvOf(0x30))),
      /more than one element/,
    ],
    ['unknown fields', crlOf(alg, name, utcTime(now), utcTime(now), tlvOf(0x30), tlvOf(0x04)), /unknown fields/],
    ['a length past the end', crlOf(alg, name, Buffer.from([0x30, 0x05, 0])), /does not fit/],
    [
      'signature bits',
      tlvOf(0x30, tlvOf(0x30, alg, name, utcTime(now)), alg, tlvOf(0x03, Buffer.from([4, 1]))),
      /whole number of bytes/,
    ],
  ]
  for (const [what, bytes, message] of refused) t.throws(() => parseCrl(bytes), { message }, what)
  t.same(
    parseCrl(crlOf(alg, name, utcTime(now), entry(tlvOf(0x30, ext(false))))).revoked,
    new Set(['05']),
    'a non-critical entry extension',
  )

  // what a CRL is matched on: the certificate's names and serial, also for a v1 certificate (no version field)
  const validity = tlvOf(0x30, utcTime(now), utcTime(now))
  const v1 = tlvOf(0x30, tlvOf(0x30, integer(Buffer.from([7])), alg, name, validity, name), alg, SIG)
  t.same(derNames(v1), {
    serial: '07',
    issuer: name.subarray(2).toString('hex'),
    subject: name.subarray(2).toString('hex'),
  })
  t.same(derNames(Buffer.from([1, 2, 3])), { serial: '', issuer: '', subject: '' }, 'unreadable: matches no CRL')

  // arbitrary bytes: a result or an Error, never anything else
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
      try {
        parseCrl(Buffer.from(bytes))
      } catch (err) {
        return err instanceof Error
      }
      return true
    }),
  )
})
