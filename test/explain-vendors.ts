// explain() for clients a vendor header gave, requests from another Front
// Door profile, and platform presets (issue 20 item 11): explain agrees
// with resolve and says why.
import t from 'tap'
import { createTrustProxy, type Explanation, formatExplanation, type TrustProxyOptions } from '../src/index.js'
import type { RequestLike, Resolution } from '../src/engine/resolution.js'
import { bundledRanges, inside } from './support/presets.js'
import { unixPeer } from './support/http.js'

const CLIENT = '198.51.100.7'
const FDID = '55ce4ed1-4b06-4bf1-b40e-4638452104da'
const edge = (vendor: string) => inside(bundledRanges(vendor)[0]!)

/** explain and resolve of one request (a copy each: a resolution is cached on its request), on one engine. */
const both = (options: TrustProxyOptions, req: RequestLike): [Explanation, Resolution] => {
  const proxy = createTrustProxy(options)
  return [proxy.explain({ ...req }), proxy.resolve({ ...req })]
}

t.test('a client from a vendor header: explained as the header, not as a trusted hop', async t => {
  const cases: Array<[TrustProxyOptions, string, string, string]> = [
    [{ trust: ['cloudflare'], clientIpHeader: 'cf-connecting-ip' }, edge('cloudflare'), 'cf-connecting-ip', CLIENT],
    [
      { trust: ['cloudflare'], clientIpHeader: 'true-client-ip', clientIpHeaderConfirmed: true },
      edge('cloudflare'),
      'true-client-ip',
      CLIENT,
    ],
    [
      { trust: ['fastly'], clientIpHeader: 'fastly-client-ip', clientIpHeaderConfirmed: true, maxPresetAge: false },
      edge('fastly'),
      'fastly-client-ip',
      CLIENT,
    ],
    [
      { trust: ['cloudfront'], clientIpHeader: 'cloudfront-viewer-address' },
      edge('cloudfront'),
      'cloudfront-viewer-address',
      `${CLIENT}:46532`,
    ],
    [
      { trust: ['azure-front-door'], clientIpHeader: 'x-azure-socketip', azureFrontDoorId: FDID },
      edge('azure-front-door'),
      'x-azure-socketip',
      CLIENT,
    ],
    [{ trust: ['loopback'], clientIpHeader: 'x-real-ip' }, '127.0.0.1', 'x-real-ip', CLIENT],
    [{ trust: ['fly'], platform: 'fly', clientIpHeader: 'fly-client-ip' }, 'fdaa::2', 'fly-client-ip', CLIENT],
  ]
  for (const [options, peer, header, value] of cases) {
    for (const xff of [undefined, `6.6.6.6, ${CLIENT}`]) {
      const headers: Record<string, string> = { [header]: value, 'x-azure-fdid': FDID }
      if (xff !== undefined) headers['x-forwarded-for'] = xff
      const [e, r] = both(options, { headers, socket: { remoteAddress: peer } })
      const name = `${header}${xff === undefined ? '' : ' and X-Forwarded-For'}`
      t.equal(r.source, 'header', `${name}: resolve took the header`)
      t.equal(e.client, r.ip, `${name}: explain agrees`)
      t.equal(e.client, CLIENT)
      const last = e.hops.at(-1)!
      t.match(last, { address: CLIENT, from: header, trusted: false, by: undefined }, `${name}: the client hop`)
      t.ok(
        e.hops.slice(0, -1).every(h => h.trusted && h.by !== undefined),
        `${name}: every hop before it trusted, by an entry`,
      )
      t.match(e.why, new RegExp(`^198\\.51\\.100\\.7 is the client from ${header} \\(clientIpHeader\\)`), name)
      const text = formatExplanation(e)
      t.notMatch(text, /no entry matches now|chose this address itself/, `${name}: ${text}`)
    }
  }
})

t.test('a vendor header written by a trusted Unix socket (a platform hop)', async t => {
  const options = { trust: ['fly'], platform: 'fly', clientIpHeader: 'fly-client-ip', trustUnixSocket: true } as const
  // a real Unix socket: a socket is one by what it is, not by a missing address
  const [unix] = await unixPeer()
  const [e, r] = both(options, { headers: { 'fly-client-ip': CLIENT }, socket: unix })
  t.equal(r.source, 'header')
  t.equal(e.client, CLIENT)
  t.match(e.hops, [
    { hop: 0, address: undefined, trusted: true, by: { kind: 'unix-socket' } },
    { hop: 1, address: CLIENT, from: 'fly-client-ip', trusted: false },
  ])
  t.match(e.why, /the farthest trusted address, the trusted Unix socket \(hop 0\), is inside the "fly" preset/)
})

t.test("another Front Door profile's request is explained with the X-Azure-FDID reason", async t => {
  const peer = edge('azure-front-door')
  const options = { trust: ['azure-front-door'], azureFrontDoorId: FDID }
  const other = '11111111-2222-4333-8444-555555555555'
  const [e, r] = both(options, {
    headers: { 'x-azure-fdid': other, 'x-forwarded-for': CLIENT },
    socket: { remoteAddress: peer },
  })
  t.equal(e.client, r.ip)
  t.equal(e.client, peer)
  t.match(
    e.why,
    /is an Azure Front Door address, but the request's X-Azure-FDID "11111111-2222-4333-8444-555555555555" is not azureFrontDoorId/,
  )
  const [none] = both(options, { headers: { 'x-forwarded-for': CLIENT }, socket: { remoteAddress: peer } })
  t.match(none.why, /X-Azure-FDID \(none\) is not azureFrontDoorId/)
  // behind another proxy of ours, the Front Door address is a forwarded hop
  const [deep] = both(
    { ...options, trust: ['azure-front-door', 'loopback'] },
    {
      headers: { 'x-azure-fdid': other, 'x-forwarded-for': `${CLIENT}, ${peer}` },
      socket: { remoteAddress: '127.0.0.1' },
    },
  )
  t.equal(deep.client, peer)
  t.match(deep.why, /X-Azure-FDID "11111111-2222-4333-8444-555555555555" is not azureFrontDoorId/)
  // our own profile, and a request that never touched Front Door: the usual sentences
  const [ours] = both(options, {
    headers: { 'x-azure-fdid': FDID, 'x-forwarded-for': CLIENT },
    socket: { remoteAddress: peer },
  })
  t.equal(ours.client, CLIENT)
  t.notMatch(ours.why, /X-Azure-FDID/)
  const [direct] = both(options, { headers: {}, socket: { remoteAddress: '203.0.113.9' } })
  t.notMatch(direct.why, /X-Azure-FDID/)
})

t.test('a platform variable changing after startup changes nothing: explain never throws', async t => {
  const before = process.env.FLY_APP_NAME
  t.teardown(() => {
    if (before === undefined) delete process.env.FLY_APP_NAME
    else process.env.FLY_APP_NAME = before
  })
  process.env.FLY_APP_NAME = 'my-app'
  // the variable alone is refused at startup, not per request
  t.throws(
    () => createTrustProxy({ trust: 'fly' }),
    { name: 'ProxyAwareConfigError', message: /option "trust".*FLY_APP_NAME is set, a hint/ },
    'the variable alone: refused at startup',
  )
  const proxy = createTrustProxy({ trust: 'fly', platform: 'fly' })
  const req = { headers: { 'x-forwarded-for': `${CLIENT}, 66.241.125.10` }, socket: { remoteAddress: 'fdaa::2' } }
  delete process.env.FLY_APP_NAME
  const e = proxy.explain(req)
  t.equal(e.client, CLIENT)
  t.match(e.hops[0], { by: { kind: 'platform', entry: 'fly' } })
  process.env.FLY_APP_NAME = ''
  t.equal(proxy.explain(req).client, CLIENT)
})
