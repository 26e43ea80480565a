// The PROXY protocol parsers, from the specification's examples and rules
// (haproxy doc/proxy-protocol.txt, 2020/03/05, sections 2.1 and 2.2).
import fc from 'fast-check'
import t from 'tap'
import { parseProxyHeader } from '../src/proxy-protocol/index.js'
import { canonicalIp } from '../src/index.js'
import { crc32c } from '../src/proxy-protocol/crc32c.js'
import { ipv4Block, ipv6Block, SIG, sslValue, unixBlock, v2 } from './fixtures/proxy-protocol.js'

// fast-check runs many cases: more than tap's default 30 s on a loaded machine
t.setTimeout(120_000)

const ok = (b: Buffer, max?: number) => {
  const r = parseProxyHeader(b, max)
  if (r === undefined || !r.ok) throw new Error(`expected a header, got ${JSON.stringify(r)}`)
  return r.header
}
const reason = (b: Buffer, max?: number) => {
  const r = parseProxyHeader(b, max)
  return r === undefined ? 'more' : r.ok ? 'ok' : r.reason
}

t.test('CRC32c: the RevEng catalogue check value of CRC-32/ISCSI', async t => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283)
})

t.test("v1: the specification's lines", async t => {
  const h = ok(Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n'))
  t.same(h, {
    version: 1,
    command: 'PROXY',
    family: 'IPv4',
    transport: 'STREAM',
    source: { address: '192.168.0.1', port: 56324 },
    destination: { address: '192.168.0.11', port: 443 },
    tlvs: { raw: [] },
    length: 47,
  })
  const max4 = 'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'
  t.equal(max4.length, 56)
  t.equal(ok(Buffer.from(max4)).length, 56)
  const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'
  const max6 = `PROXY TCP6 ${f} ${f} 65535 65535\r\n`
  t.equal(max6.length, 104)
  t.same(ok(Buffer.from(max6)).source, { address: f, port: 65535 })
  t.same(ok(Buffer.from('PROXY UNKNOWN\r\n')), {
    version: 1,
    command: 'PROXY',
    family: 'UNSPEC',
    transport: 'UNSPEC',
    source: undefined,
    destination: undefined,
    tlvs: { raw: [] },
    length: 15,
  })
  const worst = `PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`
  t.equal(worst.length, 107)
  t.equal(ok(Buffer.from(worst)).family, 'UNSPEC')
  t.equal(reason(Buffer.from(`PROXY UNKNOWN ${f} ${f} 65535 655356\r\n`)), 'v1-too-long')
  t.equal(reason(Buffer.from('PROXY UNKNOWN' + ' '.repeat(120))), 'v1-too-long')
  // canonical forms: upper-case hex, "::", IPv4-mapped (reported as IPv4)
  t.same(ok(Buffer.from('PROXY TCP6 2001:DB8::1 ::ffff:10.0.0.1 0 1\r\n')).source, { address: '2001:db8::1', port: 0 })
  t.same(ok(Buffer.from('PROXY TCP6 2001:DB8::1 ::ffff:10.0.0.1 0 1\r\n')).destination, {
    address: '10.0.0.1',
    port: 1,
  })
})

t.test('v1: every deviation is refused', async t => {
  const cases: Array<[string, string]> = [
    ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n', 'v1-syntax'], // lone LF
    ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX\n', 'v1-syntax'], // lone CR
    ['PROXY TCP4 192.168.0.1  192.168.0.11 56324 443\r\n', 'v1-syntax'], // two spaces
    ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443 \r\n', 'v1-syntax'], // trailing space
    ['PROXY TCP4 192.168.0.1 192.168.0.11 56324\r\n', 'v1-syntax'],
    ['PROXY TCP5 192.168.0.1 192.168.0.11 56324 443\r\n', 'v1-syntax'],
    ['PROXY tcp4 192.168.0.1 192.168.0.11 56324 443\r\n', 'v1-syntax'],
    ['PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\t\r\n', 'v1-syntax'],
    ['PROXY TCP4 192.168.0.\xe9 192.168.0.11 56324 443\r\n', 'v1-syntax'],
    ['PROXY UNKNOWNX\r\n', 'v1-syntax'],
    ['PROXY \r\n', 'v1-syntax'],
    ['PROXY TCP4 192.168.000.1 192.168.0.11 56324 443\r\n', 'v1-address'], // leading zeros
    ['PROXY TCP4 192.168.0.256 192.168.0.11 56324 443\r\n', 'v1-address'],
    ['PROXY TCP4 ::1 192.168.0.11 56324 443\r\n', 'v1-address'], // family mismatch
    ['PROXY TCP4 ::ffff:1.2.3.4 192.168.0.11 56324 443\r\n', 'v1-address'],
    ['PROXY TCP6 192.168.0.1 ::1 56324 443\r\n', 'v1-address'],
    ['PROXY TCP4 192.168.0.1 ::1 56324 443\r\n', 'v1-address'], // the destination
    ['PROXY TCP6 fe80::1%eth0 ::1 56324 443\r\n', 'v1-address'], // no zones
    ['PROXY TCP6 1::2::3 ::1 56324 443\r\n', 'v1-address'],
    ['PROXY TCP4 192.168.0.1 192.168.0.11 056324 443\r\n', 'v1-port'],
    ['PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n', 'v1-port'],
    ['PROXY TCP4 192.168.0.1 192.168.0.11 1 -1\r\n', 'v1-port'],
    ['PROXY TCP4 192.168.0.1 192.168.0.11 1 \r\n', 'v1-port'], // an empty port
    ['proxy TCP4 192.168.0.1 192.168.0.11 56324 443\r\n', 'missing-header'],
    ['PROXYTCP4 192.168.0.1 192.168.0.11 56324 443\r\n', 'missing-header'],
    ['GET / HTTP/1.1\r\n', 'missing-header'],
    ['\x16\x03\x01', 'missing-header'], // a TLS ClientHello
  ]
  for (const [line, want] of cases) t.equal(reason(Buffer.from(line, 'latin1')), want, JSON.stringify(line))
  // a valid beginning waits for more
  for (const prefix of ['P', 'PROXY', 'PROXY TCP4 1.2.3.4', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r']) {
    t.equal(reason(Buffer.from(prefix)), 'more', prefix)
  }
  t.equal(reason(Buffer.alloc(0)), 'more')
})

t.test('v1: each refusal names the byte or the field (the messages of the previous parser)', async t => {
  // expected texts: what the parser before the one-pass rewrite answered (run 2026-12-07)
  const cases: [string, string][] = [
    ['PROXY TCP4 1.2.3.4\n', 'v1-syntax: a line feed without a carriage return at byte 18'],
    ['PROXY TCP4 1.2.3.4\rX', 'v1-syntax: a carriage return without a line feed at byte 18'],
    ['PROXY TCP4 1.2\x01.3.4\r\n', 'v1-syntax: a byte that is not printable US-ASCII (0x1) at byte 14'],
    ['PROXY TCP4 1.2\x7f\r\n', 'v1-syntax: a byte that is not printable US-ASCII (0x7f) at byte 14'],
    ['PROXY TCP4 \n\x01\r\n', 'v1-syntax: a line feed without a carriage return at byte 11'],
    ['PROXY TCP4 1.2.3.4 \x80\r\n', 'v1-syntax: a byte that is not printable US-ASCII (0x80) at byte 19'],
    [
      'PROXY xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n',
      'v1-too-long: no CRLF within 107 bytes',
    ],
    [
      'PROXY xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r',
      'v1-too-long: no CRLF within 107 bytes',
    ],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n', 'v1-syntax: more than 4 fields after the protocol'],
    [
      'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n',
      'v1-syntax: 3 field(s) after the protocol, expected 4 separated by single spaces',
    ],
    ['PROXY TCP4  1.2.3.4 5.6.7.8 1\r\n', 'v1-address: "" is not a canonical IPv4 address'],
    ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-syntax: unknown protocol "TCP5 1.2" (TCP4, TCP6 or UNKNOWN)'],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', 'v1-port: "01" is not a port (0-65535, no leading zeros)'],
    ['PROXY TCP4 1.2.3.4 ::1 1 2\r\n', 'v1-address: "::1" is not a canonical IPv4 address'],
  ]
  for (const [input, expected] of cases) {
    const r = parseProxyHeader(Buffer.from(input, 'latin1'))
    t.equal(r === undefined ? 'more' : r.ok ? 'ok' : `${r.reason}: ${r.detail}`, expected, JSON.stringify(input))
  }
})

t.test('v2: addresses of every family', async t => {
  const h = ok(Buffer.concat([v2(), Buffer.from('GET /')]))
  t.same(h, {
    version: 2,
    command: 'PROXY',
    family: 'IPv4',
    transport: 'STREAM',
    source: { address: '192.0.2.1', port: 56324 },
    destination: { address: '198.51.100.2', port: 443 },
    tlvs: { raw: [] },
    length: 28,
  })
  t.equal(ok(v2({ fam: 0x12 })).transport, 'DGRAM')
  const a6 = Buffer.from('20010db8000000000000000000000001', 'hex')
  const mapped = Buffer.from('00000000000000000000ffff0a000001', 'hex')
  const h6 = ok(v2({ fam: 0x21, addr: ipv6Block(a6, mapped, 1, 65535) }))
  t.same(
    [h6.family, h6.source, h6.destination, h6.length],
    ['IPv6', { address: '2001:db8::1', port: 1 }, { address: '10.0.0.1', port: 65535 }, 52],
  )
  t.equal(ok(v2({ fam: 0x22, addr: ipv6Block(a6, a6, 1, 2) })).transport, 'DGRAM')
  const hu = ok(v2({ fam: 0x31, addr: unixBlock('/run/client.sock', '/run/app.sock') }))
  t.same(
    [hu.family, hu.source, hu.destination],
    ['UNIX', { address: '/run/client.sock', port: undefined }, { address: '/run/app.sock', port: undefined }],
  )
  t.equal(ok(v2({ fam: 0x32, addr: unixBlock('a', 'b') })).transport, 'DGRAM')
  // a 108-byte path has no NUL
  t.equal(ok(v2({ fam: 0x31, addr: Buffer.alloc(216, 0x61) })).source!.address, 'a'.repeat(108))
  // UNSPEC: no address, TLVs right after the fixed part
  const hn = ok(v2({ fam: 0x00, addr: Buffer.alloc(0), tlvs: [[0x02, Buffer.from('example.com')]] }))
  t.same([hn.command, hn.family, hn.source, hn.tlvs.authority], ['PROXY', 'UNSPEC', undefined, 'example.com'])
})

t.test('v2: LOCAL (health checks) ignores the address block, whatever its length', async t => {
  const local = ok(v2({ verCmd: 0x20, fam: 0x00, addr: Buffer.alloc(0) }))
  t.same([local.command, local.source, local.length], ['LOCAL', undefined, 16])
  // an address block present anyway is skipped, not used
  const withAddr = ok(v2({ verCmd: 0x20 }))
  t.same([withAddr.command, withAddr.family, withAddr.source, withAddr.length], ['LOCAL', 'IPv4', undefined, 28])
  // a length shorter than the family's block: the block is discarded
  const short = ok(v2({ verCmd: 0x20, fam: 0x21, addr: Buffer.alloc(4) }))
  t.same([short.command, short.length, short.tlvs], ['LOCAL', 20, { raw: [] }])
  // UNSPEC with an address block of non-zero bytes anyway: accepted, the block
  // discarded, never read as TLVs (haproxy doc/proxy-protocol.txt, section 2.2,
  // commit 00be3584260b050638a1d9c58c53f60c8ea54f18, read 2026-12-06: "the
  // receiver must accept this connection as valid and [...] discard the
  // protocol block including the family"; "Receivers MUST always consider this
  // field to skip the appropriate number of bytes and must not assume zero is
  // presented for LOCAL connections")
  const block = ipv4Block('192.0.2.1', '198.51.100.2', 56324, 443)
  const unspec = ok(v2({ verCmd: 0x20, fam: 0x00, addr: block }))
  t.same(
    [unspec.command, unspec.family, unspec.source, unspec.length, unspec.tlvs],
    ['LOCAL', 'UNSPEC', undefined, 28, { raw: [] }],
  )
  // the TLVs of a LOCAL header are not read: not even a wrong CRC32C refuses it
  const local2 = ok(v2({ verCmd: 0x20, fam: 0x00, addr: Buffer.alloc(0), crc: 1 }))
  t.same([local2.command, local2.tlvs], ['LOCAL', { raw: [] }])
  t.same(ok(v2({ verCmd: 0x20, tlvs: [[0x02, Buffer.from('x')]] })).tlvs, { raw: [] })
})

t.test('v2: TLVs', async t => {
  const ssl = sslValue(0x07, 0, [
    [0x21, 'TLSv1.3'],
    [0x22, 'client.example'],
    [0x23, 'TLS_AES_128_GCM_SHA256'],
    [0x24, 'RSA-SHA256'],
    [0x25, 'RSA2048'],
    [0x2f, 'ignored'],
  ])
  const h = ok(
    v2({
      tlvs: [
        [0x04, Buffer.alloc(5)],
        [0x01, Buffer.from('h2')],
        [0x02, Buffer.from('bücher.example')],
        [0x05, Buffer.from('4a6f-1')],
        [0x20, ssl],
        [0x30, Buffer.from('blue')],
        [0xea, Buffer.from('\x01vpce-08d2bf15fac5001c9', 'latin1')],
        [0xe0, Buffer.from([1, 2, 3])],
        [0xf7, Buffer.alloc(0)],
      ],
      crc: true,
    }),
  )
  t.same(h.tlvs, {
    raw: [
      { type: 0xe0, value: Buffer.from([1, 2, 3]) },
      { type: 0xf7, value: Buffer.alloc(0) },
    ],
    alpn: 'h2',
    authority: 'bücher.example',
    uniqueId: Buffer.from('4a6f-1'),
    ssl: {
      ssl: true,
      certInConnection: true,
      certInSession: true,
      verify: 0,
      verified: true,
      version: 'TLSv1.3',
      cn: 'client.example',
      cipher: 'TLS_AES_128_GCM_SHA256',
      sigAlg: 'RSA-SHA256',
      keyAlg: 'RSA2048',
    },
    netns: 'blue',
    awsVpceId: 'vpce-08d2bf15fac5001c9',
    crc32c: h.tlvs.crc32c,
  })
  t.type(h.tlvs.crc32c, 'number')
  // no certificate: verify 0 does not mean verified
  t.same(ok(v2({ tlvs: [[0x20, sslValue(0x01, 0, [])]] })).tlvs.ssl, {
    ssl: true,
    certInConnection: false,
    certInSession: false,
    verify: 0,
    verified: false,
  })
  t.equal(ok(v2({ tlvs: [[0x20, sslValue(0x03, 1, [])]] })).tlvs.ssl!.verified, false)
  // another AWS subtype stays raw
  t.same(ok(v2({ tlvs: [[0xea, Buffer.from([2, 65])]] })).tlvs.raw, [{ type: 0xea, value: Buffer.from([2, 65]) }])
  t.same(ok(v2({ tlvs: [[0xea, Buffer.alloc(0)]] })).tlvs.raw, [{ type: 0xea, value: Buffer.alloc(0) }])
  t.equal(ok(v2({ tlvs: [[0x05, Buffer.alloc(128)]] })).tlvs.uniqueId!.length, 128)
})

t.test('v2: every deviation is refused', async t => {
  const cases: Array<[string, Buffer, string]> = [
    ['version 1', v2({ verCmd: 0x11 }), 'v2-version'],
    ['version 3', v2({ verCmd: 0x31 }), 'v2-version'],
    ['command 2', v2({ verCmd: 0x22 }), 'v2-command'],
    ['command 15', v2({ verCmd: 0x2f }), 'v2-command'],
    ['family 0x13', v2({ fam: 0x13 }), 'v2-family'],
    ['family 0x41', v2({ fam: 0x41 }), 'v2-family'],
    ['family 0x01', v2({ fam: 0x01 }), 'v2-family'],
    ['IPv4 block too short', v2({ addr: Buffer.alloc(11) }), 'v2-address-length'],
    ['IPv6 block too short', v2({ fam: 0x21, addr: Buffer.alloc(35) }), 'v2-address-length'],
    ['UNIX block too short', v2({ fam: 0x31, addr: Buffer.alloc(215) }), 'v2-address-length'],
    [
      'stray TLV bytes',
      v2({ addr: Buffer.concat([ipv4Block('1.2.3.4', '5.6.7.8', 1, 2), Buffer.from([1, 0])]) }),
      'v2-tlv',
    ],
    [
      'TLV overruns',
      v2({ addr: Buffer.concat([ipv4Block('1.2.3.4', '5.6.7.8', 1, 2), Buffer.from([1, 0, 5, 0x68])]) }),
      'v2-tlv',
    ],
    [
      'duplicate AUTHORITY',
      v2({
        tlvs: [
          [0x02, Buffer.from('a')],
          [0x02, Buffer.from('b')],
        ],
      }),
      'v2-tlv',
    ],
    ['UNIQUE_ID of 129 bytes', v2({ tlvs: [[0x05, Buffer.alloc(129)]] }), 'v2-tlv'],
    ['CRC32C of 3 bytes', v2({ tlvs: [[0x03, Buffer.alloc(3)]] }), 'v2-tlv'],
    ['SSL of 4 bytes', v2({ tlvs: [[0x20, Buffer.alloc(4)]] }), 'v2-tlv'],
    ['SSL stray bytes', v2({ tlvs: [[0x20, Buffer.concat([sslValue(1, 0, []), Buffer.from([0x21])])]] }), 'v2-tlv'],
    [
      'SSL sub-TLV overruns',
      v2({ tlvs: [[0x20, Buffer.concat([sslValue(1, 0, []), Buffer.from([0x21, 0, 9, 0x54])])]] }),
      'v2-tlv',
    ],
    [
      'SSL duplicate CN',
      v2({
        tlvs: [
          [
            0x20,
            sslValue(3, 0, [
              [0x22, 'a'],
              [0x22, 'b'],
            ]),
          ],
        ],
      }),
      'v2-tlv',
    ],
    ['wrong CRC32C', v2({ crc: 0x12345678 }), 'v2-crc32c'],
    [
      'bad signature',
      Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540b', 'hex'), Buffer.alloc(8)]),
      'missing-header',
    ],
  ]
  for (const [name, b, want] of cases) t.equal(reason(b), want, name)
  // CRC32C corrupts when any other byte changes
  const good = v2({ tlvs: [[0x02, Buffer.from('example.com')]], crc: true })
  t.equal(reason(good), 'ok')
  const bad = Buffer.from(good)
  bad[20] = bad[20]! ^ 1
  t.equal(reason(bad), 'v2-crc32c')
  // the announced length against maxHeaderBytes, refused before it arrives
  const big = v2({ tlvs: [[0x04, Buffer.alloc(5000)]] })
  t.equal(reason(big), 'v2-too-large')
  t.equal(reason(big.subarray(0, 16)), 'v2-too-large')
  t.equal(reason(big, 65551), 'ok')
  // a valid beginning waits
  t.equal(reason(SIG.subarray(0, 5)), 'more')
  t.equal(reason(v2().subarray(0, 15)), 'more')
  t.equal(reason(v2().subarray(0, 27)), 'more')
})

const anyHeader = fc.oneof(
  fc
    .record({
      a: fc.ipV4(),
      b: fc.ipV4(),
      p: fc.integer({ min: 0, max: 65535 }),
      q: fc.integer({ min: 0, max: 65535 }),
    })
    .map(({ a, b, p, q }) => Buffer.from(`PROXY TCP4 ${a} ${b} ${p} ${q}\r\n`)),
  fc.constant(Buffer.from('PROXY UNKNOWN\r\n')),
  fc
    .record({
      a: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      p: fc.integer({ min: 0, max: 65535 }),
      authority: fc.string({ maxLength: 40 }),
      crc: fc.boolean(),
    })
    .map(({ a, p, authority, crc }) =>
      v2({
        fam: 0x21,
        addr: ipv6Block(Buffer.from(a), Buffer.from(a), p, p),
        tlvs: [[0x02, Buffer.from(authority)]],
        ...(crc ? { crc: true } : {}),
      }),
    ),
)

t.test('property: random bytes never throw and are never accepted', async t => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
        const r = parseProxyHeader(Buffer.from(bytes))
        return r === undefined || !r.ok
      }),
    ),
  )
  // after a signature, random bytes never throw; whatever is accepted fits the input
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.constantFrom(Buffer.from('PROXY '), SIG), fc.uint8Array({ maxLength: 300 }), (sig, bytes) => {
        const b = Buffer.concat([sig, Buffer.from(bytes)])
        const r = parseProxyHeader(b)
        return r === undefined || !r.ok || r.header.length <= b.length
      }),
    ),
  )
})

t.test('property: a valid header survives any split into chunks', async t => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(anyHeader, fc.uint8Array({ maxLength: 50 }), (header, tail) => {
        const all = Buffer.concat([header, Buffer.from(tail)])
        const whole = parseProxyHeader(all)
        if (whole === undefined || !whole.ok || whole.header.length !== header.length) return false
        // every proper prefix of the header asks for more
        for (let n = 0; n < header.length; n++) if (parseProxyHeader(all.subarray(0, n)) !== undefined) return false
        return true
      }),
    ),
  )
})

t.test('property: addresses and ports read back as sent (the URL parser as the oracle)', async t => {
  // the canonical text: IPv6 as the WHATWG URL parser writes it (RFC 5952
  // compression), IPv4-mapped as IPv4 (ipaddr.js is no oracle here: it
  // reads the IPv4-compatible "::1.2.3.4" as mapped)
  const canonical = (a: string) => {
    const v6 = new URL(`http://[${a}]/`).hostname.slice(1, -1)
    const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6)
    if (m === null) return v6
    const [hi, lo] = [parseInt(m[1]!, 16), parseInt(m[2]!, 16)]
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
  }
  const port = fc.integer({ min: 0, max: 65535 })
  const source = (b: Buffer) => {
    const h = ok(b)
    return [h.source?.address, h.source?.port, h.destination?.address, h.destination?.port]
  }
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), port, port, (a, b, p, q) => {
        t.strictSame(source(Buffer.from(`PROXY TCP4 ${a} ${b} ${p} ${q}\r\n`)), [a, p, b, q])
      }),
    ),
  )
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.ipV6(), fc.ipV6(), port, port, (a, b, p, q) => {
        t.strictSame(source(Buffer.from(`PROXY TCP6 ${a} ${b} ${p} ${q}\r\n`)), [canonical(a), p, canonical(b), q])
      }),
    ),
  )
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map(a => Buffer.from(a))
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.ipV4(), fc.ipV4(), port, port, (a, b, p, q) => {
        t.strictSame(source(v2({ fam: 0x11, addr: ipv4Block(a, b, p, q) })), [a, p, b, q])
      }),
    ),
  )
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(bytes(16), bytes(16), port, port, (a, b, p, q) => {
        const text = (x: Buffer) =>
          canonical(Array.from({ length: 8 }, (_, i) => x.readUInt16BE(2 * i).toString(16)).join(':'))
        t.strictSame(source(v2({ fam: 0x21, addr: ipv6Block(a, b, p, q) })), [text(a), p, text(b), q])
      }),
    ),
  )
})

t.test('property: a v1 TCP4 address is accepted exactly when canonicalIp keeps it as IPv4', async t => {
  // the v1 parser reads IPv4 from the bytes; canonicalIp (ip.ts, itself
  // tested against the URL parser) is the oracle for what is accepted
  const text = fc.oneof(
    fc.ipV4(),
    fc.ipV4Extended(),
    fc.stringMatching(/^[0-9.]{0,16}$/),
    fc.constantFrom('01.2.3.4', '1.2.3.04', '256.1.1.1', '1.2.3', '1.2.3.4.', '.1.2.3.4', '1..2.3', '0.0.0.0', '::1'),
  )
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(text, text, (a, b) => {
        const r = parseProxyHeader(Buffer.from(`PROXY TCP4 ${a} ${b} 1 2\r\n`))
        const expected = [a, b].every(x => !x.includes(':') && canonicalIp(x) === x)
        if (!expected) return r !== undefined && !r.ok && r.reason === 'v1-address'
        return r !== undefined && r.ok && r.header.source?.address === a && r.header.destination?.address === b
      }),
      { numRuns: 2000 },
    ),
  )
})
