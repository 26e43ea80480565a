// proxyProtocol({ trust }) with vendor presets (issue 19 item 9): the presets
// whose vendor sends the PROXY protocol are accepted (gcp-lb without a
// forwarding rule: the header's source is the client), the others are
// refused at startup naming trust, the preset and the reason. Vendor ranges
// cannot be played over loopback: the peer of a real Unix-socket pair is
// given a vendor address, as the other proxyProtocol tests fake peers.
import net from 'node:net'
import t from 'tap'
import { ProxyAwareConfigError } from '../src/index.js'
import { proxyProtocol, proxyProtocolOf } from '../src/proxy-protocol/index.js'
import { recorder, unixPeer } from './support/http.js'
import { bundledRanges, presetEntry, presetsDocument, writeTempFile } from './support/presets.js'

const V1 = 'PROXY TCP4 203.0.113.7 35.191.0.1 41000 443\r\n'

/** A connection to `server` from `peer` (a real socket pair whose peer address is set), sending `bytes`. */
const connectFrom = async (server: net.Server, peer: string, bytes: string) => {
  const [socket, client] = await unixPeer()
  socket.ref()
  Object.defineProperty(socket, 'remoteAddress', { value: peer, configurable: true })
  server.emit('connection', socket)
  client.write(bytes)
  return { socket, client }
}

/** The sources the server saw, and the refusals logged, once one of them happened. */
const served = (trust: unknown) => {
  const log = recorder()
  const seen: unknown[] = []
  const server = proxyProtocol(
    net.createServer(s => seen.push(proxyProtocolOf(s)?.source)),
    { trust: trust as never, logger: log },
  )
  const settled = async () => {
    while (seen.length === 0 && log.entries.length === 0) await new Promise(r => setImmediate(r))
  }
  return { server, seen, log, settled }
}

t.test('gcp-lb: accepted without gcpForwardingRule; Google ranges send the header, others are refused', async t => {
  for (const trust of ['gcp-lb', ' GCP-LB ', ['10.0.0.1', 'gcp-lb'], 'loopback,gcp-lb']) {
    const s = served(trust)
    const { socket } = await connectFrom(s.server, '35.191.12.34', V1)
    await s.settled()
    t.same(s.seen, [{ address: '203.0.113.7', port: 41000 }], `${JSON.stringify(trust)}: the client from the header`)
    socket.destroy()
  }
  const s = served('gcp-lb')
  const { socket } = await connectFrom(s.server, '130.211.0.9', V1)
  await s.settled()
  t.same(s.seen, [{ address: '203.0.113.7', port: 41000 }], 'the other Google range (130.211.0.0/22)')
  socket.destroy()
  const outside = served('gcp-lb')
  await connectFrom(outside.server, '198.51.100.1', V1)
  await outside.settled()
  t.same(outside.seen, [], 'a peer outside the ranges is not served')
  t.match(outside.log.entries, [{ obj: { proxyProtocol: { reason: 'untrusted-header' }, peer: '198.51.100.1' } }])
})

t.test('cloudflare (Spectrum sends PROXY v1/v2): accepted, its ranges trusted', async t => {
  const s = served('cloudflare')
  const { socket } = await connectFrom(s.server, '173.245.48.1', V1)
  await s.settled()
  t.same(s.seen, [{ address: '203.0.113.7', port: 41000 }])
  socket.destroy()
})

t.test('presets whose vendor sends no PROXY header are refused at startup, with the reason', async t => {
  const cases: Array<[string, RegExp]> = [
    ['cloudfront', /"cloudfront".*HTTP.*CloudFront-Viewer-Address/],
    ['fastly', /"fastly".*HTTP.*Fastly-Client-IP/],
    ['azure-front-door', /"azure-front-door".*HTTP.*X-Azure-ClientIP/],
    ['heroku', /"heroku".*HTTP.*X-Forwarded-For/],
    ['vercel', /"vercel".*HTTP.*X-Forwarded-For/],
    ['fly', /"fly".*proxy_proto.*trust: true/],
  ]
  for (const [preset, reason] of cases) {
    for (const trust of [preset, ` ${preset.toUpperCase()}`, ['127.0.0.1', preset], `127.0.0.1,${preset}`]) {
      let err: unknown
      try {
        proxyProtocol(net.createServer(), { trust })
      } catch (e) {
        err = e
      }
      t.ok(err instanceof ProxyAwareConfigError, `${JSON.stringify(trust)} refused`)
      t.match(err, { option: 'trust', message: reason })
      t.match(err, { message: /PROXY protocol/ })
    }
  }
})

t.test('other trust values pass through to the trust engine unchanged', async t => {
  t.throws(() => proxyProtocol(net.createServer(), { trust: '' }), /empty string/)
  t.throws(() => proxyProtocol(net.createServer(), { trust: ['aws-nlb'] }), /VPC/)
  t.throws(() => proxyProtocol(net.createServer(), { trust: [42 as never] }), { option: 'trust' } as unknown as Error)
  t.ok(proxyProtocol(net.createServer(), { trust: ['loopback', '10.0.0.0/8'] }))
  t.ok(proxyProtocol(net.createServer(), { trust: (a: string) => a === '10.0.0.1' }))
})

t.test(
  "a stale preset still warns through proxyProtocol: only the engine's trust-scope warnings give way to its own",
  async t => {
    const old = '2025-01-01'
    const file = writeTempFile(
      presetsDocument({
        cloudflare: presetEntry('cloudflare', {
          ranges: bundledRanges('cloudflare'),
          retrieved: { snapshot: old, taken: old },
        }),
      }),
    )
    process.env.PROXY_AWARE_PRESETS = file
    t.teardown(() => {
      delete process.env.PROXY_AWARE_PRESETS
    })
    const warnings = t.capture(process, 'emitWarning', () => {})
    proxyProtocol(net.createServer(), { trust: ['cloudflare'] })
    t.same(
      warnings().map(w => (w.args[1] as { code?: string }).code),
      ['PROXY_AWARE_STALE_PRESET'],
    )
  },
)
