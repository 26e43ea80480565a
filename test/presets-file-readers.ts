// A presets file's ranges reach every reader of vendor ranges, not only
// `trust`: the writer check of `clientIpHeader`, the `azureFrontDoorId`
// resolver and `explain`'s labels. (They once read the bundled lists while
// `trust` read the file.)
import t from 'tap'
import Fastify from 'fastify'
import trustProxyPlugin from '../src/fastify.js'
import { createTrustProxy, type RequestLike } from '../src/index.js'
import { presetEntry, presetsDocument, writeTempFile } from './support/presets.js'

// ranges in no bundled list, so only the file can make them a vendor's
const CLOUDFLARE_EDGE = '45.60.1.2'
const FRONT_DOOR_EDGE = '45.61.1.2'
const FDID = '0b1c2d3e-4f50-4a6b-8c9d-0e1f2a3b4c5d'

const presetsFile = (): string =>
  writeTempFile(
    presetsDocument({
      'cloudflare': presetEntry('cloudflare', { name: 'Cloudflare', ranges: ['45.60.0.0/16'] }),
      'azure-front-door': presetEntry('azure-front-door', { name: 'Azure Front Door', ranges: ['45.61.0.0/16'] }),
      'gcp-lb': presetEntry('gcp-lb', { name: 'Google Cloud load balancers', ranges: ['45.62.0.0/16'] }),
    }),
  )

const req = (peer: string, headers: RequestLike['headers']): RequestLike => ({
  headers,
  socket: { remoteAddress: peer },
})

t.test('clientIpHeader reads the header from an edge of the file', async t => {
  const proxy = createTrustProxy({
    trust: ['cloudflare'],
    presetsFile: presetsFile(),
    clientIpHeader: 'cf-connecting-ip',
  })
  const r = proxy.resolve(req(CLOUDFLARE_EDGE, { 'cf-connecting-ip': '198.51.100.7' }))
  t.match(r, { ip: '198.51.100.7', source: 'header' })
  // a bundled Cloudflare range is not Cloudflare's any more: the file replaced it
  const old = proxy.resolve(req('173.245.48.5', { 'cf-connecting-ip': '198.51.100.8' }))
  t.match(old, { ip: '173.245.48.5', reason: 'untrusted-peer' })
})

t.test('azureFrontDoorId: the file says which addresses are Front Door', async t => {
  const proxy = createTrustProxy({ trust: ['azure-front-door'], presetsFile: presetsFile(), azureFrontDoorId: FDID })
  const ours = proxy.resolve(req(FRONT_DOOR_EDGE, { 'x-azure-fdid': FDID, 'x-forwarded-for': '198.51.100.9' }))
  t.match(ours, { ip: '198.51.100.9', source: 'x-forwarded-for' })
  const theirs = proxy.resolve(
    req(FRONT_DOOR_EDGE, { 'x-azure-fdid': '11111111-2222-4333-8444-555555555555', 'x-forwarded-for': '6.6.6.6' }),
  )
  t.match(theirs, { ip: FRONT_DOOR_EDGE, reason: 'untrusted-peer' }, "another profile's request is not believed")
})

t.test("azureFrontDoorId: another profile's request from an edge of the file gets the 403", async t => {
  const app = Fastify()
  await app.register(trustProxyPlugin, {
    trust: ['azure-front-door'],
    presetsFile: presetsFile(),
    azureFrontDoorId: FDID,
  })
  app.get('/', request => request.ip)
  t.teardown(() => app.close())
  const theirs = await app.inject({
    url: '/',
    remoteAddress: FRONT_DOOR_EDGE,
    headers: { 'x-azure-fdid': '11111111-2222-4333-8444-555555555555' },
  })
  t.equal(theirs.statusCode, 403)
  const ours = await app.inject({
    url: '/',
    remoteAddress: FRONT_DOOR_EDGE,
    headers: { 'x-azure-fdid': FDID, 'x-forwarded-for': '198.51.100.9' },
  })
  t.same([ours.statusCode, ours.body], [200, '198.51.100.9'])
})

t.test('explain names the preset that trusted an edge of the file', async t => {
  const proxy = createTrustProxy({ trust: ['cloudflare'], presetsFile: presetsFile() })
  const e = proxy.explain(req(CLOUDFLARE_EDGE, { 'x-forwarded-for': '198.51.100.7' }))
  t.equal(e.client, '198.51.100.7')
  t.match(e.hops[0], { address: CLOUDFLARE_EDGE, trusted: true, by: { entry: 'cloudflare' } })
})

t.test("explain names gcp-lb for a Google front end of the file, and the forwarding rule's address", async t => {
  const proxy = createTrustProxy({ trust: ['gcp-lb'], presetsFile: presetsFile(), gcpForwardingRule: '34.120.0.10' })
  const e = proxy.explain(req('45.62.0.7', { 'x-forwarded-for': '198.51.100.7, 34.120.0.10' }))
  t.equal(e.client, '198.51.100.7')
  t.match(e.hops, [
    { address: '45.62.0.7', trusted: true, by: { entry: 'gcp-lb' } },
    { address: '34.120.0.10', trusted: true, by: { entry: 'gcp-lb (gcpForwardingRule)' } },
    { address: '198.51.100.7', trusted: false },
  ])
})
