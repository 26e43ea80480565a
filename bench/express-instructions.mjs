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
import { fileURLToPath } from 'node:url'
import { callgrindCount, countsTable, forwardedLoad } from './lib.mjs'

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
  let pool
  const drive = async (port, n, seed) => {
    pool ??= new Pool(`http://127.0.0.1:${port}`, { connections: 4 })
    await load(pool, n, seed)
  }
  try {
    return await callgrindCount({
      script: fileURLToPath(import.meta.url),
      args: ['serve', name],
      drive,
      warm: WARM,
      n: N,
      name,
    })
  } finally {
    await pool?.close()
  }
}

if (process.argv[2] === 'serve') {
  await serve(process.argv[3])
} else {
  const names = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(VARIANTS)
  const counts = {}
  for (const name of names) counts[name] = await count(name)
  console.log(`Node ${process.version}; ${N} requests after ${WARM}; instructions per request (callgrind)\n`)
  countsTable(counts, names, 'bare', 'req')
}
