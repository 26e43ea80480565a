/**
 * Question: how much more server CPU does a new connection cost when the
 * server reads a PROXY protocol header (v1, v2) than when it does not, and
 * does keep-alive stay within noise? (issue 19's performance goal: under
 * 10% per new connection.)
 *
 * Two Node http servers with a handler that does nothing, each in its own
 * child process: `plain`, and `pp` wrapped by proxyProtocol() (trusting
 * 127.0.0.1). In each round both are loaded at the same time (the machine
 * is shared: concurrent load makes the noise hit both alike), three times:
 * one request per fresh connection with a v1 header, the same with a v2
 * header, and requests over keep-alive connections (the header once per
 * connection). The server's CPU time comes from `process.cpuUsage()` in
 * each child. Reported: the median and the worst per-round ratio pp/plain
 * (with BENCH_BASELINE=/path/to/another/dist/esm, a third server wrapped by
 * that build, for before/after comparisons in the same rounds, and the
 * per-round ratio pp/baseline).
 * Loopback only; bounded by BENCH_ROUNDS x BENCH_CONNECTIONS.
 *
 *   npm run build && node bench/proxy-protocol-connection.mjs
 *   (BENCH_CPU_PROF=1 writes a --cpu-prof profile of each server to /tmp)
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { check, median, pct, table } from './lib.mjs'

export const V1 = Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.1 41000 443\r\n', 'latin1')
export const V2 = Buffer.from([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a, // signature
  0x21,
  0x11,
  0x00,
  0x0c, // v2 PROXY, TCP over IPv4, 12 bytes
  203,
  0,
  113,
  7,
  10,
  0,
  0,
  1,
  0xa0,
  0x28,
  0x01,
  0xbb, // 203.0.113.7:41000 -> 10.0.0.1:443
])
export const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 1500)
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 4000)
const CONCURRENCY = 8

/** Child side: one server; answers 'cpu' and 'close'. */
const serve = async name => {
  const handler = (req, res) => res.end(req.socket.remoteAddress)
  let server = http.createServer({ keepAliveTimeout: 60_000 }, handler)
  if (name !== 'plain') {
    const dist = name === 'pp' ? '../dist/esm' : pathToFileURL(process.env.BENCH_BASELINE).href
    const { proxyProtocol } = await import(`${dist}/proxy-protocol/index.js`)
    server = proxyProtocol(server, { trust: '127.0.0.1' })
  }
  await new Promise(r => server.listen(0, '127.0.0.1', r))
  process.on('message', message => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send({ cpu: user + system })
    } else if (message === 'close') {
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  process.send({ port: server.address().port })
}

const cpuOf = async child => {
  child.send('cpu')
  const [message] = await once(child, 'message')
  return message.cpu
}

/** One request on a fresh connection, the header first (pp only). */
export const oneShot = (port, header) =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end(header === undefined ? REQUEST : Buffer.concat([header, REQUEST]))
    })
    let text = ''
    s.setEncoding('latin1')
    s.on('data', d => {
      text += d
    })
    s.on('end', () => resolve(text))
    s.on('error', reject)
  })

/** `n` fresh connections, CONCURRENCY at a time; `header` for the pp server. */
const churn = header => async (server, n) => {
  let next = 0
  const pp = server.name !== 'plain'
  const expected = pp ? '203.0.113.7' : '127.0.0.1'
  const worker = async () => {
    while (next++ < n) {
      const text = await oneShot(server.port, pp ? header : undefined)
      check(text.endsWith(expected), `${server.name}: ${text.slice(-40)}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

/** `n` requests over CONCURRENCY keep-alive connections (a v1 header on each, pp only). */
const keepAlive = async (server, n) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  const pp = server.name !== 'plain'
  if (pp) {
    agent.createConnection = options => {
      const s = net.connect(options.port, options.host)
      s.write(V1)
      return s
    }
  }
  let next = 0
  const worker = async () => {
    while (next++ < n) {
      const text = await new Promise((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: server.port, agent }, res => {
            let body = ''
            res.setEncoding('latin1')
            res.on('data', d => {
              body += d
            })
            res.on('end', () => resolve(body))
          })
          .on('error', reject)
      })
      check(text === (pp ? '203.0.113.7' : '127.0.0.1'), `${server.name}: ${text}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  agent.destroy()
}

/** All servers loaded at once; each one's CPU time per connection (or request) in this round, µs. */
const pairedRound = async (servers, n, load) => {
  const before = await Promise.all(servers.map(s => cpuOf(s.child)))
  await Promise.all(servers.map(s => load(s, n)))
  const after = await Promise.all(servers.map(s => cpuOf(s.child)))
  return after.map((a, k) => (a - before[k]) / n)
}

const LOADS = [
  [`fresh connection per request, v1 header (${CONNECTIONS} x ${ROUNDS})`, CONNECTIONS, churn(V1)],
  [`fresh connection per request, v2 header (${CONNECTIONS} x ${ROUNDS})`, CONNECTIONS, churn(V2)],
  [`keep-alive, ${CONCURRENCY} connections (${REQUESTS} x ${ROUNDS})`, REQUESTS, keepAlive],
]

export const title = 'PROXY protocol: server CPU per new connection, proxyProtocol() against a bare http server'

export const run = async () => {
  const script = fileURLToPath(import.meta.url)
  const execArgv = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/ppperf-prof'] : []
  const servers = []
  try {
    // BENCH_BASELINE=<another build's dist/esm>: that build too, side by side (before/after a change)
    for (const name of process.env.BENCH_BASELINE ? ['plain', 'pp', 'baseline'] : ['plain', 'pp']) {
      const child = fork(script, ['serve', name], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
      const started = once(child, 'message')
      const failed = once(child, 'exit').then(([code]) => {
        throw new Error(`the ${name} server exited (${code}) before listening`)
      })
      const [{ port }] = await Promise.race([started, failed])
      servers.push({ name, child, port })
    }
    for (const [, , load] of LOADS) await Promise.all(servers.map(s => load(s, 300))) // warm-up
    const results = LOADS.map(() => [])
    // the loads interleave round by round, so drifts of the machine's load spread over all three
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, n, load]] of LOADS.entries()) results[i].push(await pairedRound(servers, n, load))
    }
    const rows = []
    for (const [k, s] of servers.entries()) {
      if (k === 0) continue
      for (const [i, [name]] of LOADS.entries()) {
        const ratios = results[i].map(r => r[k] / r[0])
        rows.push([
          `${s.name}: ${name}`,
          median(results[i].map(r => r[0])).toFixed(1),
          median(results[i].map(r => r[k])).toFixed(1),
          pct(median(ratios)),
          pct(Math.max(...ratios)),
        ])
      }
    }
    table(
      ['load', 'plain: µs CPU each', 'wrapped: µs CPU each', 'server CPU wrapped/plain: median', 'worst round'],
      rows,
    )
    if (servers.length === 3) {
      // this build against the baseline build directly, round by round
      table(
        ['load', 'server CPU pp/baseline: median', 'best round', 'worst round'],
        LOADS.map(([name], i) => {
          const ratios = results[i].map(r => r[1] / r[2])
          return [name, pct(median(ratios)), pct(Math.min(...ratios)), pct(Math.max(...ratios))]
        }),
      )
    }
  } finally {
    for (const s of servers) {
      s.child.send('close')
      await once(s.child, 'exit')
    }
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3])
else if (process.argv[1] === fileURLToPath(import.meta.url)) await run()
