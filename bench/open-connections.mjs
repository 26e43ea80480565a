/**
 * Question: what does the material-version check (a verdict per
 * connection made again after a `watchTls` reload) cost per request, on a
 * keep-alive connection whose verdict is cached?
 *
 * Side by side in one process: `createTrustProxy({ trustCertificate })`
 * `resolve(req)` of the sources before the check (git commit BENCH_BEFORE,
 * default b3104b4, extracted under node_modules/.cache) and of this tree, on
 * the same request whose TLS socket's server is followed by a watcher (the
 * case that pays for the check). Rounds alternate the two; the ratio is
 * per round, then the median. Also the `clientCert` check (the same cache
 * in `clientCert` for mTLS the app terminates).
 *
 *   node --import tsx bench/open-connections.mjs
 */
import { execSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { check, median, pct, table } from './lib.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BEFORE = process.env.BENCH_BEFORE ?? 'b3104b4'
const N = Number(process.env.BENCH_REQUESTS ?? 100_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 11)

/** A TLS socket as Node reports a verified client certificate, on a server (followed or not). */
const der = pem => new X509Certificate(pem).raw

const fakeRequest = (certs, server) => ({
  headers: { 'x-forwarded-for': '203.0.113.9' },
  socket: {
    remoteAddress: '127.0.0.7',
    encrypted: true,
    authorized: true,
    server,
    getPeerX509Certificate: () => new X509Certificate(certs.proxy.cert),
    // the chain Node reports: intermediate, then the root (self-issued: its own issuer)
    getPeerCertificate: () => {
      const root = { raw: der(certs.root.cert) }
      root.issuerCertificate = root
      return {
        raw: der(certs.proxy.cert),
        issuerCertificate: { raw: der(certs.intermediate.cert), issuerCertificate: root },
      }
    },
  },
})

const variants = async (src, certs) => {
  const { createTrustProxy } = await import(pathToFileURL(join(src, 'index.ts')).href)
  let follow = () => undefined
  try {
    ;({ trackMaterial: follow } = await import(pathToFileURL(join(src, 'features/client-cert/connection.ts')).href))
  } catch {
    // before: no versions
  }
  const server = { requestCert: true, ca: [certs.root.cert] }
  follow(server)
  const identity = createTrustProxy({ trust: [], trustCertificate: { uri: ['spiffe://example.org/ns/edge/sa/proxy'] } })
  const mtls = createTrustProxy({ trust: [], clientCert: { mode: 'optional' } })
  return {
    identity: { proxy: identity, req: fakeRequest(certs, server) },
    clientCert: { proxy: mtls, req: fakeRequest(certs, server) },
  }
}

const time = ({ proxy, req }) => {
  const res = { setHeader() {}, getHeader() {}, hasHeader: () => false, writeHead() {}, end() {} }
  const t0 = process.hrtime.bigint()
  let last
  for (let i = 0; i < N; i++) {
    // a new request on the same connection (a resolution is kept per request object)
    const r = { headers: req.headers, socket: req.socket }
    proxy.handle(r, res)
    last = proxy.resolve(r)
  }
  return [Number(process.hrtime.bigint() - t0) / N, last]
}

export const title = 'Open connections: the material-version check per request'

export const run = async () => {
  const { certs } = await import('../test/support/certs.ts')
  const c = certs()
  // inside the project, so that the old sources' dependencies resolve from its node_modules
  const cache = join(ROOT, 'node_modules', '.cache')
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(join(cache, 'proxy-aware-before-'))
  try {
    execSync(`git archive ${BEFORE} src | tar -x -C ${dir}`, { cwd: ROOT })
    const before = await variants(join(dir, 'src'), c)
    const after = await variants(join(ROOT, 'src'), c)
    const rows = []
    for (const name of ['identity', 'clientCert']) {
      const ratios = []
      const ns = { before: [], after: [] }
      for (let r = 0; r < ROUNDS; r++) {
        // alternate which goes first (JIT warm-up, the machine's noise)
        const [[b, lb], [a, la]] =
          r % 2 === 0 ? [time(before[name]), time(after[name])] : [time(after[name]), time(before[name])].reverse()
        check(lb.ip === la.ip, `${name}: before and after disagree (${lb.ip} vs ${la.ip})`)
        check(name !== 'identity' || la.ip === '203.0.113.9', `identity: the proxy is not trusted (${la.ip})`)
        ns.before.push(b)
        ns.after.push(a)
        ratios.push(a / b)
      }
      rows.push([name, median(ns.before).toFixed(0), median(ns.after).toFixed(0), pct(median(ratios))])
    }
    table(['per request', `before (${BEFORE}), ns`, 'after, ns', 'after / before'], rows)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run()
