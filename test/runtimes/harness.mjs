// A minimal test runner for test/runtimes/*.mjs, which run under Bun and
// Deno (and Node) where tap does not: `check(name, fn)` registers a check;
// `run()` runs them in order and prints "N passed, N failed" (the line
// .ci/run adds to its totals). Plain assertions from node:assert.
import net from 'node:net'

const checks = []
/** Register a check: an async function that throws on failure. */
export const check = (name, fn) => checks.push({ name, fn })

/** The runtime, as the suite's lines name it. */
export const runtime = process.versions.bun
  ? `Bun ${process.versions.bun}`
  : process.versions.deno
    ? `Deno ${process.versions.deno}`
    : `Node ${process.version}`
export const isBun = process.versions.bun !== undefined
export const isDeno = process.versions.deno !== undefined

export const PROXY = '127.0.0.2'
export const CLIENT = '127.0.0.3'

/** Listen on a free loopback port; returns the port and a close function. */
export const listen = server =>
  new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () => new Promise(done => server.close(() => done())),
      }),
    )
  })

/**
 * One raw HTTP/1.1 request (Connection: close) from `from` (a 127.0.0.x
 * address); resolves to { status, headers: [[lowercased name, value]], body }.
 */
export const raw = (port, { method = 'GET', path = '/', from = CLIENT, headers = {}, prefix } = {}) =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from })
    let data = Buffer.alloc(0)
    const head =
      `${method} ${path} HTTP/1.1\r\nHost: good.com\r\nConnection: close\r\n` +
      Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('') +
      '\r\n'
    socket.on('connect', () => socket.write(prefix ? Buffer.concat([prefix, Buffer.from(head)]) : head))
    socket.on('data', chunk => (data = Buffer.concat([data, chunk])))
    socket.on('error', reject)
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')))
    socket.on('close', () => resolve(parse(data.toString('latin1'))))
  })

export const parse = text => {
  const end = text.indexOf('\r\n\r\n')
  const [statusLine, ...lines] = text.slice(0, end < 0 ? text.length : end).split('\r\n')
  const headers = lines.map(line => {
    const colon = line.indexOf(':')
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
  })
  return { status: Number(statusLine.split(' ')[1]), headers, body: end < 0 ? '' : text.slice(end + 4) }
}

/** Every value of header `name` in a parsed reply. */
export const values = (reply, name) => reply.headers.filter(([k]) => k === name).map(([, v]) => v)

/** Run every registered check; prints one line each and the totals. */
export const run = async () => {
  let passed = 0
  let failed = 0
  for (const { name, fn } of checks) {
    try {
      await fn()
      passed++
      console.log(`ok - ${name}`)
    } catch (e) {
      failed++
      console.log(`not ok - ${name}\n  ${String(e?.stack ?? e).replaceAll('\n', '\n  ')}`)
    }
  }
  console.log(`${runtime}: ${passed} passed, ${failed} failed`)
  return failed
}
