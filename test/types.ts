// Type tests: checked by `npm run typecheck` (tsc), and run by tap so that
// every typed value also behaves as its type says.
import t from 'tap'
import Fastify, { type FastifyPluginAsync, type FastifyRequest } from 'fastify'
import express, { type Request as ExpressRequest, type RequestHandler } from 'express'
import fastifyDefault, {
  trustProxy as fastifyNamed,
  type FastifyTrustProxyOptions,
  type Resolution as FastifyResolution,
  type Explanation as FastifyExplanation,
} from '../src/fastify.js'
import expressDefault, {
  trustProxy as expressNamed,
  type ExpressTrustProxyOptions,
  type Resolution as ExpressResolution,
  type Explanation as ExpressExplanation,
  type TrustProxyMiddleware,
} from '../src/express.js'
import {
  createTrustProxy,
  type Explanation,
  formatExplanation,
  ProxyAwareConfigError,
  type ClientIpHeader,
  type TrustMatch,
  type TrustProxy,
  type HeaderConvention,
  type Resolution,
  type StopReason,
  type TrustFunction,
  type TrustOption,
  type TrustProxyOptions,
} from '../src/index.js'

/** `true` only when A and B are the same type (not merely assignable). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
/** Compiles only when its type argument is `true`. */
const expectType = <T extends true>(): T => true as T

// --- declaration merging ---------------------------------------------------
const fastifyMerged = expectType<Equal<FastifyRequest['proxyAware'], Resolution>>()
const expressMerged = expectType<Equal<ExpressRequest['proxyAware'], Resolution>>()
const fastifyExplain = expectType<Equal<FastifyRequest['explainProxyAware'], () => Explanation>>()
const expressExplain = expectType<Equal<ExpressRequest['explainProxyAware'], () => Explanation>>()
const coreExplain = expectType<Equal<ReturnType<TrustProxy['explain']>, Explanation>>()
const sameExplanation = expectType<Equal<FastifyExplanation, Explanation> & Equal<ExpressExplanation, Explanation>>()
const matchKinds: TrustMatch['kind'][] = ['address', 'preset', 'function', 'a kind added later']
const formatted: string = formatExplanation(createTrustProxy({ trust: [] }).explain({ headers: {} }), { color: false })
// @ts-expect-error color is a boolean
formatExplanation(createTrustProxy({ trust: [] }).explain({ headers: {} }), { color: 'yes' })
// the adapters re-export the core's Resolution, not a copy
const sameResolution = expectType<Equal<FastifyResolution, Resolution> & Equal<ExpressResolution, Resolution>>()
// the resolution's fields
const ipType = expectType<Equal<Resolution['ip'], string | undefined>>()
const protocolType = expectType<Equal<Resolution['protocol'], 'http' | 'https'>>()
const portType = expectType<Equal<Resolution['port'], number | null>>()
const reasonType = expectType<Equal<Resolution['reason'], StopReason>>()
const conventions = expectType<Equal<HeaderConvention, 'x-forwarded' | 'forwarded'>>()
const sourceType = expectType<Equal<Resolution['source'], 'socket' | 'x-forwarded-for' | 'forwarded' | 'header'>>()
const clientIpHeaderType = expectType<Equal<TrustProxyOptions['clientIpHeader'], ClientIpHeader | undefined>>()

// --- both import forms for both adapters -------------------------------------
const fastifyForms = expectType<Equal<typeof fastifyDefault, typeof fastifyNamed>>()
const expressForms = expectType<Equal<typeof expressDefault, typeof expressNamed>>()
const fastifyIsPlugin: FastifyPluginAsync<FastifyTrustProxyOptions> = fastifyNamed
const expressIsMiddleware: RequestHandler = expressNamed({ trust: 'loopback' })
const expressTrust: TrustFunction = expressDefault({ trust: 'loopback' }).trust

// --- option types --------------------------------------------------------------
const fastifyOptions = {
  trust: ['loopback', '10.0.0.0/8'],
  headers: ['forwarded', 'x-forwarded'],
  forwardedHost: true,
  maxHops: 5,
  trustUnixSocket: false,
} satisfies FastifyTrustProxyOptions
const expressOptions = {
  trust: (address: string, hop: number) => hop === 0 && address === '127.0.0.1',
  logger: console,
} satisfies ExpressTrustProxyOptions
const coreOptions = { trust: '127.0.0.1, 10.0.0.0/8' } satisfies TrustProxyOptions
const everyTrustForm: TrustOption[] = [true, 1, 'loopback', ['loopback'], () => false]

// @ts-expect-error trust is required
const noTrust: TrustProxyOptions = {}
// @ts-expect-error trust is not an object
const objectTrust: TrustProxyOptions = { trust: {} }
// @ts-expect-error `false` is not a trust setting (trust nothing = don't install proxy-aware)
const falseTrust: TrustProxyOptions = { trust: false }
// @ts-expect-error only the two conventions
const badHeaders: TrustProxyOptions = { trust: 'loopback', headers: ['x'] }
// @ts-expect-error headers is a list
const headerString: TrustProxyOptions = { trust: 'loopback', headers: 'forwarded' }
// @ts-expect-error forwardedHost is a boolean
const hostString: FastifyTrustProxyOptions = { trust: 'loopback', forwardedHost: 'yes' }
// @ts-expect-error unknown option names are caught
const typo: TrustProxyOptions = { trust: 'loopback', forwardedHosts: true }
// @ts-expect-error only the known vendor headers
const badVendorHeader: TrustProxyOptions = { trust: 'cloudflare', clientIpHeader: 'x-client-ip' }
const vendorOptions = {
  trust: ['loopback', 'azure-front-door'],
  clientIpHeader: 'x-azure-socketip',
  azureFrontDoorId: ['55ce4ed1-4b06-4bf1-b40e-4638452104da'],
} satisfies TrustProxyOptions
// @ts-expect-error a logger needs warn() and info()
const badLogger: ExpressTrustProxyOptions = { trust: 'loopback', logger: { warn() {} } }
// @ts-expect-error `logger` is Express-only: Fastify has request.log
const fastifyLogger: FastifyTrustProxyOptions = { trust: 'loopback', logger: console }

const middlewareType: TrustProxyMiddleware = expressNamed(expressOptions)

// the same checks where users meet them: the register call and the factory
// (type-checked only: this function never runs)
export const typeCheckedCalls = () => {
  const app = Fastify()
  // @ts-expect-error trust is not an object
  app.register(fastifyNamed, { trust: {} })
  // @ts-expect-error only the two conventions
  app.register(fastifyDefault, { trust: 'loopback', headers: ['x'] })
  app.register(fastifyNamed, fastifyOptions)
  // @ts-expect-error trust is required
  expressNamed({})
  // @ts-expect-error headers is a list
  expressDefault({ trust: 'loopback', headers: 'x-forwarded' })
  return expressNamed(expressOptions)
}

t.test('the type assertions compiled and hold at runtime', async t => {
  t.same(
    [
      fastifyMerged,
      expressMerged,
      sameResolution,
      ipType,
      protocolType,
      portType,
      reasonType,
      conventions,
      sourceType,
      clientIpHeaderType,
      fastifyForms,
      expressForms,
      fastifyExplain,
      expressExplain,
      coreExplain,
      sameExplanation,
    ],
    Array(16).fill(true),
  )
  t.equal(matchKinds.length, 4)
  t.match(formatted, /^client {3}none/)
  t.equal(fastifyDefault, fastifyNamed)
  t.equal(expressDefault, expressNamed)
  t.type(fastifyIsPlugin, 'function')
  t.type(expressIsMiddleware, 'function')
  t.type(expressTrust, 'function')
  t.equal(expressTrust('127.0.0.1', 0), true)
  t.equal(middlewareType.trust('127.0.0.1', 0), true)
  t.equal(middlewareType.trust('127.0.0.1', 1), false)
  const warnings = t.capture(process, 'emitWarning', () => {})
  for (const trust of everyTrustForm) {
    t.type(createTrustProxy({ trust }).resolve, 'function', `trust: ${String(trust)} compiles`)
  }
  t.match(
    warnings().map(w => w.args[0]),
    [/trust: true trusts every peer/, /trust: 1 is a hop count/],
    'only trust: true and the hop count warn',
  )
  t.equal(createTrustProxy(coreOptions).options.trust, coreOptions.trust)
  t.type(createTrustProxy(vendorOptions).resolve, 'function', 'the vendor options compile')
})

t.test('what the types reject, the runtime rejects too', async t => {
  const rejected: [unknown, string][] = [
    [noTrust, 'trust'],
    [objectTrust, 'trust'],
    [falseTrust, 'trust'],
    [badHeaders, 'headers'],
    [headerString, 'headers'],
    [hostString, 'forwardedHost'],
    [typo, 'forwardedHosts'],
    [badVendorHeader, 'clientIpHeader'],
  ]
  for (const [options, option] of rejected) {
    t.throws(
      () => createTrustProxy(options as TrustProxyOptions),
      { name: 'ProxyAwareConfigError', option },
      JSON.stringify(options),
    )
  }
  t.throws(() => expressNamed(badLogger), { name: 'ProxyAwareConfigError', option: 'logger' })
  const app = Fastify()
  app.register(fastifyDefault, fastifyLogger)
  await t.rejects(
    async () => {
      await app.ready()
    },
    { name: 'ProxyAwareConfigError', option: 'logger' },
    'Fastify refuses the Express-only logger option',
  )
  await app.close()
  t.type(new ProxyAwareConfigError('trust', 'x'), TypeError)
})

t.test('typed requests carry the resolution', async t => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(fastifyDefault, fastifyOptions)
  app.get('/', async request => {
    const r: Resolution = request.proxyAware
    const e: Explanation = request.explainProxyAware()
    t.equal(e.client, r.ip)
    const ip: string = request.ip
    const ips: string[] | undefined = request.ips
    return { ip, ips, peer: r.peer, secure: r.secure, hops: r.hops }
  })
  const res = await app.inject({
    url: '/',
    remoteAddress: '10.0.0.1',
    headers: { forwarded: 'for=198.51.100.2;proto=https' },
  })
  t.same(res.json(), { ip: '198.51.100.2', ips: ['10.0.0.1', '198.51.100.2'], peer: '10.0.0.1', secure: true, hops: 1 })

  const exp = express()
  exp.use(expressDefault({ trust: 'loopback' }))
  exp.get('/', (req, res) => {
    const r: Resolution = req.proxyAware
    const e: Explanation = req.explainProxyAware()
    res.json({ ip: r.ip, client: e.client })
  })
  t.type(exp, 'function')
})
