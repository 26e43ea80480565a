/**
 * Question: how many CPU instructions does an Express server spend per
 * request with and without proxy-aware? Counted by valgrind's callgrind
 * (Debian package `valgrind`), so the machine's other load does not change
 * the answer, unlike CPU time: a run of the same build repeats within
 * about 1% (a major garbage collection inside the window can add up to 7%:
 * take the lower of two runs). Kernel time (the socket writes) is not
 * counted, so the ratios are larger than the CPU-time ratios of
 * express-route.mjs.
 *
 * Each variant is an Express server (the variants of express-route.mjs)
 * run under callgrind with counting off; after WARM requests (JIT warm),
 * counting is turned on for N requests (`callgrind_control`).
 *
 *   npm run build && node bench/express-instructions.mjs [variant ...]
 *   BENCH_BASELINE=<dir of another build's dist> adds "baseline" variants.
 *
 * Not part of `npm run bench` (about a minute per variant, needs valgrind).
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { check, forwardedLoad, table } from './lib.mjs'

const TRUST = ['127.0.0.1', 'uniquelocal']
const HTTPS = { httpsRedirect: { allowedHosts: ['shop.example'] }, hsts: true, secureCookies: true }
const N = Number(process.env.BENCH_REQUESTS ?? 3000)
const WARM = Number(process.env.BENCH_WARM ?? 3000)
const BASELINE = process.env.BENCH_BASELINE
/** variant → [middleware, options, the route sets a cookie, build] */
const VARIANTS = {
  'bare': ['none', {}, false],
  'empty middleware': ['empty', {}, false],
  'Express trust proxy': ['express', {}, false],
  'proxy-aware': ['proxy-aware', {}, false],
  'proxy-aware, cookie route': ['proxy-aware', {}, true],
  'proxy-aware + HTTPS options, cookie route': ['proxy-aware', HTTPS, true],
  ...(BASELINE === undefined
    ? {}
    : {
        'baseline: proxy-aware': ['proxy-aware', {}, false, BASELINE],
        'baseline: + HTTPS options, cookie route': ['proxy-aware', HTTPS, true, BASELINE],
      }),
}

/** Child side: the server, printing its port. */
const serve = async name => {
  const { default: express } = await import('express')
  const [kind, options, cookie, build = '../dist'] = VARIANTS[name]
  const app = express()
  app.set('etag', false)
  if (kind === 'express') app.set('trust proxy', TRUST)
  if (kind === 'empty') app.use((req, res, next) => next())
  if (kind === 'proxy-aware') {
    const { trustProxy } = await import(`${build}/esm/express.js`)
    app.use(trustProxy({ trust: TRUST, ...options }))
  }
  app.get('/', (req, res) => {
    if (cookie) res.setHeader('set-cookie', 'sid=abc123; Path=/; HttpOnly')
    res.json({ ip: req.ip, protocol: req.protocol })
  })
  const server = app.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`))
}

/** Send `n` requests (a distinct client each, via 10.0.0.7) through `pool`. */
const load = (pool, n, seed) =>
  forwardedLoad(pool, n, seed, { concurrency: 16, headers: { host: 'shop.example' }, json: false })

/** Instructions per request of one variant. */
const count = async name => {
  const { Pool } = await import('undici')
  const dir = mkdtempSync(join(tmpdir(), 'proxy-aware-callgrind-'))
  const out = join(dir, 'callgrind.out')
  const script = fileURLToPath(import.meta.url)
  const args = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath]
  const child = spawn('valgrind', [...args, script, 'serve', name], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    let port
    for await (const chunk of child.stdout) {
      port = /PORT (\d+)/.exec(String(chunk))?.[1]
      if (port !== undefined) break
    }
    check(port !== undefined, `${name}: the server did not start under valgrind`)
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 4 })
    await load(pool, WARM, 0)
    execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' })
    await load(pool, N, 100_000)
    execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' })
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' })
    await pool.close()
    let total = 0
    for (const f of readdirSync(dir))
      total += Number(/^totals: (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? 0)
    check(total > 0, `${name}: callgrind counted nothing`)
    return total / N
  } finally {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3])
} else {
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(VARIANTS)
  const counts = {}
  for (const name of names) counts[name] = await count(name)
  console.log(`Node ${process.version}; ${N} requests after ${WARM}; instructions per request (callgrind)\n`)
  const bare = counts.bare
  table(
    ['variant', 'instructions/req', 'vs bare'],
    names.map(n => [
      n,
      Math.round(counts[n]).toLocaleString('en'),
      bare ? `${counts[n] >= bare ? '+' : ''}${((counts[n] / bare - 1) * 100).toFixed(1)}%` : '',
    ]),
  )
}
