/**
 * Question: what does the Fastify plugin cost per request, in server CPU,
 * compared with Fastify's own `trustProxy` (same trust list) and with a bare
 * route that trusts nothing?
 *
 * Each variant runs in its own child process (a real HTTP server on
 * loopback); this process sends the load over keep-alive connections from
 * 127.0.0.1 (a trusted peer) with a 2-hop X-Forwarded-For and a distinct
 * client address per request, and reads each server's `process.cpuUsage()`
 * before and after each round. In a round all three servers are loaded at
 * the same time (the machine is shared and noisy: concurrent load makes the
 * noise hit every variant alike). The median CPU per request is reported;
 * ratios are the median of the per-round ratios.
 */
import { fileURLToPath } from 'node:url'
import { check, cpuRounds, forwardedLoad, median, pct, serveInChild, table, withServers } from './lib.mjs'

const TRUST = ['127.0.0.1', 'uniquelocal']
const VARIANTS = ['bare', 'fastify-trustProxy', 'proxy-aware']
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 6000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21)
const CONCURRENCY = 32

/** Child side: one Fastify server for one variant. */
const serve = async variant => {
  const { default: Fastify } = await import('fastify')
  const app = Fastify(variant === 'fastify-trustProxy' ? { trustProxy: TRUST } : {})
  if (variant === 'proxy-aware') {
    const { default: trustProxy } = await import('../dist/esm/fastify.js')
    await app.register(trustProxy, { trust: TRUST })
  }
  app.get('/', request => ({ ip: request.ip, protocol: request.protocol }))
  await serveInChild(app)
}

/** Send `n` GET requests through `pool`; returns the first answer. */
const load = (pool, n, seed) => forwardedLoad(pool, n, seed, { concurrency: CONCURRENCY })

export const title = 'Fastify route: server CPU per request'

export const run = async () => {
  const servers = await withServers(fileURLToPath(import.meta.url), VARIANTS, 8, async servers => {
    // Warm up every server, and check each gives the answer it should.
    for (const s of servers) {
      const { body, i } = await load(s.pool, REQUESTS, 0)
      const client = `198.51.${(i >> 8) & 255}.${i & 255}`
      const want = s.name === 'bare' ? { ip: '127.0.0.1', protocol: 'http' } : { ip: client, protocol: 'https' }
      check(
        body.ip === want.ip && body.protocol === want.protocol,
        `${s.name} answered ${JSON.stringify(body)}, expected ${JSON.stringify(want)}`,
      )
    }
    await cpuRounds(servers, ROUNDS, (s, round) => load(s.pool, REQUESTS, (round + 1) * REQUESTS))
  })
  // Ratios are paired per round (the three variants ran side by side), then
  // the median is taken.
  const ratio = (a, b) => median(a.cpu.map((c, r) => c / b.cpu[r]))
  const [bare, fst] = servers
  console.log(
    `trust: ${JSON.stringify(TRUST)}; peer 127.0.0.1, X-Forwarded-For "<client>, 10.0.0.7"; ${ROUNDS} rounds x ${REQUESTS} requests per variant\n`,
  )
  const rows = servers.map(s => {
    const us = median(s.cpu) / REQUESTS
    return [s.name, us.toFixed(1), pct(ratio(s, bare)), pct(ratio(s, fst))]
  })
  table(['variant', 'server CPU µs/req (median)', 'vs bare', 'vs Fastify trustProxy'], rows)
  return servers.map(s => ({
    variant: s.name,
    us: median(s.cpu) / REQUESTS,
    vsBare: ratio(s, bare),
    vsFastify: ratio(s, fst),
  }))
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3])
} else if (import.meta.url === `file://${process.argv[1]}`) {
  await run()
}
