// RFC 7239 `Forwarded` and the `headers` option, through resolve(req).
import t from 'tap'
import { createTrustProxy, type RequestLike, type Resolution, type TrustProxyOptions } from '../src/index.js'

type Headers = RequestLike['headers']

const TRUST = ['loopback', '10.0.0.0/8']

const resolve = (headers: Headers, options: Partial<TrustProxyOptions> = {}, remote = '10.0.0.1', encrypted = false) =>
  createTrustProxy({ trust: TRUST, headers: ['forwarded'], ...options } as TrustProxyOptions).resolve({
    headers,
    socket: { remoteAddress: remote, encrypted },
  })

const pick = (r: Resolution, keys: readonly string[]) =>
  Object.fromEntries(keys.map(k => [k, r[k as keyof Resolution]]))

/** [Forwarded value, expected fields] with the peer 10.0.0.1 trusted */
const cases: [string | string[], Partial<Resolution>][] = [
  // the walk
  [
    'for=198.51.100.7',
    { ip: '198.51.100.7', ips: ['10.0.0.1', '198.51.100.7'], hops: 1, source: 'forwarded', reason: 'untrusted-hop' },
  ],
  ['for=6.6.6.6, for=198.51.100.7', { ip: '198.51.100.7', hops: 1 }],
  [
    'for=6.6.6.6,for=198.51.100.7, for=10.0.0.2',
    { ip: '198.51.100.7', ips: ['10.0.0.1', '10.0.0.2', '198.51.100.7'], hops: 2 },
  ],
  ['for=10.0.0.3, for=127.0.0.1', { ip: '10.0.0.3', hops: 2, reason: 'end-of-chain' }],
  [['for=6.6.6.6', 'for=198.51.100.7, for=10.0.0.2'], { ip: '198.51.100.7', hops: 2 }],
  ['', { ip: '10.0.0.1', ips: ['10.0.0.1'], source: 'socket', reason: 'end-of-chain' }],
  [' , ,', { ip: '10.0.0.1', source: 'socket', reason: 'end-of-chain' }],
  // values: tokens, quoted strings, escapes, ports, brackets
  ['for="198.51.100.7"', { ip: '198.51.100.7' }],
  ['for="198.51.100.7:8080"', { ip: '198.51.100.7' }],
  ['for="[2001:db8::1]:4711"', { ip: '2001:db8::1' }],
  ['for="[2001:DB8:0::1]"', { ip: '2001:db8::1' }],
  ['for="2001:db8::1"', { ip: '2001:db8::1' }],
  ['for="[::ffff:198.51.100.7]"', { ip: '198.51.100.7' }],
  ['for="\\1\\98.51.100.7"', { ip: '198.51.100.7' }],
  ['for="198.51.100.7", for="[::1]:80"', { ip: '198.51.100.7', ips: ['10.0.0.1', '::1', '198.51.100.7'] }],
  // keys are case-insensitive; other parameters are ignored
  ['For=198.51.100.7', { ip: '198.51.100.7' }],
  ['FOR=198.51.100.7;PROTO=HTTPS', { ip: '198.51.100.7', protocol: 'https' }],
  ['for=198.51.100.7;by=10.0.0.1;secret="x,y";x-y=z', { ip: '198.51.100.7' }],
  ['for=198.51.100.7;;proto=https;', { ip: '198.51.100.7', protocol: 'https' }],
  [' for=198.51.100.7 ;proto=https\t, for=10.0.0.2 ', { ip: '198.51.100.7', protocol: 'https', hops: 2 }],
  [';for=198.51.100.7', { ip: '198.51.100.7' }],
  // identifiers that are not addresses stop the walk
  ['for=unknown', { ip: '10.0.0.1', ips: ['10.0.0.1'], source: 'socket', reason: 'invalid-entry' }],
  ['for=198.51.100.7, for=unknown', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  [
    'for=198.51.100.7, for=unknown, for=10.0.0.2',
    { ip: '10.0.0.2', hops: 1, source: 'forwarded', reason: 'invalid-entry' },
  ],
  ['for=_hidden', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for="_SEVKISEK"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for="[fe80::1%25eth0]"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=010.0.0.1', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['proto=https', { ip: '10.0.0.1', reason: 'invalid-entry', protocol: 'https' }],
  ['by=10.0.0.1', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  // unquoted for= forms RFC 7239 forbids but that are unambiguous (':' '[' ']'
  // are no separators of its grammar): accepted, a documented deviation
  ['for=2001:db8::1', { ip: '2001:db8::1', reason: 'untrusted-hop', source: 'forwarded' }],
  ['for=2001:DB8:0::1;proto=https', { ip: '2001:db8::1', protocol: 'https' }],
  ['for=198.51.100.7:80', { ip: '198.51.100.7', reason: 'untrusted-hop' }],
  ['for=[2001:db8::1]', { ip: '2001:db8::1', reason: 'untrusted-hop' }],
  ['for=[2001:db8::1]:443;proto=https', { ip: '2001:db8::1', protocol: 'https' }],
  ['for=::ffff:198.51.100.7', { ip: '198.51.100.7' }],
  ['for=198.51.100.7, for=::1', { ip: '198.51.100.7', ips: ['10.0.0.1', '::1', '198.51.100.7'], hops: 2 }],
  // anything else with those characters is still junk
  ['for=[2001:db8::1', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=2001:db8::1]', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=[198.51.100.7]', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7:99999', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=a:b', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=fe80::1%25eth0', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7;proto=ht:tps', { ip: '10.0.0.1', reason: 'invalid-entry', protocol: 'http' }],
  ['for=198.51.100.7;by=[::1]', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7;host=app.example:8443', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  // grammar errors make that element invalid, and only that one
  ['for = 198.51.100.7', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=;proto=https', { ip: '10.0.0.1', reason: 'invalid-entry', protocol: 'http' }],
  ['=198.51.100.7', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['"for"=198.51.100.7', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7 x', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for="198.51.100.7"x', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for="198.51.100.7""x", for=10.0.0.2', { ip: '10.0.0.2', reason: 'invalid-entry' }],
  ['for="198.51.100.7', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for="198.51.100.7\\', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7;for=6.6.6.6', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7;proto=https;proto=http', { ip: '10.0.0.1', reason: 'invalid-entry', protocol: 'http' }],
  ['for=198.51.100.7;proto=https;for=1.1.1.1', { ip: '10.0.0.1', reason: 'invalid-entry', protocol: 'http' }],
  ['for="a,b" x, for=198.51.100.7', { ip: '198.51.100.7', reason: 'untrusted-hop' }],
  ['for="a\\",b" x, for=198.51.100.7', { ip: '198.51.100.7', reason: 'untrusted-hop' }],
  ['garbage===, for=198.51.100.7', { ip: '198.51.100.7' }],
  // a control character in a quoted string: the element ends at its closing quote
  ['for="1.1.1.1\u0001,", for=198.51.100.7', { ip: '198.51.100.7', reason: 'untrusted-hop' }],
  ['for=198.51.100.7, for="10.0.0.2\n"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7, for="\u007f"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for="\u0000', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=6.6.6.6, junk here, for=10.0.0.2', { ip: '10.0.0.2', reason: 'invalid-entry' }],
  ['for=6.6.6.6, for=198.51.100.7;proto=https, for=10.0.0.2;for=1', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  // protocol: proto= of the client's element
  ['for=198.51.100.7;proto=https', { protocol: 'https', secure: true }],
  ['for=198.51.100.7;proto=HTTPS', { protocol: 'https' }],
  ['for=198.51.100.7;proto="https"', { protocol: 'https' }],
  ['for=198.51.100.7;proto="h\\ttps"', { protocol: 'https' }],
  ['for=198.51.100.7;proto=http', { protocol: 'http' }],
  ['for=198.51.100.7;proto=javascript', { protocol: 'http' }],
  ['for=198.51.100.7;proto=https, for=10.0.0.2;proto=http', { ip: '198.51.100.7', protocol: 'https' }],
  ['for=198.51.100.7;proto=http, for=10.0.0.2;proto=https', { ip: '198.51.100.7', protocol: 'http' }],
  ['for=6.6.6.6;proto=https, for=198.51.100.7;proto=http', { ip: '198.51.100.7', protocol: 'http' }],
  ['for=198.51.100.7, for=10.0.0.2;proto=https', { ip: '198.51.100.7', protocol: 'http' }],
  // attack: the client's garbage on the left (an unbalanced quote, a dangling
  // escape) must not swallow what the trusted proxy appended on the right,
  // as ", element" or as a second header line
  [
    'for=", for=198.51.100.7;proto=https',
    { ip: '198.51.100.7', protocol: 'https', reason: 'untrusted-hop', hops: 1, source: 'forwarded' },
  ],
  ['for=1.1.1.1;x=", for=198.51.100.7;proto=https', { ip: '198.51.100.7', protocol: 'https', reason: 'untrusted-hop' }],
  ['for="10.0.0.9, for=198.51.100.7;proto=https', { ip: '198.51.100.7', protocol: 'https', reason: 'untrusted-hop' }],
  [['for="', 'for=198.51.100.7;proto=https'], { ip: '198.51.100.7', protocol: 'https', reason: 'untrusted-hop' }],
  [['for=1.1.1.1;x="', 'for=198.51.100.7;proto=https'], { ip: '198.51.100.7', protocol: 'https' }],
  ['x="a, for="[2001:db8::7]:4711";proto=https', { ip: '2001:db8::7', protocol: 'https', reason: 'untrusted-hop' }],
  ['for="\\", for=198.51.100.7;proto=https', { ip: '198.51.100.7', protocol: 'https' }],
  ['for=\\, for="198.51.100.7";proto="https"', { ip: '198.51.100.7', protocol: 'https' }],
  ['for="\\"", for=198.51.100.7;proto=https', { ip: '198.51.100.7', protocol: 'https' }],
  ['for=6.6.6.6;proto=https";x=", for=198.51.100.7;proto=http', { ip: '198.51.100.7', protocol: 'http' }],
  // two trusted proxies after the garbage: both elements are read
  [
    'for=";proto=https, for=198.51.100.7;proto=http, for=10.0.0.2;proto=https',
    { ip: '198.51.100.7', protocol: 'http', hops: 2 },
  ],
  // garbage the walk reaches stops it at the last address, as before
  ['for=", for=10.0.0.3;proto=https', { ip: '10.0.0.3', reason: 'invalid-entry', hops: 1, protocol: 'https' }],
  // quotes and escapes inside a well-formed quoted string
  ['for="[2001:db8::7]";x="a\\\\", for=10.0.0.2', { ip: '2001:db8::7', hops: 2 }],
  ['for=198.51.100.7;x="a\\"b,c"', { ip: '198.51.100.7', reason: 'untrusted-hop' }],
  ['for=198.51.100.7;x="a\\\\"b"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7;x=b"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
  ['for=198.51.100.7;x="b\\"', { ip: '10.0.0.1', reason: 'invalid-entry' }],
]

t.test('Forwarded: walk, values, grammar, protocol', async t => {
  for (const [value, expected] of cases) {
    const r = resolve({ forwarded: value, host: 'app.example' })
    t.same(pick(r, Object.keys(expected)), expected, JSON.stringify(value))
    t.equal(r.secure, r.protocol === 'https')
    t.equal(r.ip, r.ips[r.ips.length - 1])
  }
})

t.test('Forwarded on a TLS socket: junk never downgrades', async t => {
  t.equal(resolve({ forwarded: 'for=198.51.100.7;proto=junk' }, {}, '10.0.0.1', true).protocol, 'https')
  t.equal(resolve({ forwarded: 'for=198.51.100.7' }, {}, '10.0.0.1', true).protocol, 'https')
  t.equal(resolve({ forwarded: 'for=198.51.100.7;proto=http' }, {}, '10.0.0.1', true).protocol, 'http')
  t.equal(resolve({ forwarded: 'for=198.51.100.7;proto=https;proto=https' }, {}, '10.0.0.1', true).protocol, 'https')
})

t.test('Forwarded from an untrusted peer is never read', async t => {
  const r = resolve(
    { forwarded: 'for=198.51.100.7;proto=https;host=evil.example', host: 'app.example' },
    { forwardedHost: true },
    '203.0.113.5',
  )
  t.same(pick(r, ['ip', 'protocol', 'host', 'reason', 'source']), {
    ip: '203.0.113.5',
    protocol: 'http',
    host: 'app.example',
    reason: 'untrusted-peer',
    source: 'socket',
  })
})

t.test('Forwarded host= with forwardedHost', async t => {
  const host = (forwarded: string, forwardedHost: boolean) =>
    pick(resolve({ forwarded, host: 'app.example' }, { forwardedHost }), ['host', 'hostname', 'port'])
  t.same(host('for=198.51.100.7;host=public.example', false), {
    host: 'app.example',
    hostname: 'app.example',
    port: null,
  })
  t.same(host('for=198.51.100.7;host=public.example', true), {
    host: 'public.example',
    hostname: 'public.example',
    port: null,
  })
  t.same(host('for=198.51.100.7;host="Public.Example:8443"', true), {
    host: 'public.example:8443',
    hostname: 'public.example',
    port: 8443,
  })
  t.same(host('for=198.51.100.7;host="[::1]:8443"', true), { host: '[::1]:8443', hostname: '[::1]', port: 8443 })
  // the client element's host=, not another element's
  t.same(host('for=198.51.100.7;host=a.example, for=10.0.0.2;host=b.example', true), {
    host: 'a.example',
    hostname: 'a.example',
    port: null,
  })
  t.same(host('for=6.6.6.6;host=evil.example, for=198.51.100.7', true), {
    host: 'app.example',
    hostname: 'app.example',
    port: null,
  })
  // malformed or missing: Host
  t.same(host('for=198.51.100.7;host="evil.example/x"', true), { host: undefined, hostname: undefined, port: null })
  t.same(host('for=198.51.100.7;host="a@b"', true), { host: undefined, hostname: undefined, port: null })
  t.same(host('for=198.51.100.7;host=""', true), { host: 'app.example', hostname: 'app.example', port: null })
  // a malformed element gives no host either (not Host): an unquoted
  // host:port, host= twice
  t.same(host('for=198.51.100.7;host=a.example;host=b.example', true), {
    host: undefined,
    hostname: undefined,
    port: null,
  })
  t.same(host('for=198.51.100.7;host=example.org:9292', true), { host: undefined, hostname: undefined, port: null })
  t.same(host('host=example.org:9292', true), { host: undefined, hostname: undefined, port: null })
  t.same(host('for=6.6.6.6;host=evil.example, for=198.51.100.7;host=a.example;host=b.example', true), {
    host: undefined,
    hostname: undefined,
    port: null,
  })
  t.same(host('for=198.51.100.7;host=example.org:9292', false), {
    host: 'app.example',
    hostname: 'app.example',
    port: null,
  })
  // the client element is well-formed: a bad element further left is not read
  t.same(host('for=6.6.6.6;host=x:1, for=198.51.100.7;host=a.example', true), {
    host: 'a.example',
    hostname: 'a.example',
    port: null,
  })
  t.same(host('for=", for=198.51.100.7;host=a.example', true), { host: 'a.example', hostname: 'a.example', port: null })
  // no element at all: Host
  t.same(host(' , ', true), { host: 'app.example', hostname: 'app.example', port: null })
  // the peer is the client: its own element's host=
  t.same(host('host=public.example', true), { host: 'public.example', hostname: 'public.example', port: null })
})

t.test('maxHops and the hop index with Forwarded', async t => {
  const calls: [string, number][] = []
  const proxy = createTrustProxy({
    trust: (address, hop) => (calls.push([address, hop]), address.startsWith('10.')),
    headers: ['forwarded'],
    maxHops: 2,
  })
  const r = proxy.resolve({
    headers: { forwarded: 'for=198.51.100.7, for="[::ffff:10.0.0.4]", for=10.0.0.3, for="10.0.0.2:80"' },
    socket: { remoteAddress: '10.0.0.1' },
  })
  t.same(pick(r, ['ip', 'ips', 'hops', 'reason']), {
    ip: '10.0.0.3',
    ips: ['10.0.0.1', '10.0.0.2', '10.0.0.3'],
    hops: 2,
    reason: 'hop-limit',
  })
  t.same(calls, [
    ['10.0.0.1', 0],
    ['10.0.0.2', 1],
    ['10.0.0.3', 2],
  ])
})

t.test('the headers option picks the convention, in priority order', async t => {
  const both = {
    'x-forwarded-for': '198.51.100.1',
    'x-forwarded-proto': 'http',
    'forwarded': 'for=198.51.100.2;proto=https',
  }
  const onlyXff = { 'x-forwarded-for': '198.51.100.1', 'x-forwarded-proto': 'https' }
  const onlyFwd = { forwarded: 'for=198.51.100.2;proto=https' }
  const rows: [TrustProxyOptions['headers'], Headers, string, 'http' | 'https', Resolution['source']][] = [
    [undefined, both, '198.51.100.1', 'http', 'x-forwarded-for'],
    [undefined, onlyFwd, '10.0.0.1', 'http', 'socket'],
    [['x-forwarded'], onlyFwd, '10.0.0.1', 'http', 'socket'],
    [['forwarded'], both, '198.51.100.2', 'https', 'forwarded'],
    [['forwarded'], onlyXff, '10.0.0.1', 'http', 'socket'],
    [['x-forwarded', 'forwarded'], both, '198.51.100.1', 'http', 'x-forwarded-for'],
    [['x-forwarded', 'forwarded'], onlyFwd, '198.51.100.2', 'https', 'forwarded'],
    [['x-forwarded', 'forwarded'], onlyXff, '198.51.100.1', 'https', 'x-forwarded-for'],
    [['forwarded', 'x-forwarded'], both, '198.51.100.2', 'https', 'forwarded'],
    [['forwarded', 'x-forwarded'], onlyXff, '198.51.100.1', 'https', 'x-forwarded-for'],
    [['forwarded', 'x-forwarded'], onlyFwd, '198.51.100.2', 'https', 'forwarded'],
    [['forwarded', 'x-forwarded'], {}, '10.0.0.1', 'http', 'socket'],
  ]
  for (const [headers, request, ip, protocol, source] of rows) {
    const r = createTrustProxy({ trust: TRUST, headers }).resolve({
      headers: request,
      socket: { remoteAddress: '10.0.0.1' },
    })
    t.same(
      pick(r, ['ip', 'protocol', 'source']),
      { ip, protocol, source },
      `${JSON.stringify(headers)} ${Object.keys(request).join(' ')}`,
    )
  }
})

t.test("headers: ['forwarded'] ignores every X-Forwarded-* header", async t => {
  const r = resolve(
    {
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'host': 'app.example',
    },
    { forwardedHost: true },
  )
  t.same(pick(r, ['ip', 'protocol', 'host', 'source', 'reason']), {
    ip: '10.0.0.1',
    protocol: 'http',
    host: 'app.example',
    source: 'socket',
    reason: 'end-of-chain',
  })
  t.equal(resolve({ 'x-forwarded-proto': 'http' }, {}, '10.0.0.1', true).protocol, 'https')
})
