/**
 * Question: what does each HTTPS option (httpsRedirect, hsts,
 * secureCookies) cost per request, in server CPU, on top of the bare
 * proxy-aware Fastify plugin?
 *
 * Each variant is a Fastify server in its own child process, registering
 * the plugin with the same trust list plus one option (or all three). The
 * route sets one cookie, so every variant does the same work apart from the
 * option under test. Load comes from 127.0.0.1 (a trusted proxy) with
 * `X-Forwarded-Proto: https`: the common path (no redirect; HSTS and
 * Secure are added). All variants are loaded at the same time in each
 * round (the machine is shared and noisy: concurrent load makes the noise
 * hit every variant alike); ratios are per round, then the median.
 *
 *   npm run build && node bench/https.mjs
 */
import { fileURLToPath } from 'node:url'
import { check, cpuRounds, median, pct, serveInChild, table, withServers } from './lib.mjs'

const TRUST = ['127.0.0.1']
const ALLOWED = { allowedHosts: ['shop.example'] }
const VARIANTS = {
  'plugin': {},
  'httpsRedirect': { httpsRedirect: ALLOWED },
  'hsts': { hsts: true },
  'secureCookies': { secureCookies: true },
  'all three': { httpsRedirect: ALLOWED, hsts: true, secureCookies: true },
}
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const CONCURRENCY = 16

/** Child side: one Fastify server for one variant. */
const serve = async name => {
  const { default: Fastify } = await import('fastify')
  const { default: trustProxy } = await import('../dist/esm/fastify.js')
  const app = Fastify()
  await app.register(trustProxy, { trust: TRUST, ...VARIANTS[name] })
  app.get('/', (request, reply) => {
    reply.header('set-cookie', 'sid=abc123; Path=/; HttpOnly')
    reply.send(request.protocol)
  })
  await serveInChild(app)
}

/** Send `n` requests through `pool`; returns the first response's headers and body. */
const load = async (pool, n) => {
  let next = 0
  let first
  const worker = async () => {
    while (next++ < n) {
      const res = await pool.request({
        path: '/',
        method: 'GET',
        headers: { 'host': 'shop.example', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
      })
      const body = await res.body.text()
      check(res.statusCode === 200, `status ${res.statusCode}`)
      first ??= { headers: res.headers, body }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return first
}

export const title = 'HTTPS options: server CPU per request vs the bare plugin'

export const run = async () => {
  const servers = await withServers(fileURLToPath(import.meta.url), Object.keys(VARIANTS), 4, async servers => {
    // Warm up, and check each variant does what it is configured to do.
    for (const s of servers) {
      const { headers, body } = await load(s.pool, REQUESTS)
      const o = VARIANTS[s.name]
      check(body === 'https', `${s.name}: protocol ${body}`)
      check(
        (headers['strict-transport-security'] !== undefined) === (o.hsts === true),
        `${s.name}: HSTS ${headers['strict-transport-security']}`,
      )
      check(
        headers['set-cookie'] ===
          (o.secureCookies ? 'sid=abc123; Path=/; HttpOnly; Secure' : 'sid=abc123; Path=/; HttpOnly'),
        `${s.name}: Set-Cookie ${headers['set-cookie']}`,
      )
    }
    await cpuRounds(servers, ROUNDS, s => load(s.pool, REQUESTS))
  })
  const [plugin] = servers
  const ratio = s => median(s.cpu.map((c, r) => c / plugin.cpu[r]))
  console.log(
    `trust: ${JSON.stringify(TRUST)}; https via a trusted proxy; route sets one cookie; ${ROUNDS} rounds x ${REQUESTS} requests per variant, ${servers.length} variants side by side\n`,
  )
  const rows = servers.map(s => [
    s.name,
    (median(s.cpu) / REQUESTS).toFixed(1),
    s === plugin ? '1 (baseline)' : `${ratio(s).toFixed(3)} (${pct(ratio(s))})`,
  ])
  table(['variant', 'server CPU µs/req (median)', 'vs bare plugin'], rows)
  return servers.map(s => ({ variant: s.name, us: median(s.cpu) / REQUESTS, vsPlugin: ratio(s) }))
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3])
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await run()
}
