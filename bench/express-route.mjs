/**
 * Question: what does the Express middleware cost per request, in server
 * CPU, compared with a bare Express route, with an empty middleware in the
 * same place, and with Express's own `trust proxy` (proxy-addr, same trust
 * list)? And what do the HTTPS options (hsts, secureCookies, httpsRedirect)
 * cost on top of the middleware, on a route that sets a cookie?
 *
 * Each variant is a real Express server in its own child process; load
 * comes over keep-alive connections from 127.0.0.1 (a trusted peer) with a
 * 2-hop X-Forwarded-For (a distinct client per request) and
 * `X-Forwarded-Proto: https`. All variants are loaded at the same time in
 * each round (the machine is shared and noisy); each server's
 * `process.cpuUsage()` is read before and after each round; ratios are the
 * median of the per-round ratios.
 *
 * `BENCH_BASELINE=<dir>` (a copy of another build's `dist/`) adds that
 * build's two proxy-aware variants to the same rounds, for a before/after
 * ratio measured side by side.
 *
 *   npm run build && node bench/express-route.mjs
 */
import { fileURLToPath } from 'node:url'
import { check, cpuRounds, forwardedLoad, median, pct, serveInChild, table, withServers } from './lib.mjs'

const TRUST = ['127.0.0.1', 'uniquelocal']
const HTTPS = { httpsRedirect: { allowedHosts: ['shop.example'] }, hsts: true, secureCookies: true }
/** variant → [how the app trusts, whether the route sets a cookie] */
const VARIANTS = {
  'bare': ['none', false],
  'empty middleware': ['empty', false],
  'Express trust proxy': ['express', false],
  'proxy-aware': ['proxy-aware', false],
  'proxy-aware, cookie route': ['proxy-aware', true],
  'proxy-aware + HTTPS options, cookie route': ['https', true],
}
const BASELINE = process.env.BENCH_BASELINE
if (BASELINE !== undefined) {
  VARIANTS['baseline build: proxy-aware'] = ['proxy-aware', false, BASELINE]
  VARIANTS['baseline build: proxy-aware, cookie route'] = ['proxy-aware', true, BASELINE]
  VARIANTS['baseline build: + HTTPS options, cookie route'] = ['https', true, BASELINE]
}
// BENCH_ONLY="proxy-aware;...": only these variants besides bare and trust
// proxy (fewer servers at once, less noise)
if (process.env.BENCH_ONLY !== undefined) {
  const only = new Set(['bare', 'Express trust proxy', ...process.env.BENCH_ONLY.split(';')])
  for (const name of Object.keys(VARIANTS)) if (!only.has(name)) delete VARIANTS[name]
}
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const CONCURRENCY = 16

/** Child side: one Express server for one variant. */
const serve = async name => {
  const { default: express } = await import('express')
  const [trust, cookie, build = '../dist'] = VARIANTS[name]
  const app = express()
  app.set('etag', false)
  if (trust === 'express') app.set('trust proxy', TRUST)
  if (trust === 'empty') app.use((req, res, next) => next())
  if (trust === 'proxy-aware' || trust === 'https') {
    const { trustProxy } = await import(`${build}/esm/express.js`)
    app.use(trustProxy({ trust: TRUST, ...(trust === 'https' ? HTTPS : {}) }))
  }
  app.get('/', (req, res) => {
    if (cookie) res.setHeader('set-cookie', 'sid=abc123; Path=/; HttpOnly')
    res.json({ ip: req.ip, protocol: req.protocol })
  })
  const { once } = await import('node:events')
  let server
  await serveInChild({
    listen: async ({ host, port }) => {
      server = app.listen(port, host)
      await once(server, 'listening')
      return `http://${host}:${server.address().port}`
    },
    close: () => new Promise(resolve => server.close(resolve)),
  })
}

/** Send `n` GET requests through `pool`; returns the first answer. */
const load = (pool, n, seed) =>
  forwardedLoad(pool, n, seed, { concurrency: CONCURRENCY, headers: { host: 'shop.example' } })

/** Check a warm-up answer: client and protocol as trusted, HSTS and Secure only with the options. */
const checkAnswer = (name, { body, headers, i }) => {
  const [trust, cookie] = VARIANTS[name]
  const trusting = trust === 'express' || trust === 'proxy-aware' || trust === 'https'
  const client = `198.51.${(i >> 8) & 255}.${i & 255}`
  const want = trusting ? { ip: client, protocol: 'https' } : { ip: '127.0.0.1', protocol: 'http' }
  check(body.ip === want.ip && body.protocol === want.protocol, `${name} answered ${JSON.stringify(body)}`)
  const https = trust === 'https'
  check((headers['strict-transport-security'] !== undefined) === https, `${name}: HSTS`)
  const cookieWanted = cookie ? `sid=abc123; Path=/; HttpOnly${https ? '; Secure' : ''}` : undefined
  check(headers['set-cookie'] === cookieWanted, `${name}: Set-Cookie ${headers['set-cookie']}`)
}

export const title = 'Express route: server CPU per request'

export const run = async () => {
  const servers = await withServers(fileURLToPath(import.meta.url), Object.keys(VARIANTS), 4, async servers => {
    for (const s of servers) checkAnswer(s.name, await load(s.pool, REQUESTS, 0))
    await cpuRounds(servers, ROUNDS, (s, round) => load(s.pool, REQUESTS, (round + 1) * REQUESTS))
  })
  const by = Object.fromEntries(servers.map(s => [s.name, s]))
  const ratio = (a, b) => median(a.cpu.map((c, r) => c / b.cpu[r]))
  const worst = (a, b) => Math.max(...a.cpu.map((c, r) => c / b.cpu[r]))
  const bare = by.bare
  const express = by['Express trust proxy']
  const middleware = by['proxy-aware, cookie route'] ?? by['baseline build: proxy-aware, cookie route']
  console.log(
    `trust: ${JSON.stringify(TRUST)}; peer 127.0.0.1, X-Forwarded-For "<client>, 10.0.0.7"; ${ROUNDS} rounds x ${REQUESTS} requests per variant, ${servers.length} variants side by side\n`,
  )
  const rows = servers.map(s => {
    const cookieRoute = VARIANTS[s.name][1]
    const baselineBuild = VARIANTS[s.name][2] !== undefined
    const base = cookieRoute ? (baselineBuild ? by['baseline build: proxy-aware, cookie route'] : middleware) : bare
    return [
      s.name,
      (median(s.cpu) / REQUESTS).toFixed(1),
      s === base ? 'baseline' : `${pct(ratio(s, base))} (worst ${pct(worst(s, base))})`,
      cookieRoute ? '' : pct(ratio(s, express)),
    ]
  })
  table(
    [
      'variant',
      'server CPU µs/req (median)',
      'vs bare (cookie routes: vs proxy-aware, cookie route)',
      'vs trust proxy',
    ],
    rows,
  )
  return servers.map(s => ({ variant: s.name, us: median(s.cpu) / REQUESTS }))
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3])
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await run()
}
