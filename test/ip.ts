// Strict IP parsing and canonical output, through the public API:
// canonicalIp for header-style input, createTrustProxy for socket addresses.
import t from 'tap'
import { isIP } from 'node:net'
import { canonicalIp, createTrustProxy } from '../src/index.js'

// [input, canonical output]
const valid: [string, string][] = [
  // IPv4: four-part decimal only
  ['1.2.3.4', '1.2.3.4'],
  ['0.0.0.0', '0.0.0.0'],
  ['255.255.255.255', '255.255.255.255'],
  ['10.0.0.1', '10.0.0.1'],
  ['100.20.3.0', '100.20.3.0'],
  // ports are dropped
  ['1.2.3.4:80', '1.2.3.4'],
  ['1.2.3.4:0', '1.2.3.4'],
  ['1.2.3.4:65535', '1.2.3.4'],
  ['1.2.3.4:08080', '1.2.3.4'],
  ['[2001:db8::1]:443', '2001:db8::1'],
  ['[2001:db8::1]', '2001:db8::1'],
  ['[::1]:1', '::1'],
  // an unbracketed IPv6 address is never read as host:port
  ['2001:db8::1:443', '2001:db8::1:443'],
  // RFC 4291 forms, RFC 5952 output: lower case, no leading zeros
  ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
  ['ABCD:EF01:2345:6789:ABCD:EF01:2345:6789', 'abcd:ef01:2345:6789:abcd:ef01:2345:6789'],
  ['0001:0002::', '1:2::'],
  ['::', '::'],
  ['0:0:0:0:0:0:0:0', '::'],
  ['::1', '::1'],
  ['0:0:0:0:0:0:0:1', '::1'],
  ['1::', '1::'],
  ['1:0:0:0:0:0:0:0', '1::'],
  ['1::8', '1::8'],
  ['1:2::7:8', '1:2::7:8'],
  ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ['::2:3:4:5:6:7:8', '0:2:3:4:5:6:7:8'],
  ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  // a single zero group is not compressed
  ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ['2001:db8::1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  // the longest run is compressed; on a tie, the first
  ['1:0:0:4:0:0:0:8', '1:0:0:4::8'],
  ['1:0:0:0:5:0:0:8', '1::5:0:0:8'],
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['0:0:1:0:0:0:0:0', '0:0:1::'],
  ['0:0:1:0:0:1:0:0', '::1:0:0:1:0:0'],
  // dotted IPv4 tails
  ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
  ['1::1.2.3.4', '1::102:304'],
  ['::ffff:0:1.2.3.4', '::ffff:0:102:304'],
  // IPv4-mapped becomes IPv4, however it is spelled
  ['::ffff:1.2.3.4', '1.2.3.4'],
  ['::FFFF:10.0.0.1', '10.0.0.1'],
  ['::ffff:a00:1', '10.0.0.1'],
  ['0:0:0:0:0:ffff:0a00:0001', '10.0.0.1'],
  ['[::ffff:1.2.3.4]:80', '1.2.3.4'],
  ['[::ffff:7f00:1]', '127.0.0.1'],
  // IPv4-compatible, NAT64, 6to4 and Teredo stay IPv6
  ['::1.2.3.4', '::102:304'],
  ['::10.0.0.1', '::a00:1'],
  ['64:ff9b::10.0.0.1', '64:ff9b::a00:1'],
  ['64:ff9b::a00:1', '64:ff9b::a00:1'],
  ['2002:a00:1::', '2002:a00:1::'],
  ['2002:0a00:0001:0000:0000:0000:0000:0001', '2002:a00:1::1'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
]

const invalid: string[] = [
  '',
  ' ',
  // IPv4 spellings ipaddr.js and inet_aton accept
  '010.0.0.1',
  '1.2.3.04',
  '00.0.0.0',
  '0x7f.0.0.1',
  '0x7f000001',
  '2130706433',
  '127.1',
  '127.0.1',
  '1.2.3',
  '1.2.3.4.5',
  '256.0.0.1',
  '1.2.3.1000',
  '1.2.3.4.',
  '.1.2.3.4',
  '1..2.3',
  '1.2.3.-4',
  '1.2.3.+4',
  '1.2.3.4 ',
  ' 1.2.3.4',
  '1.2.3.4\t',
  // ports
  '1.2.3.4:',
  '1.2.3.4:65536',
  '1.2.3.4:123456',
  '1.2.3.4:8a',
  '1.2.3.4:-1',
  '1.2.3.4:80:80',
  ':80',
  '[::1]:',
  '[::1]:65536',
  '[::1]:80x',
  '[::1]x',
  '[::1]80',
  '[::1',
  '::1]',
  '[]',
  '[:]',
  '[1.2.3.4]',
  '[1.2.3.4]:80',
  '[[::1]]',
  // IPv6 per RFC 4291
  ':',
  ':::',
  '::::',
  '1:::2',
  '::1::',
  '1::2::3',
  ':1:2:3:4:5:6:7',
  ':1::',
  '1:2:3:4:5:6:7:',
  '1:2:3:4:5:6:7',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7:8::',
  '::1:2:3:4:5:6:7:8',
  '1:2:3:4::5:6:7:8',
  '12345::',
  '::12345',
  '1::2g',
  'g::1',
  '1:2:3:4:5:6:7:1.2.3.4',
  '::1:2:3:4:5:6:1.2.3.4',
  '::ffff:1.2.3',
  '::ffff:1.2.3.256',
  '::ffff:01.2.3.4',
  '::1.2.3.4:5',
  '::1.2.3.4.5',
  '1.2.3.4::',
  '::a.b.c.d',
  '2001:db8::1 ',
  // zone ids are refused in headers
  'fe80::1%eth0',
  'fe80::1%1',
  '[fe80::1%eth0]:80',
  'fe80::1%',
  '::ffff:1.2.3.4%eth0',
  // not addresses at all
  'unknown',
  '_hidden',
  '<script>',
  'localhost',
  '1.2.3.4/32',
  '1.2.3.4, 5.6.7.8',
]

t.test('canonicalIp returns the canonical form of every valid address', async t => {
  for (const [input, expected] of valid) {
    t.equal(canonicalIp(input), expected, JSON.stringify(input))
    // the canonical form is a fixed point, and Node agrees that it is an IP
    t.equal(canonicalIp(expected), expected, `${expected} round-trips`)
    t.not(isIP(expected), 0, `net.isIP(${expected})`)
  }
})

t.test('canonicalIp refuses everything else', async t => {
  for (const input of invalid) {
    t.equal(canonicalIp(input), undefined, JSON.stringify(input))
  }
  t.equal(canonicalIp(undefined as unknown as string), undefined, 'undefined')
  t.equal(canonicalIp(2130706433 as unknown as string), undefined, 'a number')
})

t.test('socket addresses: canonical peer, zone ids dropped, ports and the unspecified address refused', async t => {
  const proxy = createTrustProxy({ trust: ['fe80::/10', '10.0.0.0/8'] })
  const peer = (remoteAddress: string) => proxy.resolve({ headers: {}, socket: { remoteAddress } })
  const cases: [string, string | undefined][] = [
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::FFFF:0A00:0001', '10.0.0.1'],
    ['2001:DB8::0:1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['FE80:0:0:0:0:0:0:1%Eth0', 'fe80::1'],
    ['fe80::1%4', 'fe80::1'],
    ['::ffff:10.0.0.1%eth0', '10.0.0.1'],
    // unspecified: no peer can have it; not an address to report
    ['0.0.0.0', undefined],
    ['::', undefined],
    ['0:0:0:0:0:0:0:0', undefined],
    ['::ffff:0.0.0.0', undefined],
    ['::%eth0', undefined],
    // Node never reports these; they are not addresses
    ['fe80::1%', undefined],
    ['10.0.0.1:80', undefined],
    ['[::1]', undefined],
    ['[::1]:80', undefined],
    ['010.0.0.1', undefined],
    ['', undefined],
  ]
  for (const [remote, expected] of cases) {
    const r = peer(remote)
    t.equal(r.peer, expected, `peer of ${JSON.stringify(remote)}`)
    t.equal(r.ip, expected, `ip of ${JSON.stringify(remote)}`)
    t.same(r.ips, expected === undefined ? [] : [expected])
    if (expected === undefined) t.equal(r.reason, 'no-peer', `reason for ${JSON.stringify(remote)}`)
  }
})

t.test('a mapped socket peer matches IPv4 ranges; embedded IPv4 forms do not', async t => {
  const proxy = createTrustProxy({ trust: ['10.0.0.0/8', '1.2.3.4'] })
  const cases: [string, boolean][] = [
    ['10.1.2.3', true],
    ['::ffff:10.1.2.3', true],
    ['::ffff:a01:203', true],
    ['::ffff:1.2.3.4', true],
    ['::10.1.2.3', false],
    ['::a01:203', false],
    ['64:ff9b::10.1.2.3', false],
    ['64:ff9b::a01:203', false],
    ['2002:a01:203::1', false],
    ['2001:0:4136:e378:8000:63bf:f5fe:fefc', false],
    ['::ffff:0:10.1.2.3', false],
    ['::1.2.3.4', false],
  ]
  for (const [remote, trusted] of cases) {
    const r = proxy.resolve({
      headers: { 'x-forwarded-for': '203.0.113.7' },
      socket: { remoteAddress: remote },
    })
    t.equal(r.ip, trusted ? '203.0.113.7' : canonicalIp(remote), remote)
    t.equal(r.reason, trusted ? 'untrusted-hop' : 'untrusted-peer', remote)
    t.equal(proxy.trust(remote, 0), trusted, `trust(${remote})`)
  }
})

t.test('canonicalIp is the strict parser: the unspecified address parses, zone ids do not', async t => {
  // resolve never reports 0.0.0.0 or ::, but they are addresses, and
  // canonicalIp is used on hosts and certificate names as well
  t.equal(canonicalIp('0.0.0.0'), '0.0.0.0')
  t.equal(canonicalIp('[0:0::0]:80'), '::')
  t.equal(canonicalIp('::ffff:0.0.0.0'), '0.0.0.0')
  t.equal(canonicalIp('fe80::1%eth0'), undefined)
})
