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
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { check, median, table } from './lib.mjs'

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
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  process.on('message', message => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send({ cpu: user + system })
    } else if (message === 'close') {
      app.close().then(() => process.exit(0))
    }
  })
  process.send({ address })
}

/** Parent side: ask a child for its CPU time so far, in microseconds. */
const cpuOf = async child => {
  child.send('cpu')
  const [message] = await once(child, 'message')
  return message.cpu
}

/** Send `n` GET requests through `pool`, `CONCURRENCY` at a time; returns the first body. */
const load = async (pool, n, seed) => {
  let next = 0
  let first
  const worker = async () => {
    while (next < n) {
      const i = seed + next++
      const res = await pool.request({
        path: '/',
        method: 'GET',
        headers: {
          'x-forwarded-for': `198.51.${(i >> 8) & 255}.${i & 255}, 10.0.0.7`,
          'x-forwarded-proto': 'https',
        },
      })
      const body = await res.body.json()
      check(res.statusCode === 200, `status ${res.statusCode}`)
      first ??= { body, i }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  return first
}

export const title = 'Fastify route: server CPU per request'

const pct = r => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)}%`

export const run = async () => {
  const { Pool } = await import('undici')
  const here = fileURLToPath(import.meta.url)
  const servers = []
  for (const variant of VARIANTS) {
    const child = fork(here, ['serve', variant], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const [{ address }] = await once(child, 'message')
    servers.push({ variant, child, pool: new Pool(address, { connections: 8 }), cpu: [] })
  }
  try {
    // Warm up every server, and check each gives the answer it should.
    for (const s of servers) {
      const { body, i } = await load(s.pool, REQUESTS, 0)
      const client = `198.51.${(i >> 8) & 255}.${i & 255}`
      const want = s.variant === 'bare' ? { ip: '127.0.0.1', protocol: 'http' } : { ip: client, protocol: 'https' }
      check(body.ip === want.ip && body.protocol === want.protocol,
        `${s.variant} answered ${JSON.stringify(body)}, expected ${JSON.stringify(want)}`)
    }
    // The variants are loaded at the same time, so whatever else the machine
    // is doing during a round slows all three alike.
    for (let round = 0; round < ROUNDS; round++) {
      const before = await Promise.all(servers.map(s => cpuOf(s.child)))
      await Promise.all(servers.map(s => load(s.pool, REQUESTS, (round + 1) * REQUESTS)))
      const after = await Promise.all(servers.map(s => cpuOf(s.child)))
      servers.forEach((s, k) => s.cpu.push(after[k] - before[k]))
    }
  } finally {
    for (const s of servers) {
      await s.pool.close()
      s.child.send('close')
      await once(s.child, 'exit')
    }
  }
  // Ratios are paired per round (the three variants ran side by side), then
  // the median is taken.
  const ratio = (a, b) => median(a.cpu.map((c, r) => c / b.cpu[r]))
  const [bare, fst] = servers
  console.log(`trust: ${JSON.stringify(TRUST)}; peer 127.0.0.1, X-Forwarded-For "<client>, 10.0.0.7"; ${ROUNDS} rounds x ${REQUESTS} requests per variant\n`)
  const rows = servers.map(s => {
    const us = median(s.cpu) / REQUESTS
    return [s.variant, us.toFixed(1), pct(ratio(s, bare)), pct(ratio(s, fst))]
  })
  table(['variant', 'server CPU µs/req (median)', 'vs bare', 'vs Fastify trustProxy'], rows)
  return servers.map(s => ({
    variant: s.variant,
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
