// The DER walk that reads common names, SANs and path lengths without
// splitting display strings. Real certificates first, then hand-built DER
// for the shapes OpenSSL-made test certificates do not have.
import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { derFields } from '../src/features/client-cert/der.js'
import { certs, der } from './support/certs.js'

const c = certs()

t.test('real certificates', async t => {
  t.same(derFields(der(c.server.cert)).san, { dns: ['localhost'], uri: [], email: [], ip: ['127.0.0.1', '::1'] })
  t.same(derFields(der(c.valid.cert)), {
    commonNames: ['client-one'],
    san: {
      dns: ['client.example.org'],
      uri: ['spiffe://example.org/ns/prod/sa/web'],
      email: ['client@example.org'],
      ip: [],
    },
    pathLen: undefined,
  })
  t.equal(derFields(der(c.intermediate.cert)).pathLen, 0)
  t.equal(derFields(der(c.root.cert)).pathLen, undefined)
  t.same(derFields(der(c.tricky.cert)).san.uri, ['spiffe://example.org/x, DNS:admin.example.org'])
  t.same(
    derFields(new X509Certificate(c.caLeaf.cert).raw).san,
    { dns: [], uri: [], email: [], ip: [] },
    'no SAN extension',
  )
})

// a tiny DER encoder
const enc = (tag: number, ...parts: (Buffer | string)[]): Buffer => {
  const body = Buffer.concat(parts.map(p => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)))
  const n = body.length
  const len = n < 128 ? Buffer.from([n]) : n < 256 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 255])
  return Buffer.concat([Buffer.from([tag]), len, body])
}
const seq = (...p: Buffer[]) => enc(0x30, ...p)
const set = (...p: Buffer[]) => enc(0x31, ...p)
const oid = (...bytes: number[]) => enc(0x06, Buffer.from(bytes))
const CN = oid(0x55, 0x04, 0x03)
const O = oid(0x55, 0x04, 0x0a)
const int = (...bytes: number[]) => enc(0x02, Buffer.from(bytes))
const ext = (id: Buffer, value: Buffer, critical = false) =>
  seq(id, ...(critical ? [enc(0x01, Buffer.from([0xff]))] : []), enc(0x04, value))

const cert = (subject: Buffer, extensions: Buffer[] | undefined, version = true) =>
  seq(
    seq(
      ...(version ? [enc(0xa0, int(2))] : []),
      int(1),
      seq(),
      seq(),
      seq(),
      subject,
      seq(),
      ...(extensions === undefined ? [] : [enc(0xa3, seq(...extensions))]),
    ),
    seq(),
    enc(0x03, Buffer.from([0])),
  )

t.test('hand-built certificates', async t => {
  const subject = seq(
    set(seq(O, enc(0x0c, 'not a CN'))),
    set(seq(CN, enc(0x0c, 'zoë'))),
    set(seq(CN, enc(0x13, 'printable'))),
    set(seq(CN, enc(0x1e, Buffer.from([0, 0x61])))), // BMPString: skipped
    set(seq(CN)), // no value
    set(seq(enc(0x02, Buffer.from([0x55, 0x04, 0x03])), enc(0x0c, 'INTEGER, not OID'))),
    set(seq(oid(0x55, 0x04), enc(0x0c, 'short OID'))),
    enc(0x31, Buffer.from([0x30, 0x09, 0x00])), // child longer than its set
  )
  const san = seq(
    enc(0x87, Buffer.from([1, 2, 3, 4, 5])), // 5-byte IP: skipped
    enc(0x87, Buffer.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])),
    enc(0xa0, seq(oid(1, 2), enc(0xa0, enc(0x0c, 'other')))), // otherName: skipped
    enc(0x82, 'a'.repeat(200)), // long-form length
  )
  const basic = seq(enc(0x01, Buffer.from([0xff])), int(1, 2, 3, 4, 5)) // pathLen too large: ignored
  const full = cert(subject, [
    ext(oid(0x55, 0x1d, 0x11), san, true),
    ext(oid(0x55, 0x1d, 0x13), basic),
    seq(oid(0x55, 0x1d, 0x0f), enc(0x03, Buffer.from([0]))), // value not an OCTET STRING
    seq(), // empty extension
    ext(oid(0x55, 0x1d, 0x11), Buffer.alloc(0)), // empty SAN
    ext(oid(0x55, 0x1d, 0x13), Buffer.alloc(0)), // empty basicConstraints
  ])
  t.same(derFields(full), {
    commonNames: ['zoë', 'printable'],
    san: { dns: ['a'.repeat(200)], uri: [], email: [], ip: ['2001:db8::1'] },
    pathLen: undefined,
  })
  t.same(
    derFields(
      cert(
        seq(set(seq(CN, enc(0x16, 'ia5')))),
        [ext(oid(0x55, 0x1d, 0x13), seq(enc(0x01, Buffer.from([0xff])), int(3)))],
        false,
      ),
    ),
    {
      commonNames: ['ia5'],
      san: { dns: [], uri: [], email: [], ip: [] },
      pathLen: 3,
    },
    'no version field; pathLen read',
  )
  t.same(derFields(cert(seq(), undefined)).commonNames, [], 'no extensions')
  t.same(derFields(seq(seq(int(1)))).commonNames, [], 'too few fields')
})

t.test('truncated and broken DER yields nothing, never throws', async t => {
  const real = der(c.valid.cert)
  const empty = { commonNames: [], san: { dns: [], uri: [], email: [], ip: [] }, pathLen: undefined }
  for (const [name, input] of [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0x30])],
    ['length past the end', Buffer.from([0x30, 0x05, 0x00])],
    ['long form with no length bytes', Buffer.from([0x30, 0x80])],
    ['long form with 4 length bytes', Buffer.from([0x30, 0x84, 0, 0, 0, 1, 0])],
    ['long form cut short', Buffer.from([0x30, 0x82, 0x01])],
    ['outer sequence empty', Buffer.from([0x30, 0x00])],
  ] as const) {
    t.same(derFields(input), empty, name)
  }
  const cut = derFields(real.subarray(0, real.length - 100))
  t.same(cut, empty, 'a certificate cut short')
  t.doesNotThrow(() => {
    for (let i = 0; i < real.length; i += 7) derFields(real.subarray(0, i))
  }, 'every prefix')
})
