/**
 * Question: how many CPU instructions does a server spend per new
 * connection when it reads a PROXY protocol header (proxyProtocol()) than
 * when it does not? (issue 19's goal: under 10%.) Counted by callgrind
 * (`callgrindCount` in lib.mjs), so the machine's other load does not
 * change the answer, unlike the CPU time of proxy-protocol-connection.mjs
 * (whose rounds differ by up to 40% on this shared machine). Kernel time
 * is not counted; a just-in-time compilation or a major garbage
 * collection inside the window moves a count by a few per cent: compare
 * counts of one run, and repeat.
 *
 * The servers of proxy-protocol-connection.mjs (a handler that answers
 * the socket's remote address), one request per fresh connection, 8 at a
 * time: `plain` without a header, `v1` and `v2` wrapped by proxyProtocol()
 * with that header first. BENCH_BASELINE=<another build's dist/esm> adds
 * the same two for that build.
 *
 *   npm run build && node bench/proxy-protocol-instructions.mjs [variant ...]
 *
 * Not part of `npm run bench` (about half a minute per variant, needs valgrind).
 */
import http from 'node:http'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { oneShot, V1, V2 } from './proxy-protocol-connection.mjs'
import { callgrindCount, check, countsTable } from './lib.mjs'

const N = Number(process.env.BENCH_CONNECTIONS ?? 3000)
const WARM = Number(process.env.BENCH_WARM ?? 3000)
const BASELINE = process.env.BENCH_BASELINE
/** variant → [header, build] */
const VARIANTS = {
  plain: [undefined],
  v1: [V1, '../dist/esm'],
  v2: [V2, '../dist/esm'],
  ...(BASELINE === undefined
    ? {}
    : { 'baseline v1': [V1, pathToFileURL(BASELINE).href], 'baseline v2': [V2, pathToFileURL(BASELINE).href] }),
}

/** Child side: the server, printing its port. */
const serve = async name => {
  const [, build] = VARIANTS[name]
  let server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => res.end(req.socket.remoteAddress))
  if (build !== undefined) {
    const { proxyProtocol } = await import(`${build}/proxy-protocol/index.js`)
    server = proxyProtocol(server, { trust: '127.0.0.1' })
  }
  server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`))
}

/** Instructions per connection of one variant. */
const count = name => {
  const [header] = VARIANTS[name]
  const expected = header === undefined ? '127.0.0.1' : '203.0.113.7'
  const drive = async (port, n) => {
    let next = 0
    const worker = async () => {
      while (next++ < n) {
        const text = await oneShot(port, header)
        check(text.endsWith(expected), `${name}: ${text.slice(-40)}`)
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
  }
  const script = fileURLToPath(import.meta.url)
  return callgrindCount({ script, args: ['listen', name], drive, warm: WARM, n: N, name })
}

if (process.argv[2] === 'listen') {
  await serve(process.argv[3])
} else {
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(VARIANTS)
  const counts = {}
  for (const name of names) counts[name] = await count(name)
  console.log(`Node ${process.version}; ${N} connections after ${WARM}; instructions per connection (callgrind)\n`)
  countsTable(counts, names, 'plain', 'connection')
}
