// explain(req): the decision trail, hop by hop, through the core, the
// Fastify request and the Express req; and formatExplanation.
import t from 'tap'
import http from 'node:http'
import { stripVTControlCharacters } from 'node:util'
import Fastify from 'fastify'
import express from 'express'
import fastifyTrustProxy from '../src/fastify.js'
import expressTrustProxy from '../src/express.js'
import { createTrustProxy, type Explanation, formatExplanation, type TrustProxyOptions } from '../src/index.js'
import { compileExplainer } from '../src/engine/explain.js'
import { normalizeOptions } from '../src/engine/options.js'
import { compileTrustLabels } from '../src/engine/trust.js'
import { CLIENT, listen, PROXY, request, unixPeer } from './support/http.js'

const [UNIX] = await unixPeer()

const explain = (
  options: TrustProxyOptions,
  remoteAddress: string | undefined | typeof UNIX,
  headers: Record<string, string>,
  encrypted = false,
): Explanation =>
  createTrustProxy(options).explain({
    headers,
    socket: typeof remoteAddress === 'object' ? remoteAddress : { remoteAddress, encrypted },
  })

/** hop, address, verdict: the trail in one line per hop. */
const trail = (e: Explanation) => e.hops.map(h => `${h.hop} ${h.address} ${h.from} ${h.by?.entry ?? 'untrusted'}`)

t.test('each hop names the entry or preset that trusted it', async t => {
  const e = explain({ trust: ['loopback', '10.0.0.0/8', 'cloudflare'] }, '127.0.0.1', {
    'x-forwarded-for': '6.6.6.6, 203.0.113.7, 173.245.48.5, 10.1.2.3',
  })
  t.same(trail(e), [
    '0 127.0.0.1 socket loopback',
    '1 10.1.2.3 x-forwarded-for 10.0.0.0/8',
    '2 173.245.48.5 x-forwarded-for cloudflare',
    '3 203.0.113.7 x-forwarded-for untrusted',
  ])
  t.same(
    e.hops.map(h => h.by?.kind),
    ['preset', 'address', 'preset', undefined],
  )
  t.equal(e.client, '203.0.113.7')
  t.equal(e.reason, 'untrusted-hop')
  t.equal(e.why, '203.0.113.7 (hop 3, from x-forwarded-for) is not a trusted proxy: it is the client')
  t.equal(e.resolution.ip, e.client)
})

t.test('the other trust forms: true, a hop count, a function, a platform, gcp-lb and its forwarding rule', async t => {
  const headers = { 'x-forwarded-for': '203.0.113.7, 198.51.100.1' }
  t.same(trail(explain({ trust: true }, '192.0.2.1', headers)), [
    '0 192.0.2.1 socket trust: true',
    '1 198.51.100.1 x-forwarded-for trust: true',
    '2 203.0.113.7 x-forwarded-for trust: true',
  ])
  const warnings = t.capture(process, 'emitWarning', () => {})
  t.same(trail(explain({ trust: 2 }, '192.0.2.1', headers)), [
    '0 192.0.2.1 socket trust: 2',
    '1 198.51.100.1 x-forwarded-for trust: 2',
    '2 203.0.113.7 x-forwarded-for untrusted',
  ])
  t.equal(warnings().length, 1, 'the hop count warns, as before')
  let calls = 0
  const fn = (_a: string, hop: number) => (calls++, hop < 1)
  const e = explain({ trust: fn }, '192.0.2.1', headers)
  t.same(trail(e), ['0 192.0.2.1 socket function', '1 198.51.100.1 x-forwarded-for untrusted'])
  t.equal(e.hops[0]!.by!.kind, 'function')
  t.equal(calls, 2, 'explain does not call the trust function again')
  t.same(trail(explain({ trust: 'fly', platform: 'fly' }, '192.0.2.1', headers)), [
    '0 192.0.2.1 socket fly',
    '1 198.51.100.1 x-forwarded-for fly',
    '2 203.0.113.7 x-forwarded-for untrusted',
  ])
  const gcp = explain({ trust: 'gcp-lb', gcpForwardingRule: '34.120.0.10' }, '35.191.0.1', {
    'x-forwarded-for': '203.0.113.7, 34.120.0.10',
  })
  t.same(trail(gcp), [
    '0 35.191.0.1 socket gcp-lb',
    '1 34.120.0.10 x-forwarded-for gcp-lb (gcpForwardingRule)',
    '2 203.0.113.7 x-forwarded-for untrusted',
  ])
  const list = explain({ trust: '192.0.2.0/24, loopback' }, '127.0.0.1', headers)
  t.equal(list.hops[0]!.by!.entry, 'loopback', 'a comma-separated string names its entries trimmed')
})

t.test('where the walk stops, and why, in a sentence', async t => {
  const trust = '10.0.0.0/8'
  const cases: Array<[string, Explanation, string, RegExp]> = [
    [
      'untrusted peer',
      explain({ trust }, '192.0.2.1', { 'x-forwarded-for': '1.2.3.4' }),
      'untrusted-peer',
      /^the socket peer 192\.0\.2\.1 is not a trusted proxy, so no forwarded header was read/,
    ],
    ['no address', explain({ trust }, undefined, {}), 'no-peer', /^the socket has no address \(a Unix socket/],
    ['junk address', explain({ trust }, 'junk', {}), 'no-peer', /^the socket address "junk" is not a usable IP/],
    [
      'invalid entry',
      explain({ trust }, '10.0.0.1', { 'x-forwarded-for': 'unknown, 10.0.0.2' }),
      'invalid-entry',
      /^the x-forwarded-for entry after hop 1 is not an IP address.*10\.0\.0\.2, is the client/,
    ],
    [
      'hop limit',
      explain({ trust, maxHops: 1 }, '10.0.0.1', { 'x-forwarded-for': '10.0.0.3, 10.0.0.2' }),
      'hop-limit',
      /^the walk went past maxHops \(1\)/,
    ],
    [
      'every hop trusted',
      explain({ trust }, '10.0.0.1', { 'x-forwarded-for': '10.0.0.2' }),
      'end-of-chain',
      /^every address was trusted, so the leftmost, 10\.0\.0\.2, is the client; unless the first proxy overwrites/,
    ],
    [
      'trusted peer without a header',
      explain({ trust }, '10.0.0.1', {}),
      'end-of-chain',
      /^the peer is trusted but sent no x-forwarded-for address: the peer, 10\.0\.0\.1, is the client/,
    ],
    [
      'trusted peer, Forwarded only',
      explain({ trust, headers: ['forwarded'] }, '10.0.0.1', { 'x-forwarded-for': '1.2.3.4' }),
      'end-of-chain',
      /sent no forwarded address/,
    ],
    [
      'trusted Unix socket without a header',
      explain({ trust, trustUnixSocket: true }, UNIX, {}),
      'end-of-chain',
      /^the trusted Unix socket sent no x-forwarded-for address: there is no client address/,
    ],
  ]
  for (const [name, e, reason, why] of cases) {
    t.equal(e.reason, reason, name)
    t.match(e.why, why, name)
  }
  const unix = explain({ trust, trustUnixSocket: true }, UNIX, { 'x-forwarded-for': '192.0.2.9' })
  t.same(
    unix.hops.map(h => [h.address, h.trusted, h.by]),
    [
      [undefined, true, { kind: 'unix-socket', entry: 'trustUnixSocket' }],
      ['192.0.2.9', false, undefined],
    ],
  )
  t.same(explain({ trust }, undefined, {}).hops, [
    { hop: 0, address: undefined, from: 'socket', trusted: false, by: undefined },
  ])
})

t.test('which header gave the protocol and the host', async t => {
  const trust = 'loopback'
  const xf = explain({ trust, forwardedHost: true }, '127.0.0.1', {
    'host': 'app.internal',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'http, https',
    'x-forwarded-host': 'a.example, b.example',
  })
  t.same(xf.protocol, { value: 'https', from: 'x-forwarded-proto', raw: 'http, https', entry: 'https' })
  t.same(xf.host, { value: 'b.example', from: 'x-forwarded-host', raw: 'a.example, b.example', entry: 'b.example' })
  const paired = explain({ trust, protoPairing: 'hop' }, '127.0.0.1', {
    'x-forwarded-for': '203.0.113.7, 127.0.0.2',
    'x-forwarded-proto': 'https, http',
  })
  t.same(paired.protocol, { value: 'https', from: 'x-forwarded-proto', raw: 'https, http', entry: 'https' })
  const junk = explain({ trust }, '127.0.0.1', { 'x-forwarded-proto': 'wss', 'host': 'Example.COM' }, true)
  t.same(junk.protocol, { value: 'https', from: 'socket', raw: undefined }, 'an unusable value: the socket')
  t.same(junk.host, { value: 'example.com', from: 'host', raw: 'Example.COM' })
  const fwd = explain({ trust, headers: ['forwarded'], forwardedHost: true }, '127.0.0.1', {
    forwarded: 'for=203.0.113.7;proto=https;host=shop.example',
  })
  t.same(fwd.protocol, {
    value: 'https',
    from: 'forwarded',
    raw: 'for=203.0.113.7;proto=https;host=shop.example',
    entry: 'https',
  })
  t.same(fwd.host.value, 'shop.example')
  t.equal(fwd.host.from, 'forwarded')
  t.equal(fwd.hops[1]!.from, 'forwarded')
  const broken = explain({ trust, headers: ['forwarded'], forwardedHost: true }, '127.0.0.1', {
    forwarded: 'for=203.0.113.7;proto=https;host="x',
    host: 'example.com',
  })
  t.same(broken.protocol.from, 'socket', 'a broken element gives no protocol')
  t.same([broken.host.value, broken.host.from], [undefined, 'forwarded'], '...and an unusable host')
  const both = { 'x-forwarded-for': '192.0.2.7', 'forwarded': 'for=192.0.2.8', 'x-forwarded-proto': ',' }
  t.equal(explain({ trust, headers: ['forwarded', 'x-forwarded'] }, '127.0.0.1', both).hops[1]!.from, 'forwarded')
  const xfFirst = explain({ trust, headers: ['x-forwarded', 'forwarded'] }, '127.0.0.1', both)
  t.same(
    [xfFirst.client, xfFirst.protocol.from],
    ['192.0.2.7', 'socket'],
    'an empty X-Forwarded-Proto list: the socket',
  )
  for (const forwarded of ['', 'for=192.0.2.8;host=""']) {
    const e = explain({ trust, headers: ['forwarded'], forwardedHost: true }, '127.0.0.1', {
      forwarded,
      host: 'h.example',
    })
    t.same([e.host.value, e.host.from], ['h.example', 'host'], `Forwarded ${JSON.stringify(forwarded)}: Host`)
  }
  const h2 = explain({ trust }, '192.0.2.1', { ':authority': 'example.com' })
  t.same(h2.host, { value: 'example.com', from: ':authority', raw: 'example.com' })
  const none = explain({ trust }, '192.0.2.1', {})
  t.same(none.host, { value: undefined, from: 'host', raw: undefined })
  const twice = createTrustProxy({ trust }).explain({
    headers: { host: ['a.example', 'b.example'] as unknown as string },
    socket: { remoteAddress: '192.0.2.1' },
  })
  t.same(twice.host, { value: undefined, from: 'host', raw: 'a.example, b.example' }, 'two Host lines: none')
})

t.test('a peer trusted by its certificate identity says so (Resolution.peerIdentity)', async t => {
  const options = { trust: [] }
  const proxy = createTrustProxy(options)
  const req = { headers: {}, socket: { remoteAddress: '192.0.2.1' } }
  // the resolution a trustCertificate engine makes: the peer trusted, by identity
  const resolution = {
    ...proxy.resolve(req),
    reason: 'end-of-chain' as const,
    peerIdentity: 'uri:spiffe://example.org/lb',
  }
  const explain = compileExplainer(normalizeOptions(options, []), () => resolution)
  t.same(explain(req).hops, [
    {
      hop: 0,
      address: '192.0.2.1',
      from: 'socket',
      trusted: true,
      by: { kind: 'certificate', entry: 'uri:spiffe://example.org/lb' },
    },
  ])
})

t.test('formatExplanation: plain, and coloured on request', async t => {
  const e = explain({ trust: ['loopback', '10.0.0.0/8'] }, '127.0.0.1', {
    'host': 'example.com',
    'x-forwarded-for': '203.0.113.7, 10.1.2.3',
    'x-forwarded-proto': 'https',
  })
  const plain = formatExplanation(e)
  t.equal(
    plain,
    [
      'client   203.0.113.7',
      'protocol https  from X-Forwarded-Proto: "https"',
      'host     example.com  from Host: "example.com"',
      '',
      '  hop 0  127.0.0.1    socket          trusted by loopback (preset)',
      '  hop 1  10.1.2.3     X-Forwarded-For trusted by 10.0.0.0/8 (address)',
      '  hop 2  203.0.113.7  X-Forwarded-For not trusted  <- client',
      '',
      'stopped  untrusted-hop: 203.0.113.7 (hop 2, from x-forwarded-for) is not a trusted proxy: it is the client',
    ].join('\n'),
  )
  t.equal(formatExplanation(e, { color: false }), plain)
  const colored = formatExplanation(e, { color: true })
  t.ok(colored.includes('\u001b[32mtrusted by loopback'), 'green for trusted')
  t.equal(stripVTControlCharacters(colored), plain, 'the same text under the colours')
  const entry = explain({ trust: 'loopback' }, '127.0.0.1', { 'x-forwarded-proto': 'http, https' })
  t.match(formatExplanation(entry), /protocol https {2}from X-Forwarded-Proto: "http, https" \(entry "https"\)\n/)
  const nobody = formatExplanation(explain({ trust: 'loopback' }, undefined, {}))
  t.match(nobody, /^client {3}none\n/)
  t.match(nobody, /from the connection \(socket\)/)
  t.match(nobody, /host {5}none {2}no Host header/)
  t.match(nobody, /hop 0 {2}\(no address\) {2}socket {10}not trusted\n/)
  // trusted with no entry naming it: a kind of trust this version does not label
  const unlabelled = formatExplanation({ ...e, hops: [{ ...e.hops[0]!, by: undefined }] })
  t.match(unlabelled, /trusted by \(no entry matches now\)/)
})

t.test('request.explainProxyAware() on Fastify', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyTrustProxy, { trust: '10.0.0.0/8' })
  app.get('/', async request => {
    const e = request.explainProxyAware()
    return { client: e.client, ip: request.ip, trail: trail(e) }
  })
  const res = await app.inject({ url: '/', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '203.0.113.7' } })
  t.same(res.json(), {
    client: '203.0.113.7',
    ip: '203.0.113.7',
    trail: ['0 10.0.0.1 socket 10.0.0.0/8', '1 203.0.113.7 x-forwarded-for untrusted'],
  })
})

t.test('req.explainProxyAware() on Express, from the engine that decided', async t => {
  const app = express()
  app.use(expressTrustProxy({ trust: 'loopback' }))
  const sub = express()
  sub.use(expressTrustProxy({ trust: PROXY }))
  app.use('/sub', sub)
  const answer = (req: express.Request, res: express.Response) => {
    const e = req.explainProxyAware()
    res.json({ client: e.client, ip: req.ip, by: e.hops[0]!.by?.entry ?? null })
  }
  app.get('/', answer)
  sub.get('/', answer)
  const port = await listen(t, http.createServer(app))
  const headers = { 'x-forwarded-for': '203.0.113.7' }
  const top = await request(port, { from: PROXY, headers })
  t.same(JSON.parse(top.body), { client: '203.0.113.7', ip: '203.0.113.7', by: 'loopback' })
  const inner = await request(port, { path: '/sub/', from: CLIENT, headers })
  t.same(JSON.parse(inner.body), { client: CLIENT, ip: CLIENT, by: null })
  // without Express (plain http): own accessors on the request
  const bare = expressTrustProxy({ trust: 'loopback' })
  const req = { headers, socket: { remoteAddress: '127.0.0.1' } } as unknown as express.Request
  bare(req, {} as express.Response, () => {})
  t.equal(req.explainProxyAware().client, '203.0.113.7')
})

t.test('the labeller answers undefined past a hop count and for what is not an address', async t => {
  const hops = compileTrustLabels(2)
  t.same(hops('192.0.2.1', 1), { kind: 'hop-count', entry: 'trust: 2' })
  t.equal(hops('192.0.2.1', 2), undefined, 'hop 2 is past a count of 2')
  const list = compileTrustLabels(['loopback'])
  t.same(list('127.0.0.1', 0), { kind: 'preset', entry: 'loopback' })
  t.equal(list('not an address', 0), undefined)
  t.equal(list('192.0.2.1', 0), undefined, 'in no entry')
})
