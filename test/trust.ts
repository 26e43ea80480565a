// Compiling and validating the `trust` option (and the other core options),
// and matching addresses against it through the public `trust` predicate.
import t from 'tap'
import { createTrustProxy, PRESETS, ProxyAwareConfigError, type TrustProxyOptions } from '../src/index.js'

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Options that must throw, the option named, and text the message must contain. */
const rejected: [label: string, options: unknown, option: string, text: RegExp][] = [
  // missing or unusable
  ['no options', undefined, 'trust', /options must be an object, got undefined/],
  ['null options', null, 'trust', /options must be an object, got null/],
  ['string options', 'loopback', 'trust', /options must be an object, got "loopback"/],
  [
    'missing trust',
    {},
    'trust',
    /is required: .*preset \(loopback, linklocal, uniquelocal, private\).*true to trust every hop/,
  ],
  ['null trust', { trust: null }, 'trust', /is required/],
  ['false', { trust: false }, 'trust', /is false/],
  ['object', { trust: { from: '10.0.0.1' } }, 'trust', /got \{"from":"10\.0\.0\.1"\}/],
  ['bigint', { trust: 10n }, 'trust', /got 10n/],
  ['symbol', { trust: Symbol('proxies') }, 'trust', /got Symbol\(proxies\)/],
  // hop counts
  ['negative hops', { trust: -1 }, 'trust', /whole number of hops >= 1, got -1/],
  ['fractional hops', { trust: 1.5 }, 'trust', /whole number of hops >= 1, got 1\.5/],
  ['NaN hops', { trust: Number.NaN }, 'trust', /whole number of hops >= 1, got NaN/],
  ['infinite hops', { trust: Infinity }, 'trust', /whole number of hops >= 1, got Infinity/],
  // 0 hops trusts nobody: almost always a mistake (chi and realclientip-go refuse it too)
  [
    'zero hops',
    { trust: 0 },
    'trust',
    /is 0, a hop count that trusts no one: to trust no proxy pass an empty array \[\]/,
  ],
  ['negative zero hops', { trust: -0 }, 'trust', /is 0, a hop count that trusts no one/],
  // strings and lists
  ['empty string', { trust: '' }, 'trust', /is an empty string/],
  ['blank string', { trust: ' \t' }, 'trust', /is an empty string/],
  ['"true"', { trust: 'true' }, 'trust', /"true": use the boolean true/],
  ['"TRUE"', { trust: 'TRUE' }, 'trust', /"TRUE": use the boolean true/],
  ['"false"', { trust: 'false' }, 'trust', /"false": use the boolean true/],
  ['["true"]', { trust: ['true'] }, 'trust', /"true": use the boolean true/],
  ['trailing comma', { trust: '10.0.0.1,' }, 'trust', /empty entry .* in "10\.0\.0\.1,"/],
  ['leading comma', { trust: ',10.0.0.1' }, 'trust', /empty entry/],
  ['double comma', { trust: '10.0.0.1,,10.0.0.2' }, 'trust', /empty entry .* in "10\.0\.0\.1,,10\.0\.0\.2"/],
  ['empty array entry', { trust: ['10.0.0.1', ' '] }, 'trust', /empty entry/],
  ['semicolons', { trust: '10.0.0.1;10.0.0.2' }, 'trust', /"10\.0\.0\.1;10\.0\.0\.2": separate entries with commas/],
  ['number entry', { trust: ['10.0.0.1', 1] }, 'trust', /not a string: 1$/],
  ['null entry', { trust: [null] }, 'trust', /not a string: null$/],
  ['undefined entry', { trust: [undefined] }, 'trust', /not a string: undefined$/],
  ['object entry', { trust: [{ ip: '10.0.0.1' }] }, 'trust', /not a string: \{"ip":"10\.0\.0\.1"\}$/],
  // hostnames are never resolved
  [
    'localhost',
    { trust: 'localhost' },
    'trust',
    /"localhost": not an IP address, CIDR range or preset \(hostnames are not resolved/,
  ],
  ['hostname', { trust: ['proxy.internal'] }, 'trust', /"proxy\.internal": not an IP address/],
  ['misspelt preset', { trust: 'loopbacks' }, 'trust', /"loopbacks": not an IP address, CIDR range or preset/],
  ['constructor', { trust: 'constructor' }, 'trust', /"constructor": not an IP address, CIDR range or preset/],
  ['__proto__', { trust: ['loopback', '__proto__'] }, 'trust', /"__proto__": not an IP address, CIDR range or preset/],
  ['toString', { trust: 'toString' }, 'trust', /"toString": not an IP address/],
  ['CIDR of a hostname', { trust: 'localhost/8' }, 'trust', /"localhost\/8": not an IP address/],
  // IPv4 spellings that are not four-part decimal
  ['octal', { trust: '010.0.0.1' }, 'trust', /"010\.0\.0\.1": IPv4 addresses must be four decimal parts/],
  ['leading zero', { trust: '10.0.0.01' }, 'trust', /"10\.0\.0\.01": IPv4 addresses must be four decimal parts/],
  ['hex', { trust: '0x7f.0.0.1' }, 'trust', /"0x7f\.0\.0\.1": IPv4 addresses must be four decimal parts/],
  ['integer', { trust: '2130706433' }, 'trust', /"2130706433": IPv4 addresses must be four decimal parts/],
  ['short', { trust: '127.1' }, 'trust', /"127\.1": IPv4 addresses must be four decimal parts/],
  ['out of range', { trust: '256.0.0.1' }, 'trust', /"256\.0\.0\.1": IPv4 addresses must be four decimal parts/],
  ['octal CIDR', { trust: '010.0.0.0/8' }, 'trust', /"010\.0\.0\.0\/8": IPv4 addresses must be four decimal parts/],
  // IPv6
  ['bad IPv6', { trust: '1:2:3' }, 'trust', /"1:2:3": not an IP address/],
  ['too many groups', { trust: '1:2:3:4:5:6:7:8:9' }, 'trust', /"1:2:3:4:5:6:7:8:9": not an IP address/],
  ['octal IPv4 tail', { trust: '::ffff:010.0.0.1' }, 'trust', /"::ffff:010\.0\.0\.1": not a valid IPv6 address/],
  ['hex IPv4 tail', { trust: '::ffff:0x7f.0.0.1' }, 'trust', /"::ffff:0x7f\.0\.0\.1": not an IP address/],
  ['port', { trust: '10.0.0.1:80' }, 'trust', /"10\.0\.0\.1:80": not an IP address/],
  ['bracketed', { trust: '[::1]' }, 'trust', /"\[::1\]": not an IP address/],
  // prefixes
  ['IPv4 /33', { trust: '10.0.0.0/33' }, 'trust', /"10\.0\.0\.0\/33": the prefix length 33 is out of range \(1-32\)/],
  [
    'IPv6 /129',
    { trust: '2001:db8::/129' },
    'trust',
    /"2001:db8::\/129": the prefix length 129 is out of range \(1-128\)/,
  ],
  [
    'four-digit IPv4 prefix',
    { trust: '10.0.0.1/6000' },
    'trust',
    /"10\.0\.0\.1\/6000": the prefix length 6000 is out of range \(1-32\)/,
  ],
  [
    'four-digit IPv6 prefix',
    { trust: '::1/6000' },
    'trust',
    /"::1\/6000": the prefix length 6000 is out of range \(1-128\)/,
  ],
  ['huge prefix', { trust: '10.0.0.1/99999999999999999999999' }, 'trust', /is out of range \(1-32\)/],
  ['leading zero prefix', { trust: '10.0.0.0/08' }, 'trust', /"10\.0\.0\.0\/08": the prefix must be a number/],
  ['leading zero IPv6 prefix', { trust: '2001:db8::/032' }, 'trust', /"2001:db8::\/032": the prefix must be a number/],
  ['IPv4 /0', { trust: '0.0.0.0/0' }, 'trust', /"0\.0\.0\.0\/0": a \/0 range trusts every address; .*use trust: true/],
  ['IPv4 /0 of another net', { trust: '10.0.0.0/0' }, 'trust', /"10\.0\.0\.0\/0": a \/0 range/],
  ['IPv6 /0', { trust: ['loopback', '::/0'] }, 'trust', /"::\/0": a \/0 range/],
  ['netmask /0', { trust: '0.0.0.0/0.0.0.0' }, 'trust', /"0\.0\.0\.0\/0\.0\.0\.0": a \/0 range/],
  [
    'empty prefix',
    { trust: '10.0.0.0/' },
    'trust',
    /"10\.0\.0\.0\/": the prefix must be a number or, for IPv4, a netmask/,
  ],
  ['signed prefix', { trust: '10.0.0.0/-8' }, 'trust', /the prefix must be a number/],
  ['long prefix', { trust: '10.0.0.0/0008' }, 'trust', /the prefix must be a number/],
  ['word prefix', { trust: '10.0.0.0/eight' }, 'trust', /the prefix must be a number/],
  ['two slashes', { trust: '10.0.0.0/8/8' }, 'trust', /the prefix must be a number/],
  ['IPv6 netmask', { trust: '2001:db8::/255.255.0.0' }, 'trust', /the prefix must be a number or, for IPv4, a netmask/],
  ['bad netmask', { trust: '10.0.0.0/255.0.256.0' }, 'trust', /the prefix must be a number/],
  [
    'non-contiguous netmask',
    { trust: '10.0.0.0/255.0.255.0' },
    'trust',
    /"10\.0\.0\.0\/255\.0\.255\.0": the netmask is not contiguous/,
  ],
  // host bits after the prefix: the range or one address? (proxy-addr masks them silently)
  [
    'IPv4 host bits',
    { trust: '10.1.2.3/8' },
    'trust',
    /"10\.1\.2\.3\/8": has host bits set after the \/8 prefix: write "10\.0\.0\.0\/8" for the range, or "10\.1\.2\.3" for one address/,
  ],
  ['IPv4 host bits, netmask form', { trust: '10.1.2.3/255.0.0.0' }, 'trust', /write "10\.0\.0\.0\/8" for the range/],
  [
    'IPv6 host bits',
    { trust: '2001:db8:1:2:3:4:5:6/64' },
    'trust',
    /has host bits set after the \/64 prefix: write "2001:db8:1:2::\/64" for the range, or "2001:db8:1:2:3:4:5:6" for one address/,
  ],
  ['IPv6 host bits inside a group', { trust: '2001:db8:c000::/33' }, 'trust', /write "2001:db8:8000::\/33"/],
  ['mapped host bits', { trust: '::ffff:10.1.0.0/104' }, 'trust', /write "::ffff:a00:0\/104" for the range/],
  // mapped ranges (CVE-2026-90711)
  [
    'all of IPv4 as mapped',
    { trust: '::ffff:0:0/96' },
    'trust',
    /"::ffff:0:0\/96": it covers every IPv4 address; .*use trust: true/,
  ],
  [
    'mapped /8',
    { trust: '::ffff:10.0.0.0/8' },
    'trust',
    /"::ffff:10\.0\.0\.0\/8": an IPv4-mapped range needs a prefix of 97-128; write the IPv4 range instead \(CVE-2026-90711\)/,
  ],
  ['mapped /95', { trust: '::ffff:10.0.0.0/95' }, 'trust', /CVE-2026-90711/],
  // IPv6 ranges that contain the mapped space would match no IPv4 peer
  [
    '::/64 contains the mapped range',
    { trust: '::/64' },
    'trust',
    /"::\/64": it contains the IPv4-mapped range ::ffff:0:0\/96/,
  ],
  [
    '::/1 contains the mapped range',
    { trust: '2001:db8::1, ::/1' },
    'trust',
    /"::\/1": it contains the IPv4-mapped range/,
  ],
  ['::/80 contains the mapped range', { trust: ['::/80'] }, 'trust', /"::\/80": it contains the IPv4-mapped range/],
  // zone ids: the reported peer carries none, so an entry cannot name one
  [
    'zoned address',
    { trust: 'fe80::abcd%eth0' },
    'trust',
    /"fe80::abcd%eth0": zone ids \(%eth0\) are not supported: write "fe80::abcd", which matches on every interface/,
  ],
  [
    'zoned range',
    { trust: ['fe80::abcd%eth0/64'] },
    'trust',
    /"fe80::abcd%eth0\/64": zone ids \(%eth0\) are not supported: write "fe80::abcd\/64"/,
  ],
  ['numeric zone', { trust: 'fe80::1%4' }, 'trust', /"fe80::1%4": zone ids \(%4\) are not supported/],
  ['zone in a list', { trust: 'loopback, fe80::1%eth0' }, 'trust', /"fe80::1%eth0": zone ids/],
  [
    'zone after the prefix',
    { trust: 'fe80::/10%eth0' },
    'trust',
    /"fe80::\/10%eth0": zone ids \(%eth0\) are not supported/,
  ],
  ['empty zone', { trust: 'fe80::1%' }, 'trust', /"fe80::1%": zone ids/],
  ['empty IPv4 zone', { trust: ['10.0.0.1%'] }, 'trust', /"10\.0\.0\.1%": zone ids/],
  ['empty zone in a range', { trust: 'fe80::%/10' }, 'trust', /"fe80::%\/10": zone ids/],
  ['mapped zone', { trust: '::ffff:10.0.0.1%eth0' }, 'trust', /"::ffff:10\.0\.0\.1%eth0": zone ids/],
  ['mapped range zone', { trust: '::ffff:10.0.0.0%eth0/104' }, 'trust', /zone ids/],
  // the unspecified address is never a peer nor a forwarded client
  [
    'IPv4 unspecified',
    { trust: '0.0.0.0' },
    'trust',
    /"0\.0\.0\.0": the unspecified address is never a peer or a forwarded address \(a listen address\?\)/,
  ],
  ['IPv4 unspecified /32', { trust: '0.0.0.0/32' }, 'trust', /"0\.0\.0\.0\/32": the unspecified address/],
  ['IPv4 unspecified netmask', { trust: '0.0.0.0/255.255.255.255' }, 'trust', /the unspecified address/],
  ['IPv6 unspecified', { trust: '::' }, 'trust', /"::": the unspecified address/],
  ['IPv6 unspecified /128', { trust: ['loopback', '::/128'] }, 'trust', /"::\/128": the unspecified address/],
  ['IPv6 unspecified, long form', { trust: '0:0:0:0:0:0:0:0' }, 'trust', /the unspecified address/],
  ['mapped unspecified', { trust: '::ffff:0.0.0.0' }, 'trust', /"::ffff:0\.0\.0\.0": the unspecified address/],
  ['IPv4 zone', { trust: '10.0.0.1%eth0' }, 'trust', /"10\.0\.0\.1%eth0": zone ids/],
  // other options
  ['headers as a string', { trust: 'loopback', headers: 'forwarded' }, 'headers', /got "forwarded"/],
  ['no headers', { trust: 'loopback', headers: [] }, 'headers', /got \[\]/],
  [
    'unknown convention',
    { trust: 'loopback', headers: ['x-real-ip'] },
    'headers',
    /must be \['x-forwarded'\], \['forwarded'\] or both in priority order, got \["x-real-ip"\]/,
  ],
  [
    'repeated convention',
    { trust: 'loopback', headers: ['forwarded', 'forwarded'] },
    'headers',
    /got \["forwarded","forwarded"\]/,
  ],
  ['three conventions', { trust: 'loopback', headers: ['forwarded', 'x-forwarded', 'forwarded'] }, 'headers', /got \[/],
  // eslint-disable-next-line no-sparse-arrays
  ['a hole in the list', { trust: 'loopback', headers: [, 'forwarded'] }, 'headers', /got \[null,"forwarded"\]/],
  [
    'forwardedHost string',
    { trust: 'loopback', forwardedHost: 'yes' },
    'forwardedHost',
    /must be a boolean, got "yes"/,
  ],
  ['forwardedHost number', { trust: 'loopback', forwardedHost: 1 }, 'forwardedHost', /must be a boolean, got 1/],
  [
    'forwardedHost function',
    { trust: 'loopback', forwardedHost: () => true },
    'forwardedHost',
    /must be a boolean, got a function/,
  ],
  [
    'trustUnixSocket string',
    { trust: 'loopback', trustUnixSocket: 'true' },
    'trustUnixSocket',
    /must be a boolean, got "true"/,
  ],
  ['maxHops 0', { trust: 'loopback', maxHops: 0 }, 'maxHops', /must be a whole number from 1 to 1000, got 0/],
  ['maxHops 1001', { trust: 'loopback', maxHops: 1001 }, 'maxHops', /got 1001/],
  ['maxHops 2.5', { trust: 'loopback', maxHops: 2.5 }, 'maxHops', /got 2\.5/],
  ['maxHops string', { trust: 'loopback', maxHops: '5' }, 'maxHops', /got "5"/],
  ['maxHops NaN', { trust: 'loopback', maxHops: Number.NaN }, 'maxHops', /got NaN/],
  // typos must not silently turn a setting off
  [
    'unknown option',
    { trust: 'loopback', forwardedhost: true },
    'forwardedhost',
    /is not a known option \(known: trust, headers, forwardedHost, protoPairing, maxHops, trustUnixSocket/,
  ],
  ['Fastify option name', { trust: 'loopback', trustProxy: true }, 'trustProxy', /is not a known option/],
]

t.test('bad configuration throws ProxyAwareConfigError naming the option and the value', async t => {
  for (const [label, options, option, text] of rejected) {
    let error: unknown
    try {
      createTrustProxy(options as TrustProxyOptions)
    } catch (e) {
      error = e
    }
    t.type(error, ProxyAwareConfigError, label)
    t.type(error, TypeError, `${label}: a TypeError`)
    const e = error as ProxyAwareConfigError
    t.equal(e.name, 'ProxyAwareConfigError', `${label}: name`)
    t.equal(e.code, 'PROXY_AWARE_INVALID_OPTION', `${label}: code`)
    t.equal(e.option, option, `${label}: option`)
    t.match(e.message, new RegExp(`^proxy-aware: option "${escape(option)}" `), `${label}: message prefix`)
    t.match(e.message, text, `${label}: message`)
  }
})

t.test('a circular option value is still shown', async t => {
  const loop: Record<string, unknown> = {}
  loop.self = loop
  t.throws(() => createTrustProxy({ trust: loop as never }), {
    name: 'ProxyAwareConfigError',
    message: /must be true, a number, a string, an array or a function, got \[object Object\]/,
  })
})

/** [trust option, address, hop, trusted?] */
const matches: [unknown, string, number, boolean][] = [
  // presets, the same ranges as proxy-addr's
  ['loopback', '127.0.0.1', 0, true],
  ['loopback', '127.255.255.255', 0, true],
  ['loopback', '::1', 0, true],
  ['loopback', '::ffff:127.0.0.1', 0, true],
  ['loopback', '128.0.0.1', 0, false],
  ['loopback', '::2', 0, false],
  ['loopback', '::', 0, false],
  ['LoopBack', '127.0.0.1', 0, true],
  [' loopback ', '127.0.0.1', 0, true],
  ['linklocal', '169.254.10.1', 0, true],
  ['linklocal', '169.255.0.1', 0, false],
  ['linklocal', 'fe80::1', 0, true],
  ['linklocal', 'febf:ffff::1', 0, true],
  ['linklocal', 'fec0::1', 0, false],
  ['uniquelocal', '10.200.0.1', 0, true],
  ['uniquelocal', '172.16.0.1', 0, true],
  ['uniquelocal', '172.31.255.255', 0, true],
  ['uniquelocal', '172.32.0.0', 0, false],
  ['uniquelocal', '172.15.255.255', 0, false],
  ['uniquelocal', '192.168.1.1', 0, true],
  ['uniquelocal', '192.169.1.1', 0, false],
  ['uniquelocal', 'fc00::1', 0, true],
  ['uniquelocal', 'fdff:ffff::1', 0, true],
  ['uniquelocal', 'fe00::1', 0, false],
  ['uniquelocal', '127.0.0.1', 0, false],
  ['uniquelocal', '100.64.0.1', 0, false],
  ['private', '127.0.0.1', 0, true],
  ['private', '::1', 0, true],
  ['private', '169.254.0.1', 0, true],
  ['private', 'fe80::1', 0, true],
  ['private', '10.0.0.1', 0, true],
  ['private', '172.20.0.1', 0, true],
  ['private', '192.168.0.1', 0, true],
  ['private', 'fd00::1', 0, true],
  ['private', '8.8.8.8', 0, false],
  ['private', '2001:db8::1', 0, false],
  // lists
  ['10.0.0.1, 192.168.0.0/16', '10.0.0.1', 0, true],
  ['10.0.0.1, 192.168.0.0/16', '10.0.0.2', 0, false],
  ['10.0.0.1, 192.168.0.0/16', '192.168.9.9', 0, true],
  ['10.0.0.1,\t192.168.0.0/16', '192.168.9.9', 0, true],
  [['10.0.0.1', '2001:db8::/32'], '2001:db8:ffff::1', 0, true],
  [['10.0.0.1', '2001:db8::/32'], '2001:db9::1', 0, false],
  [['10.0.0.1', '2001:db8::/32'], '10.0.0.1', 0, true],
  // one IPv4 range next to IPv6 ranges
  [['10.0.0.0/8', '::1'], '::1', 0, true],
  [['10.0.0.0/8', '::1'], '::2', 0, false],
  [['10.0.0.0/8', '::1'], '10.9.9.9', 0, true],
  [['10.0.0.0/8'], '::a00:1', 0, false],
  [['10.0.0.0/8', '192.168.0.0/16'], '::1', 0, false],
  [['2001:db8::1'], '1.2.3.4', 0, false],
  [[], '127.0.0.1', 0, false],
  [[], '::1', 0, false],
  // netmask form (host bits are refused: see the invalid entries)
  ['10.0.0.0/255.0.0.0', '10.200.0.1', 0, true],
  ['10.0.0.0/255.0.0.0', '11.0.0.1', 0, false],
  ['192.168.1.0/255.255.255.128', '192.168.1.127', 0, true],
  ['192.168.1.0/255.255.255.128', '192.168.1.128', 0, false],
  ['10.0.0.0/255.255.255.255', '10.0.0.0', 0, true],
  ['10.0.0.1/32', '10.0.0.1', 0, true],
  ['10.0.0.1/32', '10.0.0.2', 0, false],
  ['128.0.0.0/1', '200.0.0.1', 0, true],
  ['128.0.0.0/1', '100.0.0.1', 0, false],
  // IPv6 prefixes, inside and across groups
  ['2001:db8::/33', '2001:db8:7fff::1', 0, true],
  ['2001:db8::/33', '2001:db8:8000::1', 0, false],
  ['2001:db8::/48', '2001:db8:0:ffff::1', 0, true],
  ['2001:db8::/48', '2001:db8:1::1', 0, false],
  ['2001:db8::/127', '2001:db8::1', 0, true],
  ['2001:db8::/127', '2001:db8::2', 0, false],
  ['2001:db8::1/128', '2001:db8::1', 0, true],
  ['2001:db8::1/128', '2001:db8::1:0', 0, false],
  ['8000::/1', 'ffff::1', 0, true],
  ['8000::/1', '7fff::1', 0, false],
  ['2001:DB8::/32', '2001:db8::5', 0, true],
  ['2001:db8:1:2::/64', '2001:db8:1:2:ffff::', 0, true],
  // mapped entries become IPv4
  ['::ffff:10.0.0.1', '10.0.0.1', 0, true],
  ['::ffff:10.0.0.1', '::ffff:10.0.0.1', 0, true],
  ['::ffff:10.0.0.0/104', '10.99.0.1', 0, true],
  ['::ffff:10.0.0.0/104', '11.0.0.1', 0, false],
  ['::ffff:10.0.0.0/104', '::a63:1', 0, false],
  ['::ffff:0:0/97', '1.2.3.4', 0, true],
  ['::ffff:0:0/97', '200.2.3.4', 0, false],
  // IPv6 forms that embed IPv4 are not IPv4, in the config either
  ['64:ff9b::/96', '64:ff9b::a00:1', 0, true],
  ['64:ff9b::/96', '10.0.0.1', 0, false],
  ['2002::/16', '10.0.0.1', 0, false],
  ['::10.0.0.1', '10.0.0.1', 0, false],
  ['::10.0.0.1', '::ffff:10.0.0.1', 0, false],
  ['::10.0.0.1', '::a00:1', 0, true],
  ['::10.0.0.0/104', '10.0.0.1', 0, false],
  ['::10.0.0.0/104', '::a00:1', 0, true],
  ['64:ff9b::10.0.0.1', '64:ff9b::a00:1', 0, true],
  ['64:ff9b::10.0.0.1', '10.0.0.1', 0, false],
  // zones: socket addresses carry them; entries cannot, and match on every interface
  ['linklocal', 'fe80::1%eth0', 0, true],
  ['linklocal', 'fe80::1%4', 0, true],
  ['fe80::1', 'fe80::1%eth0', 0, true],
  ['fe80::1', 'fe80::1%eth1', 0, true],
  ['fe80::1', 'fe80::2%eth0', 0, false],
  [['10.0.0.0/8', 'fe80::/64'], 'fe80::2%eth1', 0, true],
  [['10.0.0.0/8', 'fe80::/64'], 'fe80:1::2%eth1', 0, false],
  ['fe80::1', 'fe80::1%', 0, false],
  // the unspecified address is never trusted, whatever the option
  [true, '0.0.0.0', 0, false],
  [true, '::', 0, false],
  [true, '::ffff:0.0.0.0', 0, false],
  [true, '[::]:80', 1, false],
  [true, '0.0.0.0:80', 1, false],
  ['0.0.0.0/8', '0.0.0.0', 0, false],
  ['0.0.0.0/8', '0.0.0.1', 0, true],
  ['::/127', '::', 0, false],
  ['::/127', '::1', 0, true],
  // ports are accepted (Express passes raw header entries), not zones in headers' sense
  ['10.0.0.0/8', '10.0.0.1:8080', 0, true],
  ['::1', '[::1]:8080', 0, true],
  ['::1', '[::1]', 0, true],
  // not addresses: never trusted
  [true, 'unknown', 0, false],
  [true, '', 0, false],
  [true, '010.0.0.1', 0, false],
  ['loopback', '127.1', 0, false],
  ['loopback', '2130706433', 0, false],
  ['loopback', '0x7f.0.0.1', 0, false],
  // true and hop counts
  [true, '8.8.8.8', 0, true],
  [true, '2001:db8::1', 7, true],
  [2, '8.8.8.8', 0, true],
  [2, '8.8.8.8', 1, true],
  [2, '8.8.8.8', 2, false],
]

t.test('trust(address, hop) matches the compiled ranges', async t => {
  t.teardown(() => process.removeListener('warning', ignore))
  const ignore = () => {}
  process.on('warning', ignore) // hop counts warn; tested below
  for (const [trust, address, hop, expected] of matches) {
    const proxy = createTrustProxy({ trust: trust as TrustProxyOptions['trust'] })
    t.equal(proxy.trust(address, hop), expected, `${JSON.stringify(trust)}: ${address} (hop ${hop})`)
  }
})

t.test('PRESETS lists the ranges the presets compile to', async t => {
  t.same(PRESETS.private, [...PRESETS.loopback!, ...PRESETS.linklocal!, ...PRESETS.uniquelocal!])
  t.ok(Object.isFrozen(PRESETS) || Object.keys(PRESETS).length === 4)
  for (const [name, ranges] of Object.entries(PRESETS)) {
    const byName = createTrustProxy({ trust: name })
    const byList = createTrustProxy({ trust: ranges })
    for (const address of [
      '127.0.0.1',
      '::1',
      '169.254.1.1',
      'fe80::1',
      '10.1.1.1',
      '172.16.1.1',
      '192.168.1.1',
      'fd00::1',
      '8.8.8.8',
    ]) {
      t.equal(byName.trust(address, 0), byList.trust(address, 0), `${name}: ${address}`)
    }
  }
})

t.test('a trust function gets canonical addresses and the hop index', async t => {
  const calls: [string, number][] = []
  const proxy = createTrustProxy({
    trust: (address, hop) => {
      calls.push([address, hop])
      return address.startsWith('10.') || address === '2001:db8::1'
    },
  })
  const r = proxy.resolve({
    headers: { 'x-forwarded-for': '203.0.113.9, [2001:DB8:0::1]:443, 10.0.0.2:80, ::FFFF:10.0.0.3' },
    socket: { remoteAddress: '::ffff:10.0.0.4' },
  })
  t.same(calls, [
    ['10.0.0.4', 0],
    ['10.0.0.3', 1],
    ['10.0.0.2', 2],
    ['2001:db8::1', 3],
    ['203.0.113.9', 4],
  ])
  t.equal(r.ip, '203.0.113.9')
  t.equal(r.hops, 4)

  // the public predicate canonicalizes before calling the function too
  calls.length = 0
  t.equal(proxy.trust('[2001:0DB8::0001]:80', 3), true)
  t.equal(proxy.trust('::ffff:a00:1', 0), true)
  t.same(calls, [
    ['2001:db8::1', 3],
    ['10.0.0.1', 0],
  ])
  // and never calls it for something that is not an address
  calls.length = 0
  t.equal(proxy.trust('10.0.0.1.nip.io', 0), false)
  t.same(calls, [])
})

t.test('a trust function that returns a truthy non-boolean warns once per engine', async t => {
  const warnings: (Error & { code?: string })[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  t.teardown(() => process.removeListener('warning', onWarning))
  const mine = () => warnings.filter(w => w.code === 'PROXY_AWARE_TRUST_NOT_BOOLEAN')
  await new Promise(resolve => setImmediate(resolve))
  warnings.length = 0
  // the proxy-addr habit: a match array, truthy but not true
  const fn = (address: string) => address.match(/^10\./)
  const proxy = createTrustProxy({ trust: fn as unknown as (address: string) => boolean })
  const req = () => ({ headers: { 'x-forwarded-for': '6.6.6.6' }, socket: { remoteAddress: '10.0.0.1' } })
  // still trusts no one (fail closed): only true trusts
  const r = proxy.resolve(req())
  t.same([r.ip, r.reason], ['10.0.0.1', 'untrusted-peer'])
  proxy.resolve(req())
  t.equal(proxy.trust('10.0.0.2', 0), false)
  // false and the boolean true say nothing
  const fine = createTrustProxy({ trust: address => address === '10.0.0.1' })
  fine.resolve(req())
  fine.resolve({ headers: {}, socket: { remoteAddress: '10.0.0.9' } })
  // falsy non-booleans mean "no" in proxy-addr too: no surprise, no warning
  const falsy = createTrustProxy({ trust: (() => undefined) as unknown as () => boolean })
  falsy.resolve(req())
  await new Promise(resolve => setImmediate(resolve))
  t.equal(mine().length, 1, 'one warning for the engine, however many calls')
  const w = mine()[0]!
  t.equal(w.name, 'SecurityWarning')
  t.match(
    w.message,
    /proxy-aware: the trust function returned an object \(for "10\.0\.0\.1", hop 0\), not a boolean: only true trusts, so this address was not trusted\. Return a boolean \(e\.g\. \/re\/\.test\(address\), not address\.match\(re\)\)\./,
  )
  // another engine with the same mistake warns on its own
  const other = createTrustProxy({ trust: (() => 1) as unknown as () => boolean })
  t.equal(other.trust('10.0.0.1', 0), false)
  other.trust('10.0.0.1', 0)
  await new Promise(resolve => setImmediate(resolve))
  t.equal(mine().length, 2)
  t.match(mine()[1]!.message, /returned a number \(for "10\.0\.0\.1", hop 0\)/)
})

t.test('a trust function is asked about every address walked, the leftmost too (unlike proxy-addr)', async t => {
  const calls: [string, number][] = []
  const trustAll = (address: string, hop: number) => {
    calls.push([address, hop])
    return true
  }
  const proxy = createTrustProxy({ trust: trustAll })
  const r = proxy.resolve({
    headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' },
    socket: { remoteAddress: '10.0.0.1' },
  })
  t.same(calls, [
    ['10.0.0.1', 0],
    ['10.0.0.2', 1],
    ['203.0.113.9', 2],
  ])
  t.same([r.ip, r.hops, r.reason], ['203.0.113.9', 2, 'end-of-chain'])
  // its answer for the leftmost entry changes only the reason, never the client
  const notLeftmost = createTrustProxy({ trust: address => address !== '203.0.113.9' })
  const r2 = notLeftmost.resolve({
    headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' },
    socket: { remoteAddress: '10.0.0.1' },
  })
  t.same([r2.ip, r2.hops, r2.reason], ['203.0.113.9', 2, 'untrusted-hop'])
})

t.test('a hop count warns once per engine with PROXY_AWARE_HOP_COUNT', async t => {
  const warnings: Error[] = []
  const onWarning = (w: Error) => warnings.push(w)
  process.on('warning', onWarning)
  t.teardown(() => process.removeListener('warning', onWarning))
  // earlier tests' warnings may still be in flight: look at this test's only
  const mine = () => warnings.filter(w => w.message.includes('trust: 3 '))
  await new Promise(resolve => setImmediate(resolve))
  t.same(mine(), [])
  warnings.length = 0
  const proxy = createTrustProxy({ trust: 3 })
  createTrustProxy({ trust: 'loopback' })
  createTrustProxy({ trust: true })
  createTrustProxy({ trust: () => true })
  await new Promise(resolve => setImmediate(resolve))
  t.equal(mine().length, 1)
  t.equal(warnings.filter(w => (w as Error & { code?: string }).code === 'PROXY_AWARE_HOP_COUNT').length, 1)
  const w = mine()[0] as Error & { code?: string }
  t.equal(w.code, 'PROXY_AWARE_HOP_COUNT')
  t.equal(w.name, 'SecurityWarning')
  t.match(w.message, /trust: 3 is a hop count\. Any client that reaches the app directly is believed/)
  // which is exactly what a hop count does: a direct client picks its IP
  const r = proxy.resolve({ headers: { 'x-forwarded-for': '6.6.6.6' }, socket: { remoteAddress: '203.0.113.1' } })
  t.equal(r.ip, '6.6.6.6')
})

t.test('input arrays are neither mutated nor kept mutable', async t => {
  const list = ['loopback', ' 10.0.0.0/8 ', '::ffff:192.168.0.0/112']
  const copy = [...list]
  const proxy = createTrustProxy({ trust: list })
  t.same(list, copy)
  t.equal(proxy.trust('192.168.3.4', 0), true)
  // changing the array afterwards changes nothing: the ranges were compiled
  list.length = 0
  t.equal(proxy.trust('10.1.1.1', 0), true)
  const headers = ['forwarded', 'x-forwarded'] as const
  const frozen = createTrustProxy({ trust: Object.freeze(['loopback']), headers: Object.freeze([...headers]) })
  t.same(frozen.options.headers, ['forwarded', 'x-forwarded'])
  t.ok(Object.isFrozen(frozen.options))
  t.ok(Object.isFrozen(frozen.options.headers))
})

t.test('normalised options and defaults', async t => {
  const p = createTrustProxy({ trust: 'loopback' })
  t.same(p.options, {
    trust: 'loopback',
    headers: ['x-forwarded'],
    forwardedHost: false,
    protoPairing: 'nearest',
    maxHops: 20,
    trustUnixSocket: false,
  })
  const q = createTrustProxy({
    trust: ['10.0.0.1'],
    headers: ['forwarded'],
    forwardedHost: true,
    protoPairing: 'hop',
    maxHops: 1000,
    trustUnixSocket: true,
  })
  t.same(q.options, {
    trust: ['10.0.0.1'],
    headers: ['forwarded'],
    forwardedHost: true,
    protoPairing: 'hop',
    maxHops: 1000,
    trustUnixSocket: true,
  })
  t.equal(createTrustProxy({ trust: 'loopback', maxHops: 1 }).options.maxHops, 1)
})

t.test('IPv6 ranges next to the mapped space are accepted and stay IPv6', async t => {
  for (const range of ['::/95', '::/96', '::/97']) {
    const { trust } = createTrustProxy({ trust: range })
    t.equal(trust('::1:2', 1), true, `${range} matches an IPv6 address inside it`)
    t.equal(trust('::ffff:10.0.0.1', 1), false, `${range} does not match a mapped IPv4 peer`)
    t.equal(trust('10.0.0.1', 1), false, `${range} does not match IPv4`)
  }
})
