/**
 * Question: how fast is `resolve(req)` (client IP and protocol) compared
 * with `proxyaddr(req, compiled)` from proxy-addr, for the same trust list?
 *
 * Each timed batch runs on FRESH request objects (16384 per contender per
 * round, made 256 at a time just before use, outside the timed loops) with
 * DISTINCT client addresses, so resolve's per-request cache never hits and
 * no address repeats within a batch. The contenders are interleaved round
 * by round (the order alternates) and the median time per call of each is
 * reported; the ratio is the median of the per-round ratios.
 *
 * Each case runs in a process of its own (`--case <id>`), as an app has one
 * engine: V8 shares the code and the type feedback of one function among
 * all the closures made from it, so an engine (or a compiled proxy-addr
 * list) used after another in the same process runs the code compiled for
 * both, which slowed the second one by up to 30 - 45%. `BENCH_ONE_PROCESS=1`
 * runs every case in this process, one after the other, as before.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ipaddr from 'ipaddr.js'
import proxyaddr from 'proxy-addr'
import { createTrustProxy } from '../dist/esm/index.js'
import { check, median, table } from './lib.mjs'

const TRUST = ['127.0.0.1', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7']
/** The ranges the `cloudflare` preset ships (the same file the preset reads). */
const CLOUDFLARE = JSON.parse(readFileSync(new URL('../data/presets/cloudflare.json', import.meta.url), 'utf8')).ranges
const BATCH = 16384
const CHUNK = 256
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21)

const hex = n => n.toString(16)

/** The cases: each makes request i (distinct client per i) and names its expected client. */
const CASES = [
  {
    name: '1 hop IPv4',
    make: i => ({
      client: `203.0.${(i >> 8) & 255}.${i & 255}`,
      peer: '127.0.0.1',
      xff: c => c,
    }),
  },
  {
    name: '3 hops IPv4',
    make: i => ({
      client: `198.51.${(i >> 8) & 255}.${i & 255}`,
      peer: '10.0.0.1',
      xff: c => `${c}, 192.168.10.20, 172.16.5.4`,
    }),
  },
  {
    name: '6 hops IPv6 + IPv4-mapped',
    make: i => ({
      client: `2001:db8:${hex(i)}::${hex(i * 7 + 1)}`,
      peer: '::ffff:10.0.0.1',
      xff: c => `${c}, fd00:1::2, ::ffff:192.168.1.9, fc00:aa::10, ::ffff:10.20.30.40, fd12:3456::1`,
    }),
  },
]

/**
 * A Cloudflare edge address for request `i`: range `i mod n` of the
 * preset's ranges of one family (so every range is hit, the first and the
 * last alike), host bits from `i`; a different address on every request.
 */
const edges = family => {
  const ranges = CLOUDFLARE.map(r => ipaddr.parseCIDR(r)).filter(([ip]) => ip.kind() === family)
  return i => {
    const [ip, prefix] = ranges[i % ranges.length]
    if (family === 'ipv4') {
      const host = ((i * 2654435761) >>> 0) & (2 ** (32 - prefix) - 1)
      const n = ((ip.toByteArray().reduce((a, b) => a * 256 + b, 0) >>> 0) + host) >>> 0
      return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
    }
    const parts = [...ip.parts] // prefixes are <= /48: the last groups are host bits
    parts[6] = (i >>> 16) & 0xffff
    parts[7] = (i & 0xffff) | 1
    return new ipaddr.IPv6(parts).toString()
  }
}
const edge4 = edges('ipv4')
const edge6 = edges('ipv6')

/**
 * Behind Cloudflare: `trust: ['cloudflare']` (22 ranges, IPv4 and IPv6)
 * against proxy-addr compiled with the same ranges; the peer is a
 * Cloudflare edge address drawn from the preset's ranges, a different one
 * on every request (so no verdict is reused), the client the one it
 * appended.
 */
const CLOUDFLARE_CASES = [
  {
    name: 'cloudflare, IPv4 edge',
    make: i => ({ client: `203.0.${(i >> 8) & 255}.${i & 255}`, peer: edge4(i), xff: c => c }),
  },
  {
    name: 'cloudflare, IPv6 edge',
    make: i => ({ client: `2001:db8:${hex(i)}::${hex(i * 7 + 1)}`, peer: edge6(i), xff: c => c }),
  },
  {
    name: 'cloudflare, 3 hops (v6, v4, mapped edges)',
    make: i => ({
      client: `198.51.${(i >> 8) & 255}.${i & 255}`,
      peer: edge6(i),
      xff: c => `${c}, ::ffff:${edge4(i + 7)}, ${edge4(i + 3)}`,
    }),
  },
]

/** Our resolve and proxy-addr's, for one trust list. */
const contenders = (ourTrust, theirTrust) => {
  const resolve = createTrustProxy({ trust: ourTrust }).resolve
  const compiled = proxyaddr.compile(theirTrust)
  return {
    resolve,
    compiled,
    ours: reqs => {
      for (let k = 0; k < reqs.length; k++) {
        const r = resolve(reqs[k])
        sink += r.ip.length + r.protocol.length
      }
    },
    theirs: reqs => {
      for (let k = 0; k < reqs.length; k++) sink += proxyaddr(reqs[k], compiled).length
    },
  }
}

/** Fresh request objects for one chunk: clients `seed` .. `seed + CHUNK - 1`. */
const chunk = (c, seed) => {
  const reqs = []
  for (let k = 0; k < CHUNK; k++) {
    const r = c.make((seed + k) & 0xffff)
    reqs.push({
      headers: {
        'host': fromParser('example.com'),
        'x-forwarded-for': fromParser(r.xff(r.client)),
        'x-forwarded-proto': fromParser('https'),
      },
      socket: { remoteAddress: fromParser(r.peer), encrypted: false },
    })
  }
  return reqs
}

/**
 * A new flat string with the text of `s`, as Node's HTTP parser and socket
 * make them: a header value built here with `+` would be a concatenation
 * (a rope) that the first contender to read it pays to flatten, and a
 * literal would be one interned string shared by every request.
 */
const fromParser = s => Buffer.from(s, 'latin1').toString('latin1')

// Keep the results alive so nothing is optimised away.
let sink = 0

/**
 * Time `fn` over BATCH fresh requests, made CHUNK at a time just before they
 * are used (as a server parses a request just before it is handled: the
 * objects are young, not promoted by a long-lived batch). Only the loops
 * over the requests are timed. Returns ns per request.
 */
const measure = (fn, c, seed) => {
  let total = 0n
  for (let done = 0; done < BATCH; done += CHUNK) {
    const reqs = chunk(c, seed + done)
    const t0 = process.hrtime.bigint()
    fn(reqs)
    total += process.hrtime.bigint() - t0
  }
  return Number(total) / BATCH
}

/**
 * Run one case: `ours` and `theirs` side by side, interleaved round by
 * round; returns a table row.
 */
export const runCase = (c, { resolve, compiled, ours, theirs } = contenders(TRUST, TRUST)) => {
  // Same answers first: the benchmark is meaningless if they disagree.
  for (const req of chunk(c, 1).slice(0, 64)) {
    const r = resolve(req)
    const theirs = proxyaddr({ headers: req.headers, socket: req.socket }, compiled)
    check(r.ip === theirs, `${c.name}: resolve says ${r.ip}, proxy-addr says ${theirs}`)
    check(r.protocol === 'https', `${c.name}: protocol ${r.protocol}`)
  }
  // Warm up both (JIT), then measure.
  for (let w = 0; w < 4; w++) {
    measure(ours, c, w * BATCH)
    measure(theirs, c, w * BATCH)
  }
  const o = []
  const t = []
  const ratios = []
  for (let round = 0; round < ROUNDS; round++) {
    const seed = round * BATCH
    let a, b
    if (round % 2 === 0) {
      a = measure(ours, c, seed)
      b = measure(theirs, c, seed)
    } else {
      b = measure(theirs, c, seed)
      a = measure(ours, c, seed)
    }
    o.push(a)
    t.push(b)
    ratios.push(b / a)
  }
  const ratio = median(ratios)
  return {
    name: c.name,
    ours: median(o),
    theirs: median(t),
    ratio,
    worst: Math.min(...ratios),
  }
}

export const title = 'resolve(req) vs proxy-addr'

const row = r => [r.name, r.ours.toFixed(0), r.theirs.toFixed(0), `${r.ratio.toFixed(1)}x`, `${r.worst.toFixed(1)}x`]

/**
 * The jobs: each case against proxy-addr, then each Cloudflare case against
 * our own resolve with the same ranges written out (two engines of ours in
 * one process: that comparison is about the preset's name, not V8).
 */
const JOBS = {
  ...Object.fromEntries(CASES.map((c, i) => [`core${i}`, () => runCase(c)])),
  ...Object.fromEntries(
    CLOUDFLARE_CASES.map((c, i) => [`cf${i}`, () => runCase(c, contenders(['cloudflare'], CLOUDFLARE))]),
  ),
  ...Object.fromEntries(
    CLOUDFLARE_CASES.map((c, i) => [
      `preset${i}`,
      () => {
        const named = contenders(['cloudflare'], CLOUDFLARE)
        const written = contenders(CLOUDFLARE, CLOUDFLARE)
        return runCase(c, { ...named, theirs: written.ours })
      },
    ]),
  ),
}

/** Run the jobs whose ids start with `prefix`, each in its own process unless BENCH_ONE_PROCESS is set. */
const jobs = prefix =>
  Object.keys(JOBS)
    .filter(id => id.startsWith(prefix))
    .map(id =>
      process.env.BENCH_ONE_PROCESS
        ? JOBS[id]()
        : JSON.parse(
            execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--case', id], { encoding: 'utf8' }),
          ),
    )

export const run = () => {
  const mode = process.env.BENCH_ONE_PROCESS ? 'all cases in one process' : 'each case in its own process'
  console.log(
    `trust: ${JSON.stringify(TRUST)}; ${ROUNDS} rounds x ${BATCH} fresh requests per contender per case; ${mode}\n`,
  )
  const results = jobs('core')
  table(['case', 'resolve ns/req', 'proxy-addr ns/req', 'speed-up (median)', 'worst round'], results.map(row))

  console.log(
    `\ntrust: ['cloudflare'] (${CLOUDFLARE.length} ranges), against proxy-addr compiled with the same ranges\n`,
  )
  const cfResults = jobs('cf')
  table(['case', 'resolve ns/req', 'proxy-addr ns/req', 'speed-up (median)', 'worst round'], cfResults.map(row))

  // The preset against the same ranges written out: what the name itself costs.
  console.log(`\ntrust: ['cloudflare'] against our own resolve with the same ${CLOUDFLARE.length} ranges written out\n`)
  const presetResults = jobs('preset')
  table(['case', 'preset ns/req', 'ranges ns/req', 'ranges / preset (median)', 'lowest round'], presetResults.map(row))
  if (sink === 0.5) console.log('unreachable')
  return [...results, ...cfResults, ...presetResults]
}

const caseArg = process.argv.indexOf('--case')
if (caseArg > 0) {
  // a child: one job, its row as JSON on stdout
  const result = JOBS[process.argv[caseArg + 1]]()
  process.stdout.write(JSON.stringify(result))
  if (sink === 0.5) console.log('unreachable')
} else if (import.meta.url === `file://${process.argv[1]}`) run()
