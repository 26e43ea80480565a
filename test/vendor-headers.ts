// Vendor client-IP headers (`clientIpHeader`) and Azure Front Door's
// X-Azure-FDID (`azureFrontDoorId`), through the public API: each vendor's
// documented header shape, the same header forged from outside the vendor's
// ranges, another vendor's header, invalid values, CloudFront's unbracketed
// IPv6, CDN -> nginx -> app chains, and FDID match/mismatch/missing with its
// 403 in the core, Fastify and Express. Addresses inside a vendor's ranges
// come from its data file.
import t, { type Test } from 'tap'
import { isIP } from 'node:net'
import { createServer } from 'node:http'
import fc from 'fast-check'
import Fastify from 'fastify'
import express from 'express'
import {
  canonicalIp,
  createTrustProxy,
  ProxyAwareConfigError,
  type ClientIpHeader,
  type TrustProxyOptions,
} from '../src/index.js'
import { trustProxy as fastifyTrustProxy } from '../src/fastify.js'
import { trustProxy as expressTrustProxy } from '../src/express.js'
import { listen, recorder, request, unixPeer } from './support/http.js'
import { bundledRanges, inside } from './support/presets.js'

const ranges = bundledRanges
const edgeOf = (vendor: string) => inside(ranges(vendor).find(r => !r.includes(':'))!)

const CLIENT = '203.0.113.9'
const HEADER_CLIENT = '198.51.100.23'
const OUTSIDER = '192.0.2.7'
const FDID = '55ce4ed1-4b06-4bf1-b40e-4638452104da'
const OTHER_FDID = 'a0a0a0a0-bbbb-cccc-dddd-e1e1e1e1e1e1'

// a real Unix socket (no address): trustUnixSocket trusts sockets by what they are
const [UNIX] = await unixPeer()

/** Resolve a request from `peer` (undefined: over a Unix socket). */
const resolve = (options: TrustProxyOptions, peer: string | undefined, headers: Record<string, string | string[]>) =>
  createTrustProxy(options).resolve({ headers, socket: peer === undefined ? UNIX : { remoteAddress: peer } })

const throwsConfig = (t: Test, fn: () => unknown, option: string, text: RegExp, label: string) => {
  try {
    fn()
    t.fail(`${label}: did not throw`)
  } catch (err) {
    t.type(err, ProxyAwareConfigError, label)
    t.equal((err as ProxyAwareConfigError).option, option, `${label}: names ${option}`)
    t.match((err as Error).message, text, label)
  }
}

/** Each vendor header, its preset, and the header value its vendor documents for HEADER_CLIENT. */
const VENDORS: {
  header: ClientIpHeader
  trust: string
  extra?: Partial<TrustProxyOptions>
  value: string
  doc: string
}[] = [
  // "CF-Connecting-IP provides the client IP address connecting to Cloudflare"
  {
    header: 'cf-connecting-ip',
    trust: 'cloudflare',
    value: HEADER_CLIENT,
    doc: 'https://developers.cloudflare.com/fundamentals/reference/http-headers/',
  },
  // the Enterprise managed transform "Add True-Client-IP header": the visitor's IP
  {
    header: 'true-client-ip',
    trust: 'cloudflare',
    value: HEADER_CLIENT,
    doc: 'https://developers.cloudflare.com/rules/transform/managed-transforms/reference/',
  },
  // a CloudFront Function setting true-client-ip to event.viewer.ip
  {
    header: 'true-client-ip',
    trust: 'cloudfront',
    value: HEADER_CLIENT,
    doc: 'https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/example-function-add-true-client-ip-header.html',
  },
  // "The 'true' client IP address", a copy of client.ip
  {
    header: 'fastly-client-ip',
    trust: 'fastly',
    value: HEADER_CLIENT,
    doc: 'https://www.fastly.com/documentation/reference/http/http-headers/Fastly-Client-IP',
  },
  // "X-Azure-SocketIP: 127.0.0.1": the socket IP of the TCP connection
  {
    header: 'x-azure-socketip',
    trust: 'azure-front-door',
    extra: { azureFrontDoorId: FDID },
    value: HEADER_CLIENT,
    doc: 'https://learn.microsoft.com/azure/frontdoor/front-door-http-headers-protocol',
  },
  // "<client_ip>:<port>", IPv6 not bracketed
  {
    header: 'cloudfront-viewer-address',
    trust: 'cloudfront',
    value: `${HEADER_CLIENT}:46532`,
    doc: 'https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/adding-cloudfront-headers.html',
  },
]

for (const v of VENDORS) {
  t.test(`${v.header} from ${v.trust} (${v.doc})`, async t => {
    const options = { trust: v.trust, clientIpHeader: v.header, ...v.extra }
    const edge = edgeOf(v.trust)
    const headers = { 'x-forwarded-for': CLIENT, [v.header]: v.value, 'x-azure-fdid': FDID }
    const r = resolve(options, edge, headers)
    t.equal(r.ip, HEADER_CLIENT, 'the header is the client')
    t.equal(r.source, 'header')
    t.same(r.ips, [edge, HEADER_CLIENT])
    t.equal(r.hops, 1)
    // forged: the same header from outside the vendor's ranges is ignored
    const forged = resolve(options, OUTSIDER, headers)
    t.equal(forged.ip, OUTSIDER, 'forged from outside')
    t.equal(forged.source, 'socket')
    // no header: the walk answers
    const plain = resolve(options, edge, { 'x-forwarded-for': CLIENT, 'x-azure-fdid': FDID })
    t.equal(plain.ip, CLIENT)
    t.equal(plain.source, 'x-forwarded-for')
    // upper case in the option is the same header
    t.equal(
      resolve({ ...options, clientIpHeader: v.header.toUpperCase() as ClientIpHeader }, edge, headers).ip,
      HEADER_CLIENT,
    )
  })
}

t.test("another vendor's header is never read", async t => {
  const cf = edgeOf('cloudflare')
  const fastly = edgeOf('fastly')
  const trust = ['cloudflare', 'fastly']
  // a Fastly edge carrying CF-Connecting-IP (a client sent it through Fastly)
  const r = resolve({ trust, clientIpHeader: 'cf-connecting-ip' }, fastly, {
    'x-forwarded-for': CLIENT,
    'cf-connecting-ip': HEADER_CLIENT,
  })
  t.equal(r.ip, CLIENT)
  t.equal(r.source, 'x-forwarded-for')
  // and Fastly-Client-IP through Cloudflare
  const s = resolve({ trust, clientIpHeader: 'fastly-client-ip' }, cf, {
    'x-forwarded-for': CLIENT,
    'fastly-client-ip': HEADER_CLIENT,
  })
  t.equal(s.ip, CLIENT)
  // the configured header is the only one read: CF-Connecting-IP is not
  // read when the option names Fastly's
  const u = resolve({ trust, clientIpHeader: 'fastly-client-ip' }, fastly, {
    'x-forwarded-for': CLIENT,
    'cf-connecting-ip': OUTSIDER,
    'fastly-client-ip': HEADER_CLIENT,
  })
  t.equal(u.ip, HEADER_CLIENT)
})

t.test('CDN -> nginx -> app: the writer is the farthest trusted address', async t => {
  const edge = edgeOf('cloudflare')
  const options = { trust: ['loopback', 'cloudflare'], clientIpHeader: 'cf-connecting-ip' as const }
  // nginx (the peer) appended the Cloudflare edge it saw
  const r = resolve(options, '127.0.0.1', {
    'x-forwarded-for': `${CLIENT}, ${edge}`,
    'cf-connecting-ip': HEADER_CLIENT,
  })
  t.equal(r.ip, HEADER_CLIENT)
  t.same(r.ips, ['127.0.0.1', edge, HEADER_CLIENT])
  t.equal(r.hops, 2)
  t.equal(r.reason, 'untrusted-hop')
  // straight to nginx, bypassing Cloudflare: the client's own header is ignored
  const bypass = resolve(options, '127.0.0.1', { 'x-forwarded-for': CLIENT, 'cf-connecting-ip': HEADER_CLIENT })
  t.equal(bypass.ip, CLIENT)
  t.equal(bypass.source, 'x-forwarded-for')
  // nor does writing a Cloudflare address into X-Forwarded-For help
  const spoof = resolve(options, '127.0.0.1', {
    'x-forwarded-for': `${edge}, ${CLIENT}`,
    'cf-connecting-ip': HEADER_CLIENT,
  })
  t.equal(spoof.ip, CLIENT)
  // every address trusted: the farthest (leftmost) wrote it
  const all = resolve(options, '127.0.0.1', { 'x-forwarded-for': edge, 'cf-connecting-ip': HEADER_CLIENT })
  t.equal(all.ip, HEADER_CLIENT)
  t.equal(all.reason, 'end-of-chain')
  // a junk entry beyond the edge: the edge is still the farthest trusted
  const junk = resolve(options, '127.0.0.1', {
    'x-forwarded-for': `unknown, ${edge}`,
    'cf-connecting-ip': HEADER_CLIENT,
  })
  t.equal(junk.ip, HEADER_CLIENT)
  t.equal(junk.reason, 'invalid-entry')
  // through RFC 7239 Forwarded as well
  const fwd = resolve({ ...options, headers: ['forwarded'] }, '127.0.0.1', {
    'forwarded': `for=${CLIENT}, for=${edge}`,
    'cf-connecting-ip': HEADER_CLIENT,
  })
  t.equal(fwd.ip, HEADER_CLIENT)
  // no forwarded header of the configured convention: the peer wrote it
  const peer = resolve({ ...options, headers: ['forwarded'] }, edge, { 'cf-connecting-ip': HEADER_CLIENT })
  t.equal(peer.ip, HEADER_CLIENT)
  t.same(peer.ips, [edge, HEADER_CLIENT])
})

t.test('invalid values fail closed to the walk', async t => {
  const edge = edgeOf('cloudflare')
  const options = { trust: 'cloudflare', clientIpHeader: 'cf-connecting-ip' as const }
  for (const value of [
    '',
    'unknown',
    `${HEADER_CLIENT}:443`,
    `[2001:db8::1]`,
    'fe80::1%eth0',
    '0.0.0.0',
    '::',
    `${HEADER_CLIENT}, ${OUTSIDER}`,
    '010.0.0.1',
    ' 198.51.100.23',
  ]) {
    const r = resolve(options, edge, { 'x-forwarded-for': CLIENT, 'cf-connecting-ip': value })
    t.equal(r.ip, CLIENT, `${JSON.stringify(value)}: the walk's client`)
    t.equal(r.source, 'x-forwarded-for')
  }
  // a repeated header left as an array
  const arr = resolve(options, edge, { 'x-forwarded-for': CLIENT, 'cf-connecting-ip': [HEADER_CLIENT, OUTSIDER] })
  t.equal(arr.ip, CLIENT)
  // canonical form: IPv6 compressed, IPv4-mapped as IPv4
  t.equal(resolve(options, edge, { 'cf-connecting-ip': '2001:DB8:0:0::7' }).ip, '2001:db8::7')
  t.equal(resolve(options, edge, { 'cf-connecting-ip': '::ffff:198.51.100.23' }).ip, HEADER_CLIENT)
})

t.test('CloudFront-Viewer-Address: ip:port, IPv6 unbracketed', async t => {
  const edge = edgeOf('cloudfront')
  const options = { trust: 'cloudfront', clientIpHeader: 'cloudfront-viewer-address' as const }
  const at = (value: string) =>
    resolve(options, edge, { 'x-forwarded-for': CLIENT, 'cloudfront-viewer-address': value })
  t.equal(at('2001:db8:85a3::8a2e:370:7334:443').ip, '2001:db8:85a3::8a2e:370:7334')
  t.equal(at('2001:DB8::1:0').ip, '2001:db8::1', 'port 0, upper case')
  t.equal(at('198.51.100.23:65535').ip, HEADER_CLIENT)
  for (const bad of [
    HEADER_CLIENT,
    '[2001:db8::1]:443',
    '198.51.100.23:65536',
    '198.51.100.23:',
    '198.51.100.23:4a',
    '198.51.100.23:123456',
    ':443',
    '0.0.0.0:80',
  ]) {
    t.equal(at(bad).ip, CLIENT, `${bad}: refused`)
  }
})

t.test('CloudFront-Viewer-Address parser (property)', async t => {
  const edge = edgeOf('cloudfront')
  const engine = createTrustProxy({ trust: 'cloudfront', clientIpHeader: 'cloudfront-viewer-address' })
  const at = (value: string) =>
    engine.resolve({
      headers: { 'x-forwarded-for': CLIENT, 'cloudfront-viewer-address': value },
      socket: { remoteAddress: edge },
    }).ip
  const unspecified = (ip: string) => ip === '0.0.0.0' || ip === '::'
  const holds = (property: fc.IProperty<any>, label: string) => t.doesNotThrow(() => fc.assert(property), label)
  const anyIp = fc.oneof(fc.ipV4(), fc.ipV6())
  holds(
    fc.property(anyIp, fc.integer({ min: 0, max: 65535 }), (ip, port) => {
      const alone = canonicalIp(ip)!
      return at(`${ip}:${port}`) === (unspecified(alone) ? CLIENT : alone)
    }),
    'every address with every port reads back as canonicalIp reads the address alone',
  )
  // near misses too: an address, then anything after a colon; or anything
  const value = fc.oneof(
    fc.tuple(anyIp, fc.string({ maxLength: 7 })).map(([ip, tail]) => `${ip}:${tail}`),
    fc.tuple(fc.string({ maxLength: 6 }), anyIp, fc.nat(99999)).map(([head, ip, port]) => `${head}${ip}:${port}`),
    fc.string({ maxLength: 48 }),
  )
  holds(
    fc.property(value, v => {
      const ip = at(v)!
      if (ip === CLIENT) return true
      const colon = v.lastIndexOf(':')
      return isIP(ip) !== 0 && /^\d{1,5}$/.test(v.slice(colon + 1)) && canonicalIp(v.slice(0, colon)) === ip
    }),
    "anything: the walk's client, or the IP before the last colon when a port follows it",
  )
  holds(
    fc.property(fc.ipV6(), fc.nat(65535), (ip, port) => at(`[${ip}]:${port}`) === CLIENT),
    "a bracketed address is not CloudFront's form",
  )
})

t.test(
  'Fly-Client-IP: from Fly Proxy, not through another CDN (https://fly.io/docs/networking/request-headers/)',
  async t => {
    const options = { trust: 'fly', platform: 'fly' as const, clientIpHeader: 'fly-client-ip' as const }
    const appIp = '66.241.124.10'
    // Fly Proxy (the peer) appends the client, then the app's own IP
    const r = resolve(options, '172.19.0.2', {
      'x-forwarded-for': `${CLIENT}, ${appIp}`,
      'fly-client-ip': HEADER_CLIENT,
    })
    t.equal(r.ip, HEADER_CLIENT)
    t.equal(r.source, 'header')
    // Cloudflare in front of Fly: Fly-Client-IP is then Cloudflare's address
    // ("set to proxy service's IP addresses"), and the writer is Cloudflare
    const cf = edgeOf('cloudflare')
    const both = resolve({ ...options, trust: ['fly', 'cloudflare'] }, '172.19.0.2', {
      'x-forwarded-for': `${CLIENT}, ${cf}, ${appIp}`,
      'fly-client-ip': cf,
    })
    t.equal(both.ip, CLIENT)
    t.equal(both.source, 'x-forwarded-for')
  },
)

t.test('X-Real-IP from any trusted proxy, explicit opt-in', async t => {
  const options = { trust: 'loopback', clientIpHeader: 'x-real-ip' as const }
  const r = resolve(options, '127.0.0.1', { 'x-forwarded-for': CLIENT, 'x-real-ip': HEADER_CLIENT })
  t.equal(r.ip, HEADER_CLIENT)
  t.equal(r.source, 'header')
  // from an untrusted peer it is never read
  t.equal(resolve(options, OUTSIDER, { 'x-real-ip': HEADER_CLIENT }).ip, OUTSIDER)
  // without the option X-Real-IP means nothing
  t.equal(resolve({ trust: 'loopback' }, '127.0.0.1', { 'x-real-ip': HEADER_CLIENT }).ip, '127.0.0.1')
  // nginx on a trusted Unix socket wrote it
  const unix = resolve({ ...options, trustUnixSocket: true }, undefined, { 'x-real-ip': HEADER_CLIENT })
  t.equal(unix.ip, HEADER_CLIENT)
  t.same(unix.ips, [HEADER_CLIENT])
  t.equal(unix.hops, 1, 'the socket is a hop')
})

t.test('a trusted Unix socket in front of a CDN', async t => {
  const edge = edgeOf('cloudflare')
  const options = { trust: 'cloudflare', clientIpHeader: 'cf-connecting-ip' as const, trustUnixSocket: true }
  // the socket appended the edge: the edge wrote the header
  const r = resolve(options, undefined, { 'x-forwarded-for': `${CLIENT}, ${edge}`, 'cf-connecting-ip': HEADER_CLIENT })
  t.equal(r.ip, HEADER_CLIENT)
  t.same(r.ips, [edge, HEADER_CLIENT])
  // the socket's own client is no Cloudflare edge: the socket has no
  // address to be one either
  const s = resolve(options, undefined, { 'x-forwarded-for': CLIENT, 'cf-connecting-ip': HEADER_CLIENT })
  t.equal(s.ip, CLIENT)
  t.equal(resolve(options, undefined, { 'cf-connecting-ip': HEADER_CLIENT }).ip, undefined)
})

t.test('clientIpHeader: bad configuration throws', async t => {
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'cloudflare', clientIpHeader: 'x-client-ip' as ClientIpHeader }),
    'clientIpHeader',
    /must be one of 'cf-connecting-ip', .* got "x-client-ip"/,
    'unknown header',
  )
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'cloudflare', clientIpHeader: 42 as unknown as ClientIpHeader }),
    'clientIpHeader',
    /got 42/,
    'not a string',
  )
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'loopback', clientIpHeader: 'toString' as ClientIpHeader }),
    'clientIpHeader',
    /got "toString"/,
    'no prototype keys',
  )
  throwsConfig(
    t,
    () => createTrustProxy({ trust: ['loopback', 'fastly'], clientIpHeader: 'cf-connecting-ip' }),
    'clientIpHeader',
    /only "cloudflare" writes, but trust has no such preset/,
    'vendor not trusted',
  )
  throwsConfig(
    t,
    () => createTrustProxy({ trust: '127.0.0.1', clientIpHeader: 'true-client-ip' }),
    'clientIpHeader',
    /"cloudflare" or "cloudfront"/,
    'neither vendor',
  )
  throwsConfig(
    t,
    () => createTrustProxy({ trust: ['cloudflare', 'cloudfront'], clientIpHeader: 'true-client-ip' }),
    'clientIpHeader',
    /trust names both/,
    'both vendors',
  )
  throwsConfig(
    t,
    () => createTrustProxy({ trust: true, clientIpHeader: 'fly-client-ip' }),
    'clientIpHeader',
    /"fly"/,
    'trust: true names no vendor',
  )
})

t.test('azureFrontDoorId: the id must match, or Front Door is not believed', async t => {
  const fd = edgeOf('azure-front-door')
  const options = { trust: ['loopback', 'azure-front-door'], azureFrontDoorId: [OTHER_FDID, FDID.toUpperCase()] }
  const headers = { 'x-forwarded-for': CLIENT, 'x-forwarded-proto': 'https' }
  // match (case-insensitive; one of several ids)
  const ok = resolve(options, fd, { ...headers, 'x-azure-fdid': FDID })
  t.equal(ok.ip, CLIENT)
  t.equal(ok.protocol, 'https')
  // another profile's id, none, repeated: Front Door is not a trusted proxy
  for (const id of ['b1b1b1b1-bbbb-cccc-dddd-e1e1e1e1e1e1', undefined, `${FDID}, ${FDID}`]) {
    const r = resolve(options, fd, id === undefined ? headers : { ...headers, 'x-azure-fdid': id })
    t.equal(r.ip, fd, `${id}: the Front Door address is the client`)
    t.equal(r.reason, 'untrusted-peer')
    t.equal(r.protocol, 'http')
  }
  // Front Door -> nginx -> app: the walk stops at Front Door
  const chained = resolve(options, '127.0.0.1', { 'x-forwarded-for': `${CLIENT}, ${fd}`, 'x-azure-fdid': OTHER_FDID })
  t.equal(chained.ip, CLIENT, 'any listed id matches')
  const wrong = resolve(options, '127.0.0.1', { 'x-forwarded-for': `${CLIENT}, ${fd}` })
  t.equal(wrong.ip, fd)
  t.equal(wrong.reason, 'untrusted-hop')
  // the loopback proxy itself stays trusted without any id
  t.equal(resolve(options, '127.0.0.1', { 'x-forwarded-for': CLIENT }).ip, CLIENT)
  // X-Azure-SocketIP is not read from a Front Door hop with another id
  const socketIp = resolve({ ...options, clientIpHeader: 'x-azure-socketip' }, fd, {
    ...headers,
    'x-azure-socketip': HEADER_CLIENT,
  })
  t.equal(socketIp.ip, fd)
})

t.test('azureFrontDoorId: bad configuration throws; the preset without it warns', async t => {
  for (const bad of ['55ce4ed1', [], [FDID, 'x'], 42, `{${FDID}}`]) {
    throwsConfig(
      t,
      () => createTrustProxy({ trust: 'azure-front-door', azureFrontDoorId: bad as string }),
      'azureFrontDoorId',
      /must be your Front Door profile's ID \(a GUID/,
      JSON.stringify(bad),
    )
  }
  throwsConfig(
    t,
    () => createTrustProxy({ trust: 'cloudflare', azureFrontDoorId: FDID }),
    'azureFrontDoorId',
    /no "azure-front-door" preset/,
    'no preset',
  )
  const warnings: Error[] = []
  const listener = (w: Error) => warnings.push(w)
  process.on('warning', listener)
  t.teardown(() => void process.off('warning', listener))
  createTrustProxy({ trust: 'azure-front-door' })
  createTrustProxy({ trust: 'azure-front-door, loopback', azureFrontDoorId: FDID })
  await new Promise(resolve => setImmediate(resolve))
  const ours = warnings.filter(w => (w as { code?: string }).code === 'PROXY_AWARE_AZURE_FDID')
  t.equal(ours.length, 1, 'one warning, for the engine without the id')
  t.equal(ours[0]!.name, 'SecurityWarning')
  t.match(ours[0]!.message, /azureFrontDoorId/)
})

t.test('azureFrontDoorId: 403 in the core handle()', async t => {
  const fd = edgeOf('azure-front-door')
  const log = recorder()
  const engine = createTrustProxy({ trust: ['127.0.0.2', 'azure-front-door'], azureFrontDoorId: FDID })
  const server = createServer((req, res) => {
    if (engine.handle(req, res, log)) return
    res.end(engine.resolve(req).ip)
  })
  const port = await listen(t, server)
  // Front Door -> proxy 127.0.0.2 -> app
  const good = await request(port, {
    from: '127.0.0.2',
    headers: { 'x-forwarded-for': `${CLIENT}, ${fd}`, 'x-azure-fdid': FDID },
  })
  t.equal(good.status, 200)
  t.equal(good.body, CLIENT)
  const bad = await request(port, {
    from: '127.0.0.2',
    headers: { 'x-forwarded-for': `${CLIENT}, ${fd}`, 'x-azure-fdid': OTHER_FDID },
  })
  t.equal(bad.status, 403)
  t.equal(bad.body, 'Forbidden\n')
  t.equal(bad.headers['cache-control'], 'no-store')
  t.match(log.entries, [{ level: 'warn', obj: { azureFrontDoorId: OTHER_FDID, frontDoor: fd, peer: '127.0.0.2' } }])
  // HEAD: no body
  const head = await request(port, { method: 'HEAD', from: '127.0.0.2', headers: { 'x-forwarded-for': fd } })
  t.equal(head.status, 403)
  t.equal(head.body, '')
  // a request that did not come through Front Door is not refused
  const direct = await request(port, { from: '127.0.0.3' })
  t.equal(direct.status, 200)
  t.equal(direct.body, '127.0.0.3')
})

t.test('azureFrontDoorId: 403 in Fastify', async t => {
  const fd = edgeOf('azure-front-door')
  const app = Fastify()
  await app.register(fastifyTrustProxy, {
    trust: ['127.0.0.2', 'azure-front-door'],
    azureFrontDoorId: FDID,
    clientIpHeader: 'x-azure-socketip',
  })
  app.get('/', req => ({ ip: req.ip, source: req.proxyAware.source }))
  const good = await app.inject({
    url: '/',
    remoteAddress: fd,
    headers: { 'x-forwarded-for': CLIENT, 'x-azure-fdid': FDID, 'x-azure-socketip': HEADER_CLIENT },
  })
  t.same(good.json(), { ip: HEADER_CLIENT, source: 'header' })
  const missing = await app.inject({ url: '/', remoteAddress: fd, headers: { 'x-forwarded-for': CLIENT } })
  t.equal(missing.statusCode, 403)
  t.equal(missing.body, 'Forbidden\n')
  const other = await app.inject({
    url: '/',
    remoteAddress: fd,
    headers: { 'x-azure-fdid': OTHER_FDID, 'x-azure-socketip': HEADER_CLIENT },
  })
  t.equal(other.statusCode, 403)
  // inject's own 127.0.0.1 is no Front Door address
  t.same((await app.inject({ url: '/', headers: { 'x-azure-socketip': HEADER_CLIENT } })).json(), {
    ip: '127.0.0.1',
    source: 'socket',
  })
  // over a real socket too (the request phase runs before Fastify's router)
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const { port } = app.server.address() as { port: number }
  const real = await request(port, { from: '127.0.0.4', headers: { 'x-azure-fdid': OTHER_FDID } })
  t.equal(real.status, 200, 'a direct client is not Front Door')
  // Front Door -> proxy 127.0.0.2 -> app
  const via = (id: string) =>
    request(port, { from: '127.0.0.2', headers: { 'x-forwarded-for': `${CLIENT}, ${fd}`, 'x-azure-fdid': id } })
  t.same((await via(FDID)).json, { ip: CLIENT, source: 'x-forwarded-for' })
  const refused = await via(OTHER_FDID)
  t.equal(refused.status, 403)
  t.equal(refused.body, 'Forbidden\n')
})

t.test('Express over real sockets: CDN -> proxy -> app, vendor header and FDID', async t => {
  const cf = edgeOf('cloudflare')
  const fd = edgeOf('azure-front-door')
  const app = express()
  app.use(
    expressTrustProxy({
      trust: ['127.0.0.2', 'cloudflare', 'azure-front-door'],
      clientIpHeader: 'cf-connecting-ip',
      azureFrontDoorId: FDID,
    }),
  )
  app.get('/', (req, res) => {
    res.json({ ip: req.ip, source: req.proxyAware.source })
  })
  const port = await listen(t, createServer(app))
  const via = (xff: string, extra: Record<string, string | string[]> = {}) =>
    request(port, { from: '127.0.0.2', headers: { 'x-forwarded-for': xff, ...extra } })
  t.same((await via(`${CLIENT}, ${cf}`, { 'cf-connecting-ip': HEADER_CLIENT })).json, {
    ip: HEADER_CLIENT,
    source: 'header',
  })
  // repeated header lines: Node joins them, several values are refused
  t.same((await via(`${CLIENT}, ${cf}`, { 'cf-connecting-ip': [HEADER_CLIENT, OUTSIDER] })).json, {
    ip: CLIENT,
    source: 'x-forwarded-for',
  })
  // CF-Connecting-IP through Front Door is not Cloudflare's
  t.same((await via(`${CLIENT}, ${fd}`, { 'cf-connecting-ip': HEADER_CLIENT, 'x-azure-fdid': FDID })).json, {
    ip: CLIENT,
    source: 'x-forwarded-for',
  })
  // the proxy's own client sending the header: ignored
  t.same((await via(CLIENT, { 'cf-connecting-ip': HEADER_CLIENT })).json, { ip: CLIENT, source: 'x-forwarded-for' })
  // another Front Door profile: 403
  const refused = await via(`${CLIENT}, ${fd}`, { 'x-azure-fdid': OTHER_FDID })
  t.equal(refused.status, 403)
  // from an untrusted peer nothing is read
  const direct = await request(port, { from: '127.0.0.3', headers: { 'cf-connecting-ip': HEADER_CLIENT } })
  t.same(direct.json, { ip: '127.0.0.3', source: 'socket' })
})
