/**
 * Question: what does reading the PROXY protocol header cost, against the
 * same server without it, (1) per connection when every request opens a
 * fresh connection (the header is parsed every time), and (2) per request
 * over keep-alive (the header costs once per connection)? And do 10,000
 * connections through the wrapper leave anything behind on the heap?
 *
 * Two plain Node http servers, each in its own child process: `plain`, and
 * `pp` wrapped with proxyProtocol() (trusting 127.0.0.1, where the load
 * comes from, which sends a v1 header first). Both are loaded at the same
 * time in each round (the machine is shared and noisy: concurrent load
 * makes the noise hit both alike); the ratios are per round (server CPU
 * time per request, and wall-clock throughput), then the median.
 *
 *   npm run build && node bench/proxy-protocol.mjs
 */
import { fork } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { check, median, pct, table } from './lib.mjs'

const HEADER = 'PROXY TCP4 203.0.113.7 10.0.0.1 41000 443\r\n'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const CHURN = Number(process.env.BENCH_CONNECTIONS ?? 1500)
const KEEPALIVE = Number(process.env.BENCH_REQUESTS ?? 6000)
const CONCURRENCY = 16
const MEMORY_CONNECTIONS = 10_000

/** Child side: one server; answers 'cpu', 'heap' (after GC) and 'close'. */
const serve = async name => {
  const handler = (req, res) => res.end(req.socket.remoteAddress)
  let server = http.createServer({ keepAliveTimeout: 60_000 }, handler)
  if (name === 'pp') {
    const { proxyProtocol } = await import('../dist/esm/proxy-protocol/index.js')
    server = proxyProtocol(server, { trust: '127.0.0.1' })
  }
  await new Promise(r => server.listen(0, '127.0.0.1', r))
  process.on('message', message => {
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage()
      process.send({ cpu: user + system })
    } else if (message === 'heap') {
      for (let i = 0; i < 4; i++) globalThis.gc()
      process.send({ heap: process.memoryUsage().heapUsed })
    } else if (message === 'close') {
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  process.send({ port: server.address().port })
}

const ask = async (child, what) => {
  child.send(what)
  const [message] = await once(child, 'message')
  return message[what]
}

/** One request on a fresh connection; checks the answer. */
const oneShot = (port, header) =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.end(`${header}GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
    })
    let text = ''
    s.setEncoding('latin1')
    s.on('data', d => {
      text += d
    })
    s.on('end', () => resolve(text))
    s.on('error', reject)
  })

/** `n` fresh connections, CONCURRENCY at a time. */
const churn = async (server, n) => {
  let next = 0
  const expected = server.name === 'pp' ? '203.0.113.7' : '127.0.0.1'
  const worker = async () => {
    while (next++ < n) {
      const text = await oneShot(server.port, server.name === 'pp' ? HEADER : '')
      check(text.endsWith(expected), `${server.name}: ${text.slice(-40)}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

/** `n` requests over CONCURRENCY keep-alive connections. */
const keepAlive = async (server, n) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  if (server.name === 'pp') {
    // the balancer's side: the header once, when the connection opens
    agent.createConnection = options => {
      const s = net.connect(options.port, options.host)
      s.write(HEADER)
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
      check(text === (server.name === 'pp' ? '203.0.113.7' : '127.0.0.1'), `${server.name}: ${text}`)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  agent.destroy()
}

/** Rounds with both servers loaded at once: per-round CPU and wall-clock ratios pp/plain. */
const compare = async (servers, n, load) => {
  const cpu = []
  const rate = []
  const rates = { plain: [], pp: [] }
  for (let round = 0; round < ROUNDS; round++) {
    const before = await Promise.all(servers.map(s => ask(s.child, 'cpu')))
    const times = await Promise.all(
      servers.map(async s => {
        const start = process.hrtime.bigint()
        await load(s, n)
        return Number(process.hrtime.bigint() - start) / 1e9
      }),
    )
    const after = await Promise.all(servers.map(s => ask(s.child, 'cpu')))
    const [plainCpu, ppCpu] = [after[0] - before[0], after[1] - before[1]]
    cpu.push(ppCpu / plainCpu)
    rate.push(times[0] / times[1])
    rates.plain.push(n / times[0])
    rates.pp.push(n / times[1])
  }
  return { cpu: median(cpu), rate: median(rate), plain: median(rates.plain), pp: median(rates.pp) }
}

export const title = 'PROXY protocol: a proxyProtocol()-wrapped http server against a plain one'

export const run = async () => {
  const script = fileURLToPath(import.meta.url)
  const servers = []
  try {
    for (const name of ['plain', 'pp']) {
      const child = fork(script, ['serve', name], {
        execArgv: ['--expose-gc'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      const [{ port }] = await once(child, 'message')
      servers.push({ name, child, port })
    }
    // warm-up
    await Promise.all(servers.map(s => churn(s, 300)))
    await Promise.all(servers.map(s => keepAlive(s, 1000)))
    const c = await compare(servers, CHURN, churn)
    const k = await compare(servers, KEEPALIVE, keepAlive)
    table(
      ['load', 'plain (per s)', 'proxyProtocol (per s)', 'throughput pp/plain', 'server CPU pp/plain'],
      [
        [
          `fresh connection per request (${CHURN} x ${ROUNDS})`,
          c.plain.toFixed(0),
          c.pp.toFixed(0),
          pct(c.rate),
          pct(c.cpu),
        ],
        [
          `keep-alive, ${CONCURRENCY} connections (${KEEPALIVE} x ${ROUNDS})`,
          k.plain.toFixed(0),
          k.pp.toFixed(0),
          pct(k.rate),
          pct(k.cpu),
        ],
      ],
    )
    // memory: connections opened and closed through the wrapper
    const pp = servers[1]
    const heap0 = await ask(pp.child, 'heap')
    await churn(pp, MEMORY_CONNECTIONS)
    const heap1 = await ask(pp.child, 'heap')
    const growth = heap1 - heap0
    console.log(
      `\nHeap after GC, before and after ${MEMORY_CONNECTIONS} more connections through proxyProtocol(): ${(heap0 / 2 ** 20).toFixed(2)} MiB -> ${(heap1 / 2 ** 20).toFixed(2)} MiB (${growth >= 0 ? '+' : ''}${(growth / 1024).toFixed(0)} KiB)`,
    )
    check(growth < 1024 * 1024, `heap grew by ${growth} bytes over ${MEMORY_CONNECTIONS} connections`)
  } finally {
    for (const s of servers) {
      s.child.send('close')
      await once(s.child, 'exit')
    }
  }
}

if (process.argv[2] === 'serve') await serve(process.argv[3])
else if (process.argv[1] === fileURLToPath(import.meta.url)) await run()
