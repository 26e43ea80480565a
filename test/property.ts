// Property tests (fast-check) for the decision and the parsers, through the
// public API. Oracles: Node's net.isIP, the WHATWG URL parser's IPv6
// serializer, and proxy-addr.
import t from 'tap'
import fc from 'fast-check'
import { isIP } from 'node:net'
import ipaddr from 'ipaddr.js'
import proxyaddr from 'proxy-addr'
import type { IncomingMessage } from 'node:http'
import { canonicalIp, createTrustProxy, type RequestLike, type TrustProxyOptions } from '../src/index.js'

// PROPERTY_RUNS=20000 npx tap test/property.ts for a longer search
const RUNS = Number(process.env.PROPERTY_RUNS ?? 400)

/** Canonical form by an independent implementation (WHATWG URL host parser). */
const oracle = (s: string): string | undefined => {
  const family = isIP(s)
  if (family === 4) return s
  if (family !== 6 || s.includes('%')) return undefined
  const host = new URL(`http://[${s}]/`).hostname.slice(1, -1)
  // the URL serializer prints mapped addresses as ::ffff:xxxx:xxxx
  if (host.startsWith('::ffff:') && host.split(':').length === 5) {
    const [hi, lo] = host
      .slice(7)
      .split(':')
      .map(h => Number.parseInt(h, 16)) as [number, number]
    return `${hi >>> 8}.${hi & 255}.${lo >>> 8}.${lo & 255}`
  }
  return host
}

/** The unspecified address, in canonical form: never a client, a hop or a peer. */
const isUnspecified = (ip: string | undefined) => ip === '0.0.0.0' || ip === '::'

/** A valid canonical IP: a fixed point of canonicalIp that Node accepts. */
const isCanonical = (ip: string) => canonicalIp(ip) === ip && isIP(ip) !== 0 && !isUnspecified(ip)

// ---- generators ---------------------------------------------------------

const v4 = fc.ipV4()
const v6 = fc.ipV6()
const mapped = v4.map(a => `::ffff:${a}`)
const anyIp = fc.oneof(
  v4,
  v6,
  mapped,
  v6.map(a => a.toUpperCase()),
)
/** an IP, canonicalized: what a well-behaved proxy writes (never 0.0.0.0 or ::) */
const canonical = fc
  .oneof(v4, v4, v6)
  .map(a => canonicalIp(a)!)
  .filter(a => !isUnspecified(a))

/** Anything a hostile client or a broken proxy might put in one list entry. */
const entry = fc.oneof(
  anyIp,
  fc.tuple(v4, fc.integer({ min: 0, max: 99999 })).map(([a, port]) => `${a}:${port}`),
  v6.map(a => `[${a}]:443`),
  v6.map(a => `[${a}]`),
  v6.map(a => `${a}%eth0`),
  fc.ipV4Extended(),
  fc.constantFrom(
    'unknown',
    '_hidden',
    '',
    ' ',
    '127.1',
    '2130706433',
    '0x7f.0.0.1',
    ':::',
    '[::1',
    '1.2.3',
    'localhost',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
)
const separator = fc.constantFrom(',', ', ', ',\t', ' ,', ',,', '\t, ')
const list = (item: fc.Arbitrary<string>) =>
  fc.tuple(fc.array(item, { maxLength: 8 }), separator).map(([items, sep]) => items.join(sep))

/** RFC 7239-ish text, valid and not: the characters its grammar cares about. */
const forwardedText = fc.oneof(
  fc.string({
    unit: fc.constantFrom('f', 'o', 'r', '=', ';', ',', '"', '\\', ' ', '\t', '[', ']', ':', '1', '.', '\u0001', 'é'),
    maxLength: 40,
  }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc
    .array(
      fc
        .tuple(
          fc.constantFrom('for', 'FOR', 'proto', 'host', 'by', 'x', ''),
          fc.oneof(
            entry,
            entry.map(e => `"${e.replace(/["\\]/g, c => `\\${c}`)}"`),
            fc.constantFrom('https', 'http', '"HTTPS"'),
          ),
        )
        .map(([k, v]) => `${k}=${v}`),
      { maxLength: 6 },
    )
    .chain(pairs => fc.oneof(separator, fc.constantFrom(';', ' ; ')).map(sep => pairs.join(sep))),
)

const trustOptions: TrustProxyOptions['trust'][] = [
  true,
  'loopback',
  'private',
  ['10.0.0.0/8', '2001:db8::/32'],
  // almost everything (ranges may not contain the mapped block ::ffff:0:0/96)
  '0.0.0.0/1, 128.0.0.0/1, ::/96, 1::/16, 2::/15, 4::/14, 8::/13, 10::/12, 20::/11, 40::/10, 80::/9, 100::/8, 200::/7, 400::/6, 800::/5, 1000::/4, 2000::/3, 4000::/2, 8000::/1',
  (_a, hop) => hop < 3,
  (a, hop) => hop % 2 === 0 || a.includes(':'),
]
const options = fc.record({
  trust: fc.constantFrom(...trustOptions),
  headers: fc.constantFrom<TrustProxyOptions['headers']>(
    ['x-forwarded'],
    ['forwarded'],
    ['x-forwarded', 'forwarded'],
    ['forwarded', 'x-forwarded'],
  ),
  forwardedHost: fc.boolean(),
  maxHops: fc.integer({ min: 1, max: 30 }),
})

const headerValue = (s: fc.Arbitrary<string>) =>
  fc.oneof(s, fc.array(s, { minLength: 1, maxLength: 3 }), fc.constant(undefined))
const headers = fc.record({
  'x-forwarded-for': headerValue(list(entry)),
  'x-forwarded-proto': headerValue(
    list(fc.oneof(fc.constantFrom('http', 'https', 'HTTPS', ' https', 'wss', ''), fc.string({ maxLength: 6 }))),
  ),
  'x-forwarded-host': headerValue(list(fc.oneof(fc.domain(), fc.string({ maxLength: 12 })))),
  'forwarded': headerValue(forwardedText),
  'host': fc.oneof(fc.domain(), fc.string({ maxLength: 12 }), fc.constant(undefined)),
}) as fc.Arbitrary<RequestLike['headers']>

// ---- properties ---------------------------------------------------------

t.test('(a) whatever the headers, ip is undefined or a valid canonical IP', async t => {
  fc.assert(
    fc.property(options, headers, fc.option(anyIp, { nil: undefined }), fc.boolean(), (opts, h, remote, encrypted) => {
      const proxy = createTrustProxy(opts)
      const r = proxy.resolve({ headers: h, socket: { remoteAddress: remote, encrypted } })
      if (r.ip !== undefined && !isCanonical(r.ip)) return false
      if (!r.ips.every(isCanonical)) return false
      if (r.ip !== r.ips[r.ips.length - 1]) return false
      const peer = remote === undefined || isUnspecified(canonicalIp(remote)) ? undefined : canonicalIp(remote)
      if (peer === undefined ? r.ip !== undefined || r.peer !== undefined : r.peer !== peer) return false
      if (r.protocol !== 'http' && r.protocol !== 'https') return false
      if (r.secure !== (r.protocol === 'https')) return false
      if (r.host !== undefined && (r.host !== r.host.toLowerCase() || /[\s/@\\]/.test(r.host))) return false
      return r.hops === (r.peer === undefined ? r.ips.length : r.ips.length - 1)
    }),
    { numRuns: RUNS },
  )
  t.pass(`${RUNS} runs`)
})

t.test('(b) an untrusted peer gets its own canonical address and the socket protocol', async t => {
  const trusted = ['10.0.0.0/8', '2001:db8::/32']
  const isTrusted = proxyaddr.compile(trusted)
  fc.assert(
    fc.property(
      anyIp.filter(a => !isTrusted(canonicalIp(a)!, 0) && !isUnspecified(canonicalIp(a))),
      headers,
      fc.boolean(),
      fc.constantFrom<TrustProxyOptions['headers']>(['x-forwarded'], ['forwarded'], ['forwarded', 'x-forwarded']),
      (remote, h, encrypted, conventions) => {
        const proxy = createTrustProxy({ trust: trusted, headers: conventions, forwardedHost: true })
        const r = proxy.resolve({ headers: h, socket: { remoteAddress: remote, encrypted } })
        const own = canonicalIp(remote)
        const host = typeof h.host === 'string' ? canonicalHost(h.host) : undefined
        return (
          r.ip === own &&
          r.peer === own &&
          r.ips.length === 1 &&
          r.hops === 0 &&
          r.reason === 'untrusted-peer' &&
          r.source === 'socket' &&
          r.protocol === (encrypted ? 'https' : 'http') &&
          r.host === host
        )
      },
    ),
    { numRuns: RUNS },
  )
  t.pass(`${RUNS} runs`)
})

/** What Host alone resolves to, through a peer that trusts nothing. */
const canonicalHost = (host: string) =>
  createTrustProxy({ trust: [] }).resolve({ headers: { host }, socket: { remoteAddress: '203.0.113.1' } }).host

t.test('(c) on well-formed chains the ip matches proxy-addr', async t => {
  // ranges, and addresses drawn inside them so that walks go deep
  const ranges: [string, fc.Arbitrary<string>][] = [
    ['loopback', fc.integer({ min: 0, max: 255 }).map(n => `127.0.${n}.1`)],
    ['uniquelocal', fc.integer({ min: 0, max: 255 }).map(n => `10.${n}.0.1`)],
    ['linklocal', fc.integer({ min: 1, max: 0xffff }).map(n => `fe80::${n.toString(16)}`)],
    ['192.0.2.0/24', fc.integer({ min: 0, max: 255 }).map(n => `192.0.2.${n}`)],
    ['198.51.100.0/255.255.255.128', fc.integer({ min: 0, max: 255 }).map(n => `198.51.100.${n}`)],
    ['2001:db8::/48', fc.integer({ min: 0, max: 0xffff }).map(n => `2001:db8:0:${n.toString(16)}::1`)],
    ['2001:db8:8000::/33', fc.integer({ min: 0, max: 0xffff }).map(n => `2001:db8:${n.toString(16)}::1`)],
  ]
  const scenario = fc
    .subarray(
      ranges.map((_, i) => i),
      { minLength: 1 },
    )
    .chain(picked => {
      const list = picked.map(i => ranges[i]![0])
      const addr = fc
        .oneof(canonical, ...picked.map(i => ranges[i]![1]), ...ranges.map(r => r[1]))
        .map(a => canonicalIp(a)!)
      return fc.record({
        list: fc.constant(list),
        peer: addr,
        chain: fc.array(addr, { maxLength: 15 }),
      })
    })
  fc.assert(
    fc.property(scenario, ({ list, peer, chain }) => {
      const xff = chain.length === 0 ? undefined : chain.join(', ')
      const headers = xff === undefined ? {} : { 'x-forwarded-for': xff }
      const ours = createTrustProxy({ trust: list }).resolve({ headers, socket: { remoteAddress: peer } })
      const req = { headers, socket: { remoteAddress: peer }, connection: { remoteAddress: peer } }
      const theirs = proxyaddr(req as unknown as IncomingMessage, proxyaddr.compile(list))
      const all = proxyaddr.all(req as unknown as IncomingMessage, proxyaddr.compile(list))
      return ours.ip === theirs && ours.ips.join() === all.join()
    }),
    { numRuns: RUNS },
  )
  t.pass(`${RUNS} runs`)
})

t.test('(c) with a trust function the walk matches proxy-addr too', async t => {
  fc.assert(
    fc.property(
      fc.array(canonical, { maxLength: 15 }),
      canonical,
      fc.integer({ min: 0, max: 16 }),
      fc.array(canonical, { maxLength: 4 }),
      (chain, peer, hops, known) => {
        const listed = new Set(known.concat(chain.filter((_, i) => i % 3 === 0)))
        const fn = (address: string, hop: number) => hop < hops || listed.has(address)
        const headers = { 'x-forwarded-for': chain.join(', ') }
        const ours = createTrustProxy({ trust: fn }).resolve({ headers, socket: { remoteAddress: peer } })
        const req = {
          headers,
          socket: { remoteAddress: peer },
          connection: { remoteAddress: peer },
        } as unknown as IncomingMessage
        return ours.ip === proxyaddr(req, fn) && ours.ips.join() === proxyaddr.all(req, fn).join()
      },
    ),
    { numRuns: RUNS },
  )
  t.pass(`${RUNS} runs`)
})

t.test('(d) canonicalIp agrees with net.isIP and the URL parser, and round-trips', async t => {
  const mutate = fc
    .tuple(anyIp, fc.nat(), fc.constantFrom('', '0', ':', '.', 'f', 'g', '%', '1', '::', ' '))
    .map(([s, n, c]) => {
      const i = n % (s.length + 1)
      return n % 3 === 0
        ? s.slice(0, i) + c + s.slice(i)
        : n % 3 === 1
          ? s.slice(0, i) + s.slice(i + 1)
          : s.slice(0, i) + c + s.slice(i + 1)
    })
  const candidate = fc.oneof(
    anyIp,
    fc.ipV4Extended(),
    mutate,
    fc.mixedCase(v6),
    v6.map(a => a.replace(/:(?=[0-9a-f])/g, ':0')),
  )
  fc.assert(
    fc.property(candidate, s => {
      const ours = canonicalIp(s)
      const expected = oracle(s)
      if (ours !== expected) {
        // the only difference allowed: we take an IPv4 address with a port
        const m = /^(.*):(\d{1,5})$/.exec(s)
        if (!(m && isIP(m[1]!) === 4 && Number(m[2]) <= 65535 && ours === m[1])) return false
      }
      return ours === undefined || (canonicalIp(ours) === ours && isIP(ours) !== 0)
    }),
    { numRuns: RUNS * 5 },
  )
  t.pass(`${RUNS * 5} runs`)
})

t.test(
  "(d2) every spelling of an IPv6 address gives the URL parser's canonical form, as peer and as entry",
  async t => {
    // groups rich in zeros (runs of every length), written with any "::"
    // (or none), leading zeros and case: the canonical spelling is kept as
    // written, any other is reprinted
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }))
    const spelling = fc
      .record({
        groups: fc.array(group, { minLength: 8, maxLength: 8 }),
        gap: fc.nat(),
        pad: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        upper: fc.boolean(),
      })
      .map(({ groups, gap, pad, upper }) => {
        const text = groups.map((n, i) => (pad[i] ? n.toString(16).padStart(4, '0') : n.toString(16)))
        // the zero runs: compress the one `gap` picks, or none
        const runs: [number, number][] = []
        for (let i = 0; i < 8; i++) {
          if (groups[i] !== 0) continue
          let j = i
          while (j < 8 && groups[j] === 0) j++
          runs.push([i, j])
          i = j
        }
        const run = runs[gap % (runs.length + 1)]
        const written =
          run === undefined ? text.join(':') : `${text.slice(0, run[0]).join(':')}::${text.slice(run[1]).join(':')}`
        return upper ? written.toUpperCase() : written
      })
    const proxy = createTrustProxy({ trust: ['2000::/3', '10.0.0.0/8'] })
    fc.assert(
      fc.property(spelling, s => {
        const expected = oracle(s)
        if (canonicalIp(s) !== expected) return false
        if (expected === undefined || isUnspecified(expected)) return true
        const r = proxy.resolve({ headers: { 'x-forwarded-for': `${s}, ${s}` }, socket: { remoteAddress: s } })
        return r.peer === expected && r.ips.every(a => a === expected)
      }),
      { numRuns: RUNS * 5 },
    )
    t.pass(`${RUNS * 5} runs`)
  },
)

t.test('(e) the RFC 7239 parser never throws and never yields a non-IP', async t => {
  const proxy = createTrustProxy({ trust: true, headers: ['forwarded'], forwardedHost: true })
  fc.assert(
    fc.property(forwardedText, f => {
      const r = proxy.resolve({ headers: { forwarded: f }, socket: { remoteAddress: '10.0.0.1' } })
      return r.ips.every(isCanonical) && r.ip !== undefined
    }),
    { numRuns: RUNS * 5 },
  )
  t.pass(`${RUNS * 5} runs`)
})

t.test(
  "(g) Forwarded: whatever the client put on the left, the proxies' elements on the right are read intact",
  async t => {
    // what a trusted proxy appends: the address it saw (in any spelling proxies
    // use), proto= and host=, parameters in any order
    const spelled = (ip: string, port: number) =>
      fc.constantFrom(
        ...(ip.includes(':')
          ? [`"[${ip}]:${port}"`, `"[${ip}]"`, `"${ip}"`, ip, `[${ip}]:${port}`]
          : [ip, `"${ip}"`, `"${ip}:${port}"`, `${ip}:${port}`]),
      )
    const element = (ip: fc.Arbitrary<string>) =>
      fc
        .tuple(ip, fc.integer({ min: 1, max: 65535 }))
        .chain(([a, port]) =>
          fc.record({
            ip: fc.constant(a),
            proto: fc.constantFrom('http', 'https'),
            host: fc.domain(),
            forText: spelled(a, port),
            quoteHost: fc.boolean(),
            order: fc.constantFrom(0, 1, 2),
          }),
        )
        .map(e => {
          const pairs = [`for=${e.forText}`, `proto=${e.proto}`, `host=${e.quoteHost ? `"${e.host}"` : e.host}`]
          const text =
            e.order === 0
              ? pairs.join(';')
              : e.order === 1
                ? pairs.reverse().join(';')
                : `${pairs[1]};by="[::1]";${pairs[0]};${pairs[2]}`
          return { ...e, text }
        })
    const client = element(canonical.filter(a => !a.startsWith('10.')))
    const inner = fc.array(element(fc.integer({ min: 0, max: 255 }).map(n => `10.0.${n}.2`)), { maxLength: 3 })
    const prefix = fc.oneof(
      forwardedText,
      fc.string({ maxLength: 20 }),
      fc.constantFrom('for="', 'for=1.1.1.1;x="', 'for="\\', '"', '\\', 'for="a\\"'),
    )
    const proxy = createTrustProxy({ trust: '10.0.0.0/8', headers: ['forwarded'], forwardedHost: true })
    fc.assert(
      fc.property(prefix, client, inner, fc.boolean(), (p, c, proxies, lines) => {
        const appended = [c, ...proxies].map(e => e.text)
        const forwarded = lines ? [p, ...appended] : `${p}, ${appended.join(', ')}`
        const r = proxy.resolve({ headers: { forwarded, host: 'app.example' }, socket: { remoteAddress: '10.0.0.1' } })
        return (
          r.ip === c.ip &&
          r.reason === 'untrusted-hop' &&
          r.hops === proxies.length + 1 &&
          r.ips.join() === ['10.0.0.1', ...proxies.map(e => e.ip).reverse(), c.ip].join() &&
          r.protocol === c.proto &&
          r.host === c.host.toLowerCase()
        )
      }),
      { numRuns: RUNS * 5 },
    )
    t.pass(`${RUNS * 5} runs`)
  },
)

t.test('(f) one engine answers a sequence of requests as fresh engines do', async t => {
  const request = fc.record({
    remote: fc.oneof(
      anyIp,
      fc.constantFrom('10.0.0.1', '::ffff:10.0.0.1', '127.0.0.1', 'fe80::1%eth0', 'bogus'),
      fc.constant(undefined),
    ),
    encrypted: fc.boolean(),
    headers,
  })
  fc.assert(
    fc.property(
      options,
      fc.boolean(),
      fc.array(request, { minLength: 1, maxLength: 8 }),
      (opts, trustUnixSocket, requests) => {
        const shared = createTrustProxy({ ...opts, trustUnixSocket })
        return requests.every(({ remote, encrypted, headers: h }) => {
          const req = () => ({ headers: h, socket: { remoteAddress: remote, encrypted } })
          const fresh = createTrustProxy({ ...opts, trustUnixSocket }).resolve(req())
          return JSON.stringify(shared.resolve(req())) === JSON.stringify(fresh)
        })
      },
    ),
    { numRuns: RUNS },
  )
  t.pass(`${RUNS} runs`)
})

t.test('(h) explain agrees with resolve, and names an entry for exactly the trusted hops', async t => {
  const explainOptions = fc.record({
    trust: fc.constantFrom<TrustProxyOptions['trust']>(...trustOptions, ['cloudflare', 'loopback'], 2),
    headers: options.map(o => o.headers),
    forwardedHost: fc.boolean(),
    protoPairing: fc.constantFrom<TrustProxyOptions['protoPairing']>('nearest', 'hop'),
    maxHops: fc.integer({ min: 1, max: 30 }),
    trustUnixSocket: fc.boolean(),
  })
  // a proxy chain that writes one protocol per address, so that pairing by hop applies
  // with addresses inside the trusted ranges, so that walks go deep
  const inRanges = fc.constantFrom('127.0.0.1', '::1', '10.1.2.3', '173.245.48.1', '2400:cb00::1', '2001:db8::7')
  const address = fc.oneof(canonical, inRanges)
  const wellFormed = fc
    .array(fc.tuple(address, fc.constantFrom('http', 'https')), { minLength: 1, maxLength: 6 })
    .map(pairs => ({
      'x-forwarded-for': pairs.map(([a]) => a).join(', '),
      'x-forwarded-proto': pairs.map(([, p]) => p).join(', '),
      'x-forwarded-host': 'proxy.example',
      'forwarded': pairs.map(([a, p]) => `for="${a.includes(':') ? `[${a}]` : a}";proto=${p}`).join(', '),
      'host': 'example.com',
    }))
  const warnings = t.capture(process, 'emitWarning', () => {})
  fc.assert(
    fc.property(
      explainOptions,
      fc.oneof(headers, wellFormed),
      fc.option(fc.oneof(anyIp, inRanges), { nil: undefined }),
      fc.boolean(),
      (opts, h, remote, encrypted) => {
        const proxy = createTrustProxy(opts)
        const req = { headers: h, socket: { remoteAddress: remote, encrypted } }
        const r = proxy.resolve(req)
        const e = proxy.explain(req)
        if (e.client !== r.ip || e.protocol.value !== r.protocol || e.host.value !== r.host) return false
        if (e.reason !== r.reason || e.hops.length !== Math.max(r.ips.length + (r.peer === undefined ? 1 : 0), 1))
          return false
        const pure = typeof opts.trust !== 'function'
        return e.hops.every(
          hop =>
            hop.trusted === (hop.by !== undefined) &&
            (!pure || hop.address === undefined || hop.trusted === proxy.trust(hop.address, hop.hop)),
        )
      },
    ),
    { numRuns: RUNS },
  )
  warnings()
  t.pass(`${RUNS} runs`)
})

t.test('(i) a trust list of many overlapping ranges matches as ipaddr.js does, at every range edge', async t => {
  // dense ranges inside 10.0.0.0/16 and 2001:db8::/112 (nested, overlapping,
  // adjacent), and wide ones anywhere (IPv6 ones clear of the mapped space)
  const range4 = fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 18, max: 32 }))
      .map(([n, p]) => [0x0a000000 + n, p] as const),
    fc.tuple(fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 1, max: 32 })).map(([n, p]) => [n, p] as const),
  )
  const range6 = fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 100, max: 128 }))
      .map(([n, p]) => [(0x20010db8n << 96n) | BigInt(n), p] as const),
    fc
      .tuple(fc.bigInt({ min: 0x2000n << 112n, max: (1n << 128n) - 1n }), fc.integer({ min: 3, max: 128 }))
      .map(([n, p]) => [n, p] as const),
  )
  const mask = (bits: number, p: number) => ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - p)) - 1n)
  const text4 = (n: bigint) => ipaddr.fromByteArray([24, 16, 8, 0].map(s => Number((n >> BigInt(s)) & 255n))).toString()
  const text6 = (n: bigint) =>
    new ipaddr.IPv6([112, 96, 80, 64, 48, 32, 16, 0].map(s => Number((n >> BigInt(s)) & 0xffffn))).toString()
  const scenario = fc.record({
    v4: fc.array(range4, { maxLength: 40 }),
    v6: fc.array(range6, { maxLength: 40 }),
    extra: fc.array(fc.oneof(v4, v6), { maxLength: 8 }),
  })
  fc.assert(
    fc.property(scenario, ({ v4: r4, v6: r6, extra }) => {
      const cidrs4 = r4.map(([n, p]) => [BigInt(n) & mask(32, p), p] as const)
      const cidrs6 = r6.map(([n, p]) => [n & mask(128, p), p] as const)
      const list = [...cidrs4.map(([n, p]) => `${text4(n)}/${p}`), ...cidrs6.map(([n, p]) => `${text6(n)}/${p}`)]
      if (list.length === 0) return true
      const probes = [...extra]
      for (const [n, p] of cidrs4) {
        const hi = n | ((1n << BigInt(32 - p)) - 1n)
        for (const a of [n - 1n, n, hi, hi + 1n]) if (a > 0n && a < 1n << 32n) probes.push(text4(a))
      }
      for (const [n, p] of cidrs6) {
        const hi = n | ((1n << BigInt(128 - p)) - 1n)
        for (const a of [n - 1n, n, hi, hi + 1n]) if (a > 0n && a < 1n << 128n) probes.push(text6(a))
      }
      const parsed = list.map(c => ipaddr.parseCIDR(c))
      const { trust } = createTrustProxy({ trust: list })
      // canonical first: ipaddr.js reads the IPv4-compatible ::0.0.0.1 as mapped
      return probes
        .map(p => canonicalIp(p)!)
        .every(probe => {
          let ip = ipaddr.parse(probe)
          if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address()
          const unspecified = ip.toByteArray().every(b => b === 0)
          const expected = !unspecified && parsed.some(([net, p]) => net.kind() === ip.kind() && ip.match(net, p))
          return trust(probe, 1) === expected
        })
    }),
    { numRuns: RUNS },
  )
  t.pass(`${RUNS} runs`)
})
