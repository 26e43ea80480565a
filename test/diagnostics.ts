// Misconfiguration warnings: each condition warns once per engine, with the
// fix in the message, through the core's process.emitWarning, Fastify's
// logger and Express's `logger` option; a correct setup warns about nothing.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import express from 'express'
import { listen, recorder, request } from './support/http.js'
import { presetEntry, presetsDocument, writeTempFile } from './support/presets.js'
import ipaddr from 'ipaddr.js'
import { canonicalIp, createTrustProxy, PRESETS, type RequestLike } from '../src/index.js'
import { isLocal } from '../src/engine/diagnostics.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'

type Warning = Error & { code?: string }

/** Every process warning emitted during the test (they are dispatched on the next tick). */
const processWarnings = (t: Test) => {
  const warnings: Warning[] = []
  const on = (w: Warning) => warnings.push(w)
  process.on('warning', on)
  t.teardown(() => process.removeListener('warning', on))
  return async () => {
    await new Promise(resolve => setImmediate(resolve))
    return warnings
  }
}

const req = (peer: string, headers: RequestLike['headers'] = {}): RequestLike => ({
  headers,
  socket: { remoteAddress: peer },
})

/** Resolve each request on a fresh object (the decision is cached per request). */
const resolveAll = (options: Parameters<typeof createTrustProxy>[0], ...reqs: RequestLike[]) => {
  const proxy = createTrustProxy(options)
  for (const r of reqs) proxy.resolve(r)
  return proxy
}

const today = new Date().toISOString().slice(0, 10)
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)

/** A presets file with Cloudflare's list dated `snapshot`. */
const presetsFile = (snapshot: string | null, taken = today): string =>
  writeTempFile(
    presetsDocument({
      cloudflare: presetEntry('cloudflare', {
        name: 'Cloudflare',
        source: ['https://www.cloudflare.com/ips-v4'],
        retrieved: { snapshot, taken },
        ranges: ['45.60.0.0/16', '2a06:98c0::/29'],
      }),
    }),
  )

t.test('core: an untrusted private or loopback peer that sends forwarded headers', async t => {
  const warnings = processWarnings(t)
  resolveAll(
    { trust: ['10.0.0.0/8'] },
    req('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }),
    req('127.0.0.1', { 'x-forwarded-for': '203.0.113.8' }),
    req('192.168.1.5', { 'x-forwarded-for': '203.0.113.9' }),
  )
  resolveAll({ trust: ['10.0.0.0/8'] }, req('192.168.1.5', { forwarded: 'for=203.0.113.9' }))
  const mine = (await warnings()).filter(w => w.code === 'PROXY_AWARE_UNTRUSTED_PROXY')
  t.equal(mine.length, 2, 'once per engine, however many requests and peers')
  t.match(mine[0]!.message, /from 127\.0\.0\.1 carried X-Forwarded-For, but 127\.0\.0\.1 is not in trust/)
  t.match(mine[0]!.message, /add "loopback" to trust/, 'names the entry to add')
  t.equal(mine[0]!.name, 'SecurityWarning')
  t.match(mine[1]!.message, /from 192\.168\.1\.5 carried Forwarded.*add "192\.168\.1\.5" to trust/)
})

t.test('core: a public peer sending forwarded headers, or a local peer sending none, is no proxy', async t => {
  const warnings = processWarnings(t)
  resolveAll(
    { trust: ['10.0.0.0/8'] },
    req('198.51.100.20', { 'x-forwarded-for': '1.2.3.4' }),
    req('198.51.100.20', { 'x-forwarded-for': '1.2.3.5' }),
    req('127.0.0.1'),
    req('192.168.1.5'),
  )
  // an unreadable peer is no peer at all
  resolveAll({ trust: ['10.0.0.0/8'] }, { headers: { 'x-forwarded-for': '1.2.3.4' }, socket: {} })
  t.same(await warnings(), [])
})

t.test('core: trust: true or a hop count on a server that also gets direct connections', async t => {
  const warnings = processWarnings(t)
  resolveAll({ trust: true }, req('198.51.100.20'), req('198.51.100.21'))
  resolveAll({ trust: 2 }, req('10.0.0.1', { 'x-forwarded-for': '198.51.100.20' }))
  resolveAll({ trust: 1 }, req('198.51.100.20'))
  // a hop count whose chain is as long as the count: the proxies are there
  resolveAll({ trust: 1 }, req('10.0.0.1', { 'x-forwarded-for': '198.51.100.20' }))
  const all = await warnings()
  const mine = all.filter(w => w.code === 'PROXY_AWARE_DIRECT_CONNECTION')
  t.equal(mine.length, 3, 'once per engine')
  t.match(mine[0]!.message, /trust: true, and a request from "198\.51\.100\.20" came with no forwarded address/)
  t.match(mine[0]!.message, /List your proxies' addresses in trust instead of true/)
  t.match(mine[1]!.message, /trust: 2 is a hop count.*10\.0\.0\.1 <- 198\.51\.100\.20.*instead of a count/)
  t.match(mine[2]!.message, /trust: 1 is a hop count, and a request from "198\.51\.100\.20" came through 0/)
})

t.test('core: every hop trusted, so the client chose its own address', async t => {
  const warnings = processWarnings(t)
  resolveAll(
    { trust: ['private'] },
    req('10.0.0.1', { 'x-forwarded-for': '10.9.9.9, 10.0.0.2' }),
    req('10.0.0.1', { 'x-forwarded-for': '10.9.9.8' }),
  )
  resolveAll({ trust: true, headers: ['forwarded'] }, req('198.51.100.20', { forwarded: 'for=6.6.6.6' }))
  const mine = (await warnings()).filter(w => w.code === 'PROXY_AWARE_CLIENT_CHOSE_IP')
  t.equal(mine.length, 2, 'once per engine')
  t.match(mine[0]!.message, /X-Forwarded-For chain was trusted \(10\.0\.0\.1 <- 10\.0\.0\.2 <- 10\.9\.9\.9\)/)
  t.match(mine[0]!.message, /narrow the trust entry that contains "10\.9\.9\.9" \(trust: \["private"\]\)/)
  t.match(mine[1]!.message, /Forwarded chain.*"6\.6\.6\.6".*replace trust: true with them/)
  // it does not claim the client wrote an entry a trusted proxy may have written (issue 24)
  t.notMatch(mine[0]!.message, /which the client wrote/)
  t.match(
    mine[0]!.message,
    /"10\.9\.9\.9" became the client IP without any check: a trusted proxy wrote it if the client connected to that proxy, but a client that reaches a trusted address first, or sends its own X-Forwarded-For, writes it itself/,
  )
})

t.test('core: a correct setup warns about nothing', async t => {
  const warnings = processWarnings(t)
  resolveAll(
    { trust: ['loopback', '10.0.0.0/8'] },
    // through the load balancer, an untrusted client at the left
    req('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.20' }),
    req('127.0.0.1', { 'forwarded': 'for=198.51.100.21', 'x-forwarded-for': '198.51.100.21' }),
    // direct visitors, with and without forged headers
    req('198.51.100.22'),
    req('198.51.100.23', { 'x-forwarded-for': '10.0.0.9' }),
  )
  resolveAll(
    { trust: ['cloudflare'], presetsFile: presetsFile(today) },
    req('45.60.1.2', { 'x-forwarded-for': '198.51.100.20' }),
    req('2a06:98c0::1', { 'x-forwarded-for': '198.51.100.21' }),
  )
  // a platform preset: Fly Proxy, then the app's own address, then the client
  resolveAll(
    { trust: ['fly'], platform: 'fly' },
    req('172.16.5.4', { 'x-forwarded-for': '198.51.100.20, 66.241.124.1' }),
  )
  resolveAll(
    { trust: ['loopback'], headers: ['forwarded'] },
    req('127.0.0.1', { forwarded: 'for=198.51.100.20' }),
    req('127.0.0.1'),
  )
  // a vendor header's client, with and without an X-Forwarded-For chain:
  // the client did not choose it from the chain
  resolveAll(
    { trust: ['cloudflare'], presetsFile: presetsFile(today), clientIpHeader: 'cf-connecting-ip' },
    req('45.60.1.2', { 'cf-connecting-ip': '198.51.100.20' }),
    req('45.60.1.3', { 'cf-connecting-ip': '198.51.100.21', 'x-forwarded-for': '198.51.100.21' }),
  )
  t.same(await warnings(), [], 'no warning at all')
})

t.test('core: with trustCertificate, the untrusted local proxy warning says the certificate did not match', async t => {
  const warnings = processWarnings(t)
  resolveAll(
    { trust: [], trustCertificate: { uri: ['spiffe://example.org/proxy'] } },
    req('127.0.0.1', { 'x-forwarded-for': '203.0.113.7' }),
  )
  const mine = (await warnings()).filter(w => w.code === 'PROXY_AWARE_UNTRUSTED_PROXY')
  t.equal(mine.length, 1)
  t.match(mine[0]!.message, /add "loopback" to trust.*presented none that matches trustCertificate/)
})

t.test('core: a stale preset is reported once, at startup, with the refresh command', async t => {
  const warnings = processWarnings(t)
  // (ages in days: a run that crosses midnight UTC sees one day more)
  const stale = daysAgo(400)
  const old = presetsFile(stale)
  createTrustProxy({ trust: ['cloudflare', 'loopback'], presetsFile: old })
  createTrustProxy({ trust: ['cloudflare'], presetsFile: old, maxPresetAge: 0 })
  createTrustProxy({ trust: ['cloudflare'], presetsFile: old, maxPresetAge: false })
  createTrustProxy({ trust: ['cloudflare'], presetsFile: old, maxPresetAge: 401 })
  // undated list: its age is the day it was taken
  createTrustProxy({ trust: ['cloudflare'], presetsFile: presetsFile(null, daysAgo(30)), maxPresetAge: 29 })
  const mine = (await warnings()).filter(w => w.code === 'PROXY_AWARE_STALE_PRESET')
  t.equal(mine.length, 2)
  t.match(
    mine[0]!.message,
    new RegExp(`cloudflare \\(${stale}, 40[01] days\\) are older than maxPresetAge \\(180 days\\)`),
  )
  t.match(mine[0]!.message, /npx proxy-aware refresh-presets --out presets\.json.*presetsFile.*PROXY_AWARE_PRESETS/)
  t.match(mine[1]!.message, /cloudflare \(.*, 3[01] days\) are older than maxPresetAge \(29 days\)/)
  for (const maxPresetAge of [-1, 1.5, '90', true, 36501]) {
    t.throws(
      () => createTrustProxy({ trust: ['cloudflare'], maxPresetAge: maxPresetAge as number }),
      { name: 'ProxyAwareConfigError', option: 'maxPresetAge' },
      `maxPresetAge ${String(maxPresetAge)}`,
    )
  }
})

/** Fastify with a logger whose warnings are recorded. */
const fastifyApp = async (t: Test, options: Parameters<typeof fastifyTrustProxy>[1]) => {
  const log = recorder()
  const app = Fastify({ logger: { level: 'warn', stream: log.stream } })
  await app.register(fastifyTrustProxy, options)
  app.get('/', request => ({ ip: request.ip }))
  t.teardown(() => app.close())
  await app.ready()
  return { app, warnings: () => log.lines.filter(l => l.level === 40) }
}

t.test('Fastify: through its logger, once per condition', async t => {
  const process = processWarnings(t)
  const { app, warnings } = await fastifyApp(t, { trust: ['10.0.0.0/8'] })
  for (const client of ['198.51.100.20', '198.51.100.21']) {
    const res = await app.inject({ url: '/', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': client } })
    t.equal(res.json().ip, '127.0.0.1')
  }
  await app.inject({ url: '/', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '10.0.0.2' } })
  await app.inject({ url: '/', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': '10.0.0.3' } })
  const lines = warnings()
  t.same(
    lines.map(l => l.code),
    ['PROXY_AWARE_UNTRUSTED_PROXY', 'PROXY_AWARE_CLIENT_CHOSE_IP'],
  )
  t.match(lines[0], { peer: '127.0.0.1', add: 'loopback', msg: /add "loopback" to trust/ })
  t.match(lines[1], { ip: '10.0.0.2', msg: /narrow the trust entry/ })
  t.same(await process(), [], 'not as process warnings')
})

t.test('Fastify: a stale preset is logged at registration', async t => {
  const { warnings } = await fastifyApp(t, { trust: ['cloudflare'], presetsFile: presetsFile(daysAgo(200)) })
  t.match(warnings(), [{ code: 'PROXY_AWARE_STALE_PRESET', msg: /refresh-presets/ }])
})

t.test('Fastify: a correct setup logs no warning', async t => {
  const process = processWarnings(t)
  const { app, warnings } = await fastifyApp(t, { trust: ['loopback', 'cloudflare'], presetsFile: presetsFile(today) })
  const cases = [
    { remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.20' } },
    { remoteAddress: '45.60.1.2', headers: { 'x-forwarded-for': '198.51.100.21' } },
    { remoteAddress: '198.51.100.22', headers: {} },
    { remoteAddress: '198.51.100.23', headers: { 'x-forwarded-for': '127.0.0.1' } },
  ]
  for (const c of cases) await app.inject({ url: '/', ...c })
  t.same(warnings(), [])
  t.same(await process(), [])
})

/** Express on a real socket, with a recording logger (or none). */
const expressApp = async (t: Test, options: Parameters<typeof expressTrustProxy>[0]) => {
  const app = express()
  app.use(expressTrustProxy(options))
  app.get('/', (req, res) => res.json({ ip: req.ip }))
  return listen(t, app.listen(0, '127.0.0.1'))
}

t.test('Express: through its logger option, once per condition', async t => {
  const process = processWarnings(t)
  const log = recorder()
  const port = await expressApp(t, { trust: '127.0.0.2', logger: log })
  const forged = { 'x-forwarded-for': '198.51.100.20' }
  t.equal((await request(port, { from: '127.0.0.3', headers: forged })).json.ip, '127.0.0.3')
  await request(port, { from: '127.0.0.3', headers: forged })
  await request(port, { from: '127.0.0.4', headers: forged })
  t.match(log.entries, [
    { level: 'warn', obj: { code: 'PROXY_AWARE_UNTRUSTED_PROXY', peer: '127.0.0.3' }, msg: /add "loopback"/ },
  ])
  t.equal(log.entries.length, 1)
  t.same(await process(), [])
})

t.test('Express without a logger: process warnings', async t => {
  const process = processWarnings(t)
  const port = await expressApp(t, { trust: true })
  await request(port, { from: '127.0.0.3' })
  await request(port, { from: '127.0.0.3' })
  t.match(
    (await process()).map(w => w.code),
    ['PROXY_AWARE_TRUST_ALL', 'PROXY_AWARE_DIRECT_CONNECTION'],
    'at startup, then the first direct request',
  )
})

t.test('Express: a correct setup logs no warning', async t => {
  const process = processWarnings(t)
  const log = recorder()
  const port = await expressApp(t, { trust: '127.0.0.2', logger: log })
  t.equal(
    (await request(port, { from: '127.0.0.2', headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.20' } })).json.ip,
    '198.51.100.20',
  )
  await request(port, { from: '127.0.0.3' })
  t.same(log.entries, [])
  t.same(await process(), [])
})

t.test('isLocal agrees with ipaddr.js on the private preset, for canonical addresses', async t => {
  const ranges = PRESETS.private!.map(r => ipaddr.parseCIDR(r))
  const reference = (ip: string) => {
    const a = ipaddr.parse(ip)
    return ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits))
  }
  const table = [
    '127.0.0.1',
    '127.255.255.255',
    '10.0.0.0',
    '10.255.1.1',
    '11.0.0.1',
    '1.0.0.1',
    '100.64.0.1',
    '172.15.255.255',
    '172.16.0.0',
    '172.31.255.255',
    '172.32.0.0',
    '192.168.0.1',
    '192.169.0.1',
    '191.168.0.1',
    '169.254.1.1',
    '169.253.1.1',
    '1.1.1.1',
    '203.0.113.1',
    '::1',
    '::2',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'febf::1',
    'fec0::1',
    'fb00::1',
    'fc::1',
    'fe8::1',
    '10::1',
    '1::',
    '127::1',
    '2001:db8::1',
    'ff02::1',
  ]
  for (const ip of table) t.equal(isLocal(ip), reference(ip), ip)
  // random canonical addresses (canonicalIp is the resolver's own formatting)
  let seed = 7
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32
  const pick = () => [10, 127, 169, 172, 192, 1, 100, 203][Math.floor(rand() * 8)]
  let mismatches = 0
  for (let i = 0; i < 5000; i++) {
    const v4 = `${pick()}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`
    const v6 = canonicalIp(
      Array.from({ length: 8 }, (_, g) =>
        g === 0
          ? ['fc00', 'fd00', 'fe80', 'febf', 'fec0', '2001', '0', 'f'][Math.floor(rand() * 8)]!
          : Math.floor(rand() * 3).toString(16),
      ).join(':'),
    )!
    for (const ip of [canonicalIp(v4)!, v6]) if (isLocal(ip) !== reference(ip)) mismatches++
  }
  t.equal(mismatches, 0)
})
